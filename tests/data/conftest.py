import pytest

from mrirobust.data import ensure_embedded


@pytest.fixture(scope="session")
def smoke_root():
    """The smoke-scale embedded dataset (generated once into data/embedded/smoke when missing)."""
    return ensure_embedded("smoke", progress=False)


@pytest.fixture(scope="session")
def real_roots(tmp_path_factory):
    """FASTMRI_ROOT, FASTMRI_PLUS_ROOT and CMRXRECON_ROOT in the real formats, written by the
    independent writer `tests.data.realformat` into a temporary folder (`RealRoots`)."""
    from tests.data.realformat import write_roots

    return write_roots(tmp_path_factory.mktemp("real"))
