"""Training, checkpoints and resume for the trained methods (U-Net, E2E-VarNet, l1's λ search).

Losses and optimisers follow the fastMRI baselines that both papers retrained: U-Net with
RMSprop and an L1 loss (on images divided by the volume maximum), E2E-VarNet with Adam and
the SSIM loss (`fastmri.losses.SSIMLoss`, data range = volume maximum); StepLR ×0.1 every
`lr_step_size` epochs. Masks are random (fastMRI `RandomMaskFunc`), seeded by (seed, epoch,
slice) for training and (seed, slice) for validation. l1's relative λ is the grid value with
the best mean validation SSIM.

Checkpoints live in `paths.checkpoints_dir()`, named by method, scale, acceleration, config and
a hash of (spec, data fingerprint); each is written atomically after every epoch with a JSON
sidecar (spec, data fingerprint, git revision, curve) and resumed after an interruption.
`torchrun --nproc_per_node=N -m mrirobust train ...` trains with DDP (gloo on CPU, nccl on
GPU; rank 0 validates and writes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm, trange

from mrirobust import data, metrics, models, paths, physics, scales

logger = logging.getLogger(__name__)


def _data_slices(scale: str, split: str) -> list[tuple[Path, int]]:
    if scales.resolve(scale, "data")["source"] == "embedded":
        data.ensure_embedded(scale)
    return data.list_slices(data.split_dir(scale, models.ANATOMY, split))


def image_size(scale: str) -> tuple[int, int]:
    """The target (cropped) image size of the scale's data (its first validation slice)."""
    path, index = _data_slices(scale, "val")[0]
    return tuple(data.read_slice(path, index).target.shape)


@functools.lru_cache(maxsize=8)
def _embedded_checksums(manifest: Path, mtime_ns: int) -> dict[str, str]:
    """sha256 per file (relative path) of an embedded dataset's manifest.json."""
    files = json.loads(manifest.read_text()).get("files", {})
    return {name: entry["sha256"] for name, entry in dict(files).items()}


def _file_identity(path: Path) -> str:
    """A file's content identity: its sha256 from the embedded dataset's manifest.json (laid
    out <root>/<anatomy>/<split dir>/<file>), else size and modification time (real data is too
    large to hash, and a changed file gets a new mtime)."""
    manifest = path.parents[2] / "manifest.json"
    if manifest.is_file():
        checksums = _embedded_checksums(manifest, manifest.stat().st_mtime_ns)
        name = path.relative_to(manifest.parent).as_posix()
        if name in checksums:
            return checksums[name]
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def data_fingerprint(slices: list[tuple[Path, int]]) -> str:
    """Hash of the file names, their content identity (`_file_identity`) and slice indices:
    regenerated data with other contents but the same shapes gets a new fingerprint."""
    digest = hashlib.sha256()
    identities = {}
    for path, index in slices:
        if path not in identities:
            identities[path] = _file_identity(path)
        digest.update(f"{path.parent.name}/{path.name}:{identities[path]}:{index}\n".encode())
    return digest.hexdigest()[:16]


class SliceData(torch.utils.data.Dataset):
    """Masked slices `(y, mask (1, 1, W), target, max)` with seeded random column masks."""

    def __init__(self, slices: list[tuple[Path, int]], model_spec: dict, training: bool):
        self.slices, self.spec, self.training, self.epoch = slices, model_spec, training, 0

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, i: int):
        item = data.read_slice(*self.slices[i])
        seed_key = [self.spec["params"]["seed"], i] + ([self.epoch] if self.training else [])
        seed = int(np.random.SeedSequence(seed_key).generate_state(1)[0])
        width = item.kspace.shape[-1]
        mask = physics.column_mask(
            width,
            self.spec["acceleration"],
            self.spec["center_fraction"],
            seed,
            acquired=item.acquired,
        ).view(1, 1, width)
        maxval = torch.tensor(float(item.attrs["max"]), dtype=torch.float32)
        return physics.apply_mask(item.kspace, mask), mask, item.target, maxval


def validation_data(model_spec: dict, count: int | None = None) -> SliceData:
    """The first `count` (default: the profile's `val_slices`) validation slices."""
    count = model_spec["params"]["val_slices"] if count is None else count
    return SliceData(_data_slices(model_spec["scale"], "val")[:count], model_spec, training=False)


def _device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def evaluate(model: torch.nn.Module, dataset: SliceData, batch_size: int = 1) -> dict:
    """Per-slice SSIM, PSNR and NMSE against the RSS targets (`mrirobust.metrics`), as lists."""
    device = next(iter(model.parameters()), torch.empty(0)).device
    scores = {"ssim": [], "psnr": [], "nmse": []}
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    for kspace, mask, target, _ in tqdm(loader, desc=f"evaluate {model.name}", leave=False):
        with torch.no_grad():
            pred = model(kspace.to(device), mask.to(device)).cpu()
        for key in scores:
            scores[key] += getattr(metrics, key)(target, pred).tolist()
    return scores


