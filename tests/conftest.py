"""Session fixtures shared by the test suite.

`smoke_results` executes every run of notebooks/manifest.yaml once per session at smoke scale,
through the runner, into a temporary results/figures root. Tests that check a notebook's content
take the fixture and read its files through `run_dir(run_id)` and `figures`; the results and
figures environment variables are set only while the runner executes.
"""

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mrirobust import paths, runner, standin

SMOKE_CELL_TIMEOUT = 900  # seconds
SUMMARY = pytest.StashKey[list[str]]()


@dataclass(frozen=True)
class SmokeResults:
    """Where a session run of the manifest (smoke or shape scale) wrote its files, and what
    happened to each run."""

    results_root: Path  # MRIROBUST_RESULTS during the run (checkpoints/ lives here too)
    figures_root: Path  # MRIROBUST_FIGURES during the run
    results: dict[str, runner.Result]

    scale: str = "smoke"

    def run_dir(self, run_id: str) -> Path:
        """results/<scale>/<run_id>/ of the session run."""
        return self.results_root / self.scale / run_id

    def ok(self, run_id: str) -> Path:
        """`run_dir(run_id)`, after asserting that the run succeeded (else its reason/error)."""
        result = self.results[run_id]
        assert result.status == "ok", f"{run_id}: {result.reason or result.error}"
        return self.run_dir(run_id)

    @property
    def figures(self) -> Path:
        """figures/<scale>/ of the session run."""
        return self.figures_root / self.scale


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory) -> SmokeResults:
    """Every manifest run executed once at smoke scale (the embedded data stays in data/)."""
    root = tmp_path_factory.mktemp("smoke")
    manifest = paths.notebooks_root() / "manifest.yaml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MRIROBUST_RESULTS", str(root / "results"))
        mp.setenv("MRIROBUST_FIGURES", str(root / "figures"))
        # a cell that runs 15 min at smoke scale is a hung kernel: fail the run, not the CI job
        results = runner.run(manifest, "smoke", cell_timeout=SMOKE_CELL_TIMEOUT)
    return SmokeResults(root / "results", root / "figures", {r.id: r for r in results})


@pytest.fixture(scope="session")
def shape_results(tmp_path_factory) -> SmokeResults:
    """Every manifest run executed once at the `shape` scale (the paper configuration, every
    loop cut to one step) on real-format files written by the independent writer
    `tests.data.realformat` (other widths and coil counts than the generated shape data),
    pointed at by FASTMRI_ROOT, FASTMRI_PLUS_ROOT and CMRXRECON_ROOT as a user would."""
    from tests.data.realformat import write_roots

    root = tmp_path_factory.mktemp("shape")
    real = write_roots(root / "real")
    manifest = paths.notebooks_root() / "manifest.yaml"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in real.environment().items():
            mp.setenv(key, value)
        mp.setenv("MRIROBUST_RESULTS", str(root / "results"))
        mp.setenv("MRIROBUST_FIGURES", str(root / "figures"))
        results = runner.run(manifest, "shape", cell_timeout=SMOKE_CELL_TIMEOUT)
    return SmokeResults(root / "results", root / "figures", {r.id: r for r in results}, "shape")


@contextmanager
def _interrupted_on_call(owner, name: str, n: int = 2):
    """Inside the block, the `n`-th call of `owner.name` raises KeyboardInterrupt (a user
    stopping the run there); the calls before it run as usual. Restored on leaving."""
    original, calls = getattr(owner, name), []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(owner, name, interrupting)
        yield


@pytest.fixture
def interrupted_on_call():
    """`with interrupted_on_call(module, "name", n):` the n-th call of module.name is
    interrupted (KeyboardInterrupt), to test that a killed run resumes or leaves no stale data."""
    return _interrupted_on_call


def pytest_configure(config):
    # the stand-in device (tests/test_devices.py) must exist before the first backward pass of
    # the process: autograd sizes its per-device queues then
    standin.register()


@pytest.fixture
def summary(request):
    """`summary(line)` prints `line` in the "notes" section at the end of the run, so what a
    test saw (e.g. the browser test's slider values) is visible in CI output without -s."""
    return request.config.stash.setdefault(SUMMARY, []).append


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("notes")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def browser():
    """Headless Chromium through selenium, with Debian's chromium and chromedriver (nothing is
    downloaded). Without them the test skips and says why, except under CI, where .ci/run
    installs them and a skip would hide a failure."""
    from selenium import webdriver

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        reason = (
            "no Chromium/chromedriver on PATH: install the Debian packages with "
            "`apt-get install -y chromium chromium-driver` (.ci/run does this in CI)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
