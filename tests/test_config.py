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
        Profile("toy.bad", paper={"steps": 1}, cpu={"angle": 2})


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


def test_a_named_variant_changes_its_keys_at_its_scales_only():
    varied = Profile(
        "toy.attack",
        paper={"steps": 10, "stride": 1},
        cpu={"steps": 5},
        variants={"cheap": {"cpu": {"steps": 3}, "paper": {"stride": 4}}},
    )
    assert varied.resolve("cpu", variant="cheap") == {"steps": 3, "stride": 1}
    assert varied.resolve("paper", variant="cheap") == {"steps": 10, "stride": 4}
    assert varied.resolve("gpu", variant="cheap") == {"steps": 10, "stride": 4}  # the paper's
    assert varied.resolve("smoke", variant="cheap") == varied.resolve("smoke")
    assert varied.resolve("cpu", {"steps": 7}, variant="cheap")["steps"] == 7  # overrides last
    assert varied.resolve("cpu", variant="") == varied.resolve("cpu")
    with pytest.raises(ValueError, match="unknown variant 'fast'; valid variants: cheap"):
        varied.resolve("cpu", variant="fast")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "attack"}, "profile name 'attack' must be <owner>.<section>"),
        ({"variants": {"v": {"huge": {"steps": 1}}}}, r"variant 'v': unknown scales \['huge'\]"),
        ({"variants": {"v": {"cpu": {"stpes": 1}}}}, r"variant 'v' at scale 'cpu': keys"),
    ],
)
def test_bad_names_and_variants_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Profile(**{"name": "toy.attack", "paper": {"steps": 1}, **kwargs})
