"""Raster images beyond PNG/JPEG/WebP/GIF: TIFF (classic, big-endian, BigTIFF, tiled,
multi-page), BMP (BITMAPINFOHEADER, bit fields, V5 with alpha, RLE8, palette, top-down),
TGA (uncompressed, run-length, grey, palette) and Photoshop PSD/PSB.

Every file is built at test time from ffmpeg's `testsrc` picture (64×48) by the real tools:
Pillow writes TIFF, BMP and TGA, ffmpeg writes TIFF, BMP and TGA, ImageMagick writes tiled
TIFF and V5/RLE8 BMP, psd-tools writes PSD and PSB. The same commands made the committed
fixtures under crates/intake-core/src/validate/fixtures/ (see its README.md). Per format
one truncated and one lying-header file are refused.
"""

from __future__ import annotations

import pathlib
import shutil
import struct
import subprocess

REQUIRES = {"pip": ["pillow", "psd-tools"], "apt": ["ffmpeg", "imagemagick"]}


def _ffmpeg(out: pathlib.Path, *args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48",
         "-frames:v", "1", *args, str(out)],
        check=True,
    )


def _imagemagick() -> str:
    # Debian names ImageMagick 6's binary convert-im6.q16 (`convert` is an alternative, and
    # may be shadowed); ImageMagick 7 calls it magick.
    for name in ("convert-im6.q16", "magick", "convert"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("ImageMagick is not installed (apt-get install imagemagick)")


def _source(out_dir: pathlib.Path):
    from PIL import Image

    png = out_dir / "raster_source.png"
    _ffmpeg(png)
    return png, Image.open(png).convert("RGB")


def _write(path: pathlib.Path, data: bytes) -> None:
    path.write_bytes(data)


def fixtures(out_dir: pathlib.Path) -> list[dict]:
    from PIL import Image
    from psd_tools import PSDImage
    from psd_tools.constants import Compression

    out_dir.mkdir(parents=True, exist_ok=True)
    png, rgb = _source(out_dir)
    magick = _imagemagick()
    files: list[dict] = []

    def accepted(name: str, **expect) -> None:
        files.append({"file": name, "kind": "image", "expect": {"width": 64, "height": 48, **expect}})

    def refused(name: str, reason: str) -> None:
        files.append({"file": name, "kind": "image", "reject": reason})

    # ---- TIFF
    rgb.save(out_dir / "image_64x48.tif", compression="tiff_deflate")
    accepted("image_64x48.tif", format="tiff", bitDepth=8, channels=3, hasAlpha=False)
    rgb.convert("RGBA").save(out_dir / "image_64x48_rgba.tif", compression="tiff_lzw")
    accepted("image_64x48_rgba.tif", format="tiff", bitDepth=8, channels=4, hasAlpha=True)
    # 16-bit grey over the full range (Pillow keeps 8-bit values as they are: scale by 257).
    rgb.convert("L").convert("I").point(lambda v: v * 257).convert("I;16B").save(out_dir / "image_64x48_16be.tif")
    accepted("image_64x48_16be.tif", format="tiff", bitDepth=16, channels=1, hasAlpha=False)
    rgb.convert("L").save(out_dir / "image_64x48_bigtiff.tif", big_tiff=True)
    accepted("image_64x48_bigtiff.tif", format="tiff", bitDepth=8, channels=1)
    pages = [rgb.convert("L").rotate(90 * i) for i in range(3)]
    pages[0].save(out_dir / "image_64x48_pages.tif", save_all=True, append_images=pages[1:], compression="packbits")
    accepted("image_64x48_pages.tif", format="tiff", nbFrames=3)
    _ffmpeg(out_dir / "image_64x48_ffmpeg.tif", "-pix_fmt", "rgb24", "-compression_algo", "deflate")
    accepted("image_64x48_ffmpeg.tif", format="tiff", bitDepth=8, channels=3)
    subprocess.run(
        [magick, str(png), "-define", "tiff:tile-geometry=16x16", "-compress", "zip", str(out_dir / "image_64x48_tiled.tif")],
        check=True,
    )
    accepted("image_64x48_tiled.tif", format="tiff", bitDepth=8, channels=3)
    raw = (out_dir / "image_64x48.tif").read_bytes()
    _write(out_dir / "tiff_truncated.tif", raw[: len(raw) - 200])
    refused("tiff_truncated.tif", "truncated")
    # Lying header: the 16-bit file's width doubled, so its uncompressed strips are too short.
    lying = bytearray((out_dir / "image_64x48_16be.tif").read_bytes())
    _patch_tiff_width(lying, 128)
    _write(out_dir / "tiff_lying_width.tif", bytes(lying))
    refused("tiff_lying_width.tif", "uncompressed strips hold")

    # ---- BMP
    rgb.save(out_dir / "image_64x48.bmp")
    accepted("image_64x48.bmp", format="bmp", bitDepth=8, channels=3, hasAlpha=False)
    _ffmpeg(out_dir / "image_64x48_pal8.bmp", "-pix_fmt", "pal8")
    accepted("image_64x48_pal8.bmp", format="bmp", bitDepth=8, channels=3)
    _ffmpeg(out_dir / "image_64x48_rgb565.bmp", "-pix_fmt", "rgb565le")
    accepted("image_64x48_rgb565.bmp", format="bmp", channels=3, hasAlpha=False)
    subprocess.run(
        [magick, str(png), "-alpha", "set", "-channel", "A", "-evaluate", "set", "50%",
         str(out_dir / "image_64x48_v5_alpha.bmp")],
        check=True,
    )
    accepted("image_64x48_v5_alpha.bmp", format="bmp", bitDepth=8, channels=4, hasAlpha=True)
    subprocess.run(
        [magick, str(png), "-colors", "16", "-compress", "RLE", "BMP3:" + str(out_dir / "image_64x48_rle8.bmp")],
        check=True,
    )
    accepted("image_64x48_rle8.bmp", format="bmp", bitDepth=8)
    bmp = (out_dir / "image_64x48.bmp").read_bytes()
    _write(out_dir / "image_64x48_topdown.bmp", _bmp_top_down(bmp))
    accepted("image_64x48_topdown.bmp", format="bmp", bitDepth=8, channels=3)
    _write(out_dir / "bmp_truncated.bmp", bmp[: len(bmp) - 100])
    refused("bmp_truncated.bmp", "truncated")
    lying = bytearray(bmp)
    lying[22:26] = struct.pack("<i", 4800)  # height 48 → 4800: rows the file cannot hold
    _write(out_dir / "bmp_lying_height.bmp", bytes(lying))
    refused("bmp_lying_height.bmp", "pixels need")

    # ---- TGA
    rgb.save(out_dir / "image_64x48.tga")
    accepted("image_64x48.tga", format="tga", bitDepth=8, channels=3, hasAlpha=False)
    rgb.convert("RGBA").save(out_dir / "image_64x48_rle_rgba.tga", compression="tga_rle")
    accepted("image_64x48_rle_rgba.tga", format="tga", bitDepth=8, channels=4, hasAlpha=True)
    rgb.convert("L").save(out_dir / "image_64x48_gray.tga")
    accepted("image_64x48_gray.tga", format="tga", bitDepth=8, channels=1)
    rgb.convert("P").save(out_dir / "image_64x48_pal.tga")
    accepted("image_64x48_pal.tga", format="tga", bitDepth=8, channels=3)
    _ffmpeg(out_dir / "image_64x48_ffmpeg.tga")
    accepted("image_64x48_ffmpeg.tga", format="tga", bitDepth=8, channels=3)
    tga = (out_dir / "image_64x48.tga").read_bytes()
    _write(out_dir / "tga_truncated.tga", tga[: len(tga) // 2])
    refused("tga_truncated.tga", "truncated")
    lying = bytearray(tga)
    lying[12:14] = struct.pack("<H", 640)  # width 64 → 640
    _write(out_dir / "tga_lying_width.tga", bytes(lying))
    refused("tga_lying_width.tga", "pixels need")

    # ---- PSD / PSB
    PSDImage.frompil(rgb).save(out_dir / "image_64x48.psd")
    accepted("image_64x48.psd", format="psd", bitDepth=8, channels=3, hasAlpha=False)
    PSDImage.frompil(rgb.convert("RGBA")).save(out_dir / "image_64x48_rgba.psd")
    accepted("image_64x48_rgba.psd", format="psd", bitDepth=8, channels=4, hasAlpha=True)
    PSDImage.frompil(rgb.convert("L"), compression=Compression.RAW).save(out_dir / "image_64x48_raw_gray.psd")
    accepted("image_64x48_raw_gray.psd", format="psd", bitDepth=8, channels=1)
    PSDImage.new("RGB", (64, 48), depth=16).save(out_dir / "image_64x48_16bit.psd")
    accepted("image_64x48_16bit.psd", format="psd", bitDepth=16, channels=3)
    # psd-tools has no public switch for PSB: set the header's version, then encode the merged
    # image again (its run-length row counts are four bytes in a PSB, two in a PSD).
    psb = PSDImage.frompil(rgb)
    header = psb._record.header
    planes = psb._record.image_data.get_data(header)
    header.version = 2
    psb._record.image_data.set_data(planes, header)
    psb.save(out_dir / "image_64x48.psb")
    accepted("image_64x48.psb", format="psb", bitDepth=8, channels=3)
    psd = (out_dir / "image_64x48.psd").read_bytes()
    _write(out_dir / "psd_truncated.psd", psd[: len(psd) - 300])
    refused("psd_truncated.psd", "truncated")
    lying = bytearray((out_dir / "image_64x48_raw_gray.psd").read_bytes())
    lying[14:18] = struct.pack(">I", 480)  # height 48 → 480: raw rows the file cannot hold
    _write(out_dir / "psd_lying_height.psd", bytes(lying))
    refused("psd_lying_height.psd", "raw image data needs")

    (out_dir / "raster_source.png").unlink()
    return files


def _patch_tiff_width(data: bytearray, width: int) -> None:
    """Sets ImageWidth (tag 256) in the first IFD of a classic TIFF."""
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, kind = struct.unpack(endian + "HH", data[at : at + 4])
        if tag == 256:
            fmt = endian + ("H" if kind == 3 else "I")
            data[at + 8 : at + 8 + struct.calcsize(fmt)] = struct.pack(fmt, width)
            return
    raise ValueError("no ImageWidth")


def _bmp_top_down(bmp: bytes) -> bytes:
    """The same 24-bit bitmap stored top-down: negative height, rows in the other order."""
    (offset,) = struct.unpack("<I", bmp[10:14])
    width, height = struct.unpack("<ii", bmp[18:26])
    row = (width * 3 + 3) // 4 * 4
    rows = [bmp[offset + i * row : offset + (i + 1) * row] for i in range(height)]
    header = bytearray(bmp[:offset])
    header[22:26] = struct.pack("<i", -height)
    return bytes(header) + b"".join(reversed(rows))
