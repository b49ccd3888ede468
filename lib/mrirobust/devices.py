"""Where computation runs: the one device policy of the project.

- `default()` is the device new models go to: `MRIROBUST_DEVICE` when set (any torch device,
  e.g. `cpu`, `cuda`, `cuda:1`; a bare `cuda` means this process's GPU under torchrun; `standin`
  is `mrirobust.standin`, a CPU-backed device that fails wherever a GPU run would mix devices),
  else this process's CUDA device when CUDA is available (`LOCAL_RANK` under torchrun), else
  the CPU.
- A model's device decides where its inputs go: `of(model)` is the device of its parameters or
  buffers (every Reconstructor has a buffer, so parameter-free methods such as l1 and
  ConvDecoder have a device too), and `to_model(model, *tensors)` moves inputs there. Attacks,
  evaluation and experiments call it at their entry, so callers may hand CPU tensors to a model
  on a GPU. Results stay on the model's device; code that stores them reads them back with
  `.cpu()`.
- `frozen(model)` turns a model's parameter gradients off for a block: attacks and generator
  steps differentiate through a model with respect to its input only.

Random starts and initialisations draw on the CPU and are then moved, so a seed gives the same
numbers on every device (up to the float rounding of the computation itself).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from mrirobust import standin

__all__ = ["ENV", "default", "of", "to_model", "describe"]

ENV = "MRIROBUST_DEVICE"


def default() -> torch.device:
    """The device new models and training go to (module docstring)."""
    value = os.environ.get(ENV, "").strip()
    if value == standin.NAME:
        return standin.enable()
    if value:
        try:
            device = torch.device(value)
        except (RuntimeError, ValueError) as error:
            raise ValueError(
                f"{ENV}={value!r} is not a torch device (e.g. cpu, cuda, cuda:1, "
                f"{standin.NAME}): {error}"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{ENV}={value!r}, but this torch build sees no CUDA device")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def of(model) -> torch.device | None:
    """The device of `model`'s parameters or buffers (a `torch.nn.Module`), or of its `device`
    attribute; None for a plain callable that holds no tensors (its inputs stay where they
    are)."""
    if isinstance(model, torch.nn.Module):
        for tensor in model.parameters():
            return tensor.device
        for tensor in model.buffers():
            return tensor.device
    device = getattr(model, "device", None)
    return torch.device(device) if isinstance(device, (str, torch.device)) else None


def to_model(model, *tensors):
    """`tensors` moved to `of(model)` (None entries pass through); one tensor or a tuple."""
    device = of(model)
    moved = tuple(
        t if t is None or device is None or not torch.is_tensor(t) else t.to(device)
        for t in tensors
    )
    return moved[0] if len(moved) == 1 else moved


def describe(device: torch.device | None = None) -> str:
    """A one-line description of `device` (default: `default()`) for logs and run records."""
    device = default() if device is None else device
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


@contextlib.contextmanager
def frozen(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """`model` with every parameter's `requires_grad` off for the block, restored after: for
    gradients with respect to inputs only, autograd then neither saves what the weight
    gradients need nor computes them (a cpu VarNet forward + backward: ~5 % less time,
    benchmarks/bench_pgd_passes.py)."""
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
