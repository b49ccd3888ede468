"""environment.yml (conda) pins exactly what pyproject.toml and the Makefile install."""

import re
import tomllib

import yaml
from packaging.specifiers import SpecifierSet

from mrirobust import paths

ROOT = paths.project_root()


def test_environment_yml_agrees_with_pyproject_and_makefile():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))

    expected = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    pins = {line for line in pip if "==" in line}
    assert pins == expected, (
        f"only in environment.yml: {pins - expected}; missing: {expected - pins}"
    )
    assert "-e ." in pip  # the package itself, editable, as in the Makefile

    python = next(d for d in conda if d.startswith("python="))
    assert SpecifierSet(project["requires-python"]).contains(python.removeprefix("python="))

    fastmri = re.search(r"^FASTMRI := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert f"pip install --no-deps {fastmri}" in (ROOT / "environment.yml").read_text()
