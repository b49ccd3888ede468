"""What the explorer notebook's smoke run stored: each snapshot view at its weakest strength
(the clean input) and its strongest (damage by the crafted-on model's paper metric), the
exports under figures/smoke/explore/, and the last export re-created with the same numbers."""

import json
from pathlib import Path

import pytest


@pytest.mark.notebook
def test_the_snapshots_show_the_attacks_and_recreate_exactly(smoke_results):
    out = smoke_results.ok("explore_attack_strength")
    views = json.loads((out / "snapshot.json").read_text())["views"]
    assert len(views) >= 2 * 3 and len(views) % 2 == 0
    for weakest, strongest in zip(views[::2], views[1::2], strict=True):
        assert weakest["selection"]["strength"] == 0 < strongest["selection"]["strength"]
        crafted = strongest["selection"]["crafted"] or strongest["selection"]["model"]
        for model, scores in weakest["scores"].items():
            assert scores["attacked"] == scores["clean"], model
        assert strongest["scores"][crafted]["attacked"] != strongest["scores"][crafted]["clean"]
        for row in (weakest, strongest):
            assert Path(row["png"]).parent == smoke_results.figures / "explore"
            assert Path(row["png"]).is_file() and Path(row["json"]).is_file()
    box = next(v for v in views[1::2] if v["selection"]["attack"] == "morshuis2022/box_pgd")
    scores = box["scores"][box["selection"]["model"]]
    assert scores["attacked"]["region SSIM"] < scores["clean"]["region SSIM"]
    recreated = json.loads((out / "recreated.json").read_text())
    assert recreated["same"] and recreated["scores"] == views[-1]["scores"]
    assert (smoke_results.figures / "explore_attack_strength.png").is_file()
