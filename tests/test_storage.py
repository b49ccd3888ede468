import os
import subprocess
import sys

import pytest

from mrirobust import storage


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        storage.atomic_write(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_read_json_names_the_file(tmp_path):
    bad = tmp_path / "run.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="run.json: not valid JSON"):
        storage.read_json(bad)
    with pytest.raises(FileNotFoundError, match="missing.json: file not found"):
        storage.read_json(tmp_path / "missing.json")


def test_replace_section_keeps_the_rest_and_needs_its_markers(tmp_path):
    path = tmp_path / "README.md"
    begin, end = storage.section_markers("models")
    path.write_text(f"a\n{begin}\nold\n{end}\nb\n")
    storage.replace_section(path, "models", "new table")
    assert path.read_text() == f"a\n{begin}\nnew table\n{end}\nb\n"
    with pytest.raises(ValueError, match="README.md: needs one generated section 'claims'"):
        storage.replace_section(path, "claims", "x")


def test_stale_temporaries_are_removed_and_a_running_writers_kept(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "print(__import__('os').getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "a").mkdir()
    stale = tmp_path / "a" / f".table.csv.{done.stdout.strip()}.tmp"
    live = tmp_path / "a" / f"file.h5.{os.getpid()}.tmp"
    other = tmp_path / "a" / "notes.tmp"
    for path in (stale, live, other):
        path.write_text("half")
    assert storage.remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


def test_a_stop_lost_in_a_finalizer_still_stops_the_next_atomic_write(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "_stop_code", None)  # restored after the test
    with pytest.raises(SystemExit):
        storage.stop(143)  # the SIGTERM handler's exception, as if a finalizer swallowed it
    target = tmp_path / "out.json"
    with pytest.raises(SystemExit) as stopped:
        storage.write_json(target, {"a": 1})
    assert stopped.value.code == 143
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
