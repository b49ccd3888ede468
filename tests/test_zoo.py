import json
import os
import subprocess
import sys
import time

import pytest
import torch

from mrirobust import evaluation, models, papers, paths, zoo
from mrirobust.papers.huang_liang import networks as hl_networks
from mrirobust.papers.huang_liang import profile as hl_profile
from mrirobust.training import adversarial, checkpoints, datasets, loop, recipes


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


@pytest.mark.parametrize(
    "kind, budget, name",
    [  # Huang & Liang's min-max models since early stopping holds out 1,000 training slices
        ("standard", 0, "unet_minmax_standard-paper-4x-singlecoil_budget0-ec3b11455a03.pt"),
        ("image", 1e3, "unet_minmax_image-paper-4x-singlecoil_budget1000-cad3cde90f86.pt"),
        ("kspace", 0.02, "unet_minmax_kspace-paper-4x-singlecoil_budget0.02-5f9d229c8cf9.pt"),
    ],
)
def test_minmax_checkpoint_names_hash_the_spec(kind, budget, name):
    """As above, for the min-max U-Nets of Huang & Liang's paper profile."""
    p = hl_profile.TRAIN.resolve("paper")
    spec = hl_networks.spec(kind, "paper", budget, {k: p[k] for k in adversarial.PARAMS})
    assert checkpoints.Checkpoint(spec.asdict(), "f" * 16).path.name == name


def test_minmax_models_come_from_the_zoo_like_the_others(checkpoint_dir):
    p = hl_profile.TRAIN.resolve("smoke", {"epochs": 1})
    spec = hl_networks.spec("image", "smoke", 40.0, {k: p[k] for k in adversarial.PARAMS})
    model = zoo.get(spec)
    assert isinstance(model, models.UNetRecon) and not model.training
    assert zoo.epochs_done(spec) == 1 and zoo.total_epochs(spec) == 1
    recon, gen, state = zoo.get_networks(spec)
    assert gen is not None and not gen.training and state["finished"]
    with pytest.raises(ValueError, match="not a min-max method"):
        zoo.get_networks(models.spec("unet", "smoke"))
    with pytest.raises(ValueError, match="huang_liang.networks.spec"):
        models.spec("unet_minmax_image", "smoke")


def test_an_early_stopped_minmax_checkpoint_is_complete():
    minmax, supervised = recipes.RECIPES["unet_minmax_image"], recipes.RECIPES["unet"]
    stopped = {"stopped_on": [["file1.h5", 3]]}
    assert minmax.done({"epochs": 5}, {"epoch": 3, "finished": True, **stopped})
    assert not minmax.done({"epochs": 5}, {"epoch": 3, "finished": False, **stopped})
    # stopped early on validation slices (before the held-out training slices): train anew
    assert not minmax.done({"epochs": 5}, {"epoch": 3, "finished": True})
    assert not supervised.done({"epochs": 5}, {"epoch": 3})


def _batch():
    kspace, mask, _, _ = evaluation.validation_data("smoke", 4, 1)[0]
    return kspace[None], mask[None]


_TRAIN_WITH_SGD = """
import torch
from mrirobust import models, zoo
from mrirobust.training import recipes
recipes.RECIPES["unet"] = recipes.Supervised(
    optimiser=lambda parameters, p: torch.optim.SGD(parameters, lr=p["unet_lr"]),
    loss=recipes.RECIPES["unet"].loss,
)
zoo.train(models.spec("unet", "smoke"))
"""


