"""`python -m mrirobust gpu-check` (`make gpu-check`): the paper path on a GPU, in one script.

Three parts, each timed, written to `results/gpu_check.json` as they finish:

1. **steps**: one training step (forward, backward, optimiser step) and one attack step
   (forward and backward with respect to the k-space input, as a PGD iteration) of every paper's
   networks at paper size on real-shaped inputs (fastMRI knee 640 x 368 with 15 coils, single
   coil for Huang & Liang at their batch of 8, CMRxRecon T1 9 x 10 x 512 x 204 for Zhao), each in
   a fresh process so that its peak memory (CUDA, else resident) is its own;
2. **smoke**: every manifest notebook at `smoke` scale on the device;
3. **shape**: every manifest notebook at `shape` scale (paper configuration, real-shaped files,
   every loop cut to one step) on the device.

Notebook runs write into a temporary results root, so a check never touches `results/<scale>/`.
Without CUDA the command stops with a message, unless `--device` names another device (e.g.
`standin` for a dry run of the script on a CPU-only machine, `--parts steps --models ...`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from mrirobust import costs, devices, paths, physics, storage

PARTS = ("steps", "smoke", "shape")
KNEE = (15, 640, 368)  # fastMRI knee multi-coil k-space: coils, readout (2x oversampled), width
T1 = (9, 10, 512, 204)  # CMRxRecon T1 mapping: TIs, coils, kx, ky


def _knee(batch: int = 1, coils: int = KNEE[0]):
    """Random real-shaped knee k-space `(B, C, 640, 368)` and a 4x column mask (0.08 centre)."""
    gen = torch.Generator().manual_seed(0)
    kspace = torch.randn(batch, coils, *KNEE[1:], generator=gen, dtype=torch.complex64)
    mask = physics.column_mask(KNEE[2], 4, 0.08, seed=0).view(1, 1, 1, -1)
    return kspace, mask


def _recon(method: str, config: str | None, kspace_batch: int = 1, coils: int = KNEE[0]):
    """(model, inputs) of a zoo method at paper scale under a paper's named configuration."""
    from mrirobust.models import registry
    from mrirobust.papers import model_spec

    spec = model_spec(method, "paper", 4, config)
    state = {"lam": spec.params["l1_lambdas"][0]} if method == "l1" else {}  # λ: any grid value
    return registry.build(spec, (320, 320), **state), _knee(kspace_batch, coils)


def _huang_liang():
    from mrirobust.models.unet import UNetRecon
    from mrirobust.papers.huang_liang.profile import TRAIN

    p = TRAIN.resolve("paper")
    model = UNetRecon((320, 320), p["unet_chans"], p["unet_pools"], p["unet_variant"])
    return model, _knee(p["batch_size"], coils=1)


