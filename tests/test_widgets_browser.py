"""The attack explorer in a real JupyterLab, driven by headless Chromium (selenium).

A copy of notebooks/explore/attack_strength.ipynb, parameterised to `scale = "smoke"` (papermill's
injected-parameters cell) and set to the project's kernel "mrirobust", is opened in JupyterLab on
a free localhost port with a token, and run with JupyterLab's "run all cells" command. The test
then reads only the page: the widget must render (a slider labelled η, no "Error displaying
widget", no plain-text fallback), and moving the η slider with the keyboard must change the
region SSIM the status line shows. It knows nothing of the explorer's Python classes, so moving
them between modules does not break it.

Needs the Debian packages `chromium` and `chromium-driver` (the system chromedriver: nothing is
downloaded; the `browser` fixture of tests/conftest.py); without them the test skips and says why
(and fails under CI). The kernel inherits PYTHONPATH from the test, so it imports the same
`mrirobust` as the test does.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from mrirobust import paths

pytestmark = pytest.mark.slow

NOTEBOOK = paths.notebooks_root() / "explore" / "attack_strength.ipynb"
KERNEL = "mrirobust"
TOKEN = "mrirobust-browser-test"
SERVER_START_S = 90
NOTEBOOK_RUN_S = 150
SLIDER_ANSWER_S = 60
# what JupyterLab shows instead of a widget it cannot render (the second for a widget whose
# model version the installed widget manager does not provide)
IMPORTED = "kernel imported mrirobust from"
WIDGET_ERRORS = ("Error displaying widget", "Click to show javascript error")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port: int, route: str, method: str = "GET"):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{route}",
        method=method,
        headers={"Authorization": f"token {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def _notebook_copy(folder: Path) -> Path:
    """The explorer notebook at smoke scale on the project's kernel, written into `folder`, with
    a last cell that prints where the kernel imported `mrirobust` from."""
    nb = parameterize_notebook(
        load_notebook_node(str(NOTEBOOK)), {"scale": "smoke", "n_samples": 2}
    )
    nb.cells.append(
        nbformat.v4.new_code_cell(f"import mrirobust\nprint({IMPORTED!r}, mrirobust.__file__)")
    )
    nb.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python (mrirobust)",
        "language": "python",
    }
    path = folder / NOTEBOOK.name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free port serving a smoke copy of the explorer; yields its port."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        pytest.fail(
            f"kernel {KERNEL!r} is not installed for {sys.executable}: `make venv` installs it "
            f"(python -m ipykernel install --sys-prefix --name {KERNEL})"
        )
    root = tmp_path / "lab"
    root.mkdir()
    _notebook_copy(root)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(paths.project_root() / "lib"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "MRIROBUST_RESULTS": str(tmp_path / "results"),
        "MRIROBUST_FIGURES": str(tmp_path / "figures"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter_config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter_runtime"),
    }
    port = _free_port()
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",  # CI runs as root
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{_tail(tmp_path)}")
            try:
                _api(port, "status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer in {SERVER_START_S} s\n{_tail(tmp_path)}"
                    )
                time.sleep(0.5)
        yield port
    finally:
        try:
            for kernel in _api(port, "kernels"):
                _api(port, f"kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _tail(tmp_path: Path, lines: int = 40) -> str:
    text = (tmp_path / "lab.log").read_text(errors="replace").splitlines()
    return "JupyterLab log (last lines):\n" + "\n".join(text[-lines:])


# JupyterLab's own application object (exposed by --LabApp.expose_app_in_browser)
CURRENT = "const panel = window.jupyterapp.shell.currentWidget;"
RUN_ALL = (
    CURRENT
    + """
const done = arguments[arguments.length - 1];
panel.sessionContext.ready
  .then(() => window.jupyterapp.commands.execute('notebook:run-all-cells'))
  .then(() => done(''), (err) => done(String(err)));
"""
)
PROGRESS = (
    CURRENT
    + """
const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code');
const errors = cells.flatMap((cell) => cell.model.outputs.toJSON())
  .filter((out) => out.output_type === 'error')
  .map((out) => out.ename + ': ' + out.evalue + '\\n' + (out.traceback || []).join('\\n'));
return {
  executed: cells.filter((cell) => cell.model.executionCount !== null).length,
  cells: cells.length,
  kernel: panel.sessionContext.session ? panel.sessionContext.session.kernel.status : 'none',
  errors: errors,
  last: cells[cells.length - 1].model.outputs.toJSON().map((out) => out.text || '').join(''),
};
"""
)


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def test_explorer_renders_in_jupyterlab_and_answers_the_eta_slider(browser, lab, summary):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    started = time.monotonic()
    browser.set_script_timeout(SERVER_START_S)
    browser.get(f"http://127.0.0.1:{lab}/lab/tree/{NOTEBOOK.name}?token={TOKEN}")
    _wait(
        lambda: browser.execute_script(
            "const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            "return !!(w && w.sessionContext);"
        ),
        SERVER_START_S,
        "JupyterLab to open the notebook",
    )
    failure = browser.execute_async_script(RUN_ALL)
    assert failure == "", f"run all cells failed: {failure}"

    def finished():
        state = browser.execute_script(PROGRESS)
        if state["errors"]:
            pytest.fail("the notebook raised:\n" + "\n".join(state["errors"]))
        done = state["executed"] == state["cells"] and state["kernel"] == "idle"
        return state if done else None

    imported = _wait(finished, NOTEBOOK_RUN_S, "every cell to run (smoke scale)")["last"]
    lib = paths.project_root() / "lib" / "mrirobust"
    assert f"{IMPORTED} {lib}" in imported, f"the kernel did not import this checkout: {imported}"

    page = browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel").text
    for error in WIDGET_ERRORS:
        assert error not in page, f"the notebook shows {error!r}:\n{page}"
    assert "VBox(children=" not in page, "the widget fell back to its plain-text repr"
    sliders = browser.find_elements(
        By.XPATH,
        "//div[contains(@class, 'widget-slider')][.//label[normalize-space() = 'η']]",
    )
    assert len(sliders) == 1, f"the η slider did not render; the notebook shows:\n{page}"
    slider = sliders[0]
    readout = slider.find_element(By.CSS_SELECTOR, ".widget-readout")
    status = browser.find_element(
        By.XPATH, "//div[contains(@class, 'widget-html')][contains(., 'region SSIM')]"
    )
    before_eta, before_status = readout.text, status.text
    assert "region SSIM: clean" in before_status

    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.click()
    handle.send_keys(Keys.ARROW_LEFT if at_max else Keys.ARROW_RIGHT)
    _wait(lambda: readout.text != before_eta, 10, "the η readout to move")
    _wait(
        lambda: status.text != before_status,
        SLIDER_ANSWER_S,
        f"the region SSIM to change after moving η from {before_eta} to {readout.text}",
    )
    ssim = [float(s.split()[-1]) for s in (before_status, status.text)]
    assert ssim[0] != ssim[1], f"attacked region SSIM unchanged: {before_status!r}"
    summary(
        f"JupyterLab + headless Chromium: the explorer rendered; η {before_eta} → {readout.text} "
        f"changed {before_status!r} to {status.text!r} ({time.monotonic() - started:.0f} s)"
    )
