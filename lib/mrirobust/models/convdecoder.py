"""ConvDecoder (Darestani & Heckel): an un-trained convolutional decoder fitted to one slice's
measurements; the network G_C with fixed input noise is the image prior."""

from __future__ import annotations

import copy
import math

import torch
from tqdm.auto import tqdm

from mrirobust import costs, physics
from mrirobust.models.base import Reconstructor

INPUT_SIZE = (10, 5)  # noise size from the paper, rescaled to the output aspect ratio
# the fit's optimiser (Darestani App. C.1, Fig. 16): the reference's Adam (β₁ = 0.9), Adam with
# the smoother β₁ = 0.98, and gradient descent with a linearly increasing step size
OPTIMISERS = ("adam", "adam_beta0.98", "gd")
# GD's peak step per k-space entry: the objective sums over the C·H·W entries of a slice, so
# its gradient grows with them and GD (unlike Adam) steps by lr / (C·H·W). One-off (not stored)
# fits of a cpu *training* slice (8 × 192 × 140, 150 steps): on the objective 1e-5 reached loss
# 2.8e3 (Adam: 1.5e3), 1e-4 and 1e-3 ended worse (2e4, 1e5); 2.0 / (8·192·140) ≈ 9e-6
GD_LR = 2.0
LEARNING_RATES = {"adam": 0.008, "adam_beta0.98": 0.008, "gd": GD_LR}


def decoder(num_layers: int, channels: int, out_channels: int, out_size: tuple[int, int]):
    """Blocks Upsample(nearest) → Conv3×3 → ReLU → BatchNorm at geometric sizes from the input
    size to `out_size`, then Conv3×3 → ReLU → BN → Conv1×1 to `out_channels` (no biases).
    The outputs span at most `channels` feature maps; keep channels ≥ out_channels = 2·coils
    (on 15-coil cpu data, 16–20 channels filled the unsampled columns worse than zeros)."""
    h_in = INPUT_SIZE[0]
    w_in = max(1, round(h_in * out_size[1] / out_size[0]))
    blocks = []
    for n in range(1, num_layers):
        size = out_size
        if n < num_layers - 1:
            size = tuple(
                math.ceil(s_in * (s_out / s_in) ** (n / (num_layers - 1)))
                for s_in, s_out in zip((h_in, w_in), out_size, strict=True)
            )
        blocks += [
            torch.nn.Upsample(size=size, mode="nearest"),
            torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            torch.nn.ReLU(),
            torch.nn.BatchNorm2d(channels),
        ]
    blocks += [
        torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        torch.nn.ReLU(),
        torch.nn.BatchNorm2d(channels),
        torch.nn.Conv2d(channels, out_channels, 1, bias=False),
    ]
    return torch.nn.Sequential(*blocks), (h_in, w_in)


class DecoderState(torch.nn.Module):
    """The fitted variables: one decoder G_C per slice, its fixed noise input (uniform ·0.1,
    seeded, the same for every slice) and the k-space scale s = ‖RSS(G_C₀)‖ / ‖RSS(F⁻¹y)‖
    fixed at initialisation. Also holds the measurements y and mask given to `init_state` (not
    detached), which `render` uses for data consistency."""

    def __init__(self, nets, inputs, scale, masked_kspace, mask):
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)
        self.register_buffer("inputs", inputs)
        self.register_buffer("scale", scale)
        self.masked_kspace, self.mask = masked_kspace, mask.to(torch.bool)

    def coil_kspace(self) -> torch.Tensor:
        """F G_C(z): the network's coil k-space `(B, C, H, W)`, in the scaled units of s·y."""
        outputs = torch.cat([net(z[None]) for net, z in zip(self.nets, self.inputs, strict=True)])
        coils = torch.complex(outputs[:, 0::2], outputs[:, 1::2])
        return physics.fft2c(coils)


class LinearStepGD(torch.optim.Optimizer):
    """Gradient descent with a linearly increasing step size: the t-th call of `step`
    (t = 1, 2, ...) sets θ ← θ − η_t ∇L(θ) with η_t = lr · min(t, T) / T, T = `steps`, rising
    from lr / T to lr at step T and staying there (Darestani App. C.1, Fig. 16: "for Gradient
    Descent (GD), we use a linearly-increasing stepsize schedule")."""

    def __init__(self, params, lr: float, steps: int):
        if lr <= 0 or steps < 1:
            raise ValueError(f"need lr > 0 and steps >= 1, got {lr!r}, {steps!r}")
        super().__init__(params, {"lr": float(lr), "steps": int(steps)})
        self.t = 0

    @torch.no_grad()
    def step(self, closure=None):
        self.t += 1
        for group in self.param_groups:
            eta = group["lr"] * min(self.t, group["steps"]) / group["steps"]
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-eta)


