import pytest

from mrirobust.config import SEED_ENV, Profile

ATTACK = Profile(
    "toy.attack",
    paper=dict(eta_grid=[0, 0.01, 0.02], steps=10, seed=0),
    cpu=dict(steps=5),
    smoke=dict(eta_grid=[0, 0.02], steps=2),
)


def test_each_scale_is_the_paper_values_with_its_differences():
    assert ATTACK.resolve("paper") == {"eta_grid": [0, 0.01, 0.02], "steps": 10, "seed": 0}
    assert ATTACK.resolve("cpu") == {"eta_grid": [0, 0.01, 0.02], "steps": 5, "seed": 0}
    assert ATTACK.resolve("smoke", {"seed": 3}) == {"eta_grid": [0, 0.02], "steps": 2, "seed": 3}
    assert ATTACK.differences("cpu") == {"steps": 5}


def test_resolve_returns_a_copy():
    ATTACK.resolve("paper")["eta_grid"].append(1.0)
    assert ATTACK.resolve("paper")["eta_grid"] == [0, 0.01, 0.02]


def test_unknown_scales_and_keys_are_named():
    valid = "valid scales: smoke, cpu, shape, gpu, paper"
    with pytest.raises(ValueError, match=f"unknown scale 'huge'; {valid}"):
        ATTACK.resolve("huge")
    with pytest.raises(ValueError, match="unknown 'toy.attack' parameter 'stpes'.*valid keys"):
        ATTACK.resolve("cpu", {"stpes": 3})
    with pytest.raises(ValueError, match="scale 'cpu': keys \\['angle'\\] are not paper-scale"):
        Profile("bad", paper={"steps": 1}, cpu={"angle": 2})


def test_mrirobust_seed_offsets_the_training_seed_of_a_seeded_section(monkeypatch):
    seeded = Profile("toy.train", paper={"seed": 3, "epochs": 2}, seed_key="seed")
    plain = Profile("toy.attack", paper={"seed": 3})
    monkeypatch.delenv(SEED_ENV, raising=False)
    assert seeded.resolve("cpu")["seed"] == 3
    monkeypatch.setenv(SEED_ENV, "1")
    assert seeded.resolve("cpu")["seed"] == 4 and seeded.resolve("paper")["epochs"] == 2
    assert plain.resolve("cpu")["seed"] == 3
    monkeypatch.setenv(SEED_ENV, "-1")
    with pytest.raises(ValueError, match="MRIROBUST_SEED=.-1.: expected a non-negative integer"):
        seeded.resolve("cpu")
    with pytest.raises(ValueError, match="seed_key 'rng' is not a paper-scale key"):
        Profile("toy.train", paper={"seed": 0}, seed_key="rng")
