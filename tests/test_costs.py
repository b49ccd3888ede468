"""Per-step costs (`mrirobust.costs`): logged only when the runner asks, summarised per model."""

from mrirobust import costs


def test_steps_are_logged_and_summarised(tmp_path, monkeypatch):
    log = tmp_path / "steps.jsonl"
    monkeypatch.setenv(costs.ENV, str(log))
    for _ in range(3):
        with costs.timed("train", "unet"):
            sum(range(10_000))
    with costs.timed("attack", "varnet"):
        pass
    rows = {(r["kind"], r["model"]): r for r in costs.summary(log)}
    assert set(rows) == {("train", "unet"), ("attack", "varnet")}
    train = rows["train", "unet"]
    assert train["count"] == 3 and 0 <= train["median_s"] <= train["max_s"]
    assert train["peak_rss_mb"] >= costs.peak_rss_mb() * 0.5 > 0
    assert train["peak_cuda_mb"] is None or train["peak_cuda_mb"] >= 0


def test_nothing_is_written_without_a_log(tmp_path, monkeypatch):
    monkeypatch.delenv(costs.ENV, raising=False)
    with costs.timed("train", "unet"):
        pass
    assert costs.summary(tmp_path / "absent.jsonl") == []
    assert list(tmp_path.iterdir()) == []
