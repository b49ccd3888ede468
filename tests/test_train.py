import json
import os
import subprocess
import sys

import pytest
import torch

from mrirobust import models, paths, train


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(tmp_path))
    return tmp_path


def test_interrupted_training_resumes_to_the_same_weights(checkpoints, monkeypatch):
    spec = models.spec("unet", "smoke")
    full = torch.load(train.train_model(spec), weights_only=True)["model"]
    monkeypatch.setenv("MRIROBUST_CHECKPOINTS", str(checkpoints / "interrupted"))
    evaluate, calls = train.evaluate, []

    def interrupt_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train.train_model(spec)
    path = next((checkpoints / "interrupted").glob("unet-*.pt"))
    assert torch.load(path, weights_only=True)["epoch"] == 1
    monkeypatch.setattr(train, "evaluate", evaluate)
    resumed = torch.load(train.train_model(spec), weights_only=True)
    assert resumed["epoch"] == 2 and len(resumed["curve"]) == 2
    for key, value in full.items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0)


def test_get_loads_the_checkpoint_and_reports_mismatches(checkpoints):
    model = models.get("unet", scale="smoke")
    assert not model.training
    (path,) = checkpoints.glob("unet-*.pt")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["curve"][-1]["epoch"] == 2 and "val_ssim" in sidecar["curve"][-1]
    sidecar["spec"]["params"]["unet_chans"] = 99
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="another configuration.*unet_chans|retrain"):
        models.get("unet", scale="smoke")
    before = path.stat().st_mtime_ns
    with pytest.raises(ValueError):
        models.get("unet", scale="smoke")
    assert path.stat().st_mtime_ns == before  # never silently overwritten
    assert models.get("unet", scale="smoke", retrain=True)(*_batch()).shape[0] == 1


def test_corrupted_checkpoint_raises_naming_the_file(checkpoints):
    models.get("unet", scale="smoke")
    (path,) = checkpoints.glob("unet-*.pt")
    path.write_bytes(b"not a checkpoint")
    path.with_suffix(".json").unlink()
    with pytest.raises(ValueError, match=f"{path.name}.*corrupted"):
        models.get("unet", scale="smoke")


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown method"):
        models.spec("resnet")
    with pytest.raises(ValueError, match="unknown config"):
        models.spec("unet", config="huge")
    with pytest.raises(ValueError, match="acceleration"):
        models.spec("unet", acceleration=3)


def test_named_configs_set_the_paper_sizes():
    morshuis = models.spec("varnet", "paper", config="morshuis")["params"]
    assert (morshuis["varnet_cascades"], morshuis["varnet_chans"]) == (8, 9)
    assert morshuis["varnet_sens_chans"] == 6
    assert models.spec("unet", "paper", config="morshuis")["params"]["unet_chans"] == 16
    assert models.spec("unet", "paper", config="darestani_unet3")["params"]["unet_pools"] == 2


def _batch():
    dataset = train.validation_data(models.spec("unet", "smoke"), 1)
    kspace, mask, _, _ = dataset[0]
    return kspace[None], mask[None]


def test_ddp_two_processes_on_cpu(checkpoints):
    env = {**os.environ, "MRIROBUST_CHECKPOINTS": str(checkpoints), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["-m", "mrirobust", "train", "unet", "--scale", "smoke"]
    done = subprocess.run(
        command, env=env, cwd=paths.project_root(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = checkpoints.glob("unet-smoke-*.pt")
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
    first = train.data_fingerprint(slices)
    write_manifest("bbb")  # same size, other contents
    assert train.data_fingerprint(slices) != first
    (root / "manifest.json").unlink()
    plain = train.data_fingerprint(slices)
    os.utime(volume, ns=(1, 1))  # a rewritten real file: same size, new mtime
    assert train.data_fingerprint(slices) != plain


def test_l1_search_records_its_time_and_counts_as_one_epoch(checkpoints):
    spec = models.spec("l1", "smoke")
    assert train.epochs_done(spec) == 0
    train.train_model(spec)
    assert train.epochs_done(spec) == train.total_epochs(spec) == 1
    curve = train.record(spec)["curve"]
    assert [row["lam"] for row in curve] == spec["params"]["l1_lambdas"]
    assert all(row["seconds"] > 0 for row in curve)
