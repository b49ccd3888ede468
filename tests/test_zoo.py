import json
import os
import subprocess
import sys

import pytest
import torch

from mrirobust import evaluation, models, papers, paths, zoo
from mrirobust.training import checkpoints, loop


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    return tmp_path


def test_interrupted_training_resumes_to_the_same_weights(
    checkpoint_dir, monkeypatch, interrupted_on_call
):
    spec = models.spec("unet", "smoke")
    full = torch.load(zoo.train(spec), weights_only=True)["model"]
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(checkpoint_dir / "interrupted"))
    with interrupted_on_call(loop.evaluation, "evaluate", 2), pytest.raises(KeyboardInterrupt):
        zoo.train(spec)  # in the second epoch
    path = next((checkpoint_dir / "interrupted").glob("unet-*.pt"))
    assert torch.load(path, weights_only=True)["epoch"] == 1
    resumed = torch.load(zoo.train(spec), weights_only=True)
    assert resumed["epoch"] == 2 and len(resumed["curve"]) == 2
    for key, value in full.items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0)


def test_get_loads_the_checkpoint_and_reports_mismatches(checkpoint_dir):
    spec = models.spec("unet", "smoke")
    model = zoo.get(spec)
    assert not model.training
    (path,) = checkpoint_dir.glob("unet-*.pt")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["curve"][-1]["epoch"] == 2 and "val_ssim" in sidecar["curve"][-1]
    sidecar["spec"]["params"]["unet_chans"] = 99
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="another configuration.*unet_chans|retrain"):
        zoo.get(spec)
    before = path.stat().st_mtime_ns
    with pytest.raises(ValueError):
        zoo.get(spec)
    assert path.stat().st_mtime_ns == before  # never silently overwritten
    assert zoo.get(spec, retrain=True)(*_batch()).shape[0] == 1


def test_corrupted_checkpoint_raises_naming_the_file(checkpoint_dir):
    spec = models.spec("unet", "smoke")
    zoo.get(spec)
    (path,) = checkpoint_dir.glob("unet-*.pt")
    path.write_bytes(b"not a checkpoint")
    path.with_suffix(".json").unlink()
    with pytest.raises(ValueError, match=f"{path.name}.*corrupted"):
        zoo.get(spec)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown method"):
        models.spec("resnet")
    with pytest.raises(ValueError, match="named configuration needs its sizes"):
        models.spec("unet", config="huge")
    with pytest.raises(ValueError, match="acceleration"):
        models.spec("unet", acceleration=3)


@pytest.mark.parametrize(
    "method, scale, acceleration, config, name",
    [  # made by the code before the split of train.py: existing checkpoints keep their names
        ("unet", "paper", 4, "morshuis", "unet-paper-4x-morshuis-4d2c2b309952.pt"),
        ("varnet", "paper", 8, "morshuis", "varnet-paper-8x-morshuis-87da44e4e944.pt"),
        ("unet", "paper", 4, "darestani_unet3", "unet-paper-4x-darestani_unet3-9d12e896b0d9.pt"),
        ("varnet", "cpu", 4, None, "varnet-cpu-4x-default-0206d71c0ef4.pt"),
        ("l1", "smoke", 4, None, "l1-smoke-4x-default-c9a6b86a96cc.pt"),
    ],
)
def test_checkpoint_names_hash_the_spec_as_before(method, scale, acceleration, config, name):
    """Fails when a profile value or the spec's keys change: that retrains every checkpoint of
    the configuration, so update the expected names only on purpose."""
    spec = papers.model_spec(method, scale, acceleration, config)
    assert checkpoints.Checkpoint(spec.asdict(), "f" * 16).path.name == name


def _batch():
    kspace, mask, _, _ = evaluation.validation_data("smoke", 4, 1)[0]
    return kspace[None], mask[None]


def test_ddp_two_processes_on_cpu(checkpoint_dir):
    env = {**os.environ, "MRIROBUST_CHECKPOINTS": str(checkpoint_dir), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["-m", "mrirobust", "train", "unet", "--scale", "smoke"]
    done = subprocess.run(
        command, env=env, cwd=paths.project_root(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = checkpoint_dir.glob("unet-smoke-*.pt")
    assert torch.load(path, weights_only=True)["epoch"] == 2


def test_data_fingerprint_changes_with_contents_not_only_shapes(tmp_path):
    """Regenerated data of the same shapes (e.g. another SNR) must not reuse old checkpoints:
    embedded files are identified by the manifest's sha256, other files by size and mtime."""

    root = tmp_path / "embedded"
    volume = root / "knee" / "multicoil_train" / "a.h5"
    volume.parent.mkdir(parents=True)
    volume.write_bytes(b"0" * 64)
    slices = [(volume, 0), (volume, 1)]

    def write_manifest(sha):
        files = {"knee/multicoil_train/a.h5": {"bytes": 64, "sha256": sha, "count": 2}}
        (root / "manifest.json").write_text(json.dumps({"files": files}))

    write_manifest("aaa")
    first = checkpoints.data_fingerprint(slices)
    write_manifest("bbb")  # same size, other contents
    assert checkpoints.data_fingerprint(slices) != first
    (root / "manifest.json").unlink()
    plain = checkpoints.data_fingerprint(slices)
    os.utime(volume, ns=(1, 1))  # a rewritten real file: same size, new mtime
    assert checkpoints.data_fingerprint(slices) != plain


def test_l1_search_records_its_time_and_counts_as_one_epoch(checkpoint_dir):
    spec = models.spec("l1", "smoke")
    assert zoo.epochs_done(spec) == 0
    zoo.train(spec)
    assert zoo.epochs_done(spec) == zoo.total_epochs(spec) == 1
    curve = checkpoints.locate(spec).sidecar()["curve"]
    assert [row["lam"] for row in curve] == spec.params["l1_lambdas"]
    assert all(row["seconds"] > 0 for row in curve)
