"""Reconstruction of weighted series (cardiac T1/T2 mapping) and the relaxometry mapping network
(Zhao, Zhang & Tao 2023).

A weighted series is multi-coil k-space `(B, T, C, H, W)` (T weightings: 9 MOLLI inversion
times or 3 T2-prep times) under one column mask `(B, 1, 1, 1, W)` (or `(B, 1, 1, W)`).

Unrolled network (VN-UNet, RVN), y0 the measured k-space, M the mask, F the centred FFT, S the
coil maps (one set per weighting), frames stacked as channels (real and imaginary part of each
weighting) in the regulariser G_t:

    y_{t+1} = y_t - alpha_t M (y_t - y0) + F S G_t(sum_c S_c^* F^-1 y_t,c),   alpha_t init 1

VN-UNet: G_t a U-Net (fastMRI's, 2T -> 2T normalised channels), separate weights per step.
RVN: G_t a convolutional GRU whose hidden state runs through the steps, separate weights per
step. Coil maps: the ACS block of each coil image divided by the RSS (per weighting), refined
by a U-Net applied to each coil (2T -> 2T channels) and renormalised to unit RSS over coils.
Output: RSS frames `(B, T, H, W)`.

Mapping network M (T1 or T2): a U-Net from cat(times in s broadcast to T channels, frames /
image maximum) to three softplus heads, giving the parameters of the signal model:
T1: A, k = B/A = 1 + softplus, T1* (s); s = |A (1 - k e^{-t/T1*})|, T1 = (k - 1) T1*.
T2: A, T2 (s); s = A e^{-t/T2}.

`SeriesReconstructor` wraps a series network behind the project's Reconstructor interface:
k-space `(B, T*C, H, W)` (weightings flattened into the coil axis) -> the T cropped frames side
by side, `(B, h, T*w)`, so that every attack and metric runs on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from fastmri.losses import SSIMLoss
from fastmri.models import Unet

from mrirobust import physics
from mrirobust.models.base import Reconstructor

LOSS_WEIGHTS = (0.2, 0.8, 0.01, 0.1)  # gamma_1..4 of eq. 13: L1, SSIM, l_relax, map L1


def _to_channels(image: torch.Tensor):
    """Complex `(B, T, H, W)` -> real `(B, 2T, H, W)` (the T real parts, then the T imaginary
    parts), each sample normalised by the mean and std of its real and of its imaginary parts;
    returns the channels and (mean, std) for `_from_channels`."""
    x = torch.view_as_real(image)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return ((x - mean) / std).permute(0, 4, 1, 2, 3).flatten(1, 2), (mean, std)


def _from_channels(x: torch.Tensor, stats) -> torch.Tensor:
    """Inverse of `_to_channels`."""
    mean, std = stats
    b, c, h, w = x.shape
    x = x.view(b, 2, c // 2, h, w).permute(0, 2, 3, 4, 1)
    return torch.view_as_complex((x * std + mean).contiguous())


class ComplexUnet(torch.nn.Module):
    """fastMRI's U-Net on complex images `(B, T, H, W)` as 2T normalised real channels (fastMRI's
    NormUnet does the same for a single complex channel only)."""

    def __init__(self, weightings: int, chans: int, pools: int):
        super().__init__()
        self.unet = Unet(2 * weightings, 2 * weightings, chans, pools)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x, stats = _to_channels(image)
        return _from_channels(self.unet(x), stats)


def _column_mask(mask: torch.Tensor, kspace: torch.Tensor) -> torch.Tensor:
    """The boolean column mask `(B, 1, 1, 1, W)` of a mask broadcastable to the series:
    `physics.column_mask_of` with the weightings flattened into the coil axis."""
    if mask.ndim == 4:
        mask = mask.unsqueeze(1)
    full = torch.broadcast_to(mask.to(torch.bool), kspace.shape).flatten(1, 2)
    return physics.column_mask_of(full, kspace.flatten(1, 2)).unsqueeze(1)


class SensitivityNet(torch.nn.Module):
    """Coil maps `(B, T, C, H, W)` from the ACS block, refined per coil by a ComplexUnet."""

    def __init__(self, weightings: int, chans: int, pools: int):
        super().__init__()
        self.unet = ComplexUnet(weightings, chans, pools)

    def forward(self, kspace: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = kspace.shape
        acs = torch.zeros_like(columns)
        for i in range(b):
            width = physics.acs_width(columns[i].flatten())
            start = (w - width + 1) // 2  # fastMRI's centring of the low frequencies
            acs[i, ..., start : start + width] = True
        images = physics.ifft2c(kspace * acs)
        images = images / physics.rss(images, dim=2).unsqueeze(2).clamp_min(1e-12)
        per_coil = images.transpose(1, 2).reshape(b * c, t, h, w)
        maps = self.unet(per_coil).view(b, c, t, h, w).transpose(1, 2)
        return maps / physics.rss(maps, dim=2).unsqueeze(2).clamp_min(1e-12)


class ConvGRU(torch.nn.Module):
    """Stacked convolutional GRU cells on complex images `(B, T, H, W)` as 2T normalised real
    channels, with a 1x1 head back to 2T channels; returns the update and the hidden state."""

    def __init__(self, weightings: int, hidden: int, layers: int):
        super().__init__()
        channels = 2 * weightings
        sizes = [channels] + [hidden] * layers
        self.gates = torch.nn.ModuleList(
            torch.nn.Conv2d(sizes[i] + hidden, 2 * hidden, 3, padding=1) for i in range(layers)
        )
        self.candidates = torch.nn.ModuleList(
            torch.nn.Conv2d(sizes[i] + hidden, hidden, 3, padding=1) for i in range(layers)
        )
        self.head = torch.nn.Conv2d(hidden, channels, 1)
        self.hidden = hidden

    def forward(self, image: torch.Tensor, state: list | None):
        inp, stats = _to_channels(image)
        if state is None:
            state = [inp.new_zeros(inp.shape[0], self.hidden, *inp.shape[2:]) for _ in self.gates]
        new_state = []
        for gates, candidate, h in zip(self.gates, self.candidates, state, strict=True):
            z, r = torch.sigmoid(gates(torch.cat([inp, h], 1))).chunk(2, dim=1)
            n = torch.tanh(candidate(torch.cat([inp, r * h], 1)))
            h = (1 - z) * h + z * n
            new_state.append(h)
            inp = h
        return _from_channels(self.head(inp), stats), new_state


class UnrolledSeriesNet(torch.nn.Module):
    """VN-UNet (`regulariser="unet"`) or RVN (`regulariser="gru"`) for a weighted series."""

    def __init__(
        self,
        weightings: int,
        steps: int,
        chans: int,
        pools: int,
        sens_chans: int,
        sens_pools: int,
        regulariser: str = "unet",
        gru_layers: int = 1,
    ):
        super().__init__()
        if regulariser not in ("unet", "gru"):
            raise ValueError(f"regulariser must be 'unet' or 'gru', got {regulariser!r}")
        self.weightings = weightings
        self.recurrent = regulariser == "gru"
        self.sensitivity = SensitivityNet(weightings, sens_chans, sens_pools)
        self.regularisers = torch.nn.ModuleList(
            ConvGRU(weightings, chans, gru_layers)
            if self.recurrent
            else ComplexUnet(weightings, chans, pools)
            for _ in range(steps)
        )
        self.alphas = torch.nn.Parameter(torch.ones(steps))

    def forward(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked series `(B, T, C, H, W)` -> RSS frames `(B, T, H, W)`."""
        if masked_kspace.ndim != 5 or masked_kspace.shape[1] != self.weightings:
            raise ValueError(
                f"masked_kspace must be (B, T={self.weightings}, C, H, W), got "
                f"{tuple(masked_kspace.shape)}"
            )
        columns = _column_mask(mask, masked_kspace)
        y0 = masked_kspace * columns
        maps = self.sensitivity(y0, columns)
        y, state = y0, None
        for alpha, regulariser in zip(self.alphas, self.regularisers, strict=True):
            image = physics.sens_reduce(y, maps)  # (B, T, H, W)
            if self.recurrent:
                update, state = regulariser(image, state)
            else:
                update = regulariser(image)
            y = y - alpha * columns * (y - y0) + physics.sens_expand(update, maps)
        return physics.rss(physics.ifft2c(y), dim=2)