class ConvDecoder(Reconstructor):
    """Fit G_C to the scaled measurements s·y on ½Σᵢ‖s·yᵢ − M F G_i(C)‖² with `optimiser`
    (`OPTIMISERS`; default the reference's Adam, lr 0.008), keep the iterate with the lowest
    loss, then replace the sampled columns by y, image = crop(RSS(F⁻¹ k)). BatchNorm stays in
    training mode (batch of one slice), as in the reference code. Gradients reach y through the
    data-consistency step; the fit itself is not differentiated (the two-step attack uses
    `objective` instead). `lr` None: the optimiser's `LEARNING_RATES`."""

    name = "convdecoder"

    def __init__(
        self,
        image_size: tuple[int, int],
        num_layers: int,
        channels: int,
        iterations: int,
        lr: float | None = None,
        seed: int = 0,
        optimiser: str = "adam",
    ):
        super().__init__(image_size)
        if num_layers < 2 or channels < 1 or iterations < 1:
            raise ValueError(
                f"need num_layers >= 2, channels >= 1, iterations >= 1; got "
                f"{num_layers!r}, {channels!r}, {iterations!r}"
            )
        self.num_layers, self.channels = int(num_layers), int(channels)
        if optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {', '.join(OPTIMISERS)}, got {optimiser!r}")
        self.iterations, self.seed, self.optimiser_name = int(iterations), int(seed), optimiser
        self.lr = float(LEARNING_RATES[optimiser] if lr is None else lr)

    def init_state(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> DecoderState:
        """One decoder and noise input per slice, all drawn from `seed` alone (global torch
        randomness is restored afterwards), so a slice gets the same network wherever it sits in
        the batch (the reference deep-copies one seeded net for the clean and attacked fits);
        s from the untrained network's output."""
        batch, coils, H, W = masked_kspace.shape
        nets, inputs = [], []
        for _ in range(batch):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                net, in_size = decoder(self.num_layers, self.channels, 2 * coils, (H, W))
                nets.append(net)
                inputs.append(torch.rand(self.channels, *in_size) * 0.1)
        device = masked_kspace.device
        nets = [net.to(device) for net in nets]
        inputs, scale = torch.stack(inputs).to(device), torch.ones(batch, device=device)
        state = DecoderState(nets, inputs, scale, masked_kspace, mask).train()
        with torch.no_grad():
            net_norm = physics.rss(physics.ifft2c(state.coil_kspace())).flatten(1).norm(dim=1)
            data = physics.rss(physics.ifft2c(physics.apply_mask(masked_kspace, mask)))
            state.scale.copy_(net_norm / data.flatten(1).norm(dim=1).clamp_min(1e-30))
        return state

    def objective(
        self, state: DecoderState, masked_kspace: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """½Σᵢ‖s·yᵢ − M F G_i(C)‖² per slice, `(B,)`, in the scaled units (s from init_state)."""
        target = physics.apply_mask(masked_kspace, mask) * state.scale.view(-1, 1, 1, 1)
        residual = physics.apply_mask(state.coil_kspace(), mask) - target
        return 0.5 * (residual.abs() ** 2).sum(dim=(1, 2, 3))

    def optimiser(self, state: DecoderState) -> torch.optim.Optimizer:
        """The decoders' weights' optimiser (the noise inputs stay fixed): Adam (lr `self.lr`)
        with β = (0.9, 0.999) or (0.98, 0.999), or `LinearStepGD` with peak step
        `self.lr` / (C·H·W) (per k-space entry of a slice) reached at the fit's last iteration."""
        params = state.nets.parameters()
        if self.optimiser_name == "gd":
            entries = state.masked_kspace[0].numel()
            return LinearStepGD(params, lr=self.lr / entries, steps=self.iterations)
        beta1 = 0.98 if self.optimiser_name == "adam_beta0.98" else 0.9
        return torch.optim.Adam(params, lr=self.lr, betas=(beta1, 0.999))

    def fit(self, state: DecoderState, masked_kspace: torch.Tensor, mask: torch.Tensor) -> None:
        """`optimiser` on the summed per-slice objectives (Adam and GD are elementwise, so each
        slice's decoder follows its own trajectory); loads each slice's lowest-loss parameters.
        Each iteration is one timed step (`costs.timed("fit", ...)`)."""
        y = masked_kspace.detach()
        optimiser = self.optimiser(state)
        best_loss = [math.inf] * len(state.nets)
        best = [None] * len(state.nets)
        with torch.enable_grad():
            for _ in tqdm(range(self.iterations), desc="ConvDecoder fit", leave=False):
                with costs.timed("fit", type(self).__name__):
                    optimiser.zero_grad()
                    losses = self.objective(state, y, mask)
                    for b, loss in enumerate(losses.tolist()):
                        if loss < best_loss[b]:
                            best_loss[b], best[b] = loss, copy.deepcopy(state.nets[b].state_dict())
                    losses.sum().backward()
                    optimiser.step()
        for net, weights in zip(state.nets, best, strict=True):
            net.load_state_dict(weights)

    def render(self, state: DecoderState) -> torch.Tensor:
        """crop(RSS(F⁻¹(M y + (1 − M) F G(C)/s))): data consistency on the sampled columns,
        with y and M as given to `init_state`."""
        estimate = state.coil_kspace() / state.scale.view(-1, 1, 1, 1)
        measured = physics.apply_mask(state.masked_kspace, state.mask)
        size = self.output_size(measured.shape)
        return physics.rss_crop(torch.where(state.mask, measured, estimate), size)

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        state = self.init_state(masked_kspace, mask)
        self.fit(state, masked_kspace, mask)
        return self.render(state)
