import json

import pytest

from mrirobust import interactive, models, scales, zoo
from mrirobust.training import checkpoints


@pytest.fixture
def results(tmp_path, monkeypatch):
    """An empty results root (checkpoints live under it)."""
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path))
    return tmp_path


def _specs(methods):
    return [models.spec(method, "smoke", acc) for method in methods for acc in (4, 8)]


def write_record(results, scale, run_id, end, status="ok"):
    folder = results / scale / run_id
    folder.mkdir(parents=True)
    record = {"id": run_id, "scale": scale, "status": status, "end": end}
    (folder / "run.json").write_text(json.dumps(record))


def test_a_named_scale_is_kept_and_an_unknown_one_lists_auto(results):
    assert interactive.resolve_scale("cpu") == "cpu"
    with pytest.raises(ValueError, match="'huge'.*smoke, cpu, shape, gpu, paper or 'auto'"):
        interactive.resolve_scale("huge")


def test_auto_without_reproduced_runs_is_smoke_and_says_how_to_get_cpu(results, capsys):
    assert interactive.resolve_scale("auto") == "smoke"
    out = capsys.readouterr().out
    assert '"auto" -> "smoke"' in out and "make reproduce" in out


def test_auto_is_the_scale_of_the_latest_successful_run(results, capsys):
    write_record(results, "smoke", "tour", "2026-11-28T09:00:00+00:00")
    write_record(results, "cpu", "fig1", "2026-11-28T10:00:00+00:00")
    write_record(results, "smoke", "naive", "2026-11-28T09:30:00")  # read as UTC
    write_record(results, "paper", "fig1", "2026-11-28T11:00:00+00:00", status="failed")
    write_record(results, "smoke", "broken", "2026-11-28T12:00:00+00:00")
    (results / "smoke" / "broken" / "run.json").write_text("{not json")
    with pytest.warns(UserWarning, match="broken/run.json: not a readable run record"):
        assert interactive.resolve_scale("auto") == "cpu"
    out = capsys.readouterr().out
    assert "'fig1' finished 2026-11-28T10:00:00+00:00" in out
    assert 'set scale = "smoke"' in out


def test_missing_models_use_the_profile_estimate_then_recorded_epoch_times(results, capsys):
    estimate = scales.resolve("smoke", "train")["epoch_seconds_estimate"]
    epochs = scales.resolve("smoke", "train")["epochs"]
    needed = interactive.missing_models(_specs(["zero_filled", "unet", "l1"]))
    assert [(n.method, n.acceleration) for n in needed] == [
        ("unet", 4),
        ("unet", 8),
        ("l1", 4),
        ("l1", 8),
    ]
    assert needed[0].epochs == epochs and needed[2].epochs == 1
    assert needed[0].seconds == epochs * estimate["unet"]
    assert all("rough estimate" in n.source for n in needed)

    zoo.train(models.spec("unet", "smoke", 4))
    sidecar = checkpoints.locate(models.spec("unet", "smoke", 4)).sidecar()
    measured = sum(row["seconds"] for row in sidecar["curve"]) / sidecar["epochs_done"]

    needed = interactive.announce_training(_specs(["unet"]))
    assert [(n.method, n.acceleration) for n in needed] == [("unet", 8)]
    assert needed[0].seconds == pytest.approx(epochs * measured)
    assert needed[0].source.startswith("measured in unet-smoke-4x")
    out = capsys.readouterr().out
    assert "1 model(s) have no complete checkpoint" in out and f"unet 8x: {epochs} epoch(s)" in out
    assert interactive.training_message(_specs(["unet"])) == out.strip()  # what the widgets show

    zoo.train(models.spec("unet", "smoke", 8))
    assert interactive.announce_training(_specs(["unet"])) == []
    assert "every trained model needed here has a checkpoint" in capsys.readouterr().out
    assert interactive.training_message(_specs(["unet"])) is None