class SeriesReconstructor(Reconstructor):
    """A series network behind the Reconstructor interface: k-space `(B, T*C, H, W)` with the
    weightings flattened into the coil axis -> the frames cropped to `frame_size` (h, w), side
    by side: `(B, h, T*w)`, so `image_size` is (h, T*w)."""

    name = "series"

    def __init__(self, frame_size: tuple[int, int], net: UnrolledSeriesNet):
        h, w = (int(s) for s in frame_size)
        super().__init__((h, net.weightings * w))
        self.frame_size = (h, w)
        self.net = net

    def output_size(self, kspace_shape) -> tuple[int, int]:
        """Always `image_size`: the frames are cropped to `frame_size` whatever the width."""
        return self.image_size

    def frames(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`(B, T*C, H, W)` -> cropped frames `(B, T, h, w)`."""
        b, tc, h, w = masked_kspace.shape
        t = self.net.weightings
        if tc % t:
            raise ValueError(f"{tc} coil channels are not a multiple of {t} weightings")
        series = masked_kspace.view(b, t, tc // t, h, w)
        return physics.center_crop(self.net(series, mask), self.frame_size)

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.frames(masked_kspace, mask).unbind(1), dim=-1)


@dataclass
class Maps:
    """Mapping-network output `(B, H, W)`: the relaxation time (ms; T1 or T2), the signal-model
    parameters (A in image units, k = B/A, T1* or T2 in s) and the modelled frames
    `(B, T, H, W)`."""

    relaxation_ms: torch.Tensor
    params: dict
    signal: torch.Tensor


class MappingNet(torch.nn.Module):
    """Relaxometry mapping network: frames `(B, T, H, W)` and times `(B, T)` ms -> Maps."""

    def __init__(self, modality: str, weightings: int, chans: int, pools: int):
        super().__init__()
        if modality not in ("T1", "T2"):
            raise ValueError(f"modality must be 'T1' or 'T2', got {modality!r}")
        self.modality = modality
        self.unet = Unet(2 * weightings, 3, chans, pools)

    def forward(self, frames: torch.Tensor, times_ms: torch.Tensor) -> Maps:
        b, t, h, w = frames.shape
        peak = frames.flatten(1).amax(dim=1).view(b, 1, 1, 1).clamp_min(1e-12)
        seconds = (times_ms.to(frames.dtype) / 1000).view(b, t, 1, 1)
        x = torch.cat([seconds.expand(b, t, h, w), frames / peak], dim=1)
        out = F.softplus(self.unet(x))
        amplitude = out[:, 0] * peak[:, 0]
        if self.modality == "T1":
            k, t1star = 1 + out[:, 1], out[:, 2].clamp_min(1e-6)
            decay = torch.exp(-seconds / t1star.unsqueeze(1))
            signal = (amplitude.unsqueeze(1) * (1 - k.unsqueeze(1) * decay)).abs()
            params = dict(A=amplitude, k=k, t1star=t1star)
            relaxation = (k - 1) * t1star
        else:
            t2 = out[:, 1].clamp_min(1e-6)
            signal = amplitude.unsqueeze(1) * torch.exp(-seconds / t2.unsqueeze(1))
            params = dict(A=amplitude, t2=t2)
            relaxation = t2
        return Maps(relaxation_ms=1000 * relaxation, params=params, signal=signal)


def _masked_l1(a: torch.Tensor, b: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """sum |a - b| over kept elements / their number."""
    keep = keep.to(a.dtype)
    return ((a - b).abs() * keep).sum() / keep.sum().clamp_min(1)


def relax_loss(maps: Maps, frames: torch.Tensor) -> torch.Tensor:
    """l_relax: L1 between frames `(B, T, H, W)` and the signal model of their maps, over the
    non-air voxels (the mapping network's unsupervised training loss)."""
    keep = ~physics.air_mask(frames)
    return _masked_l1(maps.signal, frames, keep.unsqueeze(1).expand_as(frames))


def series_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    times_ms: torch.Tensor | None = None,
    mapper: MappingNet | None = None,
    weights: tuple[float, float, float, float] = LOSS_WEIGHTS,
) -> tuple[torch.Tensor, dict]:
    """Eq. 13 on RSS frames `(B, T, H, W)`: g1 L1 + g2 (1 - SSIM) + g3 l_relax(x_hat) +
    g4 |T(M(x_hat)) - T(M(x))|_1 (relaxation times in s on the non-air voxels of x_hat).

    SSIM is fastMRI's (7 x 7, K1 0.01, K2 0.03) per frame with the target frame's maximum as
    data range. The relaxometry terms need the frozen mapper and the times; without a mapper
    (or with g3 = g4 = 0) the loss is the image loss alone. Returns (total, parts).
    """
    g1, g2, g3, g4 = weights
    b, t, h, w = pred.shape
    ssim = SSIMLoss().to(pred.device)
    data_range = target.flatten(2).amax(dim=2).flatten()
    parts = {
        "l1": F.l1_loss(pred, target),
        "ssim": ssim(pred.reshape(b * t, 1, h, w), target.reshape(b * t, 1, h, w), data_range),
    }
    if mapper is not None and (g3 or g4):
        if times_ms is None:
            raise ValueError("the relaxometry terms need times_ms (B, T)")
        keep = ~physics.air_mask(pred)
        pred_maps = mapper(pred, times_ms)
        with torch.no_grad():
            target_maps = mapper(target, times_ms)
        parts["relax"] = relax_loss(pred_maps, pred)
        parts["map"] = _masked_l1(
            pred_maps.relaxation_ms / 1000, target_maps.relaxation_ms / 1000, keep
        )
    total = g1 * parts["l1"] + g2 * parts["ssim"]
    if "relax" in parts:
        total = total + g3 * parts["relax"] + g4 * parts["map"]
    return total, parts


class MapView(Reconstructor):
    """A series reconstructor followed by the voxel-wise judge fit: k-space `(B, T*C, H, W)` ->
    the T1 or T2 map (ms) `(B, h, w)` of the cropped frames, differentiable in the k-space, so
    that the project's attacks target the map. `times_ms` `(1 or B, T)` travel with the view."""

    name = "map_view"

    def __init__(self, series: SeriesReconstructor, modality: str, times_ms: torch.Tensor):
        super().__init__(series.frame_size)
        if modality not in ("T1", "T2"):
            raise ValueError(f"modality must be 'T1' or 'T2', got {modality!r}")
        self.series = series
        self.modality = modality
        self.times_ms = times_ms

    def output_size(self, kspace_shape) -> tuple[int, int]:
        """Always `image_size` (the series' `frame_size`)."""
        return self.image_size

    def reconstruct(self, masked_kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        frames = self.series.frames(masked_kspace, mask).double()
        times = self.times_ms.to(frames).expand(frames.shape[0], -1)
        if self.modality == "T1":
            return physics.fit_t1(frames, times).t1.float()
        return physics.fit_t2(frames, times).t2.float()
