"""`python -m mrirobust data --scale S [--force]`: the generated data of a scale, in every format
the papers read: fastMRI HDF5 + fastMRI+ CSV (`data.embedded`; at the shape scale the
real-shaped files of `data.shaped`) and CMRxRecon 2023 mapping .mat + CSV
(`data.cmrxrecon_embedded`). Each set is generated only when its manifest is missing,
incomplete or made by other generator code (or with `--force`). The shape scale's real roots
(FASTMRI_ROOT, CMRXRECON_ROOT) play no part here: this command writes the generated files."""

from __future__ import annotations

import argparse
from functools import partial

from mrirobust.data import cmrxrecon_embedded, embedded, shaped
from mrirobust.storage import read_json

SCALES = ("smoke", "cpu", "shape")


def datasets(scale: str) -> list[tuple]:
    """(name, is_complete(), generate()) of each data set of `scale`."""
    if scale == "shape":
        fastmri = (shaped.is_complete, shaped.generate)
    else:
        fastmri = (partial(embedded.is_complete, scale), partial(embedded.generate, scale))
    cmrxrecon = (
        partial(cmrxrecon_embedded.is_complete, scale),
        partial(cmrxrecon_embedded.generate, scale),
    )
    return [("fastMRI", *fastmri), ("CMRxRecon", *cmrxrecon)]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=SCALES, default="cpu", help="profile to generate")
    parser.add_argument(
        "--force", action="store_true", help="regenerate even when the manifest says complete"
    )


def main(args: argparse.Namespace) -> int:
    for name, complete, generate in datasets(args.scale):
        if args.force or not complete():
            root = generate()
            manifest = read_json(root / "manifest.json")
            size = sum(entry["bytes"] for entry in manifest["files"].values())
            seconds = manifest["seconds"]
            print(f"wrote {name} data {root} ({size / 2**20:.1f} MiB) in {seconds:.1f} s")
        else:
            print(f"{name} data of scale {args.scale} is complete (use --force to regenerate)")
    return 0
