import pytest

from mrirobust.data import cmrxrecon_embedded


@pytest.fixture(scope="module")
def smoke_root(tmp_path_factory):
    """The smoke-scale embedded CMRxRecon data in a temporary data root."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_DATA", str(tmp_path_factory.mktemp("data")))
        yield cmrxrecon_embedded.generate("smoke", progress=False)
