"""The domain that Morshuis et al. and Darestani et al. share: annotated fastMRI knee validation
slices with their coils. Every fastMRI+ box of a slice is one sample and its region; a model
sees the slice under the seeded random column mask of its acceleration (`data.samples`, the
masks of every paper in this project); a perturbed acquisition is a perturbed fully sampled
k-space, which each model masks with its own mask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mrirobust import physics, regions
from mrirobust.data.samples import Sample, annotated_samples, sample_mask, stack
from mrirobust.explorer.catalog import Domain, ModelEntry, Perturbed


@dataclass
class KneeSlice:
    """One sample's fully sampled k-space `(1, C, H, W)`, target `(h, w)` and box `(4,)`."""

    sample: Sample
    kspace: torch.Tensor
    target: torch.Tensor
    box: torch.Tensor


class KneeSlices(Domain):
    """The first `max_samples` (None: all) annotated knee validation boxes at `scale`, spread
    over the volumes (`data.samples.annotated_samples`); masks seeded with `seed`."""

    id = "fastmri_knee"
    label = "fastMRI knee slices (multi-coil)"
    target_label = "fully sampled"

    def __init__(self, scale: str, max_samples: int | None = None, seed: int = 0):
        self.seed = seed
        self._samples = {s.sample_id: s for s in annotated_samples(scale, max_samples)}

    def samples(self) -> dict[str, str]:
        return {key: f"{key} — {s.label}" for key, s in self._samples.items()}

    def load(self, sample: str) -> KneeSlice:
        kspace, _, target, boxes = stack([self._samples[sample]], 4, self.seed)
        return KneeSlice(self._samples[sample], kspace, target[0], boxes[0])

    def target(self, data: KneeSlice) -> torch.Tensor:
        return data.target

    def region(self, data: KneeSlice) -> torch.Tensor:
        return regions.box_mask(data.box, tuple(data.target.shape))[0]

    def batch(self, data: KneeSlice, acceleration: int):
        """k-space `(1, C, H, W)`, mask `(1, 1, 1, W)`, target `(1, h, w)` and box `(1, 4)` of
        the sample for a model at `acceleration` (on the CPU)."""
        mask = sample_mask(data.sample, acceleration, self.seed)
        return data.kspace, mask, data.target[None], data.box[None]

    def clean(self, entry: ModelEntry, model, data: KneeSlice) -> torch.Tensor:
        kspace, mask, _, _ = self.batch(data, entry.acceleration)
        return model(physics.apply_mask(kspace, mask), mask)[0].cpu()

    def perturbed(
        self,
        data: KneeSlice,
        kspace: torch.Tensor,
        shown: torch.Tensor,
        back: Callable[[torch.Tensor], torch.Tensor] = lambda image: image,
        **details,
    ) -> Perturbed:
        """The `Perturbed` of an attacked fully sampled k-space `(1, C, H, W)`: each model
        reconstructs it under its own mask, `back` maps the image into the target's frame;
        `shown` is the perturbation image and `details` the other `Perturbed` fields."""

        def reconstruct(entry: ModelEntry, model) -> torch.Tensor:
            mask = sample_mask(data.sample, entry.acceleration, self.seed)
            return back(model(physics.apply_mask(kspace, mask), mask))[0].cpu()

        return Perturbed(reconstruct, shown, **details)

    def zero_filled(self, perturbation: torch.Tensor, mask: torch.Tensor, data: KneeSlice):
        """The image of a k-space perturbation `(1, C, H, W)` as the model sees it: the RSS of
        its masked part, cropped to the target `(h, w)`."""
        size = tuple(data.target.shape)
        return physics.rss_crop(physics.apply_mask(perturbation.cpu(), mask), size)[0]
