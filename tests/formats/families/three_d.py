"""3D formats and ONNX: STL (binary and ASCII), PLY (ASCII, binary little- and big-endian),
COLLADA (.dae), 3MF, USDA and USDC as kind `3d`, ONNX as kind `model`.

Every file is built at test time by the real tools from one unit cube (8 vertices, 12
triangles): trimesh writes STL, PLY, COLLADA (through pycollada) and 3MF; usd-core (Pixar's
`pxr`) writes USDA and USDC (a cube of 6 quads); the `onnx` package writes a tiny
MatMul + Add model. The same calls made the committed fixtures under
crates/intake-core/src/validate/fixtures/ (see its README.md). Per format one truncated
file and one file whose header lies are refused; the lies are edits of those files (a
triangle count, an element count, a float_array count, a triangle index, a section offset,
a tensor's shape), made with the same tools where they can (protobuf for ONNX) or by
patching bytes where nothing else writes a lie.
"""

from __future__ import annotations

import io
import pathlib
import struct
import zipfile

REQUIRES = {"pip": ["trimesh", "numpy", "lxml", "networkx", "pycollada", "usd-core", "onnx"], "apt": []}

CUBE_POINTS = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]
CUBE_QUADS = [0, 3, 2, 1, 4, 5, 6, 7, 0, 1, 5, 4, 1, 2, 6, 5, 2, 3, 7, 6, 3, 0, 4, 7]


def _box():
    import logging

    import trimesh

    # Without scipy trimesh logs a traceback as it falls back to dense normals: not a failure.
    logging.getLogger("trimesh").setLevel(logging.ERROR)
    return trimesh.creation.box()


