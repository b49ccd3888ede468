"""One explorer for every model and attack of the papers: a `Catalog` of domains, models and
attacks (registered by the paper packages), the `Explorer` engine (views, bounded caches,
strength curves, interruption), its ipywidgets front end (`ExplorerWidget`) and exports that a
notebook cell re-creates (`export.export`, `export.recreate`)."""

from mrirobust.explorer.catalog import (
    AttackEntry,
    Catalog,
    Domain,
    ModelEntry,
    Perturbed,
    Unavailable,
    strengths,
    zoo_entry,
)
from mrirobust.explorer.engine import Cancelled, Curve, Explorer, Selection, View
from mrirobust.explorer.widget import ExplorerWidget

__all__ = [
    "AttackEntry",
    "Cancelled",
    "Catalog",
    "Curve",
    "Domain",
    "Explorer",
    "ExplorerWidget",
    "ModelEntry",
    "Perturbed",
    "Selection",
    "Unavailable",
    "View",
    "strengths",
    "zoo_entry",
]
