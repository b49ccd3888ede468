"""Command line for Zhao et al.'s models (mapper, then the reconstructions), also under torchrun:

    python -m mrirobust.papers.zhao2023.train --scale cpu --modality T1map --kinds vn rvn
    python -m torch.distributed.run --nproc_per_node=2 -m mrirobust.papers.zhao2023.train \\
        --scale paper --modality T2map --kinds vn_relax

The checkpoints are the ones the notebooks load (`training.train_all`).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch.distributed as dist

from mrirobust.data.cmrxrecon_embedded import ensure_cmrxrecon
from mrirobust.papers.zhao2023 import profile, training
from mrirobust.paths import SCALES
from mrirobust.training import loop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrirobust.papers.zhao2023.train")
    parser.add_argument("--scale", default="cpu", choices=SCALES)
    parser.add_argument("--modality", required=True, choices=sorted(training.MODALITY_OF))
    parser.add_argument("--kinds", nargs="*", default=[], choices=training.KINDS)
    parser.add_argument(
        "--overrides", default="{}", help='JSON of zhao2023.train keys, e.g. {"epochs": 2}'
    )
    args = parser.parse_args(argv)
    cfg = profile.TRAIN.resolve(args.scale, json.loads(args.overrides))
    world, rank = loop.distributed()
    if rank != 0:
        dist.barrier()  # rank 0 generates missing data first
    root = ensure_cmrxrecon(args.scale)
    if rank == 0 and world > 1:
        dist.barrier()
    _, checkpoints = training.train_all(root, args.scale, cfg, args.modality, args.kinds)
    if world > 1:
        dist.destroy_process_group()
    if rank == 0:
        for name, path in checkpoints.items():
            print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
