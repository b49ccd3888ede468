"""The device policy (`mrirobust.devices`): a model's device decides where its inputs go.

Without a GPU, the stand-in device (`mrirobust.standin`) plays one: its tensors compute on the
CPU but refuse any mix with CPU tensors, as CUDA does. Every method is moved there and given
CPU k-space through the public attack and evaluation API; before the device policy each of
these calls failed with "Expected all tensors to be on the same device"."""

import pytest
import torch

from mrirobust import attacks, devices, evaluation, physics, standin
from mrirobust.models.base import ZeroFilled
from mrirobust.models.convdecoder import ConvDecoder
from mrirobust.models.l1 import L1Wavelet
from mrirobust.models.unet import UNetRecon
from mrirobust.models.varnet import VarNetRecon
from mrirobust.training import recipes
from mrirobust.training.checkpoints import Checkpoint

SIZE = (24, 24)


@pytest.fixture
def device():
    with standin.active() as d:
        yield d


@pytest.fixture(scope="module")
def acquisition():
    torch.manual_seed(0)
    image = torch.zeros(48, 32)
    image[10:38, 8:24] = 1.0
    image[20:26, 12:18] = 2.0
    maps = torch.randn(1, 3, 48, 32, dtype=torch.complex64) * 0.1 + 1
    kspace = physics.fft2c(image.to(torch.complex64)[None, None] * maps).repeat(2, 1, 1, 1)
    kspace = kspace + 0.01 * torch.randn_like(kspace)
    mask = physics.column_mask(32, 4, 0.25, seed=0).view(1, 1, 1, 32)
    target = physics.rss_crop(kspace, SIZE)
    return kspace, mask, target


METHODS = {
    "zero_filled": lambda: ZeroFilled(SIZE),
    "unet": lambda: UNetRecon(SIZE, chans=4, num_pools=2),
    "varnet": lambda: VarNetRecon(SIZE, 2, 4, 2, 2, 2),
    "l1": lambda: L1Wavelet(SIZE, lam=0.01, iterations=3),
    "convdecoder": lambda: ConvDecoder(SIZE, num_layers=3, channels=8, iterations=2),
}


def _model(name):
    torch.manual_seed(0)
    return METHODS[name]().eval()


def test_the_stand_in_refuses_what_a_gpu_refuses(device):
    x = torch.ones(3).to(device)
    assert x.device == device and (x * 2).device == device
    with pytest.raises(RuntimeError, match="same device"):
        x + torch.ones(3)
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    assert (x + torch.tensor(1.0)).device == device  # 0-dim CPU scalars are allowed, as on CUDA
    assert torch.equal(x.cpu(), torch.ones(3)) and x.cpu().device.type == "cpu"
    assert torch.zeros(2, device=device).device == device


def test_a_parameter_free_method_has_a_device(device):
    for name in ("zero_filled", "l1", "convdecoder"):
        model = _model(name)
        assert devices.of(model) == torch.device("cpu") == model.device
        assert devices.of(model.to(device)) == device
    assert devices.of(lambda k, m: k) is None


@pytest.mark.parametrize("name", list(METHODS))
def test_cpu_kspace_reaches_a_model_on_another_device(name, device, acquisition):
    kspace, mask, target = acquisition
    model = _model(name).to(device)
    masked = physics.apply_mask(kspace, mask)
    calls = {
        "forward": lambda: model(masked, mask),
        "kspace_pgd": lambda: (
            attacks.kspace_pgd(
                model, kspace, mask, target, eta=[0.01, 0.02], steps=1, progress=False
            ).reconstruction
        ),
        "pgd_global": lambda: (
            attacks.pgd_global(
                model, masked, mask, eps=0.02, steps=1, progress=False
            ).reconstruction
        ),
        "rotation_search": lambda: (
            attacks.rotation_search(
                model, kspace, mask, target, angles=[0.0, 1.0], progress=False
            ).losses
        ),
        "rotated_pgd": lambda: (
            attacks.rotated_pgd(
                model,
                kspace,
                mask,
                target,
                angle=1.0,
                eta=0.01,
                region=None,
                steps=1,
                progress=False,
            ).reconstruction
        ),
        "scores": lambda: evaluation.scores(model, masked, mask, target)["ssim"],
    }
    if name in ("l1", "convdecoder"):
        calls["two_step"] = lambda: (
            attacks.two_step(
                model, masked, mask, eps=0.02, beta=1.0, steps=1, progress=False
            ).reconstruction
        )
    if name == "unet":
        calls["image_pgd"] = lambda: (
            attacks.image_pgd(model, masked, mask, target, rho=0.1, steps=1).reconstruction
        )
    for call, run in calls.items():
        out = run()
        assert out.device == device, call


