"""Zhao et al. 2023 in the explorer (`mrirobust.explorer`): the trained series reconstructions
(RVN, VN-UNet, VN-UNet-relax) on the evaluated CMRxRecon mapping slices at the attack profile's
acceleration, each shown by its T1 (T2) map, the judge fit of its frames; the target is the fit
of the fully sampled frames. The attacks are `robustness.perturbation`'s modes (per-(frame,
coil) k-space budgets η): map-targeted PGD, the fake-disease shift, image-targeted PGD and
random noise of the same norms; scored as `robustness.map_errors` on the region
(`experiments.region_of`: the phantom's myocardium, else where the reference fit is valid).

The models are loaded from the checkpoints of the `zhao2023_train` run, never trained here: a
missing one is announced with the epochs it still needs and a rough time.
"""

from __future__ import annotations

import functools

import torch

from mrirobust import physics
from mrirobust.data.cmrxrecon_embedded import ensure_cmrxrecon
from mrirobust.explorer import AttackEntry, Catalog, Domain, ModelEntry, Perturbed, strengths
from mrirobust.papers.zhao2023 import figures, robustness, training
from mrirobust.papers.zhao2023.data import SeriesSlices
from mrirobust.papers.zhao2023.experiments import fit_map
from mrirobust.papers.zhao2023.profile import ATTACK, TRAIN

PAPER = "Zhao 2023"
TRAINED_BY = "zhao2023_train"
KINDS = {"T1map": ["rvn", "vn", "vn_relax"], "T2map": ["vn_relax"]}  # what zhao2023_train trains
NAMES = {"rvn": "RVN", "vn": "VN-UNet", "vn_relax": "VN-UNet-relax"}
MODES = {
    "map": "map-targeted PGD",
    "shift": "fake-disease shift (PGD)",
    "image": "image-targeted PGD",
    "random": "random noise",
}
# rough seconds per training epoch of a model (profile.TRAIN's measured steps x slices; paper:
# ~8 h for 400 epochs on one GPU), for the announcement of a missing checkpoint
EPOCH_SECONDS = {"smoke": 2.0, "cpu": 40.0, "shape": 60.0, "gpu": 72.0, "paper": 72.0}


class MappingSlices(Domain):
    """The first `max_samples` (None: all) evaluated slices of the evaluation patients for
    `modality`, masked at `acceleration`; a sample's data is its `robustness.Case`, its target
    the reference map (ms)."""

    unit = "ms"

    def __init__(self, scale: str, cfg: dict, modality: str, acceleration: int, max_samples=None):
        self.id, self.modality, self.acceleration = f"cmrxrecon_{modality}", modality, acceleration
        self.label = f"CMRxRecon {modality[:2]} mapping slices (R {acceleration})"
        self.target_label = f"{modality[:2]} of the fully sampled frames"
        self.cmap, *self.range = figures.MAP_STYLE[modality]
        root = ensure_cmrxrecon(scale)
        self.slices = SeriesSlices(
            root,
            "evaluation",
            modality,
            cfg["readout_crop"],
            holdout=cfg["holdout_patients"],
            evaluated=True,
            max_slices=max_samples or 0,
        )

    def samples(self) -> dict[str, str]:
        return {
            str(i): f"{self.slices.patients[p].name} slice {index}"
            for i, (p, index) in enumerate(self.slices.items)
        }

    def load(self, sample: str) -> robustness.Case:
        return robustness.prepare(self.slices[int(sample)], self.modality, self.acceleration)

    def target(self, case: robustness.Case) -> torch.Tensor:
        return case.reference

    def region(self, case: robustness.Case) -> torch.Tensor:
        return case.region

    def map_of(self, net, case: robustness.Case, z: torch.Tensor) -> torch.Tensor:
        """The map (ms) of `net`'s frames reconstructed from M(k + z)."""
        frames = robustness.attacked_frames(net, case, self.modality, z)
        return fit_map(self.modality, frames, case.times_ms)

    def clean(self, entry: ModelEntry, net, case: robustness.Case) -> torch.Tensor:
        return self.map_of(net, case, torch.zeros_like(case.kspace))

    def display_range(self, target: torch.Tensor) -> tuple[float, float]:
        return tuple(self.range)

    def data_caption(self, scale: str) -> str:
        return figures.data_caption(scale)


