"""A stand-in accelerator for machines without one: `MRIROBUST_DEVICE=standin`.

Tensors on the device `standin:0` hold their data on the CPU and compute there, but refuse, as
a CUDA device does, any operation that mixes them with CPU tensors (other than 0-dim scalars,
copies and index tensors). So a run on the stand-in fails exactly where a run on a GPU would
fail with "Expected all tensors to be on the same device", and passes where a GPU run would
pass, on a CPU-only machine. `.numpy()` is refused too (use `.cpu()` first, as on a GPU).

Built from PyTorch's Python device extension points: PrivateUse1 renamed to `standin`, a
wrapper tensor subclass claiming that device (`__torch_dispatch__` unwraps, checks, runs the op
on the CPU data and wraps the result), and a dispatch mode that makes factory functions
(`torch.zeros(..., device=...)`) honour the device. `enable()` makes the device usable for the
rest of the process, `active()` inside a `with` block; every op then passes through Python, so
the stand-in is several times slower than the CPU: it is a correctness check, not a way to
compute.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

__all__ = ["NAME", "StandInTensor", "active", "enable", "register"]

NAME = "standin"  # the device string, valid once `enable()` has run
_ATEN = torch.ops.aten
# copies between devices see both kinds of tensor
_COPIES = {_ATEN._to_copy.default, _ATEN.copy_.default}
# indexing a device tensor with CPU indices is allowed (CUDA accepts it); indexing a CPU tensor
# with device indices is not
_INDEXING = {
    _ATEN.index.Tensor,
    _ATEN.index_put.default,
    _ATEN.index_put_.default,
    _ATEN._index_put_impl_.default,
}


class StandInTensor(torch.Tensor):
    """A tensor on the stand-in device: `data` is its CPU storage."""

    @staticmethod
    def __new__(cls, data: torch.Tensor):
        out = torch.Tensor._make_wrapper_subclass(
            cls,
            data.shape,
            strides=data.stride(),
            storage_offset=data.storage_offset(),
            dtype=data.dtype,
            device=register(),
            requires_grad=data.requires_grad,
        )
        out.cpu_data = data
        return out

    def __repr__(self, *, tensor_contents=None) -> str:
        return f"StandInTensor({self.cpu_data!r})"

    def tolist(self):
        return self.cpu_data.tolist()

    def numpy(self, *, force: bool = False):
        raise TypeError(
            f"can't convert {NAME} device type tensor to numpy. Use Tensor.cpu() to copy the "
            "tensor to host memory first."
        )

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _on_standin(value) -> bool:
    return isinstance(value, torch.device) and value.type == NAME


def _run(func, args, kwargs):
    """Run `func` on the CPU data of its stand-in arguments; refuse a mix with CPU tensors."""
    found = {"device": False, "cpu": False}

    def unwrap(x):
        if isinstance(x, StandInTensor):
            found["device"] = True
            return x.cpu_data
        if isinstance(x, torch.Tensor) and x.ndim > 0:
            found["cpu"] = True
        return x

    cpu_args, cpu_kwargs = tree_map(unwrap, args), tree_map(unwrap, kwargs)
    indexed_on_device = func in _INDEXING and isinstance(args[0], StandInTensor)
    mixed_ok = func in _COPIES or indexed_on_device
    if found["device"] and found["cpu"] and not mixed_ok:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{NAME}:0 and cpu! ({func})"
        )
    target = kwargs.get("device")
    cpu_kwargs = tree_map(lambda x: torch.device("cpu") if _on_standin(x) else x, cpu_kwargs)
    out = func(*cpu_args, **cpu_kwargs)
    if func is _ATEN.copy_.default:
        return args[0]
    wrap = _on_standin(target) if target is not None else found["device"]
    if not wrap:
        return out
    # the wrapper cannot carry the lazy conjugate / negative bits of a view: resolve them
    return tree_map(
        lambda x: (
            StandInTensor(x.resolve_conj().resolve_neg())
            if isinstance(x, torch.Tensor) and not isinstance(x, StandInTensor)
            else x
        ),
        out,
    )


class _FactoryMode(TorchDispatchMode):
    """Routes operations that create tensors on the stand-in device (factories, `.to`) from
    plain tensors to `_run`; every other operation goes on as usual."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _on_standin(kwargs.get("device")) and not any(
            isinstance(x, StandInTensor) for x in tree_leaves(args)
        ):
            return _run(func, args, kwargs)
        return func(*args, **kwargs)


@functools.cache
def register() -> torch.device:
    """Register the stand-in device type (once per process) and return the device."""
    from torch.utils.backend_registration import _setup_privateuseone_for_python_backend

    _setup_privateuseone_for_python_backend(NAME)
    return torch.device(NAME, 0)


@functools.cache
def enable() -> torch.device:
    """The stand-in device, usable for the rest of the process (`MRIROBUST_DEVICE=standin`)."""
    device = register()
    _FactoryMode().__enter__()
    return device


@contextlib.contextmanager
def active():
    """`with active() as device:` the stand-in device, usable inside the block only (tests:
    the dispatch mode slows every operation while it is active)."""
    device = register()
    with _FactoryMode():
        yield device
