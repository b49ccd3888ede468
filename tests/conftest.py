"""Session fixtures shared by the test suite.

`smoke_results` and `shape_results` hold every run of notebooks/manifest.yaml, executed once per
session at the smoke and the shape scale through the runner into a temporary results/figures
root. A background process (`tests.manifest_runs`) starts them when the session starts, and the
tests that read them run last, so the unit tests run meanwhile. Tests that check a notebook's
content take the fixture and read its files through `run_dir(run_id)` and `figures`.
"""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mrirobust import runner, standin
from tests import manifest_runs

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


MANIFEST_FIXTURES = {"smoke_results": "smoke", "shape_results": "shape"}


class ManifestRuns:
    """The background process of `tests.manifest_runs`: every manifest run at the given scales,
    executed while the unit tests run. Its output goes to root/manifest_runs.log."""

    def __init__(self, root: Path, scales: list[str]):
        self.root, self.scales = root, scales
        self.log = root / "manifest_runs.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.manifest_runs", str(root), *scales],
                cwd=Path(__file__).resolve().parents[1],  # where `tests` imports from
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # stop() ends its Snakemake and kernels with it
            )

    def wait(self, scale: str) -> SmokeResults:
        """The runs of `scale` once the background process has stored them."""
        stored = manifest_runs.results_file(self.root, scale)
        while not stored.exists():
            if self.process.poll() is not None and not stored.exists():
                tail = self.log.read_text()[-4000:]
                raise RuntimeError(f"the {scale} manifest runs stopped; {self.log} ends:\n{tail}")
            time.sleep(1)
        results = pickle.loads(stored.read_bytes())
        folder = self.root / scale
        return SmokeResults(
            folder / "results", folder / "figures", {r.id: r for r in results}, scale
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait()


def pytest_collection_modifyitems(items):
    # the tests that read manifest runs last (smoke before shape): the unit tests run meanwhile
    def waits_for(item) -> int:
        needed = [i for i, name in enumerate(MANIFEST_FIXTURES, 1) if name in item.fixturenames]
        return max(needed, default=0)

    items.sort(key=waits_for)


@pytest.fixture(scope="session", autouse=True)
def background_runs(request, tmp_path_factory):
    """Starts the manifest runs the selected tests read (smoke, shape or both) in the background
    at the start of the session. The embedded smoke data is written first, here, since unit
    tests read it too and two writers must not generate it side by side."""
    items = request.session.items
    scales = [s for f, s in MANIFEST_FIXTURES.items() if any(f in i.fixturenames for i in items)]
    if not scales:
        yield None
        return
    if "smoke" in scales:
        runner.ensure_data("smoke")
    runs = ManifestRuns(tmp_path_factory.mktemp("manifest"), scales)
    yield runs
    runs.stop()


def _manifest_results(background_runs, tmp_path_factory, scale: str) -> SmokeResults:
    # a test that asks for the fixture by name at run time (not among its arguments) may find
    # the scale not started: it starts now
    if background_runs is None or scale not in background_runs.scales:
        background_runs = ManifestRuns(tmp_path_factory.mktemp("manifest"), [scale])
    return background_runs.wait(scale)


@pytest.fixture(scope="session")
def smoke_results(background_runs, tmp_path_factory) -> SmokeResults:
    """Every manifest run executed once at smoke scale (the embedded data stays in data/)."""
    return _manifest_results(background_runs, tmp_path_factory, "smoke")


@pytest.fixture(scope="session")
def shape_results(background_runs, tmp_path_factory) -> SmokeResults:
    """Every manifest run executed once at the `shape` scale (the paper configuration, every
    loop cut to one step) on real-format files written by the independent writer
    `tests.data.realformat` (other widths and coil counts than the generated shape data),
    pointed at by FASTMRI_ROOT, FASTMRI_PLUS_ROOT and CMRXRECON_ROOT as a user would."""
    return _manifest_results(background_runs, tmp_path_factory, "shape")


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
