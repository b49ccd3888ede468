"""Degenerate attack settings are refused with errors that name the parameter and its range."""

import math

import numpy as np
import pytest

from mrirobust import physics
from mrirobust.attacks import angle_grid, kspace_pgd, pgd_global, rotation_search, two_step

NOT_AN_ATTACK = [
    ({"steps": 0}, r"steps must be an integer >= 1 \(0 would return the start"),
    ({"steps": True}, "steps must be an integer >= 1"),
    ({"steps": 2.0}, "steps must be an integer >= 1"),
    ({"step_size": 0.0}, "step_size must be a finite number > 0"),
    ({"step_size": -0.5}, "step_size must be a finite number > 0"),
    ({"step_size": math.nan}, "step_size must be a finite number > 0"),
    ({"step_size": math.inf}, "step_size must be a finite number > 0"),
    ({"step_size": "0.5"}, "step_size must be a finite number > 0"),
]


@pytest.mark.parametrize(("kwargs", "match"), NOT_AN_ATTACK)
def test_kspace_pgd_refuses_degenerate_steps(zero_filled, data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kspace_pgd(
            zero_filled,
            data["kspace"],
            data["mask"],
            data["target"],
            eta=0.01,
            progress=False,
            **kwargs,
        )


def test_numpy_budgets_and_step_sizes_are_accepted(zero_filled, data):
    res = kspace_pgd(
        zero_filled,
        data["kspace"],
        data["mask"],
        data["target"],
        eta=np.float32(0.01),
        steps=1,
        step_size=np.float32(0.5),
        progress=False,
    )
    assert res.losses.shape[0] == 2


@pytest.mark.parametrize(("kwargs", "match"), NOT_AN_ATTACK[:1] + NOT_AN_ATTACK[3:4])
def test_pgd_global_and_two_step_refuse_degenerate_steps(
    zero_filled, toy_untrained, data, kwargs, match
):
    y = physics.apply_mask(data["kspace"], data["mask"])
    with pytest.raises(ValueError, match=match):
        pgd_global(zero_filled, y, data["mask"], eps=0.01, progress=False, **kwargs)
    with pytest.raises(ValueError, match=match):
        two_step(
            toy_untrained,
            y,
            data["mask"],
            eps=0.01,
            beta=1.0,
            progress=False,
            **{"steps": 3, **kwargs},
        )


@pytest.mark.parametrize("eta", ["0.01", [0.01, "a"], [[0.01], [0.02, 0.03]], [], math.inf])
def test_budgets_that_are_not_finite_numbers_name_the_parameter(zero_filled, data, eta):
    with pytest.raises(ValueError, match="eta must be a finite number >= 0 or a non-empty"):
        kspace_pgd(
            zero_filled, data["kspace"], data["mask"], data["target"], eta=eta, progress=False
        )


@pytest.mark.parametrize(
    ("angle_max", "step"), [(math.inf, 0.1), (math.nan, 0.1), (-1.0, 0.1), (4.9, 0.0), (4.9, -1)]
)
def test_angle_grid_needs_a_finite_span_and_a_positive_step(angle_max, step):
    with pytest.raises(ValueError, match="need finite angle_max >= 0 and step > 0"):
        angle_grid(angle_max, step)


def test_rotation_search_refuses_empty_grids_and_boolean_batches(zero_filled, data):
    args = (zero_filled, data["kspace"], data["mask"], data["target"])
    with pytest.raises(ValueError, match="angles must be a non-empty grid"):
        rotation_search(*args, angles=[], progress=False)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        rotation_search(*args, angles=[0.0], batch_size=True, progress=False)
