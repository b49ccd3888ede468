"""The explorer's ipywidgets front end: paper, model, attack, sample and strength controls, side
by side with a second model and the model the perturbation is crafted against, an export
button; the panels, the scores and the strength curve.

A cached position is drawn at once from the notebook's thread (the panels' PNGs are kept with
the view). Any other position is computed by one worker thread; each move raises a generation
counter, and the computation of an older generation stops at its next timed step (`Cancelled`
from the `on_step` callback), so the latest move is always the one computed. Progress shows
the steps done (of `AttackEntry.steps` when known). Problems (an attack that does not apply, a
model not trained yet, an error) are a message in the widget, never a traceback.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from html import escape

import ipywidgets as widgets

from mrirobust.explorer import export, render
from mrirobust.explorer.catalog import Unavailable
from mrirobust.explorer.engine import Cancelled, Explorer, Selection, View

PANEL_PX = 160  # width of an image panel
PROGRESS_EVERY_S = 0.1  # at most this often a progress update is sent to the browser


class ExplorerWidget:
    """The controls and displays of one `Explorer`, starting at `selection`."""

    def __init__(self, explorer: Explorer, selection: Selection):
        self.explorer, catalog = explorer, explorer.catalog
        self.selection: Selection | None = None
        self.current: View | None = None
        self.future: Future | None = None
        self._generation, self._hold = 0, False
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer")
        wide = widgets.Layout(width="46%")
        self.paper = widgets.Dropdown(options=catalog.papers(), description="paper")
        self.model = widgets.Dropdown(description="model")
        self.attack = widgets.Dropdown(description="attack", layout=wide)
        self.sample = widgets.Dropdown(
            description="slice/region", layout=widgets.Layout(width="95%")
        )
        self.strength = widgets.SelectionSlider(
            options=[("-", 0.0)], description="strength", continuous_update=False
        )
        self.side = widgets.Checkbox(description="side by side", indent=False)
        self.second = widgets.Dropdown(description="second", disabled=True)
        self.crafted = widgets.ToggleButtons(description="crafted on", disabled=True)
        self.export_button = widgets.Button(
            description="export PNG + JSON", icon="save", layout=widgets.Layout(width="200px")
        )
        self.message = widgets.HTML()
        self.progress = widgets.IntProgress(layout=widgets.Layout(visibility="hidden"))
        self.scores = widgets.HTML()
        self.curve = widgets.HTML()
        self.titles = [
            [widgets.HTML(layout=widgets.Layout(height="56px")) for _ in range(5)] for _ in range(2)
        ]
        self.images = [
            [
                widgets.Image(format="png", layout=widgets.Layout(width=f"{PANEL_PX}px"))
                for _ in range(5)
            ]
            for _ in range(2)
        ]
        self.cells = [
            [  # one layout each: a cell is hidden or shown alone
                widgets.VBox(
                    [t, i], layout=widgets.Layout(width=f"{PANEL_PX + 4}px", overflow="hidden")
                )
                for t, i in zip(titles, images, strict=True)
            ]
            for titles, images in zip(self.titles, self.images, strict=True)
        ]
        for control in (self.paper, self.model, self.attack, self.second, self.side):
            control.observe(lambda _: self._sync(), names="value")
        for control in (self.sample, self.strength, self.crafted):
            control.observe(lambda _: self._changed(), names="value")
        self.export_button.on_click(lambda _: self.export())
        self.select(selection)

    # controls -> selection

    def select(self, selection: Selection) -> None:
        """Set the controls to `selection` and show it."""
        catalog = self.explorer.catalog
        entry = catalog.models.get(selection.model)
        if entry is None:
            self._say(f"unknown model {selection.model!r}")
            return
        self._hold = True
        try:
            self.paper.value = entry.paper
            self._options()
            self.model.value = entry.id
            self._options()
            self.side.value = selection.second is not None
            self._options()
            for control, value in (
                (self.attack, selection.attack),
                (self.second, selection.second),
            ):
                if value is not None and value in dict(_pairs(control.options)).values():
                    control.value = value
            self._options()
            self.sample.value = selection.sample
            if selection.strength in [v for _, v in self.strength.options]:
                self.strength.value = selection.strength
            if selection.crafted is not None:
                self.crafted.value = selection.crafted
        finally:
            self._hold = False
        self.request(selection)

    def _options(self) -> None:
        """Each menu's choices from the controls above it (model: the paper's; attack, sample
        and second model: the model's domain's; strengths: the attack's), keeping each value
        where it stays valid."""
        catalog = self.explorer.catalog
        _update(self.model, [(m.label, m.id) for m in catalog.models_of(paper=self.paper.value)])
        entry = catalog.models[self.model.value]
        domain = catalog.domains[entry.domain]
        _update(
            self.attack, [(f"{a.label} ({a.paper})", a.id) for a in catalog.attacks_of(domain.id)]
        )
        _update(self.sample, [(label, s) for s, label in domain.samples().items()])
        others = [m for m in catalog.models_of(domain=domain.id) if m.id != entry.id]
        _update(self.second, [(f"{m.label} ({m.paper})", m.id) for m in others])
        side = self.side.value and bool(others)
        self.second.disabled = not side
        self.crafted.disabled = not side
        crafted = [(f"first: {entry.label}", entry.id)]
        if side:
            crafted.append(
                (f"second: {catalog.models[self.second.value].label}", self.second.value)
            )
        _update(self.crafted, crafted)
        attack = catalog.attacks.get(self.attack.value)
        if attack is not None:
            self.strength.description = attack.symbol
            _update(self.strength, [(attack.fmt.format(s), s) for s in attack.strengths])

    def _controls(self) -> Selection:
        side = self.side.value and self.second.value is not None
        return Selection(
            model=self.model.value,
            attack=self.attack.value,
            strength=self.strength.value,
            sample=self.sample.value,
            second=self.second.value if side else None,
            crafted=self.crafted.value if side else None,
        )

    def _sync(self) -> None:
        if self._hold:
            return
        self._hold = True
        try:
            self._options()
        finally:
            self._hold = False
        self._changed()

    def _changed(self) -> None:
        if not self._hold:
            self.request(self._controls())

    # selection -> view

    def request(self, selection: Selection) -> Future | None:
        """Show `selection`: at once when cached, else computed by the worker (the future, also
        in `self.future`); a message when it cannot be shown. Stops any older computation."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self.selection = selection
        try:
            self.explorer.check(selection)
        except Unavailable as err:
            self._say(str(err), problem=True)
            return None
        view = self.explorer.cached(selection)
        if view is not None:
            self._show(view)
            return None
        attack = self.explorer.catalog.attacks[selection.attack]
        self._say(
            f"computing {escape(attack.label)} at {escape(attack.readout(selection.strength))} …"
        )
        self.progress.max, self.progress.value = attack.steps or 1, 0
        self.progress.bar_style = "" if attack.steps else "info"
        self.progress.layout.visibility = "visible"
        self.future = self._worker.submit(self._compute, selection, generation)
        return self.future

    def _compute(self, selection: Selection, generation: int) -> None:
        if generation != self._generation:
            return
        steps, last = [0], [0.0]

        def on_step(kind: str, model: str) -> None:
            if generation != self._generation:
                raise Cancelled
            steps[0] += 1
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                self.progress.value = min(steps[0], self.progress.max)
                self._say(f"computing: {kind} step {steps[0]} ({escape(model)}) …")

        try:
            view = self.explorer.view(selection, on_step=on_step)
        except Cancelled:
            return
        except Unavailable as err:
            message, problem = str(err), True
        except Exception as err:  # shown in the widget: a failed attack must not kill it
            message, problem = f"{type(err).__name__}: {err}", True
        else:
            if generation == self._generation:
                self._show(view)
            return
        if generation == self._generation:
            self._say(message, problem=problem)

    def _show(self, view: View) -> None:
        """Draw `view`: its panels (encoded once per view), scores and the strength curve."""
        catalog, selection = self.explorer.catalog, view.selection
        if "grid" not in view.pngs:
            view.pngs["grid"] = [
                [None if p is None else (p.title, render.panel_png(p)) for p in row]
                for row in render.panels(view, catalog)
            ]
        grid = view.pngs["grid"]
        for r in range(2):
            for c in range(5):
                panel = grid[r][c] if r < len(grid) else None
                cell = self.cells[r][c]
                cell.layout.display = "" if r < len(grid) else "none"
                cell.layout.visibility = "hidden" if panel is None else "visible"
                if panel is not None:
                    self.titles[r][c].value = (
                        f"<div style='font-size:11px; line-height:1.2'>"
                        f"{escape(panel[0]).replace(chr(10), '<br>')}</div>"
                    )
                    self.images[r][c].value = panel[1]
        attack = catalog.attacks[selection.attack]
        lines = [
            f"<b>{escape(row.label)}</b>: "
            + ", ".join(
                f"{escape(name)}: clean {row.clean_scores[name]:.4g} → attacked "
                f"{row.attacked_scores[name]:.4g}"
                for name in row.attacked_scores
            )
            for row in view.rows
        ]
        self.scores.value = "<div class='mrirobust-scores'>" + "<br>".join(lines) + "</div>"
        self.curve.value = render.curve_svg(
            self.explorer.curves(selection), attack.symbol, attack.fmt, selection.strength
        )
        self.current = view
        self.progress.layout.visibility = "hidden"
        self._say(escape(view.note))

    def _say(self, text: str, problem: bool = False) -> None:
        colour = "#b00020" if problem else "#333"
        self.message.value = (
            f"<div class='mrirobust-message' style='color:{colour}; line-height:1.3'>{text}</div>"
        )
        if problem:
            self.progress.layout.visibility = "hidden"

    def export(self):
        """Export the view shown (`export.export`); the message names the files. Returns
        (png, json) paths, or None when no view is shown."""
        view = self.current
        if view is None or view.selection != self.selection:
            self._say("nothing to export yet: wait for the view to be computed", problem=True)
            return None
        png, record = export.export(self.explorer, view)
        self._say(
            f"exported {escape(png.name)} and <code>{escape(str(record))}</code>; re-create "
            f"it in a cell: <code>explore.recreate({escape(repr(str(record)))})</code>"
        )
        return png, record

    def widget(self) -> widgets.Widget:
        """The whole explorer as one widget, once the view requested first is drawn."""
        if self.future is not None:
            self.future.result()
        grid = widgets.VBox([widgets.HBox(row) for row in self.cells])
        return widgets.VBox(
            [
                widgets.HBox([self.paper, self.model, self.attack]),
                self.sample,
                self.strength,
                widgets.HBox([self.side, self.second, self.crafted]),
                self.export_button,
                self.message,
                self.progress,
                self.scores,
                widgets.HBox([grid, self.curve]),
            ]
        )


def _pairs(options) -> list[tuple[str, object]]:
    return [o if isinstance(o, tuple) else (str(o), o) for o in options]


def _update(control, options: list[tuple[str, object]]) -> None:
    """Replace `control`'s options, keeping its value when it is still one of them."""
    if _pairs(control.options) == options:
        return
    value = control.value
    control.options = options
    values = [v for _, v in options]
    if value in values:
        control.value = value
    elif values:
        control.value = values[0]
