"""Audio and video formats added by issue 18: AAC in ADTS, AIFF/AIFF-C, ALAC in M4A, AVI and
MPEG-TS (and M2TS).

Every file is made at test time by ffmpeg (the same commands as the committed fixtures in
crates/intake-core/src/validate/fixtures/README.md); the damaged variants are cut or patched
from them here: per family one truncated file and one whose header lies about the body.
"""

import pathlib
import struct
import subprocess

REQUIRES = {"pip": [], "apt": ["ffmpeg"]}

FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-ar", "8000", "-ac", "1"]
SINE_02 = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", "-ar", "8000", "-ac", "1"]
TESTSRC = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"]


def _ffmpeg(out: pathlib.Path, *args: str) -> bytes:
    subprocess.run([*FFMPEG, *args, str(out)], check=True, capture_output=True)
    return out.read_bytes()


def _write(out_dir: pathlib.Path, name: str, data: bytes) -> str:
    (out_dir / name).write_bytes(data)
    return name


def fixtures(out_dir: pathlib.Path) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cases: list[dict] = []

    # --- audio -------------------------------------------------------------------------
    aac = _ffmpeg(out_dir / "audio_aac.aac", *SINE, "-c:a", "aac", "-b:a", "16k", "-f", "adts")
    cases.append({
        "file": "audio_aac.aac", "kind": "audio",
        # 9 ADTS frames of 1024 samples at 8 kHz: exact, counted frame by frame.
        "expect": {"format": "aac", "codecName": "aac", "sampleRate": 8000, "channels": 1,
                   "duration": 9 * 1024 / 8000},
    })
    cases.append({"file": _write(out_dir, "audio_aac_truncated.aac", aac[:-20]), "kind": "audio",
                  "reject": "truncated"})
    # The third frame's 13-bit length made 2 bytes longer: the next header is not where it
    # says. (Not the first frame: sniffing wants two headers in a row to call it ADTS.)
    lying = bytearray(aac)
    at = 0
    for _ in range(2):
        at += (lying[at + 3] & 3) << 11 | lying[at + 4] << 3 | lying[at + 5] >> 5
    length = ((lying[at + 3] & 3) << 11 | lying[at + 4] << 3 | lying[at + 5] >> 5) + 2
    lying[at + 3] = (lying[at + 3] & ~3 & 0xFF) | (length >> 11)
    lying[at + 4] = (length >> 3) & 0xFF
    lying[at + 5] = (lying[at + 5] & 0x1F) | ((length & 7) << 5)
    cases.append({"file": _write(out_dir, "audio_aac_lying.aac", bytes(lying)), "kind": "audio",
                  "reject": "has no valid ADTS header"})

    aiff = _ffmpeg(out_dir / "audio_s16.aiff", *SINE_02, "-c:a", "pcm_s16be")
    cases.append({
        "file": "audio_s16.aiff", "kind": "audio",
        "expect": {"format": "aiff", "codecName": "pcm_s16be", "sampleRate": 8000, "channels": 1,
                   "duration": 0.2, "bitrate": 128000},
    })
    _ffmpeg(out_dir / "audio_sowt.aifc", *SINE_02, "-c:a", "pcm_s16le", "-f", "aiff")
    cases.append({
        "file": "audio_sowt.aifc", "kind": "audio",
        "expect": {"format": "aiff", "codecName": "pcm_s16le", "sampleRate": 8000, "channels": 1,
                   "duration": 0.2},
    })
    cases.append({"file": _write(out_dir, "audio_truncated.aiff", aiff[:-100]), "kind": "audio",
                  "reject": "truncated"})
    # FORM and SSND sizes fixed up for the cut file: COMM's frame count now lies.
    cut = bytearray(aiff[:-100])
    cut[4:8] = struct.pack(">I", len(cut) - 8)
    ssnd = cut.index(b"SSND")
    cut[ssnd + 4:ssnd + 8] = struct.pack(">I", len(cut) - ssnd - 8)
    cases.append({"file": _write(out_dir, "audio_lying.aiff", bytes(cut)), "kind": "audio",
                  "reject": "sample frames"})

    _ffmpeg(out_dir / "audio_alac.m4a", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5",
            "-ar", "8000", "-ac", "2", "-c:a", "alac")
    cases.append({
        "file": "audio_alac.m4a", "kind": "audio",
        "expect": {"format": "m4a", "codecName": "alac", "sampleRate": 8000, "channels": 2, "duration": 0.5},
    })

    # --- video -------------------------------------------------------------------------
    avi = _ffmpeg(out_dir / "video_mpeg4.avi", *TESTSRC, "-t", "1", "-c:v", "mpeg4", "-q:v", "31")
    cases.append({
        "file": "video_mpeg4.avi", "kind": "video",
        "expect": {"format": "avi", "codecName": "mpeg4", "width": 64, "height": 48, "frameRate": 10.0,
                   "nbFrames": 10, "duration": 1.0},
    })
    _ffmpeg(out_dir / "video_mjpeg.avi", *TESTSRC, "-t", "0.5", "-c:v", "mjpeg", "-q:v", "31")
    cases.append({
        "file": "video_mjpeg.avi", "kind": "video",
        "expect": {"format": "avi", "codecName": "mjpeg", "width": 64, "height": 48, "frameRate": 10.0,
                   "nbFrames": 5, "duration": 0.5},
    })
    cases.append({"file": _write(out_dir, "video_truncated.avi", avi[:-50]), "kind": "video",
                  "reject": "truncated"})
    # RIFF size fixed up for a cut inside movi: the movi list's size now lies.
    movi = avi.index(b"movi") - 8
    cut = bytearray(avi[:movi + 300])
    cut[4:8] = struct.pack("<I", len(cut) - 8)
    cases.append({"file": _write(out_dir, "video_lying.avi", bytes(cut)), "kind": "video",
                  "reject": "\"movi\" list declares"})

    ts = _ffmpeg(out_dir / "video_h264_aac.ts", *TESTSRC, "-f", "lavfi", "-i",
                 "sine=frequency=440:sample_rate=8000", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                 "-crf", "40", "-preset", "veryfast", "-c:a", "aac", "-b:a", "8k", "-ac", "1")
    ts_expect = {"format": "mpegts", "codecName": "h264", "width": 64, "height": 48, "frameRate": 10.0,
                 "duration": 1.0}
    cases.append({"file": "video_h264_aac.ts", "kind": "video",
                  "expect": {**ts_expect, "sampleRate": 8000, "channels": 1}})
    _ffmpeg(out_dir / "video_hevc.ts", *TESTSRC, "-t", "1", "-c:v", "libx265", "-x265-params", "log-level=error",
            "-pix_fmt", "yuv420p", "-crf", "40", "-preset", "veryfast")
    cases.append({"file": "video_hevc.ts", "kind": "video",
                  "expect": {**ts_expect, "codecName": "hevc"}})
    m2ts = b"".join(b"\0\0\0\0" + ts[i:i + 188] for i in range(0, len(ts), 188))
    cases.append({"file": _write(out_dir, "video_h264_aac.m2ts", m2ts), "kind": "video", "expect": ts_expect})
    cases.append({"file": _write(out_dir, "video_truncated.ts", ts[:-100]), "kind": "video",
                  "reject": "not a whole number of 188-byte packets"})
    # A packet whose sync byte is gone: the file lies about being a transport stream there.
    bad = bytearray(ts)
    bad[188 * 30] = 0x48
    cases.append({"file": _write(out_dir, "video_bad_sync.ts", bytes(bad)), "kind": "video",
                  "reject": "does not open with the sync byte 0x47"})
    return cases
