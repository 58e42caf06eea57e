#!/usr/bin/env python3
"""Large files of every format family issue 18 added, for target 14 (bench/run.sh).

    bench/sparse_files.py FAMILY SIZE PATH [--scratch DIR]

writes PATH, a real, valid file of FAMILY of about SIZE bytes (never more), and prints one
JSON object: {"family", "kind" (the upload kind to validate it as), "size" (bytes written),
"expect" (facts the validator must report: width, height, frame count, …), "sparse" (whether
the bulk is a hole)}. `bench/sparse_files.py --list` prints the families.

Most families are *sparse*: the header (and tail, where the format has one) is written with
the declared sizes of a file of SIZE bytes, and the bulk, opaque payload the format declares
(uncompressed pixel strips, a binary STL's triangles, sample data, an initializer tensor, an
`mdat`, a `movi` list), is left as a hole (`seek` past it, `truncate` to the end). The
filesystem reads a hole as zeros and stores nothing for it, and every bulk here is declared
in an encoding where zeros are valid content (uncompressed pixels of black, silent PCM,
degenerate triangles, float zeros). So a "4 GiB" file costs kilobytes to megabytes of disk.

Families whose validator reads every byte (the text formats: ASCII STL and PLY, COLLADA,
USDA), or that have no hole to leave (AAC's ADTS frames, each with a header; MPEG-TS, a
sync byte every 188 bytes) are written for real; their content is generated (text) or made
by ffmpeg (AAC, MPEG-TS) and repeated. bench/run.sh makes the text and AAC files 256 MiB
and the MPEG-TS one 4 GiB (see BENCHMARKS.md, Target 14).

Facts are checked against the formats' own definitions: width and height of the picture,
frame or sample counts as the header declares them.
"""

import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

MiB = 1 << 20
FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]


def _sparse(path, pieces, size):
    """Writes `pieces` ([(offset, bytes)]) into a file of exactly `size` bytes, holes
    elsewhere."""
    with open(path, "wb") as f:
        for offset, data in pieces:
            f.seek(offset)
            f.write(data)
        f.truncate(size)
    return size


# --- images ----------------------------------------------------------------------------------
# Pictures are as large as the validator accepts (at most 1e9 pixels, 100,000 a side) and as
# the format's offsets allow.


def tiff(path, size, big=False):
    """Uncompressed TIFF, one row per strip (what libtiff picks for rows wider than its
    8 KiB strip target), pixel strips a hole. Classic TIFF (32-bit offsets, so under 4 GiB):
    16-bit RGB, 32768 wide. BigTIFF: 16-bit RGBA, 32768 wide (a 4 GiB file is 16384 rows)."""
    width = 32768
    samples = 4 if big else 3
    row = width * samples * 2
    if big:
        fmt_off, off_size, entry_size, head_size = "Q", 8, 20, 16
    else:
        fmt_off, off_size, entry_size, head_size = "I", 4, 12, 8
    entries = 11 if big else 10
    ifd_size = (8 if big else 2) + entry_size * entries + off_size
    height = (size - head_size - ifd_size - 8) // (row + 2 * off_size)
    offsets_at = head_size + ifd_size + 8  # + 8: the BitsPerSample array
    counts_at = offsets_at + off_size * height
    pixels_at = counts_at + off_size * height
    total = pixels_at + row * height
    if not big:
        assert total < 1 << 32, "a classic TIFF's offsets are 32-bit"

    def entry(tag, kind, count, value):
        # kind 3 SHORT, 4 LONG, 16 LONG8; values fitting the slot are left-justified.
        if big and tag == 258:  # four SHORTs fit BigTIFF's 8-byte slot: stored inline
            return struct.pack("<HHQ", tag, kind, count) + struct.pack("<4H", *([16] * 4))
        if big:
            slot = struct.pack("<H", value) + bytes(6) if kind == 3 and count == 1 else struct.pack("<Q", value)
            return struct.pack("<HHQ", tag, kind, count) + slot
        slot = struct.pack("<H", value) + bytes(2) if kind == 3 and count == 1 else struct.pack("<I", value)
        return struct.pack("<HHI", tag, kind, count) + slot

    long_kind = 16 if big else 4
    ifd = [
        entry(256, 4, 1, width),
        entry(257, 4, 1, height),
        entry(258, 3, samples, head_size + ifd_size),  # BitsPerSample: 16 each (classic: after the IFD)
        entry(259, 3, 1, 1),  # no compression
        entry(262, 3, 1, 2),  # RGB
        entry(273, long_kind, height, offsets_at),  # StripOffsets
        entry(277, 3, 1, samples),
        entry(278, 4, 1, 1),  # RowsPerStrip
        entry(279, long_kind, height, counts_at),  # StripByteCounts
        entry(284, 3, 1, 1),  # chunky
    ]
    if big:
        ifd.append(entry(338, 3, 1, 2))  # ExtraSamples: unassociated alpha
    assert len(ifd) == entries
    if big:
        head = b"II+\x00" + struct.pack("<HHQ", 8, 0, head_size)
        ifd_bytes = struct.pack("<Q", entries) + b"".join(ifd) + struct.pack("<Q", 0)
    else:
        head = b"II*\x00" + struct.pack("<I", head_size)
        ifd_bytes = struct.pack("<H", entries) + b"".join(ifd) + struct.pack("<I", 0)
    bits = struct.pack("<4H", *([16] * 4))
    offsets = struct.pack(f"<{height}{fmt_off}", *(pixels_at + i * row for i in range(height)))
    counts = struct.pack(f"<{height}{fmt_off}", *([row] * height))
    written = _sparse(path, [(0, head + ifd_bytes + bits + offsets + counts)], total)
    return written, {"width": width, "height": height, "bitDepth": 16}


