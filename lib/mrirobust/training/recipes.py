"""How each trained method is trained: one recipe per method in `RECIPES`.

A recipe has `epochs(params)` (the most epochs it trains), `done(params, state)` (whether the
checkpoint `state` is complete), `fit(model_spec, build, checkpoint, state)` (train, or resume
from `state`, and write the checkpoint) and `restore(build, state)` (the trained Reconstructor).
`build(**state)` makes the untrained model (`mrirobust.zoo` passes it, so training never imports
the model registry); for the min-max recipe `build()` makes the pair (U-Net, generator or None)
and `restore_networks(build, state)` restores both. New training schemes add a recipe class and
entries.

The supervised recipes follow the fastMRI baselines that the papers retrained: U-Net with
RMSprop and an L1 loss on images divided by the volume maximum, E2E-VarNet with Adam and the
SSIM loss (`fastmri.losses.SSIMLoss`, data range = volume maximum). l1-wavelet's relative λ is
the grid value with the best mean validation SSIM.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mrirobust import devices, metrics
from mrirobust.training import adversarial, datasets, loop


def _l1_loss(device: torch.device):
    def loss(out, target, maxval):
        scale = maxval.view(-1, 1, 1)
        return torch.nn.functional.l1_loss(out / scale, target / scale)

    return loss


def _ssim_loss(device: torch.device):
    from fastmri.losses import SSIMLoss

    ssim_loss = SSIMLoss().to(device)
    return lambda out, target, maxval: ssim_loss(out[:, None], target[:, None], maxval)


@dataclass(frozen=True)
class Supervised:
    """Epoch loop (`loop.train_network`) with `optimiser(parameters, params)` and a loss
    `loss(device)(out, target, maxval)`; weights initialised with torch seed `params["seed"]`."""

    optimiser: Callable
    loss: Callable

    def epochs(self, params: dict) -> int:
        return params["epochs"]

    def done(self, params: dict, state: dict) -> bool:
        return state["epoch"] >= self.epochs(params)

    def fit(self, model_spec, build, checkpoint, state) -> None:
        torch.manual_seed(model_spec.params["seed"])
        loop.train_network(model_spec, build(), checkpoint, state, self)

    def restore(self, build, state):
        model = build()
        model.load_state_dict(state["model"])
        return model.to(devices.default())


@dataclass(frozen=True)
class LambdaSearch:
    """l1-wavelet: the relative λ of `l1_lambdas` with the best mean SSIM on `l1_tune_slices`
    training slices (`datasets.tuning_items`: never a scored, validation slice; the paper tunes
    on training data), masked as validation slices are. One "epoch"; rank 0 only under DDP. The
    checkpoint records the slices tuned on; each curve row records its λ's share of the search
    time, so that (as for the networks' epochs) the rows' seconds add up to the training time."""

    def epochs(self, params: dict) -> int:
        return 1

    def done(self, params: dict, state: dict) -> bool:
        # a search without `tuned_on` tuned on validation slices (before the tuning slices were
        # training slices): not done, so it runs again
        return state["epoch"] >= 1 and "tuned_on" in state

    def fit(self, model_spec, build, checkpoint, state) -> None:
        if loop.distributed()[1] != 0:
            return
        begin = time.perf_counter()
        p = model_spec.params
        train = datasets.slices(model_spec.scale, "train", model_spec.anatomy)
        items = datasets.tuning_items(train, p["l1_tune_slices"])
        dataset = datasets.SliceData(
            items, model_spec.acceleration, model_spec.center_fraction, p["seed"], training=False
        )
        ssims = {lam: [] for lam in p["l1_lambdas"]}
        here = devices.default()
        for kspace, mask, target, _ in tqdm(dataset, desc="l1 lambda search"):
            kspace, mask, target = (x[None].to(here) for x in (kspace, mask, target))
            maps = build(lam=0.0).to(here).init_state(kspace, mask).maps
            for lam in ssims:
                recon = build(lam=lam).to(here)
                pred = recon.image(recon.fit(recon.init_state(kspace, mask, maps), kspace, mask))
                ssims[lam].append(float(metrics.ssim(target, pred)[0]))
        share = (time.perf_counter() - begin) / len(ssims)
        curve = [
            {"lam": lam, "tune_ssim": float(np.mean(v)), "seconds": share}
            for lam, v in ssims.items()
        ]
        best = max(curve, key=lambda row: row["tune_ssim"])["lam"]
        tuned_on = [[Path(path).name, int(index)] for path, index in items]
        checkpoint.save({"epoch": 1, "lam": best, "curve": curve, "tuned_on": tuned_on})

    def restore(self, build, state):
        return build(lam=state["lam"]).to(devices.default())


class MinMax:
    """Huang & Liang's min-max loop (`training.adversarial`): at most `epochs` epochs, complete
    when the checkpoint says `finished` (the last epoch or the reference's early stop)."""

    def epochs(self, params: dict) -> int:
        return params["epochs"]

    def done(self, params: dict, state: dict) -> bool:
        return bool(state["finished"]) and "stopped_on" in state

    def fit(self, model_spec, build, checkpoint, state) -> None:
        if state is not None and "stopped_on" not in state:
            state = None  # it stopped early on validation slices (older code): train anew
        adversarial.fit(model_spec, build, checkpoint, state)

    def restore_networks(self, build, state):
        return adversarial.restore(build, state)

    def restore(self, build, state):
        return self.restore_networks(build, state)[0]


RECIPES = {
    "unet": Supervised(
        optimiser=lambda parameters, p: torch.optim.RMSprop(parameters, lr=p["unet_lr"]),
        loss=_l1_loss,
    ),
    "varnet": Supervised(
        optimiser=lambda parameters, p: torch.optim.Adam(parameters, lr=p["varnet_lr"]),
        loss=_ssim_loss,
    ),
    "l1": LambdaSearch(),
    **{f"unet_minmax_{kind}": MinMax() for kind in adversarial.KINDS},
}
