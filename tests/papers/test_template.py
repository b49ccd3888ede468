"""The paper template (`mrirobust.papers._template`) runs end to end through the runner."""

from pathlib import Path

import torch

from mrirobust import claims, paths, tables
from mrirobust.papers import _template
from mrirobust.papers._template import experiments
from mrirobust.runner import workflow

MANIFEST = Path(_template.__file__).parent / "notebooks" / "manifest.yaml"


def test_noise_has_the_asked_norm_on_the_sampled_columns_only():
    y = torch.randn(2, 3, 8, 10, dtype=torch.complex64)
    mask = torch.zeros(1, 1, 10, dtype=torch.bool)
    mask[..., ::2] = True
    y = y * mask
    noise = experiments.noisy(y, mask, 0.2, seed=1) - y
    torch.testing.assert_close(noise.flatten(1).norm(dim=1), 0.2 * y.flatten(1).norm(dim=1))
    assert noise[..., ~mask.flatten()].abs().max() == 0
    assert torch.equal(experiments.noisy(y, mask, 0.2, seed=1), experiments.noisy(y, mask, 0.2, 1))


def test_the_template_paper_runs_through_the_runner_at_smoke(tmp_path, monkeypatch, smoke_root):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    (result,) = workflow.run(MANIFEST, "smoke")
    assert result.status == "ok", result
    out = paths.results_dir("smoke", "template_fig1")
    table = tables.load_table(out, "noise_sweep")
    assert set(table["sigma"]) == {0.0, 0.1, 0.2} and table["slice"].nunique() == 4
    (verdict,) = claims.load(out / "claims.json")
    assert (verdict.id, verdict.outcome, verdict.kind) == (
        "template/fig1/noise_lowers_ssim",
        "holds",
        "sanity",
    )
    assert (paths.figures_dir("smoke") / "template_fig1_noise.png").stat().st_size > 0
