"""AVIF, HEIC, OpenEXR and Radiance HDR test files for intake's `image` kind (issue 18).

Each file is built at test time by a real encoder: Pillow (built-in AVIF, libavif/libaom),
pillow-heif (libheif + x265) for HEIC, the OpenEXR Python bindings for EXR, and OpenCV
(`cv2.imwrite`) for Radiance HDR, which ffmpeg 5.1 cannot write. The picture is a 64×48
gradient (16×12 for the tiled and the two-part EXR); the EXR and HDR values go up to 4.0 (beyond
display white). Then one truncated and one lying-header file per family, made by editing
those bytes.
"""

import pathlib
import struct

REQUIRES = {"pip": ["pillow>=11.3", "pillow-heif", "OpenEXR>=3.3", "opencv-python-headless", "numpy"], "apt": []}

W, H = 64, 48


def _gradient(w=W, h=H):
    import numpy as np

    x = np.linspace(0, 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None].repeat(w, 1)
    return np.stack([x, y, np.full_like(x, 0.5)], -1), np.clip(x + y, 0, 1)


def _boxes(data, start=0, end=None):
    """(type, body start, box end) of each ISO-BMFF box in data[start:end] (32-bit sizes)."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        yield kind, start + 8, start + size
        start += size


def _lie_in_iloc(data):
    """Makes the first extent of the first item in `iloc` 1 MiB long (past the file's end)."""
    data = bytearray(data)
    meta = next(b for k, b, e in _boxes(data) if k == b"meta")
    meta_end = next(e for k, b, e in _boxes(data) if k == b"meta")
    at = next(b for k, b, e in _boxes(data, meta + 4, meta_end) if k == b"iloc")
    version = data[at]
    offset_size, length_size = data[at + 4] >> 4, data[at + 4] & 15
    base_size, index_size = data[at + 5] >> 4, (data[at + 5] & 15 if version else 0)
    pos = at + 6 + (2 if version < 2 else 4)  # item count
    pos += 2 if version < 2 else 4  # item id
    pos += 2 if version else 0  # construction method
    pos += 2 + base_size + 2 + index_size + offset_size  # data ref, base, extent count, index, offset
    data[pos : pos + length_size] = (1 << 20).to_bytes(length_size, "big")
    return bytes(data)


def fixtures(out_dir: pathlib.Path) -> list[dict]:
    import numpy as np
    import cv2
    import OpenEXR
    import pillow_heif
    from PIL import Image

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rgb, alpha = _gradient()
    rgb8 = (rgb * 255).astype(np.uint8)
    a8 = (alpha * 255).astype(np.uint8)
    files = []

    def accepted(name, **expect):
        files.append({"file": name, "kind": "image", "expect": {"width": W, "height": H, **expect}})

    def refused(name, data, reason):
        (out_dir / name).write_bytes(data)
        files.append({"file": name, "kind": "image", "reject": reason})

    # AVIF (Pillow's built-in libavif).
    Image.fromarray(rgb8).save(out_dir / "image_64x48.avif", quality=30)
    accepted("image_64x48.avif", format="avif", codecName="av1", bitDepth=8, hasAlpha=False, hdr=False)
    Image.fromarray(np.dstack([rgb8, a8]), "RGBA").save(out_dir / "image_64x48_alpha.avif", quality=30)
    accepted("image_64x48_alpha.avif", format="avif", codecName="av1", bitDepth=8, hasAlpha=True, hdr=False)

    # HEIC (libheif + x265), 8 and 10 bits.
    pillow_heif.register_heif_opener()
    Image.fromarray(rgb8).save(out_dir / "image_64x48.heic", quality=30)
    accepted("image_64x48.heic", format="heic", codecName="hevc", bitDepth=8, hasAlpha=False, hdr=False)
    rgb16 = (rgb * 65535).astype(np.uint16)
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(W, H), data=rgb16.tobytes())
    heif.save(out_dir / "image_64x48_10bit.heic", quality=30, bit_depth=10)
    accepted("image_64x48_10bit.heic", format="heic", codecName="hevc", bitDepth=10, hasAlpha=False, hdr=False)

    # OpenEXR: half RGBA scan lines (ZIP), float RGB tiles (ZIP, 8×8, one level).
    rgba_half = np.dstack([rgb * 4, alpha]).astype(np.float16)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"RGBA": rgba_half}).write(str(out_dir / "image_64x48_half_rgba.exr"))
    accepted("image_64x48_half_rgba.exr", format="exr", bitDepth=16, hasAlpha=True, hdr=True)
    small, _ = _gradient(16, 12)
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize, tiles.mode, tiles.roundingMode = 8, 8, OpenEXR.ONE_LEVEL, OpenEXR.ROUND_DOWN
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles}
    OpenEXR.File(header, {"RGB": (small * 4).astype(np.float32)}).write(str(out_dir / "image_16x12_float_tiled.exr"))
    files.append({
        "file": "image_16x12_float_tiled.exr",
        "kind": "image",
        "expect": {"format": "exr", "width": 16, "height": 12, "bitDepth": 32, "hasAlpha": False, "hdr": True},
    })

    beauty = OpenEXR.Part(
        {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage},
        {"RGB": (small * 4).astype(np.float16)},
        name="beauty",
    )
    depth = OpenEXR.Part(header, {"Z": (small[:, :, 0] * 4).astype(np.float32)}, name="depth")
    OpenEXR.File([beauty, depth]).write(str(out_dir / "image_16x12_multipart.exr"))
    files.append({
        "file": "image_16x12_multipart.exr",
        "kind": "image",
        "expect": {"format": "exr", "width": 16, "height": 12, "bitDepth": 16, "hasAlpha": False, "hdr": True},
    })

    # Radiance HDR (OpenCV writes run-length encoded RGBE; it takes BGR).
    cv2.imwrite(str(out_dir / "image_64x48.hdr"), np.ascontiguousarray((rgb * 4)[:, :, ::-1]))
    accepted("image_64x48.hdr", format="hdr", hasAlpha=False, hdr=True)

    # Truncated and lying files.
    avif = (out_dir / "image_64x48.avif").read_bytes()
    refused("truncated.avif", avif[:-20], "truncated")
    heic = (out_dir / "image_64x48.heic").read_bytes()
    refused("lying_iloc.heic", _lie_in_iloc(heic), "lies past the end of the file")
    exr = (out_dir / "image_64x48_half_rgba.exr").read_bytes()
    refused("truncated.exr", exr[:-100], "truncated")
    window = exr.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    lying = exr[: window + 12] + struct.pack("<i", 4799) + exr[window + 16 :]
    refused("lying_window.exr", lying, "whose offset table the file cannot hold")
    hdr = (out_dir / "image_64x48.hdr").read_bytes()
    refused("truncated.hdr", hdr[: len(hdr) // 2], "truncated")
    refused("lying_resolution.hdr", hdr.replace(b"-Y 48 +X 64", b"-Y 4800 +X 64", 1), "scan line")
    return files
