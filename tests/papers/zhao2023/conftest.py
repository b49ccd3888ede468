import shutil

import pytest

from mrirobust.data import cmrxrecon, cmrxrecon_embedded


@pytest.fixture(scope="module")
def smoke_root(tmp_path_factory):
    """The smoke-scale embedded CMRxRecon data in a temporary data root."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_DATA", str(tmp_path_factory.mktemp("data")))
        yield cmrxrecon_embedded.generate("smoke", progress=False)


@pytest.fixture(scope="module")
def real_like_root(tmp_path_factory):
    """CMRxRecon laid out as the real data are, at smoke size: two TrainingSet patients of
    different ky and slice count (P001: 48 x 2 slices, P002: 40 x 3), a ValidationSet patient
    without FullSample (withheld, as in the real data), and no truth."""
    root = tmp_path_factory.mktemp("real_like")
    smoke = cmrxrecon_embedded.DATA.resolve("smoke")
    for split, patient, changes in (
        ("TrainingSet", "P001", {}),
        ("TrainingSet", "P002", dict(phase=40, slices=3)),
        ("ValidationSet", "P001", {}),
    ):
        cmrxrecon_embedded._write_patient(root, smoke | changes, split, patient)
    shutil.rmtree(root / "truth")
    shutil.rmtree(cmrxrecon.mapping_dir(root, "ValidationSet"))
    return root
