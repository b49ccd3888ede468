"""The library's dependency rules, read from the source with `ast`: the core never imports the
papers, and no modules import each other in a cycle (imports inside functions count too, since a
lazy import only hides a cycle)."""

import ast
import graphlib
from pathlib import Path

import mrirobust

LIB = Path(mrirobust.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The mrirobust modules that module `name` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def test_nothing_outside_papers_imports_the_papers():
    offenders = {
        name: sorted(m for m in _imports(name) if m.startswith("mrirobust.papers"))
        for name in MODULES
        if not name.startswith("mrirobust.papers")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycles():
    graph = {name: _imports(name) for name in MODULES}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None


def test_only_the_zoo_joins_the_model_registry_and_training():
    def uses(name, prefix):
        return any(m.startswith(prefix) for m in _imports(name))

    both = sorted(
        name
        for name in MODULES
        if uses(name, "mrirobust.training")
        and uses(name, "mrirobust.models")
        and not name.startswith(("mrirobust.papers", "mrirobust.training"))
    )
    assert both == ["mrirobust.zoo"]
    assert not any(
        uses(name, "mrirobust.models") for name in MODULES if name.startswith("mrirobust.training")
    )
