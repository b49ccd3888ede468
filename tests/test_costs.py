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


def test_watchers_see_their_threads_steps_and_can_stop_them():
    import threading

    import pytest

    seen, other = [], []

    def stop_at_third(kind, model):
        seen.append((kind, model))
        if len(seen) == 3:
            raise KeyboardInterrupt

    ran = []
    with pytest.raises(KeyboardInterrupt), costs.watch(stop_at_third):
        thread = threading.Thread(target=lambda: other.append(_steps(ran, 2)))
        thread.start()
        thread.join()
        _steps(ran, 5)
    assert seen == [("attack", "m")] * 3  # the other thread's steps were not seen
    assert len(ran) == 2 + 2  # the third step of this thread never ran
    with costs.timed("attack", "m"):  # outside the block nobody watches
        pass
    assert len(seen) == 3


def _steps(ran: list, n: int) -> None:
    for _ in range(n):
        with costs.timed("attack", "m"):
            ran.append(1)
