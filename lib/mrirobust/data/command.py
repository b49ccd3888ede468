"""`python -m mrirobust data --scale S [--force]`: the embedded (synthetic) data of a scale, in
every format the papers read: fastMRI HDF5 + fastMRI+ CSV (`data.embedded`) and CMRxRecon 2023
mapping .mat + CSV (`data.cmrxrecon_embedded`). Each set is generated only when its manifest
is missing, incomplete or made by other generator code (or with `--force`)."""

from __future__ import annotations

import argparse

from mrirobust.data import cmrxrecon_embedded, embedded
from mrirobust.storage import read_json

DATASETS = (
    ("fastMRI", embedded.is_complete, embedded.generate),
    ("CMRxRecon", cmrxrecon_embedded.is_complete, cmrxrecon_embedded.generate),
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale", choices=("smoke", "cpu"), default="cpu", help="profile to generate"
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even when the manifest says complete"
    )


def main(args: argparse.Namespace) -> int:
    for name, complete, generate in DATASETS:
        if args.force or not complete(args.scale):
            root = generate(args.scale)
            manifest = read_json(root / "manifest.json")
            size = sum(entry["bytes"] for entry in manifest["files"].values())
            seconds = manifest["seconds"]
            print(f"wrote {name} data {root} ({size / 2**20:.1f} MiB) in {seconds:.1f} s")
        else:
            print(f"{name} data of scale {args.scale} is complete (use --force to regenerate)")
    return 0