def checkpoint_path(model_spec: dict, fingerprint: str) -> Path:
    key = json.dumps({"spec": model_spec, "data": fingerprint}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    s = model_spec
    name = f"{s['method']}-{s['scale']}-{s['acceleration']}x-{s['config']}-{digest}.pt"
    return paths.checkpoints_dir() / name


def _checkpoint_for(model_spec: dict) -> tuple[Path, str]:
    """(checkpoint path, data fingerprint of the scale's train + val slices)."""
    scale = model_spec["scale"]
    fingerprint = data_fingerprint(_data_slices(scale, "train") + _data_slices(scale, "val"))
    return checkpoint_path(model_spec, fingerprint), fingerprint


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=paths.project_root(),
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(path: Path, model_spec: dict, fingerprint: str, state: dict) -> None:
    """Write `state` (+ spec and fingerprint) and its JSON sidecar, each atomically."""
    meta = {"spec": model_spec, "data_fingerprint": fingerprint}
    _atomic_write(path, lambda tmp: torch.save({**state, "meta": json.dumps(meta)}, tmp))
    sidecar = {
        **meta,
        "git_revision": _git_revision(),
        "epochs_done": state["epoch"],
        "curve": state["curve"],
    }
    text = json.dumps(sidecar, indent=2)
    _atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(text))


def _differences(expected: dict, found: dict) -> str:
    keys = sorted(set(expected) | set(found))
    return ", ".join(
        f"{k}: {found.get(k)!r} != {expected.get(k)!r}"
        for k in keys
        if expected.get(k) != found.get(k)
    )


def read_checkpoint(path: Path, model_spec: dict, fingerprint: str) -> dict:
    """Load a checkpoint (`weights_only=True`) and check that it and its sidecar were made for
    `model_spec` and the data `fingerprint`; raise a ValueError naming the mismatch."""
    expected = {"spec": model_spec, "data_fingerprint": fingerprint}
    sidecar = path.with_suffix(".json")
    if sidecar.exists():
        try:
            found = json.loads(sidecar.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"checkpoint sidecar {sidecar} is not valid JSON ({err})") from err
        found = {k: found.get(k) for k in expected}
        if found != expected:
            raise ValueError(
                f"checkpoint {path} was made for another configuration "
                f"({_differences(expected, found)}); pass retrain=True / --retrain to replace it"
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(state["meta"])
    except Exception as err:
        raise ValueError(
            f"checkpoint {path} is unreadable or corrupted ({type(err).__name__}: {err}); "
            "delete it or pass retrain=True / --retrain"
        ) from err
    if meta != expected:
        raise ValueError(
            f"checkpoint {path} was made for another configuration "
            f"({_differences(expected, meta)}); pass retrain=True / --retrain to replace it"
        )
    return state


def _distributed() -> tuple[int, int]:
    """(world size, rank), initialising the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(_device())
    return world, (dist.get_rank() if world > 1 else 0)


def _loss(method: str, device: torch.device):
    if method == "unet":
        return lambda out, target, maxval: torch.nn.functional.l1_loss(
            out / maxval.view(-1, 1, 1), target / maxval.view(-1, 1, 1)
        )
    from fastmri.losses import SSIMLoss

    ssim_loss = SSIMLoss().to(device)
    return lambda out, target, maxval: ssim_loss(out[:, None], target[:, None], maxval)


def _train_network(model_spec, path, fingerprint, size, state) -> None:
    p, method = model_spec["params"], model_spec["method"]
    world, rank = _distributed()
    device = _device()
    torch.manual_seed(p["seed"])
    model = models.build(model_spec, size).to(device)
    if method == "unet":
        optimiser = torch.optim.RMSprop(model.parameters(), lr=p["unet_lr"])
    else:
        optimiser = torch.optim.Adam(model.parameters(), lr=p["varnet_lr"])
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, p["lr_step_size"], gamma=0.1)
    start, curve = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, curve = state["epoch"], state["curve"]
    train_set = SliceData(_data_slices(model_spec["scale"], "train"), model_spec, training=True)
    sampler = torch.utils.data.DistributedSampler(
        train_set, num_replicas=world, rank=rank, shuffle=True, seed=p["seed"]
    )
    batch = max(1, p["batch_size"] // world)
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch, sampler=sampler)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    loss_fn = _loss(method, device)
    val_set = validation_data(model_spec)
    desc = f"train {path.stem}"
    for epoch in trange(
        start, p["epochs"], desc=desc, initial=start, total=p["epochs"], disable=rank != 0
    ):
        begin = time.perf_counter()
        sampler.set_epoch(epoch)
        train_set.epoch = epoch
        net.train()
        losses = []
        for kspace, mask, target, maxval in tqdm(loader, leave=False, disable=rank != 0):
            out = net(kspace.to(device), mask.to(device))
            loss = loss_fn(out, target.to(device), maxval.to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        scheduler.step()
        if rank == 0:
            scores = evaluate(model, val_set)
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
            save_checkpoint(path, model_spec, fingerprint, state)
        if world > 1:
            dist.barrier()


def _tune_l1(model_spec, path, fingerprint, size) -> None:
    """Pick the relative λ of the grid with the best mean SSIM on `l1_tune_slices` slices.

    Each curve row records its λ's share of the search time, so that (as for the networks'
    epochs) the rows' seconds add up to the training time."""
    begin = time.perf_counter()
    p = model_spec["params"]
    dataset = validation_data(model_spec, p["l1_tune_slices"])
    ssims = {lam: [] for lam in p["l1_lambdas"]}
    for kspace, mask, target, _ in tqdm(dataset, desc="l1 lambda search"):
        kspace, mask = kspace[None], mask[None]
        maps = models.L1Wavelet(size, 0.0, 1).init_state(kspace, mask).maps
        for lam in ssims:
            recon = models.build(model_spec, size, lam=lam)
            pred = recon.image(recon.fit(recon.init_state(kspace, mask, maps), kspace, mask))
            ssims[lam].append(float(metrics.ssim(target[None], pred)[0]))
    share = (time.perf_counter() - begin) / len(ssims)
    curve = [
        {"lam": lam, "val_ssim": float(np.mean(v)), "seconds": share} for lam, v in ssims.items()
    ]
    best = max(curve, key=lambda row: row["val_ssim"])["lam"]
    save_checkpoint(path, model_spec, fingerprint, {"epoch": 1, "lam": best, "curve": curve})