def _zhao(regulariser: str):
    from mrirobust.models.qmri import SeriesReconstructor, UnrolledSeriesNet
    from mrirobust.papers.zhao2023.profile import TRAIN

    p = TRAIN.resolve("paper")
    frames, coils, kx, ky = T1
    net = UnrolledSeriesNet(
        frames,
        p["steps"],
        p["gru_hidden"] if regulariser == "gru" else p["chans"],
        p["pools"],
        p["sens_chans"],
        p["sens_pools"],
        regulariser,
        p["gru_layers"],
    )
    gen = torch.Generator().manual_seed(0)
    kspace = torch.randn(1, frames * coils, kx, ky, generator=gen, dtype=torch.complex64)
    mask = torch.zeros(1, 1, 1, ky, dtype=torch.bool)
    mask[..., ::4] = True
    mask[..., ky // 2 - 12 : ky // 2 + 12] = True
    return SeriesReconstructor((kx // 3, ky // 2), net), (kspace, mask)


# name -> () -> (Reconstructor, (k-space, mask)); every network the papers train, paper size
MODELS: dict[str, Callable] = {
    "morshuis2022/unet": lambda: _recon("unet", "morshuis"),
    "morshuis2022/varnet": lambda: _recon("varnet", "morshuis"),
    "darestani2021/unet": lambda: _recon("unet", "darestani"),
    "darestani2021/varnet": lambda: _recon("varnet", "darestani"),
    "darestani2021/convdecoder": lambda: _recon("convdecoder", "darestani"),
    "darestani2021/l1": lambda: _recon("l1", None),
    "huang_liang/unet": _huang_liang,
    "zhao2023/vn_unet_t1": lambda: _zhao("unet"),
    "zhao2023/rvn_t1": lambda: _zhao("gru"),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(name: str, device: torch.device) -> dict:
    """Seconds and peak memory of one training step and one attack step of `MODELS[name]` on
    `device` (on a GPU each after one untimed warm-up step, which would only double the time of
    the slow CPU measurement). The untrained methods (l1, ConvDecoder) have no training step:
    their "train" entry is one iteration of their own solver (l1: with its coil calibration)."""
    model, (kspace, mask) = MODELS[name]()
    model = model.to(device)
    kspace, mask = kspace.to(device), mask.to(device)
    masked = physics.apply_mask(kspace, mask)
    if name.endswith(("l1", "convdecoder")):
        model.iterations = 1

        def train_step():
            model(masked, mask)

    else:
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-6)

        def train_step():
            optimiser.zero_grad()
            model.train()(masked, mask).mean().backward()
            optimiser.step()

    def attack_step():
        model.eval()
        z = torch.zeros_like(masked, requires_grad=True)
        (grad,) = torch.autograd.grad(model(masked + z, mask).pow(2).mean(), z)
        return grad

    row = {"model": name, "parameters": sum(p.numel() for p in model.parameters())}
    for kind, step in (("train", train_step), ("attack", attack_step)):
        if device.type != "cpu":
            step()
        _sync(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        step()
        _sync(device)
        row[f"{kind}_s"] = round(time.perf_counter() - start, 3)
        if device.type == "cuda":
            row[f"{kind}_peak_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    row["peak_rss_mb"] = round(costs.peak_rss_mb(), 1)
    return row


def _steps(device: str, models: list[str]) -> list[dict]:
    """`measure` of each model in its own process (clean peak memory); a failure (e.g. out of
    memory) is recorded with its message instead of stopping the check."""
    rows = []
    for name in models:
        done = subprocess.run(
            [sys.executable, "-m", "mrirobust", "gpu-check", "--measure", name],
            capture_output=True,
            text=True,
            env={**os.environ, devices.ENV: device},
        )
        if done.returncode == 0:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        else:
            rows.append({"model": name, "error": done.stderr.strip().splitlines()[-1:]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _reproduce(scale: str, device: str) -> dict:
    """Every manifest run at `scale` on `device` in a temporary results root."""
    with tempfile.TemporaryDirectory(prefix=f"gpu-check-{scale}-") as root:
        env = {
            **os.environ,
            devices.ENV: device,
            "MRIROBUST_RESULTS": str(Path(root) / "results"),
            "MRIROBUST_FIGURES": str(Path(root) / "figures"),
        }
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mrirobust", "reproduce", "--scale", scale], env=env
        )
        seconds = time.perf_counter() - start
        records = sorted((Path(root) / "results" / scale).glob("*/run.json"))
        runs = {}
        for path in records:
            record = storage.read_json(path)
            runs[record["id"]] = {
                key: record.get(key) for key in ("status", "duration_s", "peak_rss_mb", "steps")
            }
    return {"returncode": done.returncode, "seconds": round(seconds, 1), "runs": runs}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default=None,
        help="device to check (default: cuda; `standin` for a dry run without a GPU)",
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON written (default: results/gpu_check.json)"
    )
    parser.add_argument("--measure", choices=list(MODELS), help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:
    if args.measure:  # one model, in the process `_steps` started
        print(json.dumps(measure(args.measure, devices.default())))
        return 0
    device = args.device or "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "gpu-check needs a CUDA device and this torch build sees none (torch "
            f"{torch.__version__}); install a CUDA build of torch (docs/real_data.md) or pass "
            "--device standin for a dry run on the CPU",
            file=sys.stderr,
        )
        return 2
    out = args.out or paths.results_root() / "gpu_check.json"
    report = {
        "device": device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else device,
        "torch": torch.__version__,
        "host": platform.node(),
        "git": paths.git_revision(),
    }
    if "steps" in args.parts:
        report["steps"] = _steps(device, args.models)
        storage.write_json(out, report)
    for scale in ("smoke", "shape"):
        if scale in args.parts:
            report[scale] = _reproduce(scale, device)
            storage.write_json(out, report)
    storage.write_json(out, report)
    print(f"wrote {out}")
    failed = [row["model"] for row in report.get("steps", []) if "error" in row]
    failed += [s for s in ("smoke", "shape") if report.get(s, {}).get("returncode")]
    return 1 if failed else 0
