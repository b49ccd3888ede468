import pandas as pd
import pytest

from mrirobust.papers.darestani2021 import claims as darestani_claims


def _quality(**ssim):
    return pd.DataFrame({"ssim_mean": ssim}).rename_axis("method")


def test_ranking_verdicts_compare_the_mean_ssims():
    quality = _quality(zero_filled=0.4, convdecoder=0.5, l1=0.6, unet=0.7, varnet=0.7)
    verdicts = darestani_claims.ranking(quality, acceleration=4, scale="smoke", data="synthetic")
    assert [v.id for v in verdicts] == [
        "darestani2021/fig2/varnet_ge_unet",
        "darestani2021/fig2/unet_gt_l1",
        "darestani2021/fig2/l1_gt_zero_filled",
        "darestani2021/fig2/convdecoder_gt_zero_filled",
    ]
    assert all(v.holds for v in verdicts)  # varnet = unet satisfies "at least as well"
    assert verdicts[1].evidence == {"ssim_unet": 0.7, "ssim_l1": 0.6}
    assert verdicts[0].case == {"acceleration": 4}
    worse = _quality(zero_filled=0.4, convdecoder=0.3, l1=0.8, unet=0.7, varnet=0.6)
    held = [v.holds for v in darestani_claims.ranking(worse, acceleration=4, scale="s", data="d")]
    assert held == [False, False, True, False]


def test_ranking_without_a_method_raises():
    with pytest.raises(ValueError, match="needs rows"):
        darestani_claims.ranking(
            _quality(unet=0.7, varnet=0.8), acceleration=4, scale="smoke", data="synthetic"
        )