def total_epochs(model_spec: dict) -> int:
    """The epochs a complete checkpoint has (l1's λ search counts as one)."""
    return 1 if model_spec["method"] == "l1" else model_spec["params"]["epochs"]


def train_model(model_spec: dict, retrain: bool = False) -> Path:
    """Train (or resume) `model_spec`'s model and return its checkpoint path. A complete
    checkpoint is kept unless `retrain`; a mismatching one raises (see `read_checkpoint`)."""
    path, fingerprint = _checkpoint_for(model_spec)
    state = None
    if path.exists() and not retrain:
        state = read_checkpoint(path, model_spec, fingerprint)
        if state["epoch"] >= total_epochs(model_spec):
            return path
        logger.warning("resuming %s from epoch %d", path.name, state["epoch"])
    size = image_size(model_spec["scale"])
    if model_spec["method"] == "l1":
        if _distributed()[1] == 0:
            _tune_l1(model_spec, path, fingerprint, size)
    else:
        _train_network(model_spec, path, fingerprint, size, state)
    return path


def load_or_train(model_spec: dict, retrain: bool = False) -> models.Reconstructor:
    """The trained Reconstructor (eval mode), training it first when no checkpoint exists."""
    path, fingerprint = _checkpoint_for(model_spec)
    if retrain or not path.exists():
        logger.warning("no checkpoint %s: training %s now", path.name, model_spec["method"])
    path = train_model(model_spec, retrain=retrain)
    state = read_checkpoint(path, model_spec, fingerprint)
    size = image_size(model_spec["scale"])
    if model_spec["method"] == "l1":
        return models.build(model_spec, size, lam=state["lam"]).eval()
    model = models.build(model_spec, size)
    model.load_state_dict(state["model"])
    return model.to(_device()).eval()


def configure_parser(parser) -> None:
    parser.add_argument("model", choices=models.TRAINED, help="method to train")
    parser.add_argument("--scale", default="cpu", choices=paths.SCALES)
    parser.add_argument(
        "--acceleration", type=int, default=4, choices=sorted(physics.CENTER_FRACTIONS)
    )
    parser.add_argument(
        "--config",
        default=None,
        choices=sorted(models.CONFIGS),
        help="named configuration (default: the scale profile's sizes)",
    )
    parser.add_argument("--retrain", action="store_true", help="replace an existing checkpoint")


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    model_spec = models.spec(args.model, args.scale, args.acceleration, args.config)
    path = train_model(model_spec, retrain=args.retrain)
    if dist.is_initialized():
        dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {path}")
    return 0


def epochs_done(model_spec: dict) -> int:
    """The epochs `model_spec`'s checkpoint has completed (0 when there is none)."""
    sidecar = _checkpoint_for(model_spec)[0].with_suffix(".json")
    return int(json.loads(sidecar.read_text())["epochs_done"]) if sidecar.exists() else 0


def record(model_spec: dict) -> dict:
    """The JSON sidecar of `model_spec`'s checkpoint (spec, data fingerprint, git revision,
    training curve); raises FileNotFoundError when it has not been trained."""
    sidecar = _checkpoint_for(model_spec)[0].with_suffix(".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"{sidecar} does not exist: train {model_spec['method']} first")
    return json.loads(sidecar.read_text())
