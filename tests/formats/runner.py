"""Every accepted file format, end to end: each family module in families/ builds its test
files with a real, independent tool (Pillow, ffmpeg, trimesh, onnx, ...); this runner uploads
each through a real intake server (create, PUT the part, complete) and checks what intake
made of it: an accepted file must be `imported` with the facts the module expects in its
`properties`, a refused one `failed` with an errorMessage containing the expected words.

Usage: INTAKE_BIN=/path/to/intake python runner.py [FAMILY ...]
Ends with the line `N passed, M failed`; exits non-zero if any check failed.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
KEY, SECRET, PROJECT = "formats", "formats-secret", "proj_formats"
TIMEOUT = 120.0
# Loopback only: no proxy, whatever the environment says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def families(names: list[str]) -> list[str]:
    found = sorted(p.stem for p in (HERE / "families").glob("*.py") if not p.stem.startswith("_"))
    return [n for n in found if not names or n in names]


def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    """(status, bytes) of one HTTP exchange; 4xx/5xx are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    """`intake serve` on an ephemeral loopback port with a throw-away data directory."""

    def __init__(self, binary: str, workdir: pathlib.Path) -> None:
        env = dict(os.environ, INTAKE_API_KEYS=f"{KEY}:{SECRET}:{PROJECT}", INTAKE_LISTEN="127.0.0.1:0",
                   INTAKE_DATA_DIR=str(workdir / "data"), INTAKE_LOG="warn")
        self.log = open(workdir / "server.log", "wb")
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        banner = self.proc.stdout.readline()
        m = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", banner)
        if not m:
            raise RuntimeError(f"intake did not start: {banner!r}; see {workdir / 'server.log'}")
        self.base = m.group(1).decode()
        auth = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        self.auth = {"Authorization": f"Basic {auth}"}

    def api(self, method: str, path: str, payload: dict | None = None) -> dict:
        headers = dict(self.auth)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, raw = request(method, f"{self.base}/v1{path}", body, headers)
        if status != 200:
            raise AssertionError(f"{method} /v1{path} answered {status}: {raw[:300]!r}")
        return json.loads(raw)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def upload(server: Server, path: pathlib.Path, kind: str) -> dict:
    """Uploads one file in one part and waits until it is `imported` or `failed`."""
    data = path.read_bytes()
    created = server.api("POST", "/uploads", {"fileName": path.name, "contentType": "application/octet-stream",
                                              "fileSize": len(data), "parts": 1, "kind": kind})["upload"]
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    status, raw = request("PUT", created["parts"][0]["url"], data, {"Content-MD5": md5})
    if status != 200:
        raise AssertionError(f"PUT of the part answered {status}: {raw[:300]!r}")
    server.api("POST", f"/uploads/{created['id']}/action", {"action": "complete"})
    deadline = time.monotonic() + TIMEOUT
    while True:
        up = server.api("GET", f"/uploads/{created['id']}")["upload"]
        if up["status"] in ("imported", "failed"):
            return up
        if time.monotonic() > deadline:
            raise AssertionError(f"still {up['status']} after {TIMEOUT:.0f} s")
        time.sleep(0.1)


def check(server: Server, out_dir: pathlib.Path, case: dict) -> None:
    up = upload(server, out_dir / case["file"], case["kind"])
    if "reject" in case:
        message = up.get("errorMessage") or ""
        assert up["status"] == "failed", f"expected refusal containing {case['reject']!r}, got {up['status']}"
        assert case["reject"].lower() in message.lower(), f"errorMessage {message!r} lacks {case['reject']!r}"
        return
    assert up["status"] == "imported", f"failed: {up.get('errorMessage')}"
    entity = "models" if case["kind"] == "model" else "assets"
    body = server.api("GET", f"/{entity}/{up['entityId']}")
    found = body.get("asset") or body.get("model")
    properties = found.get("properties") or {}
    for key, want in case["expect"].items():
        got = properties.get(key, found.get(key))
        if isinstance(want, float) and isinstance(got, (int, float)):
            assert abs(got - want) <= max(0.02, abs(want) * 0.01), f"{key}: {got} != {want}"
        else:
            assert got == want, f"{key}: {got!r} != {want!r} (properties: {properties})"
    if case.get("thumbnail"):
        assert found.get("thumbnail"), f"no thumbnail (properties: {properties})"
        status, raw = request("GET", found["thumbnail"]["url"])
        assert status == 200 and raw.startswith(b"\x89PNG"), f"thumbnail answered {status}"


def requirements() -> dict[str, list[str]]:
    """Every family's REQUIRES, read without importing the module (its tools may be missing)."""
    import ast
    needs: dict[str, list[str]] = {"pip": [], "apt": []}
    for family in families([]):
        tree = ast.parse((HERE / "families" / f"{family}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRES" for t in node.targets):
                for what, packages in ast.literal_eval(node.value).items():
                    needs[what] += [p for p in packages if p not in needs[what]]
    return needs


def main() -> int:
    if sys.argv[1:] == ["--requirements"]:
        needs = requirements()
        print(" ".join(sorted(needs["pip"])))
        print(" ".join(sorted(needs["apt"])))
        return 0
    binary = os.environ.get("INTAKE_BIN") or str(HERE.parents[1] / "target/debug/intake")
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="intake-formats-") as tmp:
        work = pathlib.Path(tmp)
        server = Server(binary, work)
        try:
            sys.path.insert(0, str(HERE / "families"))
            for family in families(sys.argv[1:]):
                out_dir = work / family
                out_dir.mkdir()
                try:
                    cases = importlib.import_module(family).fixtures(out_dir)
                except Exception as e:  # a tool that cannot build its files fails the family
                    print(f"FAIL {family}: building the files: {type(e).__name__}: {e}")
                    failed += 1
                    continue
                for case in cases:
                    name = f"{family}/{case['file']} as {case['kind']}"
                    try:
                        check(server, out_dir, case)
                        print(f"ok   {name}")
                        passed += 1
                    except AssertionError as e:
                        print(f"FAIL {name}: {e}")
                        failed += 1
        finally:
            server.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