def bigtiff(path, size):
    """BigTIFF (64-bit offsets): see `tiff`."""
    return tiff(path, size, big=True)


def bmp(path, size):
    """BMP, BITMAPINFOHEADER, 32 bits a pixel uncompressed (BI_RGB), bottom-up rows; the
    pixel array a hole. 32768 wide; `bfSize` is 32-bit and pixels at most 1e9, so at most
    about 3.7 GiB."""
    width = 32768
    height = min((size - 54) // (width * 4), 1_000_000_000 // width)
    image = width * height * 4
    total = 54 + image
    assert total < 1 << 32
    head = b"BM" + struct.pack("<IHHI", total, 0, 0, 54)
    head += struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, image, 2835, 2835, 0, 0)
    return _sparse(path, [(0, head)], total), {"width": width, "height": height}


def tga(path, size):
    """TGA type 2 (uncompressed true colour), 32 bits a pixel with 8 alpha bits, TGA 2.0
    footer; the pixels a hole. 65535 wide (the format's 16-bit limit)."""
    width = 65535
    height = min((size - 18 - 26) // (width * 4), 1_000_000_000 // width, 65535)
    head = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, width, height, 32, 8)
    pixels = width * height * 4
    footer = struct.pack("<II", 0, 0) + b"TRUEVISION-XFILE.\x00"
    total = 18 + pixels + len(footer)
    return _sparse(path, [(0, head), (18 + pixels, footer)], total), {"width": width, "height": height}


def psb(path, size):
    """PSB (Photoshop's large document format; a PSD allows 30,000 pixels a side), RGB with
    alpha, 16 bits a channel, no layers, raw (uncompressed) merged image data, a hole.
    32768 wide."""
    width, channels = 32768, 4
    height = (size - 26 - 4 - 4 - 8 - 2) // (width * channels * 2)
    head = b"8BPS" + struct.pack(">H6sHIIHH", 2, bytes(6), channels, height, width, 16, 3)
    head += struct.pack(">IIQH", 0, 0, 0, 0)  # colour mode data, resources, layers: empty; raw
    total = len(head) + width * height * channels * 2
    return _sparse(path, [(0, head)], total), {"width": width, "height": height, "bitDepth": 16}


def exr(path, size):
    """OpenEXR, single part, scan lines, no compression (one line a chunk), half RGBA,
    32768 wide. The offset table and each chunk's 8-byte header (y, size) are written;
    the pixels are a hole (half 0.0)."""
    width = 32768
    line = width * 4 * 2
    chunk = 8 + line

    def attr(name, kind, value):
        return name + b"\0" + kind + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"".join(c + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for c in (b"A", b"B", b"G", b"R")) + b"\0"

    def header(height):
        box = struct.pack("<iiii", 0, 0, width - 1, height - 1)
        return (
            b"\x76\x2f\x31\x01" + struct.pack("<I", 2)
            + attr(b"channels", b"chlist", chlist)
            + attr(b"compression", b"compression", b"\0")
            + attr(b"dataWindow", b"box2i", box)
            + attr(b"displayWindow", b"box2i", box)
            + attr(b"lineOrder", b"lineOrder", b"\0")
            + attr(b"pixelAspectRatio", b"float", struct.pack("<f", 1.0))
            + attr(b"screenWindowCenter", b"v2f", struct.pack("<ff", 0, 0))
            + attr(b"screenWindowWidth", b"float", struct.pack("<f", 1.0))
            + b"\0"
        )

    height = (size - len(header(1))) // (8 + chunk)
    head = header(height)
    first = len(head) + 8 * height
    table = struct.pack(f"<{height}Q", *(first + y * chunk for y in range(height)))
    pieces = [(0, head + table)] + [(first + y * chunk, struct.pack("<ii", y, line)) for y in range(height)]
    total = first + height * chunk
    return _sparse(path, pieces, total), {"width": width, "height": height, "bitDepth": 16}


