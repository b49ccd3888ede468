import pytest
import torch

from mrirobust import scales
from mrirobust.models import ConvDecoder, L1Wavelet, UNetRecon, VarNetRecon, registry
from mrirobust.models.convdecoder import GD_LR, OPTIMISERS, LinearStepGD

from .conftest import phantom_problem


def methods():
    return {
        "unet": UNetRecon((24, 24), chans=4, num_pools=2),
        "varnet": VarNetRecon((24, 24), 2, chans=4, pools=2, sens_chans=2, sens_pools=2),
        "l1": L1Wavelet((24, 24), lam=1e-2, iterations=5),
        "convdecoder": ConvDecoder((24, 24), num_layers=3, channels=4, iterations=3),
    }


@pytest.mark.parametrize("name", ["unet", "varnet", "l1", "convdecoder"])
def test_output_shape_and_gradient_reaches_kspace(name):
    kspace, mask, _ = phantom_problem()
    kspace = torch.cat([kspace, 0.5 * kspace])
    y = (kspace * mask).clone().requires_grad_(True)
    out = methods()[name].eval()(y, mask)
    assert out.shape == (2, 24, 24) and out.dtype == torch.float32
    out.square().sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0 and torch.isfinite(y.grad).all()


def test_varnet_rejects_masks_that_are_not_columns():
    kspace, _, _ = phantom_problem()
    mask = torch.rand(1, 1, 32, 32) > 0.5
    with pytest.raises(ValueError, match="whole phase-encoding columns"):
        methods()["varnet"](kspace * mask, mask)


@pytest.mark.parametrize("name", ["unet", "l1"])
def test_bad_inputs_raise_clear_errors(name):
    kspace, mask, _ = phantom_problem()
    with pytest.raises(ValueError, match="complex"):
        methods()[name](kspace.abs(), mask)
    with pytest.raises(ValueError, match="does not broadcast"):
        methods()[name](kspace, mask[..., :7])
    with pytest.raises(ValueError, match=r"\(B, coils, H, W\)"):
        methods()[name](kspace[0], mask)


def test_untrained_protocol_matches_forward():
    kspace, mask, _ = phantom_problem()
    y = kspace * mask
    for recon in (methods()["l1"], methods()["convdecoder"]):
        state = recon.init_state(y, mask)
        before = recon.objective(state, y, mask)
        assert before.shape == (1,)
        recon.fit(state, y, mask)
        assert recon.objective(state, y, mask) < before
        torch.testing.assert_close(recon.render(state), recon(y, mask))


def test_convdecoder_state_exposes_parameters_for_joint_descent():
    kspace, mask, _ = phantom_problem()
    y = kspace * mask
    recon = methods()["convdecoder"]
    state = recon.init_state(y, mask)
    recon.objective(state, y, mask).sum().backward()
    grads = [p.grad for p in state.parameters()]
    assert grads and all(g is not None for g in grads)


def test_convdecoder_architecture_follows_the_paper():
    from mrirobust.models.convdecoder import decoder

    net, in_size = decoder(8, 4, 6, (256, 140))
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 8 + [(1, 1)]
    assert in_size == (10, 5)
    sizes = [m.size for m in net if isinstance(m, torch.nn.Upsample)]
    assert sizes[-1] == (256, 140) and all(
        a[0] <= b[0] for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    assert net(torch.rand(1, 4, *in_size)).shape == (1, 6, 256, 140)


@pytest.mark.parametrize("scale", ["smoke", "cpu"])  # embedded data: coils in the profile
def test_convdecoder_has_a_channel_per_coil_output(scale):
    """The last 1×1 conv maps C channels to 2·coils outputs, so they span at most C maps. On the
    earlier cpu data (15 coils) C = 16 gave val SSIM 0.36 < zero-filled 0.45, C = 32 gave 0.49."""
    data, params = scales.resolve(scale, "data"), scales.resolve(scale, "train")
    coils = max(data["coils"], data["shifted_coils"])
    assert params["convdecoder_channels"] >= 2 * coils


def test_convdecoder_fit_does_not_depend_on_the_batch_position():
    """A slice gets the same network and input wherever it sits in the batch, so the clean and
    the attacked fit of one slice differ only by their data."""
    kspace, mask, _ = phantom_problem()
    y = kspace * mask
    recon = ConvDecoder((24, 24), num_layers=3, channels=4, iterations=4, seed=7)
    alone = recon(y, mask)
    batched = recon(torch.cat([0.5 * y, y]), mask)
    torch.testing.assert_close(batched[1], alone[0], rtol=1e-4, atol=1e-6)
    state = recon.init_state(torch.cat([y, y]), mask)
    assert torch.equal(state.inputs[0], state.inputs[1])
    weights = [dict(net.state_dict()) for net in state.nets]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_gd_step_size_rises_linearly_then_stays():
    """LinearStepGD: the t-th step moves θ by −η_t ∇L, η_t = lr · min(t, T) / T."""
    theta = torch.zeros(1, requires_grad=True)
    gd = LinearStepGD([theta], lr=0.4, steps=4)
    moves = []
    for _ in range(6):
        gd.zero_grad()
        theta.sum().backward()  # ∇L = 1
        before = theta.item()
        gd.step()
        moves.append(before - theta.item())
    assert moves == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])
    with pytest.raises(ValueError, match="need lr > 0 and steps >= 1"):
        LinearStepGD([theta], lr=0.1, steps=0)


def test_convdecoder_optimisers_and_unchanged_default():
    kspace, mask, _ = phantom_problem()
    y = kspace * mask
    fitted = {}
    for name in OPTIMISERS:
        recon = ConvDecoder((24, 24), num_layers=3, channels=4, iterations=3, optimiser=name)
        optimiser = recon.optimiser(recon.init_state(y, mask))
        if name == "gd":
            assert isinstance(optimiser, LinearStepGD) and recon.lr == GD_LR
            group = optimiser.param_groups[0]  # the peak step per k-space entry
            assert group["steps"] == 3 and group["lr"] == pytest.approx(GD_LR / y[0].numel())
        else:
            beta1 = 0.98 if name == "adam_beta0.98" else 0.9
            assert isinstance(optimiser, torch.optim.Adam) and recon.lr == 0.008
            assert optimiser.param_groups[0]["betas"] == (beta1, 0.999)
        fitted[name] = recon(y, mask)
        assert torch.isfinite(fitted[name]).all()
    assert not torch.equal(fitted["adam"], fitted["gd"])
    default = ConvDecoder((24, 24), num_layers=3, channels=4, iterations=3)
    assert default.optimiser_name == "adam"
    torch.testing.assert_close(default(y, mask), fitted["adam"])
    with pytest.raises(ValueError, match="optimiser must be one of"):
        ConvDecoder((24, 24), num_layers=3, channels=4, iterations=3, optimiser="sgd")


def test_convdecoder_optimiser_is_a_late_key():
    """The default optimiser leaves the spec (and so the checkpoint name) as it was."""
    default = registry.spec("convdecoder", "smoke")
    assert "convdecoder_optimiser" not in default.params
    gd = registry.spec("convdecoder", "smoke", convdecoder_optimiser="gd")
    assert gd.params == {**default.params, "convdecoder_optimiser": "gd"}
    assert registry.build(gd, (24, 24)).optimiser_name == "gd"
    assert registry.build(default, (24, 24)).optimiser_name == "adam"
