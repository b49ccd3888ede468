"""The template's settings: the noise sweep, at paper scale and what each smaller scale changes."""

from __future__ import annotations

from mrirobust.config import Profile

NOISE = Profile(
    "template.noise",
    paper={
        "seed": 0,  # noise seed (per slice: seed and slice index)
        "acceleration": 4,  # undersampling factor of the validation masks
        "sigmas": [0.0, 0.05, 0.1, 0.2],  # noise norm relative to the measured k-space norm
        "slices": 16,  # validation slices scored
    },
    cpu={"slices": 8},
    smoke={"sigmas": [0.0, 0.1, 0.2], "slices": 4},
    shape={"sigmas": [0.0, 0.2], "slices": 1},
)
