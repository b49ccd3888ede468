import argparse

import pytest
import yaml

from mrirobust import paths
from mrirobust.papers import PAPERS, profiles
from mrirobust.runner.manifest import SHARED, load_manifest


def test_every_section_is_named_after_its_owner_once():
    every = profiles.sections()
    assert {"shared.train", "morshuis2022.attack", "darestani2021.attack"} <= set(every)
    for owner in [SHARED, *PAPERS]:
        own = profiles.sections(owner)
        assert own and all(name.startswith(f"{owner}.") for name in own)
    assert len(every) == sum(len(profiles.sections(o)) for o in [SHARED, *PAPERS])
    with pytest.raises(ValueError, match="unknown paper 'nope'; valid: shared, morshuis2022"):
        profiles.sections("nope")


@pytest.mark.parametrize("scale", paths.SCALES)
def test_the_profile_command_prints_every_section_resolved(capsys, scale):
    assert profiles.main(argparse.Namespace(scale=scale, paper=None)) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == profiles.resolved(scale)
    assert printed["shared.data"]["source"] != "embedded" or scale in ("smoke", "cpu")
    assert printed["morshuis2022.attack"]["variants"]["fig1"] == (
        {"pgd_steps": 5} if scale == "cpu" else {}
    )


def test_the_manifest_names_papers_and_variants_that_exist():
    """Runs belong to a paper of PAPERS (or shared); the manifest cannot set profile values
    (the loader refuses *_overrides), and each notebook's `<section>_variant` names a variant
    of its paper's section, which resolves at every scale."""
    sections = profiles.sections()
    for run in load_manifest(paths.notebooks_root() / "manifest.yaml"):
        assert run.paper in (SHARED, *PAPERS), run.id
        for scale in paths.SCALES:
            assert not [k for k in run.params(scale) if k.endswith("_overrides")], run.id
        for key, variant in run.defaults.items():
            if key.endswith("_variant") and variant:
                section = sections[f"{run.paper}.{key.removesuffix('_variant')}"]
                for scale in paths.SCALES:
                    section.resolve(scale, variant=variant)