@pytest.mark.parametrize("name", ["unet", "l1"])
def test_results_do_not_depend_on_the_device(name, device, acquisition):
    kspace, mask, target = acquisition
    on_cpu = attacks.kspace_pgd(_model(name), kspace, mask, target, eta=0.02, steps=2)
    elsewhere = attacks.kspace_pgd(_model(name).to(device), kspace, mask, target, eta=0.02, steps=2)
    assert torch.allclose(elsewhere.perturbation.cpu(), on_cpu.perturbation, atol=1e-6)
    assert torch.allclose(elsewhere.losses.cpu(), on_cpu.losses, rtol=1e-5)


def test_small_feature_map_runs_on_the_model_device(device, acquisition):
    kspace, mask, _ = acquisition
    model = _model("unet").to(device)
    result = attacks.small_feature_map(
        model, kspace[0], mask, size=3, stride=8, batch_size=4, progress=False
    )
    assert torch.isfinite(result.errors).all()


def test_a_tuned_l1_is_restored_on_the_default_device(device, monkeypatch):
    """l1's recipe (a λ search) restores the method on `devices.default()`, as the network
    recipes do (it stayed on the CPU, so l1 ran there in every GPU experiment)."""
    monkeypatch.setattr(devices, "default", lambda: device)
    build = lambda **state: L1Wavelet(SIZE, iterations=3, **state)  # noqa: E731
    assert recipes.RECIPES["l1"].restore(build, {"lam": 0.01}).device == device


def test_a_checkpoint_saved_on_another_device_loads_on_the_cpu(device, tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    model = _model("unet").to(device)
    checkpoint = Checkpoint(
        {"method": "unet", "scale": "smoke", "acceleration": 4, "config": "default"}, "data"
    )
    checkpoint.save({"epoch": 1, "model": model.state_dict(), "curve": []})
    state = checkpoint.read()
    assert all(t.device.type == "cpu" for t in state["model"].values())
    restored = _model("unet")
    restored.load_state_dict(state["model"])


def test_the_environment_variable_chooses_the_device(monkeypatch):
    monkeypatch.setenv(devices.ENV, "cpu")
    assert devices.default() == torch.device("cpu")
    monkeypatch.setenv(devices.ENV, "not-a-device")
    with pytest.raises(ValueError, match="MRIROBUST_DEVICE='not-a-device' is not a torch device"):
        devices.default()
    if not torch.cuda.is_available():
        monkeypatch.setenv(devices.ENV, "cuda")
        with pytest.raises(ValueError, match="sees no CUDA device"):
            devices.default()
    monkeypatch.delenv(devices.ENV)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert devices.default().type == expected


def test_indexing_follows_cuda_rules(device):
    on_device = torch.arange(4.0).to(device)
    assert on_device[torch.tensor([1, 2])].device == device  # CPU indices: allowed
    with pytest.raises(RuntimeError, match="same device"):
        torch.arange(4.0)[torch.tensor([1, 2]).to(device)]  # device indices into a CPU tensor


def test_the_worst_rotation_is_read_on_the_model_device(device, acquisition):
    kspace, mask, target = acquisition
    model = _model("unet").to(device)
    result = attacks.rotation_search(
        model, kspace, mask, target, angles=[-1.0, 0.0, 1.0], progress=False
    )
    angle, loss = result.worst(1.0)
    assert angle.device.type == "cpu" and loss.device == device
