"""Live progress of a notebook run: which cell and section runs, the notebook's own output (its
tqdm bars and printed log lines) and an ETA from the run's previous duration.

Every line is prefixed with `[run id]`, so parallel runs can share one terminal. Nothing stays
silent longer than `heartbeat` seconds: a status line repeats the cell, section, elapsed time and
ETA while a long cell prints nothing.
"""

from __future__ import annotations

import html
import re
import sys
import threading
import time
from typing import Any, TextIO

from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

ENGINE = "mrirobust-progress"
TAG = re.compile(r"<[^>]+>")


def duration(seconds: float) -> str:
    """`1:02:03` or `2:03` for a number of seconds."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def sections(cells: list[NotebookNode]) -> list[str]:
    """For each cell, the last Markdown heading at or above it ('' before the first)."""
    current, titles = "", []
    for cell in cells:
        if cell.cell_type == "markdown":
            headings = [line for line in cell.source.splitlines() if line.startswith("#")]
            if headings:
                current = headings[-1].lstrip("#").strip()
        titles.append(current)
    return titles


def bars(widget_state: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str, bool]]:
    """Every tqdm.notebook bar in nbclient's widget state (comm id -> state), by container id:
    (description, counts, full). Bars that have not drawn their counts yet are left out.

    tqdm.notebook draws a bar as an HBox of [HTML(description and percentage), progress,
    HTML(counts, rates and postfix such as `loss=0.01`)].
    """
    found = {}
    for model_id, state in widget_state.items():
        children = state.get("children") or []
        if state.get("_model_name") != "HBoxModel" or len(children) != 3:
            continue
        parts = [widget_state.get(str(c).removeprefix("IPY_MODEL_"), {}) for c in children]
        names = [p.get("_model_name", "") for p in parts]
        if names[0] != "HTMLModel" or not names[1].endswith("ProgressModel"):
            continue
        left, right = (html.unescape(TAG.sub("", p.get("value", ""))).strip() for p in parts[::2])
        if right:
            full = parts[1].get("value", 0) >= parts[1].get("max", float("inf"))
            found[model_id] = (left, right, full)
    return found


class Progress:
    """Prints the progress of one run; the notebook client calls it, a thread keeps it alive."""

    def __init__(
        self,
        run_id: str,
        previous_duration: float | None = None,
        out: TextIO = sys.stdout,
        heartbeat: float = 30.0,
        bar_interval: float = 10.0,
    ):
        self.run_id = run_id
        self.code: list[int] = []
        self.sections: list[str] = []
        self.previous = previous_duration
        self.out = out
        self.heartbeat = heartbeat
        self.bar_interval = bar_interval
        self.started = time.monotonic()
        self.cell: int | None = None
        self.last_print = self.started
        self.bar_text: dict[str, str] = {}
        self.bar_time: dict[str, float] = {}
        self.partial = ""
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Progress:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        self.flush()

    def print(self, text: str) -> None:
        with self.lock:
            self.out.write(f"[{self.run_id}] {text}\n")
            self.out.flush()
            self.last_print = time.monotonic()

    def eta(self) -> str:
        elapsed = time.monotonic() - self.started
        spent = f"{duration(elapsed)} elapsed"
        if self.previous is None:
            return f"{spent}, no previous run to estimate from"
        before = duration(self.previous)
        if elapsed > self.previous:
            return f"{spent}, past the previous run's {before}"
        return f"{spent}, ETA {duration(self.previous - elapsed)} (previous run {before})"

    def where(self) -> str:
        if self.cell is None:
            return "starting the kernel"
        position = f"cell {self.code.index(self.cell) + 1}/{len(self.code)}"
        section = self.sections[self.cell]
        return f"{position} ({section})" if section else position

    def notebook_started(self, cells: list[NotebookNode]) -> None:
        """The cells as executed (papermill's injected parameters included)."""
        self.code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
        self.sections = sections(cells)

    def cell_started(self, index: int) -> None:
        self.cell = index
        if index in self.code:
            self.print(f"{self.where()}; {self.eta()}")

    def stream(self, text: str) -> None:
        """The notebook's printed output: complete lines, the last '\\r' segment of each."""
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            line = line.rsplit("\r", 1)[-1].rstrip()
            if line:
                self.print(line)

    def flush(self) -> None:
        if self.partial.strip():
            self.print(self.partial.rsplit("\r", 1)[-1].rstrip())
        self.partial = ""

    def widgets(self, widget_state: dict[str, dict[str, Any]]) -> None:
        """Print a tqdm bar when its counts change, at most once per `bar_interval`, and when
        it is full."""
        now = time.monotonic()
        for model_id, (left, right, full) in bars(widget_state).items():
            if right == self.bar_text.get(model_id):
                continue
            self.bar_text[model_id] = right
            if full or now - self.bar_time.get(model_id, -self.bar_interval) >= self.bar_interval:
                self.bar_time[model_id] = now
                self.print(" ".join(f"{left} {right}".split()))

    def _beat(self) -> None:
        while not self.stopped.wait(min(self.heartbeat, 5.0)):
            if time.monotonic() - self.last_print >= self.heartbeat:
                self.print(f"still running {self.where()}; {self.eta()}")


class _Client(PapermillNotebookClient):
    """papermill's client, reporting cell starts, printed output and widget changes."""

    progress: Progress | None = None

    def process_message(self, msg, cell, cell_index):
        output = super().process_message(msg, cell, cell_index)
        if self.progress is not None:
            if msg["msg_type"] == "stream":
                self.progress.stream(msg["content"].get("text", ""))
            elif msg["msg_type"].startswith("comm"):
                self.progress.widgets(self.widget_state)
        return output


class ProgressEngine(NBClientEngine):
    """The nbclient engine of papermill with a `progress` keyword (a Progress or None)."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man, kernel_name, progress=None, start_timeout=60, execution_timeout=None, **kw
    ):
        client = _Client(
            nb_man,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            on_cell_start=(lambda cell, cell_index: progress.cell_started(cell_index))
            if progress
            else None,
        )
        client.progress = progress
        if progress is not None:
            progress.notebook_started(nb_man.nb.cells)
        return client.execute()


papermill_engines.register(ENGINE, ProgressEngine)
