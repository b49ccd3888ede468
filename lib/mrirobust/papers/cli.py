"""`python -m mrirobust train MODEL [--scale S] [--acceleration A] [--config NAME] [--retrain]`:
train (or resume) a model of the zoo, at the scale profile's sizes or a paper's named
configuration. Under `torchrun --nproc_per_node=N` it trains with DDP (`training.loop`).

It lives with the papers because the named configurations are theirs (`papers.CONFIGS`)."""

from __future__ import annotations

import logging
import os

import torch.distributed as dist

from mrirobust import paths, zoo
from mrirobust.models.registry import DEFAULT_CONFIG, MINMAX_METHODS
from mrirobust.papers import CONFIGS, model_spec
from mrirobust.physics import CENTER_FRACTIONS


def configure_parser(parser) -> None:
    methods = [m for m in zoo.TRAINED if m not in MINMAX_METHODS]  # huang_liang.train has those
    parser.add_argument("model", choices=methods, help="method to train")
    parser.add_argument("--scale", default="cpu", choices=paths.SCALES)
    parser.add_argument("--acceleration", type=int, default=4, choices=sorted(CENTER_FRACTIONS))
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        choices=[DEFAULT_CONFIG, *sorted(CONFIGS)],
        help="named model configuration (default: the scale profile's sizes)",
    )
    parser.add_argument("--retrain", action="store_true", help="replace an existing checkpoint")


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = model_spec(args.model, args.scale, args.acceleration, args.config)
    path = zoo.train(spec, retrain=args.retrain)
    if dist.is_initialized():
        dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {path}")
    return 0
