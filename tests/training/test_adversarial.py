import math
import os
import subprocess
import sys
from unittest import mock

import pytest
import torch

from mrirobust import paths, zoo
from mrirobust.models import registry
from mrirobust.models.unet import normalise_target
from mrirobust.papers.huang_liang.networks import spec
from mrirobust.papers.huang_liang.profile import TRAIN
from mrirobust.training import adversarial as adv

# the smoke profile: batches of 2 over 12 training slices, 2 epochs, tiny networks
PARAMS = {key: TRAIN.resolve("smoke")[key] for key in adv.PARAMS}


@pytest.fixture
def checkpoints(tmp_path, monkeypatch, smoke_root):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    return tmp_path


def batch_of(model_spec, count=2):
    dataset = adv.dataset(model_spec, adv.slices("smoke", "train", "singlecoil")[:count], True)
    return [torch.stack(x) for x in zip(*(dataset[i][:3] for i in range(count)), strict=True)]


def networks(model_spec, size=(64, 64)):
    """(U-Net, generator or None) of `model_spec`, untrained (as `zoo` builds them)."""
    return registry.build(model_spec, size), registry.build_generator(model_spec, size)


def parameters(module):
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


@pytest.mark.parametrize("kind, budget", [("image", 40.0), ("kspace", 0.02)])
def test_a_minmax_step_moves_both_networks(kind, budget, smoke_root):
    model_spec = spec(kind, "smoke", budget, PARAMS)
    torch.manual_seed(0)
    recon, gen = networks(model_spec)
    optimisers = adv._optimisers(recon, gen, PARAMS)
    before = parameters(recon), parameters(gen)
    latent = gen.sample_latent(2, torch.Generator().manual_seed(0)) if kind == "image" else None
    recon.train(), gen.train()
    log = adv.minmax_step(recon, gen, model_spec, batch_of(model_spec), latent, optimisers)
    assert not torch.equal(parameters(recon), before[0])
    assert not torch.equal(parameters(gen), before[1])
    assert all(p.requires_grad for p in recon.parameters())  # frozen only for G's step
    assert {"loss_G", "loss_R", "dssim_clean", "dssim_pert", "hinge", "budget_use"} <= set(log)
    assert log["loss_R"] == pytest.approx(log["dssim_clean"] + log["dssim_pert"])


def test_generator_ascent_on_a_fixed_reconstructor_raises_the_perturbed_loss(smoke_root):
    model_spec = spec("image", "smoke", 1e4, PARAMS)  # a budget the hinge does not touch
    torch.manual_seed(0)
    recon, gen = networks(model_spec)
    recon.eval()  # fixed R; G trains in batch-statistics mode
    kspace, mask, target = batch_of(model_spec)
    clean = recon.normalised_input(kspace * mask, mask)
    t_hat = normalise_target(target, *clean[1:])
    latent = gen.sample_latent(2, torch.Generator().manual_seed(0))
    optimiser = torch.optim.AdamW(gen.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        out, penalty, _ = adv.perturbed_output(recon, gen, model_spec, kspace, mask, clean, latent)
        loss = adv.dssim(t_hat, out, PARAMS)
        losses.append(loss.item())
        optimiser.zero_grad()
        (-(loss - penalty)).backward()
        optimiser.step()
    assert losses[-1] > losses[0]


def test_standard_model_has_no_generator_and_no_perturbed_loss(checkpoints):
    model_spec = spec("standard", "smoke", 0, PARAMS)
    assert model_spec.params["alpha1"] == 0
    recon, gen, state = zoo.get_networks(model_spec)
    assert gen is None and not recon.training
    assert set(state["iterations"][0]) == {"epoch", "loss_R", "dssim_clean"}
    assert [row["epoch"] for row in state["curve"]] == [1, 2]


def test_interrupted_minmax_training_resumes_to_the_same_state(
    checkpoints, monkeypatch, interrupted_on_call
):
    model_spec = spec("image", "smoke", 40.0, PARAMS)
    full = torch.load(zoo.train(model_spec), weights_only=True)
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(checkpoints / "interrupted"))
    with interrupted_on_call(adv, "validate", 2), pytest.raises(KeyboardInterrupt):
        zoo.train(model_spec)  # in the second epoch
    (path,) = (checkpoints / "interrupted").glob("unet_minmax_image-*.pt")
    assert torch.load(path, weights_only=True)["epoch"] == 1
    resumed = torch.load(zoo.train(model_spec), weights_only=True)
    assert resumed["finished"] and len(resumed["curve"]) == 2
    assert len(resumed["iterations"]) == len(full["iterations"])
    for key in ("model", "generator"):
        for name, value in full[key].items():
            torch.testing.assert_close(resumed[key][name], value, rtol=0, atol=0)
    assert resumed["iterations"] == full["iterations"]


