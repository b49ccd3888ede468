"""The explorer's widget on the toy catalogue (no browser: tests/test_widgets_browser.py drives
the real one): controls follow the catalogue, a newer move stops an older computation,
problems are messages, the export button writes the view."""

import xml.etree.ElementTree as ElementTree

import matplotlib
import pytest

from mrirobust.explorer import Explorer, ExplorerWidget, Selection, render

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


def _widget(catalog, **selection):
    first = {"model": "toy/good", "attack": "toy/noise", "strength": 0.0, "sample": "a"}
    widget = ExplorerWidget(Explorer(catalog), Selection(**{**first, **selection}))
    widget.future.result(timeout=30)
    return widget


def test_controls_follow_the_catalogue_and_draw_the_view(toy):
    catalog, _ = toy
    widget = _widget(catalog)
    widget.widget()
    assert widget.paper.options == ("Toy 2024", "Other 2024")
    assert [v for _, v in widget.attack.options] == ["toy/noise", "toy/picky"]
    assert widget.strength.description == "σ" and widget.strength.value == 0.0
    assert bytes(widget.images[0][2].value).startswith(PNG)
    assert "MSE: clean" in widget.scores.value
    assert widget.cells[1][0].layout.display == "none"  # one model: one row
    ElementTree.fromstring(widget.curve.value)  # valid SVG
    widget.strength.value = 0.4
    widget.future.result(timeout=30)
    assert widget.current.selection.strength == 0.4
    widget.side.value = True
    assert not widget.second.disabled and widget.second.value == "toy/worse"
    widget.future.result(timeout=30)
    assert len(widget.current.rows) == 2 and widget.cells[1][2].layout.display == ""
    # the second row has no target and perturbation of its own: those cells alone are hidden
    visible = [[cell.layout.visibility for cell in row] for row in widget.cells]
    assert visible == [["visible"] * 5, ["hidden"] * 2 + ["visible"] * 3]
    widget.crafted.value = "toy/worse"
    widget.future.result(timeout=30)
    assert widget.current.selection.crafted_on == "toy/worse"
    widget.paper.value = "Other 2024"  # another domain: its model, the side panel off
    assert widget.model.value == "other/model" and widget.second.disabled
    assert "no attack to choose here" in widget.message.value  # the toy registers none there


def test_a_cached_position_is_drawn_at_once(toy):
    catalog, noise = toy
    widget = _widget(catalog)
    widget.strength.value = 0.2
    widget.future.result(timeout=30)
    before = widget.future
    widget.strength.value = 0.0
    assert widget.future is before and widget.current.selection.strength == 0.0
    assert len(noise.calls) == 2


def test_a_newer_move_stops_the_older_computation(toy, released):
    catalog, noise = toy
    widget = _widget(catalog)
    noise.hold = released
    widget.strength.value = 0.4
    older = widget.future
    assert noise.held.wait(10)  # the attack is in its second step
    widget.strength.value = 0.2  # queued behind it: the older stops at its next step
    newer = widget.future
    released.set()
    older.result(timeout=30)
    newer.result(timeout=30)
    assert ("toy/good", 0.4) in noise.calls and ("toy/good", 0.4) not in noise.finished
    assert widget.current.selection.strength == 0.2
    assert widget.explorer.cached(Selection("toy/good", "toy/noise", 0.4, "a")) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attack": "toy/picky", "model": "toy/worse"}, "applies to the good model only"),
        ({"model": "toy/untrained"}, "about 2 min of training"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(toy, change, message):
    catalog, noise = toy
    widget = _widget(catalog)
    calls = len(noise.calls)
    for name in ("model", "attack"):
        if name in change:
            getattr(widget, name).value = change[name]
    assert message in widget.message.value and "#b00020" in widget.message.value
    assert len(noise.calls) == calls


def test_a_failing_attack_is_a_message(toy):
    catalog, noise = toy

    def fails(*args):
        raise RuntimeError("the solver diverged")

    noise.steps = 0
    widget = _widget(catalog)
    object.__setattr__(catalog.attacks["toy/noise"], "perturb", fails)
    widget.strength.value = 0.1
    widget.future.result(timeout=30)
    assert "RuntimeError: the solver diverged" in widget.message.value


def test_the_export_button_writes_the_view(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path))
    catalog, _ = toy
    widget = _widget(catalog, strength=0.2)
    widget.export_button.click()
    files = sorted(p.suffix for p in (tmp_path / "smoke" / "explore").iterdir())
    assert files == [".json", ".png"] and ".json</code>" in widget.message.value


def test_panels_encode_their_region_outline():
    import torch

    region = torch.zeros(8, 8, dtype=torch.bool)
    region[2:6, 2:6] = True
    panel = render.Panel("t", torch.zeros(8, 8), "gray", 0.0, 1.0, region)
    png = render.panel_png(panel)
    assert png.startswith(PNG)
    outline = render._outline(region)
    assert outline.sum() == 12 and not outline[3, 3]  # the ring of a 4 x 4 box
