#!/usr/bin/env python3
"""intake's pickle verdicts against two independent judges.

Reads FIXTURES_DIR/manifest.json (written by the intake-core unit test
`validate::weights::pickle::tests::picklescan_fixtures` with INTAKE_PICKLE_FIXTURES_DIR set):
one entry per fixture file with intake's verdict ("accept" or "refuse") and the imports its
pickle reader found. For every fixture it asks

  * picklescan (PyPI; what Hugging Face runs on every pickle it serves): its verdict is
    "refuse" when it reports a dangerous or suspicious global or a scan error, else "accept";
    its globals must be intake's imports;
  * CPython's own unpickler, with a find_class that records (module, name) and returns an
    inert object instead of importing anything: the imports it asks for must be intake's.

A fixture whose manifest entry has "knownDifference" is expected to differ from picklescan
(the reason is printed); CPython must agree on every fixture. Prints one line per fixture
and `N agree, K known differences, D disagreements`; exits 1 if D > 0.
"""

import io
import json
import logging
import pickle
import sys
import zipfile
from pathlib import Path

from picklescan.scanner import scan_file_path

logging.getLogger("picklescan").setLevel(logging.CRITICAL)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
PICKLE_MAGIC = tuple(bytes([0x80, p]) for p in range(6))


def picklescan_view(path: Path):
    result = scan_file_path(str(path))
    names = {(g.module, g.name): g.safety.value for g in result.globals}
    dangerous = sorted(f"{m}.{n}" for (m, n), s in names.items() if s == "dangerous")
    suspicious = sorted(f"{m}.{n}" for (m, n), s in names.items() if s == "suspicious")
    known = sorted({f"{m}.{n}" for (m, n) in names if m != "unknown" and n != "unknown"})
    refuse = bool(result.scan_err or dangerous or suspicious)
    return {
        "verdict": "refuse" if refuse else "accept",
        "globals": known,
        "dangerous": dangerous,
        "suspicious": suspicious,
        "scan_err": result.scan_err,
    }


class _Inert:
    """Stands for every imported object and every persistent id: calls, state and items
    are accepted and ignored, so nothing runs."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Recorder(pickle.Unpickler):
    def __init__(self, file, seen):
        super().__init__(file, encoding="utf-8")
        self.seen = seen

    def find_class(self, module, name):
        self.seen.add(f"{module}.{name}")
        return _Inert

    def persistent_load(self, pid):
        return _Inert()


def _load_stream(data: bytes, seen: set):
    """Every pickle of a bare stream, as torch.load and pickle.load would meet them."""
    stream = io.BytesIO(data)
    count = 0
    legacy = False
    while stream.tell() < len(data):
        try:
            value = _Recorder(stream, seen).load()
        except Exception:
            return
        count += 1
        legacy = legacy or (count == 1 and isinstance(value, int) and value == LEGACY_MAGIC)
        if legacy and count == 5:
            return


def cpython_imports(data: bytes) -> list:
    seen = set()
    if data[:4] == b"PK\x03\x04":
        _load_zip(data, seen)
    else:
        _load_stream(data, seen)
    return sorted(seen)


def _load_zip(data: bytes, seen: set):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        checkpoint = {n[: -len("data.pkl")] for n in names if n.endswith("data.pkl")}
        for name in names:
            head, _, key = name.rpartition("/")
            if key and head.endswith("data") and head[:-4] in checkpoint:
                continue  # a torch.save storage: raw bytes, never unpickled
            record = archive.read(name)
            if record[:4] == b"PK\x03\x04":
                _load_zip(record, seen)
            elif name.lower().endswith((".pkl", ".pickle")) or record[:2] in PICKLE_MAGIC:
                _load_stream(record, seen)


def main(fixtures: Path) -> int:
    manifest = json.loads((fixtures / "manifest.json").read_text())
    agree = known = disagree = 0
    for entry in manifest:
        path = fixtures / entry["file"]
        ours = sorted(entry["imports"])
        scan = picklescan_view(path)
        cpython = cpython_imports(path.read_bytes())
        problems = []
        if cpython != ours:
            problems.append(f"CPython's unpickler asks for {cpython}, intake found {ours}")
        scan_differs = scan["verdict"] != entry["intake"] or scan["globals"] != ours
        if (scan["dangerous"] or scan["scan_err"]) and entry["intake"] != "refuse":
            problems.append("picklescan flags it as dangerous but intake accepts it")
        elif scan_differs and not entry.get("knownDifference"):
            problems.append(
                f"picklescan says {scan['verdict']} with globals {scan['globals']}, intake says {entry['intake']} with {ours}"
            )
        if problems:
            disagree += 1
            status = "DISAGREE"
        elif scan_differs:
            known += 1
            status = "known difference"
        else:
            agree += 1
            status = "agree"
        detail = f"picklescan {scan['verdict']}"
        if scan["dangerous"]:
            detail += f" (dangerous: {', '.join(scan['dangerous'])})"
        elif scan["suspicious"]:
            detail += f" (suspicious: {', '.join(scan['suspicious'])})"
        elif scan["scan_err"]:
            detail += " (scan error)"
        print(f"{status:16} {entry['file']:45} intake {entry['intake']:6} {detail}")
        for p in problems:
            print(f"{'':16} -> {p}")
        if status == "known difference":
            print(f"{'':16} -> {entry['knownDifference']}")
    print(f"{agree} agree, {known} known differences, {disagree} disagreements")
    return 1 if disagree else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: agreement.py FIXTURES_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