def test_batch_hinge_lets_one_sample_exceed_the_budget_but_the_sample_hinge_does_not():
    delta = torch.stack([torch.full((4, 4), 1.0), torch.full((4, 4), 0.25)])  # 16 and 1
    assert adv.hinge(delta, 10.0, "batch") == 0  # 17 <= 2 x 10
    assert adv.hinge(delta, 10.0, "sample") == pytest.approx((16 - 10) / 2)
    assert adv.hinge(delta, 4.0, "batch") == pytest.approx(17 - 8)
    for eps in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
            adv.hinge(delta, eps)
    with pytest.raises(ValueError, match="valid: batch, sample"):
        adv.hinge(delta, 1.0, "pixel")


def test_perturbation_of_another_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(2, 64, 64\) does not match.*\(2, 32, 32\)"):
        adv.perturb(torch.zeros(2, 32, 32), torch.zeros(2, 64, 64))


def test_early_stopping_follows_the_reference_rule():
    assert not adv.stops_early([0.5, 0.4, 0.45], patience=3)
    assert adv.stops_early([0.4, 0.45, 0.41, 0.42], patience=3)
    assert not adv.stops_early([0.4, 0.45, 0.39, 0.42], patience=3)


def test_kspace_minmax_trains_on_multicoil_data_within_the_per_coil_ball(checkpoints):
    params = {**PARAMS, "challenge": "multicoil", "epochs": 1}
    recon, gen, state = zoo.get_networks(spec("kspace", "smoke", 0.02, params, coils=4))
    assert gen.coils == 4 and not recon.training
    uses = [log["budget_use"] for log in state["iterations"]]
    assert max(uses) <= 1 + 1e-5 and min(uses) > 0.99  # every coil on (or inside) its sphere


def test_attack_generator_trains_a_fresh_g_and_leaves_the_model_unchanged(smoke_root):
    torch.manual_seed(0)
    recon = networks(spec("standard", "smoke", 0, PARAMS))[0]
    before = parameters(recon)
    attack_spec = spec("image", "smoke", 40.0, {**PARAMS, "epochs": 1})
    gen, log = adv.attack_generator(
        recon, attack_spec, lambda: networks(attack_spec)[1], epochs=2, seed=3
    )
    assert not gen.training and not recon.training
    assert torch.equal(parameters(recon), before)
    assert all(q.requires_grad for q in recon.parameters())
    assert len(log) == 12 and log[-1]["loss_G"] < log[0]["loss_G"]  # G minimises loss_G


_TRAIN_A_MODEL = """
from mrirobust import zoo
from mrirobust.papers.huang_liang import experiments
specs = experiments.model_specs("smoke", {"batch_size": 4, "epochs": 1})
zoo.train(specs["A(eps=1000)"])
"""


def test_ddp_two_processes_on_cpu(checkpoints, tmp_path):
    env = {**os.environ, "MRIROBUST_CHECKPOINTS": str(checkpoints), "OMP_NUM_THREADS": "1"}
    script = tmp_path / "train_a.py"
    script.write_text(_TRAIN_A_MODEL)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", str(script)]
    done = subprocess.run(
        command, env=env, cwd=paths.project_root(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = checkpoints.glob("unet_minmax_image-smoke-*.pt")
    state = torch.load(path, weights_only=True)
    assert state["finished"] and state["epoch"] == 1
    # 12 training slices less 2 held out for early stopping, 4 per global batch: 2 full
    # minibatches, each of 2 slices on rank 0
    assert len(state["iterations"]) == 2
    assert len(state["stopped_on"]) == 2


def test_a_batch_per_process_below_two_is_a_clear_error(smoke_root):
    model_spec = spec("image", "smoke", 40.0, PARAMS)
    dataset = adv.dataset(model_spec, adv.slices("smoke", "train", "singlecoil"), True)
    gen = networks(model_spec)[1]
    with mock.patch.object(adv.loop, "distributed", return_value=(2, 0)):
        with pytest.raises(ValueError, match=r"batch_size >= 4"):
            next(adv._minibatches(dataset, gen, model_spec, 0, 0, "cpu"))