def hdr(path, size):
    """Radiance RGBE, 32768 wide: wider than adaptive run-length scan lines can say (their
    length is 15 bits), so writers store flat pixels, and a flat pixel of zeros is black.
    The pixels are a hole."""
    width = 32768
    height = min((size - 64) // (width * 4), 1_000_000_000 // width)
    head = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    total = len(head) + width * height * 4
    return _sparse(path, [(0, head)], total), {"width": width, "height": height}


def _bmff_box(kind, body):
    return struct.pack(">I", 8 + len(body)) + kind + body


def _heif(path, size, fixture):
    """A real 64×48 HEIF (the fixture, made by the real encoder: see
    crates/intake-core/src/validate/fixtures/README.md) followed by a second `mdat` holding
    the bulk, with a 64-bit size, a hole: as a grid image's tiles or an image sequence's
    samples would. The picture stays decodable; the validator walks the top-level boxes
    and reads `meta`."""
    data = pathlib.Path(fixture).read_bytes()
    total = size
    bulk = total - len(data)
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", bulk)
    return _sparse(path, [(0, data + mdat)], total), {"width": 64, "height": 48}


FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "crates/intake-core/src/validate/fixtures"


def avif(path, size):
    """AVIF: see `_heif`."""
    return _heif(path, size, FIXTURES / "image_64x48.avif")


def heic(path, size):
    """HEIC: see `_heif`."""
    return _heif(path, size, FIXTURES / "image_64x48.heic")


# --- 3D ----------------------------------------------------------------------------------------


def stl_binary(path, size):
    """Binary STL: an 80-byte header, the triangle count, 50 bytes a triangle, a hole
    (degenerate triangles at the origin, attribute 0)."""
    n = (size - 84) // 50
    head = b"intake bench: binary STL".ljust(80, b" ") + struct.pack("<I", n)
    return _sparse(path, [(0, head)], 84 + 50 * n), {"faceCount": n}


def _write_repeated(path, head, block, count, tail):
    with open(path, "wb") as f:
        f.write(head)
        left = count
        batch = max(1, (4 * MiB) // max(1, len(block)))
        chunk = block * batch
        while left >= batch:
            f.write(chunk)
            left -= batch
        f.write(block * left)
        f.write(tail)
        return f.tell()


def stl_ascii(path, size):
    """ASCII STL, written for real: one solid of unit triangles in text."""
    facet = (
        b"  facet normal 0.000000e+00 0.000000e+00 1.000000e+00\n"
        b"    outer loop\n"
        b"      vertex 0.000000e+00 0.000000e+00 0.000000e+00\n"
        b"      vertex 1.000000e+00 0.000000e+00 0.000000e+00\n"
        b"      vertex 0.000000e+00 1.000000e+00 0.000000e+00\n"
        b"    endloop\n"
        b"  endfacet\n"
    )
    head, tail = b"solid bench\n", b"endsolid bench\n"
    n = (size - len(head) - len(tail)) // len(facet)
    return _write_repeated(path, head, facet, n, tail), {"faceCount": n}


def ply_binary(path, size):
    """Binary little-endian PLY: `vertex` (float x, y, z: 12 bytes, a hole of points at the
    origin) and 1,000,000 triangles in `face` (uchar count, 3 int indices: 13 bytes, written
    for real, after the vertices)."""
    faces = min(1_000_000, size // 64)

    def header(v):
        return (
            "ply\nformat binary_little_endian 1.0\ncomment intake bench\n"
            f"element vertex {v}\nproperty float x\nproperty float y\nproperty float z\n"
            f"element face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
        ).encode()

    v = (size - len(header(0)) - 8 - 13 * faces) // 12
    head = header(v)
    body_at = len(head) + 12 * v
    face = b"".join(struct.pack("<Biii", 3, i % v, (i + 1) % v, (i + 2) % v) for i in range(min(faces, 4096)))
    rows = (face * (faces // 4096 + 1))[: 13 * faces]
    total = body_at + len(rows)
    return _sparse(path, [(0, head), (body_at, rows)], total), {"vertexCount": v, "faceCount": faces}


def ply_ascii(path, size):
    """ASCII PLY, written for real: a vertex per line (`x y z`) and, for every 4 vertices, 2
    triangles (`3 a b c`)."""
    quad_v = b"0.125 0.25 0.5\n1.125 0.25 0.5\n1.125 1.25 0.5\n0.125 1.25 0.5\n"
    quad_f = b"3 0 1 2\n3 0 2 3\n"
    n = size // (len(quad_v) + len(quad_f) + 1)
    v, faces = 4 * n, 2 * n
    head = (
        "ply\nformat ascii 1.0\ncomment intake bench\n"
        f"element vertex {v}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()
    with open(path, "wb") as f:
        f.write(head)
    with open(path, "ab") as f:
        batch = 65536
        chunk = quad_v * batch
        left = n
        while left > 0:
            k = min(batch, left)
            f.write(chunk[: len(quad_v) * k])
            left -= k
        chunk = quad_f * batch
        left = n
        while left > 0:
            k = min(batch, left)
            f.write(chunk[: len(quad_f) * k])
            left -= k
        total = f.tell()
    return total, {"vertexCount": v, "faceCount": faces}


def dae(path, size):
    """COLLADA, written for real: one mesh, its positions in a `<float_array>` and its
    triangles in `<p>` (the text is the bulk)."""
    tri = b"0 1 2 "
    pos = b"0.125 0.25 0.5 "
    # About half of the text positions, half indices.
    v = max(3, (size - 1024) // 2 // len(pos))
    t = max(1, (size - 1024) // 2 // len(tri))
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">\n'
        "<library_geometries><geometry id=\"g\"><mesh>\n"
        f'<source id="p"><float_array id="pa" count="{3 * v}">'
    ).encode()
    mid = (
        "</float_array><technique_common>"
        f'<accessor source="#pa" count="{v}" stride="3">'
        '<param name="X" type="float"/><param name="Y" type="float"/><param name="Z" type="float"/>'
        "</accessor></technique_common></source>\n"
        '<vertices id="v"><input semantic="POSITION" source="#p"/></vertices>\n'
        f'<triangles count="{t}"><input semantic="VERTEX" source="#v" offset="0"/><p>'
    ).encode()
    tail = (
        "</p></triangles>\n</mesh></geometry></library_geometries>\n"
        '<scene><instance_visual_scene url="#s"/></scene>\n</COLLADA>\n'
    ).encode()
    with open(path, "wb") as f:
        f.write(head)
    _append_repeated(path, pos, v)
    with open(path, "ab") as f:
        f.write(mid)
    _append_repeated(path, tri, t)
    with open(path, "ab") as f:
        f.write(tail)
        total = f.tell()
    return total, {"vertexCount": v, "faceCount": t}


def _append_repeated(path, block, count):
    with open(path, "ab") as f:
        batch = max(1, (4 * MiB) // len(block))
        chunk = block * batch
        while count >= batch:
            f.write(chunk)
            count -= batch
        f.write(block * count)


def usda(path, size):
    """USDA, written for real: one Mesh whose `points` and `faceVertexIndices` arrays are
    the text."""
    pt = b"(0.125, 0.25, 0.5), "
    idx = b"0, 1, 2, "
    n = (size - 1024) // 2 // len(pt)
    m = (size - 1024) // 2 // len(idx)
    with open(path, "wb") as f:
        f.write(b'#usda 1.0\n(\n    defaultPrim = "m"\n)\n\ndef Mesh "m"\n{\n    point3f[] points = [')
    _append_repeated(path, pt, n)
    with open(path, "ab") as f:
        f.write(b"(0, 0, 0)]\n    int[] faceVertexIndices = [")
    _append_repeated(path, idx, m)
    with open(path, "ab") as f:
        f.write(b"0]\n    int[] faceVertexCounts = [3]\n}\n")
        total = f.tell()
    return total, {}


def usdc(path, size):
    """USDC (binary crate): the real box of the fixture (written by USD's own library, see
    the fixtures' README), its table of contents moved to the end of the file and the bulk
    a hole between the last section and the table, where a crate keeps out-of-line array
    values (only the bootstrap header's table offset changes; every section keeps its
    offset)."""
    data = (FIXTURES / "mesh_box.usdc").read_bytes()
    toc_at = struct.unpack("<q", data[16:24])[0]
    toc = data[toc_at:]
    new_toc_at = size - len(toc)
    head = data[:16] + struct.pack("<q", new_toc_at) + data[24:toc_at]
    return _sparse(path, [(0, head), (new_toc_at, toc)], size), {}


def threemf(path, size):
    """3MF: a ZIP64 package with the OPC parts, a deflated model of one box (8 vertices, 12
    triangles) and, stored, an attachment holding the bulk (a hole: its CRC-32 is the CRC
    of that many zeros)."""
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        '<resources><object id="1" type="model"><mesh><vertices>'
        + "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x in (0, 1) for y in (0, 1) for z in (0, 1))
        + "</vertices><triangles>"
        + "".join(
            f'<triangle v1="{a}" v2="{b}" v3="{c}"/>'
            for a, b, c in [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
                            (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
        )
        + '</triangles></mesh></object></resources><build><item objectid="1"/></build></model>\n'
    ).encode()
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>'
        '<Default Extension="bin" ContentType="application/octet-stream"/></Types>\n'
    ).encode()
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
        'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>\n'
    ).encode()
    entries = []  # (name, method, crc, compressed bytes or None, compressed size, size, offset)
    pieces = []
    at = 0

    def add(name, raw, deflate):
        nonlocal at
        if deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(raw) + c.flush()
        else:
            body = raw
        _local(name, 8 if deflate else 0, zlib.crc32(raw), len(body), len(raw), body)

    def _local(name, method, crc, csize, usize, body):
        nonlocal at
        name = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, usize, csize)
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                            len(name), len(extra)) + name + extra
        entries.append((name, method, crc, csize, usize, at))
        pieces.append((at, local + (body or b"")))
        at += len(local) + csize

    add("[Content_Types].xml", types, True)
    add("_rels/.rels", rels, True)
    add("3D/3dmodel.model", model, True)
    # The attachment: sized so the whole package is `size` bytes.
    name = "Attachments/bench.bin"
    cd_size = sum(46 + len(n) + 28 for n, *_ in entries) + 46 + len(name) + 28
    tail = cd_size + 56 + 20 + 22
    local_len = 30 + len(name) + 20
    bulk = size - at - local_len - tail
    crc = _zeros_crc(bulk)
    _local(name, 0, crc, bulk, bulk, None)
    cd_at = at
    cd = b""
    for n, method, c, csize, usize, off in entries:
        extra = struct.pack("<HHQQQ", 1, 24, usize, csize, off)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, c, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(n), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + n + extra
    assert len(cd) == cd_size
    eocd64_at = cd_at + len(cd)
    count = len(entries)
    eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(cd), cd_at)
    locator = struct.pack("<IIQI", 0x07064B50, 0, eocd64_at, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    tail_bytes = cd + eocd64 + locator + eocd
    pieces.append((cd_at, tail_bytes))
    total = cd_at + len(tail_bytes)
    assert total == size, (total, size)
    return _sparse(path, pieces, total), {"vertexCount": 8, "faceCount": 12}


def _zeros_crc(n):
    crc, block = 0, bytes(64 * MiB)
    while n >= len(block):
        crc = zlib.crc32(block, crc)
        n -= len(block)
    return zlib.crc32(block[:n], crc)


# --- audio -------------------------------------------------------------------------------------


def _extended(rate):
    """An 80-bit IEEE extended float of an integer sample rate (AIFF's COMM)."""
    exponent = rate.bit_length() - 1
    mantissa = rate << (63 - exponent)
    return struct.pack(">HQ", 16383 + exponent, mantissa)


def aiff(path, size, aifc=False):
    """AIFF (or AIFF-C `sowt`, little-endian PCM): 16-bit stereo at 48 kHz, the SSND sound
    data a hole (silence). `FORM` sizes are 32-bit: at most 4 GiB."""
    frames = (size - 100) // 4
    rate = 48000
    if aifc:
        comm_body = struct.pack(">hIh", 2, frames, 16) + _extended(rate) + b"sowt" + b"\x00\x00"
        chunks = b"FVER" + struct.pack(">II", 4, 0xA2805140)
    else:
        comm_body = struct.pack(">hIh", 2, frames, 16) + _extended(rate)
        chunks = b""
    chunks += b"COMM" + struct.pack(">I", len(comm_body)) + comm_body
    sound = frames * 4
    ssnd = b"SSND" + struct.pack(">III", 8 + sound, 0, 0)
    form_size = 4 + len(chunks) + len(ssnd) + sound
    head = b"FORM" + struct.pack(">I", form_size) + (b"AIFC" if aifc else b"AIFF") + chunks + ssnd
    total = 8 + form_size
    facts = {"sampleRate": rate, "channels": 2, "duration": frames / rate}
    return _sparse(path, [(0, head)], total), facts


def aifc(path, size):
    """AIFF-C: see `aiff`."""
    return aiff(path, size, aifc=True)


def alac(path, size):
    """ALAC in M4A: `ftyp`, then `mdat` (64-bit size) of 4096-sample stereo 16-bit frames
    stored as ALAC's uncompressed ("escape") frames, 16,388 bytes each: 3 header bytes,
    the samples (a hole: silence) and the end tag. Then `moov` at the end, as ffmpeg
    writes it without `+faststart`: one track with an `alac` sample entry and magic cookie,
    `stts`, `stsc`, a constant-size `stsz` and `co64`."""
    rate, frame_samples, frame = 44100, 4096, 16388
    b = _bmff_box

    def full(kind, version, body):
        return b(kind, struct.pack(">I", version << 24) + body)

    ftyp = b(b"ftyp", b"M4A " + struct.pack(">I", 0x200) + b"M4A isomiso2mp41")
    moov_guess = 4096
    frames = (size - len(ftyp) - 16 - moov_guess) // frame
    mdat_at = len(ftyp)
    data_at = mdat_at + 16
    duration = frames * frame_samples
    cookie = struct.pack(">IBBBBBBHIII", frame_samples, 0, 16, 40, 10, 14, 2, 255, 0, 0, rate)
    entry = b(b"alac", bytes(6) + struct.pack(">H", 1) + bytes(8)
              + struct.pack(">HHHHI", 2, 16, 0, 0, rate << 16) + full(b"alac", 0, cookie))
    stbl = b(b"stbl",
             full(b"stsd", 0, struct.pack(">I", 1) + entry)
             + full(b"stts", 0, struct.pack(">III", 1, frames, frame_samples))
             + full(b"stsc", 0, struct.pack(">IIII", 1, 1, frames, 1))
             + full(b"stsz", 0, struct.pack(">II", frame, frames))
             + full(b"co64", 0, struct.pack(">IQ", 1, data_at)))
    minf = b(b"minf", full(b"smhd", 0, bytes(4))
             + b(b"dinf", full(b"dref", 0, struct.pack(">I", 1) + full(b"url ", 1, b""))) + stbl)
    mdia = b(b"mdia",
             full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, rate, duration, 0x55C4, 0))
             + full(b"hdlr", 0, bytes(4) + b"soun" + bytes(12) + b"SoundHandler\0") + minf)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = full(b"tkhd", 0, struct.pack(">IIIII", 0, 0, 1, 0, duration * 1000 // rate) + bytes(8)
                + struct.pack(">hhhH", 0, 0, 0x0100, 0) + matrix + struct.pack(">II", 0, 0))
    tkhd = b"\x00\x00\x00\x5c" + tkhd[4:8] + b"\x00\x00\x00\x03" + tkhd[12:]  # flags: enabled, in movie
    mvhd = full(b"mvhd", 0, struct.pack(">IIII", 0, 0, 1000, duration * 1000 // rate)
                + struct.pack(">IH", 0x10000, 0x0100) + bytes(10) + matrix + bytes(24) + struct.pack(">I", 2))
    moov = b(b"moov", mvhd + b(b"trak", tkhd + mdia))
    assert len(moov) <= moov_guess
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + frames * frame)
    moov_at = data_at + frames * frame
    # Each frame: ID_CPE, instance 0, 12 unused bits, header nibble 0001 (not partial, no
    # shift, escape), 2 × 4096 raw 16-bit samples, then ID_END (111) and padding to a byte.
    pieces = [(0, ftyp + mdat)]
    end_then_next = b"\x01\xc0\x20\x00\x02"
    pieces.append((data_at, b"\x20\x00\x02"))
    for i in range(1, frames):
        pieces.append((data_at + i * frame - 2, end_then_next))
    pieces.append((data_at + frames * frame - 2, b"\x01\xc0"))
    pieces.append((moov_at, moov))
    total = moov_at + len(moov)
    facts = {"sampleRate": rate, "channels": 2, "duration": duration / rate, "codecName": "alac"}
    return _sparse(path, pieces, total), facts


def _adts_frames(data):
    """Splits an ADTS stream into its frames."""
    frames, at = [], 0
    while at + 7 <= len(data):
        assert data[at] == 0xFF and data[at + 1] & 0xF6 == 0xF0, f"no ADTS sync at {at}"
        length = ((data[at + 3] & 3) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        frames.append(data[at : at + length])
        at += length
    assert at == len(data)
    return frames


def aac(path, size, scratch):
    """AAC in ADTS, written for real: 20 s of stereo 48 kHz 128 kbit/s AAC-LC made by
    ffmpeg (a sine and noise, so the frames are full-size), repeated until SIZE. ADTS is a
    sequence of self-contained frames, so the repetition is a valid stream."""
    piece = pathlib.Path(scratch) / "bench-piece.aac"
    subprocess.run(FFMPEG + ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20",
                             "-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:duration=20:amplitude=0.3",
                             "-filter_complex", "[0][1]amerge=inputs=2", "-ac", "2",
                             "-c:a", "aac", "-b:a", "128k", "-f", "adts", str(piece)], check=True)
    data = piece.read_bytes()
    piece.unlink()
    frames = _adts_frames(data)
    copies = max(1, size // len(data))
    total = _write_repeated(path, b"", data, copies, b"")
    count = len(frames) * copies
    return total, {"sampleRate": 48000, "channels": 2, "duration": count * 1024 / 48000}


# --- video -------------------------------------------------------------------------------------


def avi(path, size):
    """AVI with OpenDML (AVI 2.0) extensions: uncompressed 24-bit 1920×1080 frames (BI_RGB
    DIBs, `00db` chunks) at 25 fps. The first `RIFF AVI ` form (at most 1 GiB) holds `hdrl`
    (`avih`, one video `strl`, `odml/dmlh` with the total frame count), `movi` and `idx1`;
    `RIFF AVIX` forms of at most 1 GiB each hold the other frames. Every chunk header is
    written; the frames are a hole (black). OpenDML's `ix00` standard indexes are left out:
    `idx1` indexes the first form, as AVI 1.0 players read it."""
    w, h, fps = 1920, 1080, 25
    frame = w * h * 3
    rec = 8 + frame
    per_riff = (1 << 30) // rec - 1

    def chunk(fourcc, body):
        pad = b"\0" if len(body) % 2 else b""
        return fourcc + struct.pack("<I", len(body)) + body + pad

    def lst(kind, body):
        return b"LIST" + struct.pack("<I", 4 + len(body)) + kind + body

    # Frames: as many as fit.
    def layout(total_frames):
        forms = []
        left = total_frames
        while left > 0:
            forms.append(min(left, per_riff))
            left -= forms[-1]
        return forms

    def build(total_frames):
        forms = layout(total_frames)
        avih = struct.pack("<IIIIIIIIII4I", 1_000_000 // fps, frame * fps, 0, 0x10, forms[0], 0, 1, rec, w, h, 0, 0, 0, 0)
        strh = b"vids" + b"DIB " + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, total_frames, rec, 0xFFFFFFFF,
                                               0, 0, 0, w, h)
        strf = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, frame, 0, 0, 0, 0)
        hdrl = lst(b"hdrl", chunk(b"avih", avih) + lst(b"strl", chunk(b"strh", strh) + chunk(b"strf", strf))
                   + lst(b"odml", chunk(b"dmlh", struct.pack("<I", total_frames) + bytes(244))))
        return forms, hdrl

    header_guess = 12 + 2048
    total_frames = (size - header_guess) // (rec + 16 + 24)
    while True:
        forms, hdrl = build(total_frames)
        head_len = 12 + len(hdrl) + 12  # RIFF AVI, hdrl, LIST movi
        length = 0
        for i, n in enumerate(forms):
            length += (head_len if i == 0 else 24) + n * rec + (8 + 16 * n if i == 0 else 0)
        if length <= size:
            break
        total_frames -= 1
    pieces, at = [], 0
    for i, n in enumerate(forms):
        movi_len = 4 + n * rec
        if i == 0:
            idx1 = 8 + 16 * n
            riff_len = 4 + len(hdrl) + 8 + movi_len + idx1
            head = b"RIFF" + struct.pack("<I", riff_len) + b"AVI " + hdrl + b"LIST" + struct.pack("<I", movi_len) + b"movi"
        else:
            riff_len = 4 + 8 + movi_len
            head = b"RIFF" + struct.pack("<I", riff_len) + b"AVIX" + b"LIST" + struct.pack("<I", movi_len) + b"movi"
        pieces.append((at, head))
        first_frame = at + len(head)
        for k in range(n):
            pieces.append((first_frame + k * rec, b"00db" + struct.pack("<I", frame)))
        end = first_frame + n * rec
        if i == 0:
            entries = b"".join(struct.pack("<4sIII", b"00db", 0x10, 4 + k * rec, frame) for k in range(n))
            pieces.append((end, b"idx1" + struct.pack("<I", 16 * n) + entries))
            end += 8 + 16 * n
        at = end
    facts = {"width": w, "height": h, "nbFrames": total_frames, "duration": total_frames / fps}
    return _sparse(path, pieces, at), facts


def mpegts(path, size, scratch):
    """MPEG-TS, written for real: about 64 MiB of H.264 (x264, 1280×720, 25 fps, 50 Mbit/s
    of `testsrc2`) made by ffmpeg, then looped by ffmpeg (`-stream_loop`, `-c copy`, which
    keeps the timestamps rising) to SIZE. Every packet is a real one: the validator samples
    sync bytes through the whole file."""
    piece = pathlib.Path(scratch) / "bench-piece.ts"
    seconds = max(1, min(10, size // (6 * MiB)))
    subprocess.run(FFMPEG + ["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
                             "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "50M", "-minrate", "50M",
                             "-maxrate", "50M", "-bufsize", "50M", "-x264-params", "nal-hrd=cbr:log-level=error",
                             "-f", "mpegts", str(piece)], check=True)
    loops = max(1, size // piece.stat().st_size)
    subprocess.run(FFMPEG + ["-stream_loop", str(loops - 1), "-i", str(piece), "-c", "copy", "-f", "mpegts",
                             str(path)], check=True)
    piece.unlink()
    return os.path.getsize(path), {"width": 1280, "height": 720, "duration": seconds * loops}


# --- model -------------------------------------------------------------------------------------


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, wire, payload):
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(payload)
    return key + _varint(len(payload)) + payload


def onnx(path, size):
    """ONNX: `Y = MatMul(MatMul(X, W1), W2)` with W1 and W2 float initializers whose
    `raw_data` holds the bulk (a hole: zeros). ONNX is one protobuf message, and protobuf
    refuses messages over 2 GiB (onnx.save writes larger models' tensors to external
    files), so the file is written by hand in protobuf's wire format; each initializer stays
    under 2 GiB on its own."""
    n = 4096

    def value_info(name, dims):
        shape = b"".join(_field(1, 2, _field(1, 0, d)) for d in dims)
        tensor_type = _field(1, 0, 1) + _field(2, 2, shape)
        return _field(1, 2, name.encode()) + _field(2, 2, _field(1, 2, tensor_type))

    def node(inputs, output, name):
        return b"".join(_field(1, 2, i.encode()) for i in inputs) + _field(2, 2, output.encode()) \
            + _field(3, 2, name.encode()) + _field(4, 2, b"MatMul")

    # Each weight: [n, k] floats; choose k so the two tensors fill SIZE.
    k = max(1, (size - 1024) // 2 // (4 * n))

    def init_head(name, rows, cols):
        """The TensorProto up to its raw_data's bytes, and the TensorProto's length."""
        raw_len = 4 * rows * cols
        head = _field(1, 0, rows) + _field(1, 0, cols) + _field(2, 0, 1) + _field(8, 2, name.encode())
        return head + _varint(9 << 3 | 2) + _varint(raw_len), raw_len

    w1_head, w1_len = init_head("W1", n, k)
    w2_head, w2_len = init_head("W2", k, n)
    graph_head = (_field(1, 2, node(["X", "W1"], "H", "mm1")) + _field(1, 2, node(["H", "W2"], "Y", "mm2"))
                  + _field(2, 2, b"bench"))
    w1 = _varint(5 << 3 | 2) + _varint(len(w1_head) + w1_len) + w1_head
    w2 = _varint(5 << 3 | 2) + _varint(len(w2_head) + w2_len) + w2_head
    graph_tail = _field(11, 2, value_info("X", [1, n])) + _field(12, 2, value_info("Y", [1, n]))
    graph_len = len(graph_head) + len(w1) + w1_len + len(w2) + w2_len + len(graph_tail)
    model_head = _field(1, 0, 8) + _field(2, 2, b"intake-bench") + _varint(7 << 3 | 2) + _varint(graph_len)
    opset = _field(8, 2, _field(1, 2, b"") + _field(2, 0, 17))
    pieces = []
    first = model_head + graph_head + w1
    pieces.append((0, first))
    at = len(first) + w1_len
    pieces.append((at, w2))
    at += len(w2) + w2_len
    rest = graph_tail + opset
    pieces.append((at, rest))
    total = at + len(rest)
    facts = {"irVersion": 8, "opsetVersion": 17, "inputCount": 1, "outputCount": 1, "nodeCount": 2}
    return _sparse(path, pieces, total), facts


# family -> (function, upload kind)
FAMILIES = {
    "avif": (avif, "image"),
    "heic": (heic, "image"),
    "tiff": (tiff, "image"),
    "bigtiff": (bigtiff, "image"),
    "bmp": (bmp, "image"),
    "tga": (tga, "image"),
    "psb": (psb, "image"),
    "exr": (exr, "image"),
    "hdr": (hdr, "image"),
    "stl-binary": (stl_binary, "3d"),
    "stl-ascii": (stl_ascii, "3d"),
    "ply-binary": (ply_binary, "3d"),
    "ply-ascii": (ply_ascii, "3d"),
    "dae": (dae, "3d"),
    "3mf": (threemf, "3d"),
    "usda": (usda, "3d"),
    "usdc": (usdc, "3d"),
    "aac": (aac, "audio"),
    "aiff": (aiff, "audio"),
    "aifc": (aifc, "audio"),
    "alac": (alac, "audio"),
    "avi": (avi, "video"),
    "mpegts": (mpegts, "video"),
    "onnx": (onnx, "model"),
}
# Written for real (no hole to leave): bench/run.sh gives them a smaller size.
REAL = {"stl-ascii", "ply-ascii", "dae", "usda", "aac", "mpegts"}


def main(argv):
    if argv[1:] == ["--list"]:
        for name, (_, kind) in FAMILIES.items():
            print(name, kind, "real" if name in REAL else "sparse")
        return 0
    args = argv[1:]
    scratch = tempfile.gettempdir()
    if len(args) == 5 and args[3] == "--scratch":
        scratch = args.pop()
        args.pop()
    if len(args) != 3 or args[0] not in FAMILIES:
        print(__doc__, file=sys.stderr)
        return 2
    family, size, path = args[0], int(args[1]), args[2]
    function, kind = FAMILIES[family]
    if family in ("aac", "mpegts"):
        written, expect = function(path, size, scratch)
    else:
        written, expect = function(path, size)
    assert written == os.path.getsize(path) and written <= size, (written, size)
    print(json.dumps({"family": family, "kind": kind, "size": written, "expect": expect,
                      "sparse": family not in REAL}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