def write_meshes(out_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """The valid 3D files, by name (also used to make the committed fixtures)."""
    from pxr import Usd, UsdGeom

    out_dir.mkdir(parents=True, exist_ok=True)
    box = _box()
    paths = {}
    for name, kwargs in [
        ("mesh_box_binary.stl", {"file_type": "stl"}),
        ("mesh_box_ascii.stl", {"file_type": "stl_ascii"}),
        ("mesh_box_binary.ply", {"file_type": "ply", "encoding": "binary"}),
        ("mesh_box_ascii.ply", {"file_type": "ply", "encoding": "ascii"}),
        ("mesh_box.dae", {"file_type": "dae"}),
        ("mesh_box.3mf", {"file_type": "3mf"}),
    ]:
        path = out_dir / name
        box.export(str(path), **kwargs)
        paths[name] = path
    # Big-endian PLY: trimesh writes little-endian only; the `plyfile`-free way is numpy's
    # byte order, through trimesh's own header (the body is the same rows, byte-swapped).
    little = (out_dir / "mesh_box_binary.ply").read_bytes()
    end = little.index(b"end_header\n") + len(b"end_header\n")
    header = little[:end].replace(b"binary_little_endian", b"binary_big_endian")
    body = little[end:]
    vertices = body[: 8 * 12]
    swapped = b"".join(struct.pack(">3f", *struct.unpack("<3f", vertices[i : i + 12])) for i in range(0, 96, 12))
    faces = b""
    for i in range(96, len(body), 13):
        count = body[i : i + 1]
        faces += count + struct.pack(">3i", *struct.unpack("<3i", body[i + 1 : i + 13]))
    (out_dir / "mesh_box_big.ply").write_bytes(header + swapped + faces)
    paths["mesh_box_big.ply"] = out_dir / "mesh_box_big.ply"
    for name in ("mesh_box.usda", "mesh_box.usdc"):
        path = out_dir / name
        stage = Usd.Stage.CreateNew(str(path))
        mesh = UsdGeom.Mesh.Define(stage, "/box")
        mesh.CreatePointsAttr(CUBE_POINTS)
        mesh.CreateFaceVertexCountsAttr([4] * 6)
        mesh.CreateFaceVertexIndicesAttr(CUBE_QUADS)
        stage.GetRootLayer().Save()
        paths[name] = path
    return paths


def onnx_model():
    """A tiny model: Y = X·W + B (W float32 2×3, B float32 [3]), IR 8, opset 17."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "W")
    b = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]), helper.make_node("Add", ["XW", "B"], ["Y"])],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 3])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, producer_name="intake-fixtures", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_onnx(out_dir: pathlib.Path) -> pathlib.Path:
    import onnx

    path = out_dir / "tiny.onnx"
    onnx.save(onnx_model(), str(path))
    return path


def _cut(path: pathlib.Path, out: pathlib.Path, keep: float = 0.7) -> str:
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out.name


def fixtures(out_dir: pathlib.Path) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_meshes(out_dir)
    files: list[dict] = []

    def accept(name: str, fmt: str, **facts) -> None:
        files.append({"file": name, "kind": "3d", "expect": {"format": fmt, **facts}})

    def refuse(name: str, reason: str, kind: str = "3d") -> None:
        files.append({"file": name, "kind": kind, "reject": reason})

    accept("mesh_box_binary.stl", "stl", faceCount=12)
    accept("mesh_box_ascii.stl", "stl", faceCount=12)
    for name in ("mesh_box_binary.ply", "mesh_box_ascii.ply", "mesh_box_big.ply"):
        accept(name, "ply", vertexCount=8, faceCount=12, hasNormals=False, hasUVs=False)
    accept("mesh_box.dae", "dae", vertexCount=8, faceCount=12)
    accept("mesh_box.3mf", "3mf", vertexCount=8, faceCount=12)
    accept("mesh_box.usda", "usda")
    accept("mesh_box.usdc", "usdc")

    # STL: a binary STL whose header says "solid" (so it is recognised when cut), cut short;
    # a binary STL declaring 13 triangles; an ASCII STL without its endsolid.
    binary = paths["mesh_box_binary.stl"].read_bytes()
    solid = b"solid box".ljust(80, b"\0") + binary[80:]
    (out_dir / "stl_truncated.stl").write_bytes(solid[:-30])
    refuse("stl_truncated.stl", "it is truncated")
    (out_dir / "stl_lying.stl").write_bytes(solid[:80] + struct.pack("<I", 11) + solid[84:])
    refuse("stl_lying.stl", "declares 11 triangles")
    ascii_stl = paths["mesh_box_ascii.stl"].read_bytes()
    (out_dir / "stl_ascii_truncated.stl").write_bytes(ascii_stl[: ascii_stl.rindex(b"endsolid")])
    refuse("stl_ascii_truncated.stl", "ends before `endsolid`")

    # PLY: cut; headers declaring 13 faces (binary and ASCII).
    refuse(_cut(paths["mesh_box_binary.ply"], out_dir / "ply_truncated.ply"), "truncated")
    ascii_ply = paths["mesh_box_ascii.ply"].read_bytes()
    (out_dir / "ply_ascii_lying.ply").write_bytes(ascii_ply.replace(b"element face 12", b"element face 13"))
    refuse("ply_ascii_lying.ply", "declares 13 face rows but the file holds only 12")
    binary_ply = paths["mesh_box_binary.ply"].read_bytes()
    (out_dir / "ply_lying.ply").write_bytes(binary_ply.replace(b"element face 12", b"element face 13"))
    refuse("ply_lying.ply", "its face data ends inside row 12 of 13 (truncated)")

    # COLLADA: cut; a float_array that declares more values than it holds.
    refuse(_cut(paths["mesh_box.dae"], out_dir / "dae_truncated.dae"), "truncated")
    dae = paths["mesh_box.dae"].read_bytes()
    (out_dir / "dae_lying.dae").write_bytes(dae.replace(b'<float_array count="24"', b'<float_array count="27"', 1))
    refuse("dae_lying.dae", "declares 27 values but holds 24")

    # 3MF: cut; a triangle naming a vertex its mesh does not have (rewritten with zipfile).
    refuse(_cut(paths["mesh_box.3mf"], out_dir / "3mf_truncated.3mf"), "3MF model but is damaged")
    with zipfile.ZipFile(paths["mesh_box.3mf"]) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    model = parts["3D/3dmodel.model"].decode()
    at = model.index('v1="') + 4
    model = model[:at] + "99" + model[model.index('"', at) :]
    parts["3D/3dmodel.model"] = model.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    (out_dir / "3mf_lying.3mf").write_bytes(buf.getvalue())
    refuse("3mf_lying.3mf", "refers to vertex 99, but its mesh has 8")

    # USD: a USDA cut inside its prim; a USDC whose table of contents points past its end.
    usda = paths["mesh_box.usda"].read_bytes()
    (out_dir / "usda_truncated.usda").write_bytes(usda[: usda.rindex(b"}")])
    refuse("usda_truncated.usda", "truncated")
    usdc = paths["mesh_box.usdc"].read_bytes()
    (out_dir / "usdc_lying.usdc").write_bytes(usdc[:16] + struct.pack("<Q", len(usdc) + 100) + usdc[24:])
    refuse("usdc_lying.usdc", "table of contents is said to start at byte")
    refuse(_cut(paths["mesh_box.usdc"], out_dir / "usdc_truncated.usdc"), "USDC (binary USD) model but is damaged")

    # ONNX (kind model): the model, cut; and W declared 2×4 while its raw_data holds 2×3.
    import onnx

    onnx_path = write_onnx(out_dir)
    files.append(
        {
            "file": onnx_path.name,
            "kind": "model",
            "expect": {"format": "onnx", "irVersion": 8, "opsetVersion": 17, "inputCount": 1, "outputCount": 1, "nodeCount": 2},
        }
    )
    refuse(_cut(onnx_path, out_dir / "onnx_truncated.onnx"), "truncated", kind="model")
    lying = onnx_model()
    lying.graph.initializer[0].dims[1] = 4
    (out_dir / "onnx_lying.onnx").write_bytes(lying.SerializeToString())
    refuse("onnx_lying.onnx", "holds 24 bytes of raw_data, not 32", kind="model")
    return files


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(fixtures(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/three_d")), indent=1))
