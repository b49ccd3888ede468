"""`python -m mrirobust profile --scale S [--paper P]`: every profile section at a scale.

The sections are the `config.Profile`s of the core (`scales.TRAIN`, the embedded CMRxRecon
data) and of each paper's `profile` module, named `<owner>.<section>` (owner: a paper of
`PAPERS`, or `shared`), plus the embedded fastMRI data settings of `scales.DATA`
(`shared.data`). Each is printed resolved at the scale, followed by its named variants'
differences there, as YAML.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import yaml

from mrirobust import scales
from mrirobust.config import Profile
from mrirobust.papers import PAPERS
from mrirobust.papers.jobs import SHARED
from mrirobust.paths import SCALES

SHARED_MODULES = ("mrirobust.scales", "mrirobust.data.cmrxrecon_embedded")


def sections(owner: str | None = None) -> dict[str, Profile]:
    """The profile sections of `owner` (a paper of `PAPERS` or "shared"; None: every owner), by
    name. Raises ValueError for an unknown owner, a section named after another owner than its
    module's, or two sections of one name."""
    owners = [SHARED, *PAPERS]
    if owner is not None and owner not in owners:
        raise ValueError(f"unknown paper {owner!r}; valid: {', '.join(owners)}")
    modules = {SHARED: SHARED_MODULES}
    modules.update({paper: (f"mrirobust.papers.{paper}.profile",) for paper in PAPERS})
    found: dict[str, Profile] = {}
    for name in [owner] if owner else owners:
        for module_name in modules[name]:
            module = importlib.import_module(module_name)
            for profile in vars(module).values():
                if not isinstance(profile, Profile):
                    continue
                if profile.name.split(".")[0] != name:
                    raise ValueError(
                        f"{module_name}: profile {profile.name!r} must be named {name}.<section>"
                    )
                if profile.name in found and found[profile.name] is not profile:
                    raise ValueError(f"{module_name}: a second profile named {profile.name!r}")
                found[profile.name] = profile
    return found


def resolved(scale: str, owner: str | None = None) -> dict[str, dict]:
    """{section name: its settings at `scale`, with "variants": {name: differences} when it has
    named variants}, `shared.data` first when the shared sections are included."""
    out: dict[str, dict] = {}
    if owner in (None, SHARED):
        out["shared.data"] = scales.resolve(scale, "data")
    for name, profile in sections(owner).items():
        settings = profile.resolve(scale)
        if profile.variants:
            settings["variants"] = {
                variant: profile.variant_differences(variant, scale)
                for variant in sorted(profile.variants)
            }
        out[name] = settings
    return out


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="cpu", choices=SCALES, help="the scale (default cpu)")
    parser.add_argument("--paper", default=None, help=f"one owner: {SHARED}, {', '.join(PAPERS)}")


def main(args: argparse.Namespace) -> int:
    try:
        settings = resolved(args.scale, args.paper)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"# every profile section at scale {args.scale}")
    for name, values in settings.items():
        print(f"{name}:")
        variants = values.pop("variants", {})
        for key, value in values.items():
            print(f"  {_flow(key, value)}")
        if variants:
            print("  variants:")
            for variant, differences in variants.items():
                print(f"    {_flow(variant, differences)}")
    return 0


def _flow(key: str, value) -> str:
    """`key: value` on one line (YAML flow style)."""
    return yaml.safe_dump({key: value}, default_flow_style=True, width=10**6).strip()[1:-1]
