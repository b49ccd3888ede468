from mrirobust import papers, scales


def test_a_missing_model_is_announced_before_training_and_then_loaded_quietly(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path))  # empty checkpoints
    papers.get_model("unet", "smoke", 8)
    out = capsys.readouterr().out
    assert "scale 'smoke': 1 model(s) have no complete checkpoint" in out
    epochs = scales.resolve("smoke", "train")["epochs"]
    assert f"unet 8x: {epochs} epoch(s), about" in out
    papers.get_model("unet", "smoke", 8)
    assert "no complete checkpoint" not in capsys.readouterr().out
