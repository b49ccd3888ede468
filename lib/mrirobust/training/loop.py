"""The epoch loop of supervised training and its DDP helpers.

`torchrun --nproc_per_node=N -m mrirobust train ...` trains with DDP (gloo on CPU, nccl on GPU):
each process takes batch_size / N of every global batch (`datasets.ShuffledShapeBatches`; the
paper's global batch and learning rate are kept at any world size); rank 0 validates and writes
the checkpoint after every epoch, so an interrupted run resumes from the last epoch.
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm, trange

from mrirobust import costs, devices, evaluation
from mrirobust.training import datasets


def device() -> torch.device:
    """This process's device (`devices.default`: MRIROBUST_DEVICE, else its CUDA device under
    torchrun (LOCAL_RANK), else the CPU)."""
    return devices.default()


def distributed() -> tuple[int, int]:
    """(world size, rank), initialising the process group under torchrun (nccl on CUDA devices,
    gloo otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        here = device()
        dist.init_process_group("nccl" if here.type == "cuda" else "gloo")
        if here.type == "cuda":
            torch.cuda.set_device(here)
    return world, (dist.get_rank() if world > 1 else 0)


def step(optimiser, loss: torch.Tensor, params) -> None:
    """Backward, average the gradients of `params` over the processes (torchrun), step:
    g <- (1 / world) sum_ranks g, so every process takes the same step."""
    optimiser.zero_grad()
    loss.backward()
    world, _ = distributed()
    if world > 1:
        for q in params:
            if q.grad is not None:
                dist.all_reduce(q.grad)
                q.grad /= world
    optimiser.step()


def mean(values: list[float]) -> float:
    """The mean of `values` pooled over the processes (torchrun): sum / count of every rank."""
    world, _ = distributed()
    # built on the CPU, then moved (a device factory from Python data is not every backend's)
    pooled = torch.tensor([np.sum(values), len(values)], dtype=torch.float64).to(device())
    if world > 1:
        dist.all_reduce(pooled)
    return float(pooled[0] / pooled[1])


def train_network(model_spec, model, checkpoint, state, recipe) -> None:
    """Train `model` (untrained, or resumed from `state`) for the spec's epochs with the
    recipe's optimiser and loss, a StepLR ×0.1 every `lr_step_size` epochs and seeded batches
    of one k-space shape (`datasets.ShuffledShapeBatches`; `steps_per_epoch` of them when set);
    after every epoch rank 0 evaluates `val_slices` validation slices and saves the
    checkpoint."""
    p = model_spec.params
    world, rank = distributed()
    here = device()
    model = model.to(here)
    optimiser = recipe.optimiser(model.parameters(), p)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, p["lr_step_size"], gamma=0.1)
    start, curve = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, curve = state["epoch"], state["curve"]
    train_set = datasets.for_spec(model_spec, "train")
    sampler = datasets.ShuffledShapeBatches(train_set, p["batch_size"], p["seed"], world, rank)
    loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    loss_fn = recipe.loss(here)
    val_set = datasets.for_spec(model_spec, "val", p["val_slices"])
    desc = f"train {checkpoint.path.stem}"
    for epoch in trange(
        start, p["epochs"], desc=desc, initial=start, total=p["epochs"], disable=rank != 0
    ):
        begin = time.perf_counter()
        sampler.set_epoch(epoch)
        train_set.epoch = epoch
        net.train()
        losses = []
        steps = p.get("steps_per_epoch", 0) or len(loader)  # 0: every batch
        batches = itertools.islice(loader, steps)
        for kspace, mask, target, maxval in tqdm(
            batches, total=steps, leave=False, disable=rank != 0
        ):
            with costs.timed("train", model_spec.method):
                out = net(kspace.to(here), mask.to(here))
                loss = loss_fn(out, target.to(here), maxval.to(here))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(loss.item())
        scheduler.step()
        if rank == 0:
            scores = evaluation.evaluate(model, val_set)
            curve.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": float(np.mean(losses)),
                    **{f"val_{k}": float(np.mean(v)) for k, v in scores.items()},
                    "seconds": time.perf_counter() - begin,
                }
            )
            state = {
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "optimizer": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "curve": curve,
            }
            checkpoint.save(state)
        if world > 1:
            dist.barrier()