def scores(target: torch.Tensor, image: torch.Tensor, region) -> dict[str, float]:
    """Map MAE and bias (ms) on the region (`robustness.map_errors`)."""
    found = robustness.map_errors(image.double() - target.double(), region)
    return {"map MAE (ms)": found["map_mae_ms"], "map bias (ms)": found["map_bias_ms"]}


def _shift_scores(target: torch.Tensor, image: torch.Tensor, region) -> dict[str, float]:
    """`scores` with the bias first (the curve plots it: the fake disease raises the map)."""
    found = scores(target, image, region)
    return {"map bias (ms)": found["map bias (ms)"], "map MAE (ms)": found["map MAE (ms)"]}


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def register(
    catalog: Catalog,
    *,
    samples: int | None = 8,
    modalities=("T1map", "T2map"),
    train_overrides: dict | None = None,
    attack_overrides: dict | None = None,
) -> None:
    """Add a domain per modality of `modalities` (`samples` slices), the models that
    `zhao2023_train` trains for it (`KINDS`, its profile with `train_overrides`) and the four
    attack modes with the attack profile's settings (`attack_overrides`)."""
    scale = catalog.scale
    cfg = TRAIN.resolve(scale, train_overrides)
    settings = ATTACK.resolve(scale, attack_overrides)
    root = ensure_cmrxrecon(scale)
    for modality in modalities:
        domain = catalog.share(
            MappingSlices(scale, cfg, modality, settings["acceleration"], samples or None)
        )
        train = training.training_slices(root, cfg, modality)
        for kind in KINDS[modality]:

            def load(kind=kind, modality=modality):
                models, _ = training.train_all(root, scale, cfg, modality, [kind], progress=False)
                return models[kind]

            def missing(kind=kind, train=train) -> str | None:
                left = training.epochs_left(train, scale, cfg, [kind])
                if not any(epochs > 0 for epochs in left.values()):
                    return None
                todo = ", ".join(f"{name} {n} epoch(s)" for name, n in left.items() if n > 0)
                seconds = sum(left.values()) * EPOCH_SECONDS[scale]
                return (
                    f"scale {scale!r}: no complete checkpoint ({todo} to train, about "
                    f"{_duration(seconds)}, rough estimate from the profile's step times).\n"
                    f"The run `{TRAINED_BY}` trains it: make reproduce SCALE={scale} "
                    f"ONLY={TRAINED_BY}"
                )

            catalog.add(
                ModelEntry(
                    f"zhao2023/{kind}_{modality[:2]}",
                    f"{NAMES[kind]} ({modality[:2]})",
                    PAPER,
                    domain.id,
                    load,
                    missing,
                    tags=frozenset({"series"}),
                    acceleration=settings["acceleration"],
                )
            )

        def perturb(entry, net, case, eta, mode: str, domain: MappingSlices = domain):
            if eta == 0:
                return Perturbed(lambda *_: None, torch.zeros_like(case.reference), unchanged=True)
            z = robustness.perturbation(
                net,
                case,
                domain.modality,
                mode,
                eta,
                settings["steps"],
                settings["step_size"],
                settings["seed"],
            )
            frames = len(case.target)
            first = z.view(frames, -1, *z.shape[-2:])[:1]  # the first frame's coils
            shown = physics.rss_crop(physics.apply_mask(first, case.mask), case.crop)[0]
            return Perturbed(
                lambda _entry, other: domain.map_of(other, case, z),
                shown,
                label="perturbation, first frame (zero-filled)",
            )

        for mode, label in MODES.items():
            catalog.add(
                AttackEntry(
                    id=f"zhao2023/{mode}_{modality[:2]}",
                    label=label,
                    paper=PAPER,
                    domain=domain.id,
                    symbol="η",
                    strengths=strengths(settings["etas"]),
                    perturb=functools.partial(perturb, mode=mode),  # this modality's
                    score=_shift_scores if mode == "shift" else scores,
                    applies=lambda entry: "series" in entry.tags,
                    requirement="Zhao's series reconstructions",
                    fmt="{:.2%}",
                    higher_is_better=False,
                    steps=None if mode == "random" else settings["steps"],
                )
            )
