import pytest

from mrirobust.data import ensure_embedded


@pytest.fixture(scope="session")
def smoke_root():
    """The smoke-scale embedded dataset (generated once into data/embedded/smoke when missing)."""
    return ensure_embedded("smoke", progress=False)
