from tests.data.conftest import smoke_root  # noqa: F401  (the smoke-scale dataset)
