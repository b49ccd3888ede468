import pytest

from mrirobust import paths, scales


def test_every_scale_resolves_every_section_with_the_same_keys():
    """Same keys at every scale, except that the real-data (paper) profile has no generator
    settings in its data section."""
    for section in scales.SECTIONS:
        reference = scales.resolve("smoke", section).keys()
        for scale in paths.SCALES:
            keys = scales.resolve(scale, section).keys()
            if section == "data" and scales.resolve(scale, "data")["source"] != "embedded":
                assert keys <= reference, (scale, section, keys - reference)
            else:
                assert keys == reference, (scale, section, keys ^ reference)


def test_train_profile_states_only_differences():
    assert scales.TRAIN.differences("paper") == {}
    for scale in ("cpu", "smoke"):
        for key, value in scales.TRAIN.differences(scale).items():
            assert value != scales.TRAIN.paper[key], (scale, key)


def test_resolve_merges_overrides_without_mutating_profiles():
    resolved = scales.resolve("smoke", "train", {"seed": 7})
    assert resolved["seed"] == 7
    assert scales.resolve("smoke", "train")["seed"] == 0


@pytest.mark.parametrize(
    "args, match",
    [
        (("huge", "train"), "unknown scale 'huge'"),
        (("smoke", "nope"), "unknown profile section 'nope'"),
        (("smoke", "train", {"sead": 1}), "unknown 'shared.train' parameter 'sead'"),
    ],
)
def test_resolve_rejects_unknown_names(args, match):
    with pytest.raises(ValueError, match=match):
        scales.resolve(*args)


def test_paths_follow_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "res"))
    assert paths.results_dir("smoke", "run") == tmp_path / "res" / "smoke" / "run"
    assert (tmp_path / "res" / "smoke" / "run").is_dir()
    with pytest.raises(ValueError, match="unknown scale"):
        paths.figures_dir("medium")


def test_real_data_root_from_yaml_or_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path))
    monkeypatch.delenv("FASTMRI_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="FASTMRI_ROOT"):
        paths.real_data_root("fastmri_root")
    (tmp_path / "paths.yaml").write_text(f"fastmri_root: {tmp_path / 'fm'}\n")
    assert paths.real_data_root("fastmri_root") == tmp_path / "fm"
    monkeypatch.setenv("FASTMRI_ROOT", str(tmp_path / "env"))
    assert paths.real_data_root("fastmri_root") == tmp_path / "env"
