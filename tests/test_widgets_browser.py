"""The explorer in a real JupyterLab, driven by headless Chromium (selenium).

A copy of notebooks/explore/attack_strength.ipynb, parameterised to `scale = "smoke"` (papermill's
injected-parameters cell) and set to the project's kernel "mrirobust", is opened in JupyterLab on
a free localhost port with a token and run with JupyterLab's "run all cells" command, over the
models that the session's smoke run of the manifest trained (`smoke_results`: the checkpoints of
its results root). The test then works the page as a user does: for a model of each paper and
an attack it picks them in the menus, moves the strength slider with the keyboard and waits for
the shown score to change; it switches to side by side, exports the view with the button, adds a
cell that re-creates the exported view from its JSON and checks that it prints the exported
numbers. It reads only the page and the exported JSON, not the explorer's Python objects. A
screenshot of the explorer is saved under the figures root (figures/smoke/explore/).

The same test runs at another scale over that scale's trained models, e.g. for the README's
screenshot of the cpu run (saved as figures/cpu/explore/jupyterlab_explorer.png under the
project's figures root):

    MRIROBUST_BROWSER_SCALE=cpu MRIROBUST_BROWSER_CHECKPOINTS=results/checkpoints \
        .venv/bin/python -m pytest tests/test_widgets_browser.py

Needs the Debian packages `chromium` and `chromium-driver` (the system chromedriver: nothing is
downloaded; the `browser` fixture of tests/conftest.py); without them the test skips and says why
(and fails under CI). The kernel inherits PYTHONPATH from the test, so it imports the same
`mrirobust` as the test does.
"""

