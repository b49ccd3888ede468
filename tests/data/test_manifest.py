import hashlib
import subprocess
import sys

from mrirobust.data import manifest
from mrirobust.storage import read_json


def test_manifest_is_complete_only_for_its_code_parameters_and_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.bin").write_bytes(b"abc")
    (tmp_path / "y.csv").write_text("1,2\n")
    started = manifest.start(tmp_path)
    files = {"a/x.bin": dict(count=1), "y.csv": {}}
    manifest.write(tmp_path, "gen", "f1", "smoke", dict(n=1), files, started)
    assert manifest.is_complete(tmp_path, "f1", dict(n=1))
    stored = read_json(tmp_path / manifest.NAME)["files"]
    assert stored["a/x.bin"] == dict(bytes=3, sha256=hashlib.sha256(b"abc").hexdigest(), count=1)
    assert not manifest.is_complete(tmp_path, "f2", dict(n=1))  # other generator code
    assert not manifest.is_complete(tmp_path, "f1", dict(n=2))  # other parameters
    (tmp_path / "y.csv").write_text("1\n")  # a listed file changed size
    assert not manifest.is_complete(tmp_path, "f1", dict(n=1))


def test_start_removes_the_manifest_and_a_dead_writers_temporaries(tmp_path):
    (tmp_path / manifest.NAME).write_text("{}")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    stale = tmp_path / f".x.bin.{int(dead.stdout)}.tmp"
    stale.write_bytes(b"partial")
    manifest.start(tmp_path)
    assert not (tmp_path / manifest.NAME).exists() and not stale.exists()
    assert not manifest.is_complete(tmp_path, "f1", {})


def test_fingerprint_follows_the_bytes_of_the_sources(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    first = manifest.fingerprint([a, b])
    assert first == hashlib.sha256(b"x = 1\ny = 2\n").hexdigest()
    b.write_text("y = 3\n")
    assert manifest.fingerprint([a, b]) != first