def test_ddp_on_two_processes_gives_the_weights_of_one_process(checkpoint_dir, tmp_path):
    """torchrun with 2 gloo processes takes half of every global batch each and averages the
    gradients: after training (2 epochs) the weights equal those of one process with the same
    global batch, within float tolerance. With SGD: RMSprop and Adam take steps of about ±lr
    wherever a gradient is near zero, so their float noise would not stay within tolerance."""
    script = tmp_path / "train_sgd.py"
    script.write_text(_TRAIN_WITH_SGD)
    env = {**os.environ, "MRIROBUST_CHECKPOINTS": str(checkpoint_dir / "ddp")}
    env["OMP_NUM_THREADS"] = "1"
    weights = {}
    for name, launcher in (
        ("ddp", [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]),
        ("one", [sys.executable]),
    ):
        env["MRIROBUST_CHECKPOINTS"] = str(checkpoint_dir / name)
        done = subprocess.run(
            [*launcher, str(script)],
            env=env,
            cwd=paths.project_root(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        (path,) = (checkpoint_dir / name).glob("unet-smoke-*.pt")
        state = torch.load(path, weights_only=True)
        assert state["epoch"] == 2
        weights[name] = state["model"]
    for key, value in weights["one"].items():
        torch.testing.assert_close(weights["ddp"][key], value, rtol=1e-4, atol=1e-6)


def test_a_global_batch_that_does_not_divide_among_the_processes_is_refused():
    dataset = evaluation.validation_data("smoke", 4, 4)
    with pytest.raises(ValueError, match="global batch_size 3 does not divide among 2"):
        datasets.ShuffledShapeBatches(dataset, 3, seed=0, world=2, rank=0)


_TRAIN_AND_REPORT = """
import sys, time
from pathlib import Path
from mrirobust import models, zoo
from mrirobust.training import recipes
marker, hold = Path(sys.argv[1]), float(sys.argv[2])
fit = recipes.Supervised.fit
def announced_fit(self, *args):
    marker.touch()
    time.sleep(hold)  # keeps the checkpoint locked while the other process asks for it
    print("trained here", flush=True)
    fit(self, *args)
recipes.Supervised.fit = announced_fit
zoo.train(models.spec("unet", "smoke"))
"""


def test_two_processes_asking_for_a_missing_checkpoint_train_it_once(checkpoint_dir, tmp_path):
    env = {**os.environ, "MRIROBUST_CHECKPOINTS": str(checkpoint_dir)}
    marker = tmp_path / "training-started"
    command = [sys.executable, "-c", _TRAIN_AND_REPORT]
    first = subprocess.Popen(
        [*command, str(marker), "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):  # the first process holds the lock and is training
        if marker.exists() or first.poll() is not None:
            break
        time.sleep(0.1)
    assert marker.exists(), first.communicate()[1][-2000:]
    second = subprocess.run(
        [*command, str(tmp_path / "second"), "0"], env=env, capture_output=True, text=True
    )
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, err[-2000:] + second.stderr[-2000:]
    assert out.count("trained here") == 1 and "trained here" not in second.stdout
    assert "being trained by another process: waiting" in second.stderr
    assert len(list(checkpoint_dir.glob("unet-smoke-*.pt"))) == 1


def test_data_fingerprint_changes_with_contents_not_only_shapes(tmp_path):
    """Regenerated data of the same shapes (e.g. another SNR) must not reuse old checkpoints:
    embedded files are identified by the manifest's sha256, other files by size and sampled
    contents; a copy of the data elsewhere keeps the fingerprint."""

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
    os.utime(volume, ns=(1, 1))  # touched, or copied without its times: the same data
    assert checkpoints.data_fingerprint(slices) == plain
    copy = tmp_path / "scratch" / "knee" / "multicoil_train" / "a.h5"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(volume.read_bytes())
    assert checkpoints.data_fingerprint([(copy, 0), (copy, 1)]) == plain
    volume.write_bytes(b"1" * 64)  # rewritten with other contents of the same size
    assert checkpoints.data_fingerprint(slices) != plain


def test_l1_search_records_its_time_and_counts_as_one_epoch(checkpoint_dir):
    spec = models.spec("l1", "smoke")
    assert zoo.epochs_done(spec) == 0
    zoo.train(spec)
    assert zoo.epochs_done(spec) == zoo.total_epochs(spec) == 1
    curve = checkpoints.locate(spec).sidecar()["curve"]
    assert [row["lam"] for row in curve] == spec.params["l1_lambdas"]
    assert all(row["seconds"] > 0 for row in curve)