import json
import os
import re
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
SCALE = os.environ.get("MRIROBUST_BROWSER_SCALE", "smoke")  # other scales: their checkpoints
CHECKPOINTS = os.environ.get("MRIROBUST_BROWSER_CHECKPOINTS")
KERNEL = "mrirobust"
TOKEN = "mrirobust-browser-test"
SERVER_START_S = 90
NOTEBOOK_RUN_S = 240 if SCALE == "smoke" else 900  # cpu: the larger models load and attack
ANSWER_S = 90 if SCALE == "smoke" else 300
# what JupyterLab shows instead of a widget it cannot render (the second for a widget whose
# model version the installed widget manager does not provide)
IMPORTED = "kernel imported mrirobust from"
WIDGET_ERRORS = ("Error displaying widget", "Click to show javascript error")
# (paper, model, attack) menu labels: a model of each paper and an attack that applies to it
CHOICES = [
    ("Morshuis 2022", "U-Net 4×", "box-targeted k-space PGD (Morshuis 2022)"),
    ("Darestani 2021", "ℓ1 (wavelet)", "small feature in the box (Darestani 2021)"),
    ("Huang & Liang", "A(ε=1000)", "image PGD (Huang & Liang)"),
    ("Zhao 2023", "VN-UNet-relax (T1)", "map-targeted PGD (Zhao 2023)"),
]
# the batch part of the notebook (exports at the weakest and strongest strength) on one cheap
# view only: the browser drives the rest
SNAPSHOTS = [{"model": "morshuis2022/unet_4x", "attack": "morshuis2022/box_pgd"}]
RECREATED = "recreated numbers:"


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
    """The explorer notebook at `SCALE` on the project's kernel, written into `folder`, with a
    last cell that prints where the kernel imported `mrirobust` from."""
    nb = parameterize_notebook(
        load_notebook_node(str(NOTEBOOK)), {"scale": SCALE, "samples": 2, "snapshots": SNAPSHOTS}
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
def lab(tmp_path, request):
    """A JupyterLab server on a free port serving a copy of the explorer at `SCALE` over the
    smoke run's models (other scales: `CHECKPOINTS`); yields (port, figures root)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        pytest.fail(
            f"kernel {KERNEL!r} is not installed for {sys.executable}: `make venv` installs it "
            f"(python -m ipykernel install --sys-prefix --name {KERNEL})"
        )
    root = tmp_path / "lab"
    root.mkdir()
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "get notified about Jupyter news?" over the screenshot
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    _notebook_copy(root)
    if SCALE == "smoke":
        smoke_results = request.getfixturevalue("smoke_results")
        checkpoints, figures = str(smoke_results.results_root / "checkpoints"), tmp_path / "figures"
    elif CHECKPOINTS:  # the screenshot stays in the project's figures root
        checkpoints, figures = str(Path(CHECKPOINTS).resolve()), paths.figures_root()
    else:
        pytest.fail(f"MRIROBUST_BROWSER_SCALE={SCALE} needs MRIROBUST_BROWSER_CHECKPOINTS")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(paths.project_root() / "lib"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "MRIROBUST_RESULTS": str(tmp_path / "results"),
        "MRIROBUST_CHECKPOINTS": checkpoints,
        "MRIROBUST_FIGURES": str(figures),
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
        yield port, figures
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


def _wait(condition, timeout: float, what: str, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def _run_all(browser, port: int) -> None:
    """Open the notebook, run every cell and wait for the kernel to finish, failing on errors."""
    browser.set_script_timeout(SERVER_START_S)
    browser.get(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={TOKEN}")
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
    _wait(lambda: _finished(browser), NOTEBOOK_RUN_S, "every cell to run (smoke scale)")


def _finished(browser):
    state = browser.execute_script(PROGRESS)
    if state["errors"]:
        pytest.fail("the notebook raised:\n" + "\n".join(state["errors"]))
    done = state["executed"] == state["cells"] and state["kernel"] == "idle"
    return state if done else None


def _by_label(browser, kind: str, label: str):
    """The control of widget class `kind` (e.g. "widget-dropdown") described by `label`."""
    from selenium.webdriver.common.by import By

    found = browser.find_elements(
        By.XPATH,
        f"//div[contains(@class, '{kind}')][.//label[normalize-space() = '{label}']]",
    )
    assert len(found) == 1, f"{len(found)} {kind} labelled {label!r}"
    return found[0]


def _choose(browser, label: str, option: str) -> None:
    """Pick `option` in the menu `label`, once the kernel has put it there (a menu's options
    follow the menus above it: a round trip to the kernel)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def pick() -> bool:
        try:
            menu = _by_label(browser, "widget-dropdown", label)
            Select(menu.find_element(By.TAG_NAME, "select")).select_by_visible_text(option)
        except (NoSuchElementException, StaleElementReferenceException):
            return False
        return True

    _wait(pick, ANSWER_S, f"{option!r} in the {label} menu", poll=0.2)


def _text(browser, selector: str) -> str:
    """The text of the elements matching `selector`, read in one step (the widgets replace
    their HTML on every update, so element handles go stale)."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map((e) => e.innerText).join('\\n');",
        selector,
    )


def _scores(browser) -> str:
    return _text(browser, ".mrirobust-scores")


def _attacked(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"attacked (-?[\d.]+(?:e[+-]?\d+)?)", text)]


def _message(browser) -> str:
    return _text(browser, ".mrirobust-message")


def _pair(browser):
    """The scores of two models side by side, once nothing is being computed."""
    text = _scores(browser)
    return text if len(text.splitlines()) == 2 and "computing" not in _message(browser) else None


def _settled(browser, model: str):
    """The scores once the view of `model` is shown and nothing is being computed."""
    text = _scores(browser)
    message = _message(browser)
    if "computing" in message:
        return None
    assert "Error" not in message and "not ready" not in message, message
    return text if text.startswith(model) else None


def _press(browser, right: bool | None = None) -> None:
    """Move the strength slider one stop with the keyboard: right (None: right unless it is at
    its end). The slider is drawn again when its stops change, so it is looked up afresh."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for _ in range(10):
        try:
            (handle,) = browser.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")
            if right is None:
                now, end = (handle.get_attribute(f"aria-value{k}") for k in ("now", "max"))
                right = now != end
            handle.click()
            handle.send_keys(Keys.ARROW_RIGHT if right else Keys.ARROW_LEFT)
            return
        except StaleElementReferenceException:
            time.sleep(0.5)
    pytest.fail("the strength slider kept being redrawn")


def _recreate(browser, record: Path) -> str:
    """Add a cell at the end that re-creates the view exported as `record`, run it and return
    its printed output."""
    code = (
        "import json\n"
        f"view, fig = explore.recreate({str(record)!r})\n"
        f"print({RECREATED!r}, json.dumps(view.numbers(), sort_keys=True))"
    )
    script = (
        CURRENT
        + """
const done = arguments[arguments.length - 1];
const notebook = panel.content;
notebook.activeCellIndex = notebook.widgets.length - 1;
window.jupyterapp.commands.execute('notebook:insert-cell-below')
  .then(() => { notebook.activeCell.model.sharedModel.setSource(arguments[0]); })
  .then(() => window.jupyterapp.commands.execute('notebook:run-cell'))
  .then(() => done(''), (err) => done(String(err)));
"""
    )
    failure = browser.execute_async_script(script, code)
    assert failure == "", f"could not add the re-creating cell: {failure}"
    state = _wait(lambda: _finished(browser), ANSWER_S, "the re-creating cell to run")
    return state["last"]


# at smoke, `lab` serves the smoke run's models: declared here, so the test runs once they exist
@pytest.mark.usefixtures(*(["smoke_results"] if SCALE == "smoke" else []))
def test_the_explorer_answers_every_paper_side_by_side_and_recreates_its_export(
    browser, lab, summary
):
    from selenium.webdriver.common.by import By

    port, figures = lab
    started = time.monotonic()
    _run_all(browser, port)
    lib = paths.project_root() / "lib" / "mrirobust"
    imported = browser.execute_script(PROGRESS)["last"]
    assert f"{IMPORTED} {lib}" in imported, f"the kernel did not import this checkout: {imported}"
    page = browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel").text
    for error in WIDGET_ERRORS:
        assert error not in page, f"the notebook shows {error!r}:\n{page}"
    assert "VBox(children=" not in page, "the widget fell back to its plain-text repr"

    seen = []
    for paper, model, attack in CHOICES:
        _choose(browser, "paper", paper)
        _choose(browser, "model", model)
        _choose(browser, "attack", attack)
        before = _wait(lambda m=model: _settled(browser, m), ANSWER_S, f"{model} under {attack}")
        _press(browser)
        after = _wait(
            lambda m=model, b=before: (t := _settled(browser, m)) and t != b and t,
            ANSWER_S,
            f"the score of {model} to change with the strength",
        )
        assert _attacked(after)[0] != _attacked(before)[0], (before, after)
        seen.append(f"{model}: {_attacked(before)[0]:.4g} → {_attacked(after)[0]:.4g}")

    side = _by_label(browser, "widget-checkbox", "side by side")
    side.find_element(By.CSS_SELECTOR, "input").click()
    pair = _wait(lambda: _pair(browser), ANSWER_S, "side by side: the scores of two models")
    _press(browser, right=True)
    stronger = _wait(lambda: (t := _pair(browser)) != pair and t, ANSWER_S, "a stronger pair")
    moved = time.monotonic()  # back to the strength computed before: drawn from the cache
    _press(browser, right=False)
    _wait(lambda: _pair(browser) == pair, ANSWER_S, "the previous strength, cached", poll=0.02)
    redraw = time.monotonic() - moved
    assert stronger != pair
    browser.find_element(By.XPATH, "//button[contains(., 'export PNG + JSON')]").click()
    exported = _wait(
        lambda: re.search(r"(\S+\.json);", _message(browser)), ANSWER_S, "the export's message"
    )
    record = Path(exported.group(1))
    assert record.parent == figures / SCALE / "explore" and record.with_suffix(".png").is_file()
    stored = json.loads(record.read_text())["scores"]
    first = [next(iter(s["attacked"].values())) for s in stored.values()]
    assert _attacked(pair)[::2] == pytest.approx(first, rel=1e-3)  # the view shown was exported
    screenshot = figures / SCALE / "explore" / "jupyterlab_explorer.png"
    explorer = browser.find_element(
        By.XPATH, "(//div[contains(@class, 'widget-vbox')][.//*[@class = 'mrirobust-scores']])[1]"
    )
    browser.set_window_size(1400, 1300)
    browser.execute_script("arguments[0].scrollIntoView(true);", explorer)
    explorer.screenshot(str(screenshot))

    printed = _recreate(browser, record)
    line = next(line for line in printed.splitlines() if line.startswith(RECREATED))
    assert json.loads(line.removeprefix(RECREATED)) == stored, "re-created numbers differ"
    summary(
        f"JupyterLab + headless Chromium: {'; '.join(seen)}; side by side, a cached position "
        f"redrawn in the browser {redraw:.2f} s after the key press (not a timed test); "
        f"exported and re-created {record.name} with the same numbers "
        f"({time.monotonic() - started:.0f} s); screenshot {screenshot}"
    )
