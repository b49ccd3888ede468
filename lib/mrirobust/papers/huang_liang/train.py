"""Command line for Huang & Liang's models, also under torchrun:

    python -m mrirobust.papers.huang_liang.train --scale cpu --model "A(eps=1000)"
    python -m torch.distributed.run --nproc_per_node=2 -m mrirobust.papers.huang_liang.train \\
        --scale paper --model S

Models are named as in `experiments.model_specs` (S, A(eps=...), K(eta=...)); `zoo.train` trains
or resumes them, and the checkpoint is the one the notebooks load.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import torch.distributed as dist

from mrirobust import zoo
from mrirobust.papers.huang_liang import experiments
from mrirobust.paths import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrirobust.papers.huang_liang.train")
    parser.add_argument("--scale", default="cpu", choices=SCALES)
    parser.add_argument("--model", required=True, help='e.g. S, "A(eps=1000)", "K(eta=0.02)"')
    parser.add_argument(
        "--overrides", default="{}", help='JSON of huang_liang.train keys, e.g. {"epochs": 2}'
    )
    parser.add_argument("--retrain", action="store_true", help="replace an existing checkpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    specs = experiments.model_specs(args.scale, json.loads(args.overrides), kspace=True)
    if args.model not in specs:
        parser.error(f"unknown model {args.model!r}; valid: {', '.join(specs)}")
    path = zoo.train(specs[args.model], retrain=args.retrain)
    if dist.is_initialized():
        rank = dist.get_rank()
        dist.destroy_process_group()
        if rank != 0:
            return 0
    print(f"checkpoint: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
