import pytest

from mrirobust import papers


def test_named_configs_set_the_paper_sizes():
    morshuis = papers.model_spec("varnet", "paper", 4, "morshuis").params
    assert (morshuis["varnet_cascades"], morshuis["varnet_chans"]) == (8, 9)
    assert morshuis["varnet_sens_chans"] == 6
    assert papers.model_spec("unet", "paper", 4, "morshuis").params["unet_chans"] == 16
    assert papers.model_spec("unet", "paper", 4, "darestani_unet3").params["unet_pools"] == 2
    spec = papers.model_spec("unet", "paper", 4, "darestani_unet3")
    assert spec.config == "darestani_unet3"


def test_empty_config_is_the_scale_profile():
    for empty in (None, "", "default"):
        spec = papers.model_spec("unet", "cpu", 8, empty)
        assert spec.config == "default" and papers.model_config(empty) == {}
    assert spec.params["unet_chans"] == 16  # the cpu profile's


def test_unknown_config_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model config 'huge'.*morshuis.*darestani"):
        papers.model_spec("unet", "paper", 4, "huge")
