import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from mrirobust import paths, regions
from mrirobust.data import brain_phantom, embedded, ensure_embedded, knee_phantom, list_slices
from mrirobust.data.embedded import boxes_from_masks, is_complete, make_volume, volume_plan
from mrirobust.data.fastmri_io import num_slices, read_slice
from mrirobust.scales import resolve

SMOKE = resolve("smoke", "data")


def box_contrast(image, lesion_image, box, target):
    """Mean |difference| inside and the max |difference| outside the box, on the target crop."""
    inside = regions.box_mask(list(box), target)[0].numpy()
    crop = embedded._crop(np.abs(lesion_image - image), target)
    return crop[inside].mean(), crop[~inside].max()


@pytest.mark.parametrize("kind", sorted(knee_phantom.LESION_LABELS))
def test_knee_lesion_lies_in_its_box(kind):
    subject = knee_phantom.draw_knee_subject(np.random.default_rng(1))
    j, g, ct = subject.joint, subject.gap, subject.cartilage
    center = {
        "meniscus_tear": (-0.36, j + g / 2),
        "bone_edema": (0.2, j + g + 0.12),
        "cartilage_partial": (0.22, j + ct / 2),
        "cartilage_full": (0.22, j + ct / 2),
        "acl_low": (0.0, j),
        "acl_high": (0.0, j),
    }[kind]
    lesion = knee_phantom.Lesion(kind, (*center, -0.05), 0.1, 0.2)
    shape, target = (256, 140), (128, 128)
    plain, none = knee_phantom.knee_slice(subject, -0.05, shape, target, "CORPDFS_FBK", [], seed=3)
    sick, visible = knee_phantom.knee_slice(
        subject, -0.05, shape, target, "CORPDFS_FBK", [lesion], seed=3
    )
    assert none == [] and [label for label, _ in visible] == [knee_phantom.LESION_LABELS[kind]]
    (box,) = boxes_from_masks(visible, target, min_box=7)
    assert box[2] >= 7 and box[3] >= 7 and box[4] == knee_phantom.LESION_LABELS[kind]
    inside, outside = box_contrast(plain, sick, box[:4], target)
    assert inside > 0.02 and outside == 0.0
    # a plane that misses the lesion shows no box
    _, missed = knee_phantom.knee_slice(subject, 0.5, shape, target, "CORPD_FBK", [lesion], seed=3)
    assert missed == []


def test_brain_lesion_lies_in_its_box():
    subject = brain_phantom.draw_brain_subject(np.random.default_rng(2))
    (lesion,) = brain_phantom.draw_brain_lesions(np.random.default_rng(5), 1)
    z = lesion.center[2]
    shape, target = (128, 72), (64, 64)
    plain, _ = brain_phantom.brain_slice(subject, z, shape, target, "AXFLAIR")
    sick, visible = brain_phantom.brain_slice(subject, z, shape, target, "AXFLAIR", [lesion])
    (box,) = boxes_from_masks(visible, target, min_box=4)
    inside, outside = box_contrast(plain, sick, box[:4], target)
    assert inside > 0.05
    # the soft rim may reach at most a pixel or two beyond the core's box
    grown = (box[0] - 2, box[1] - 2, box[2] + 4, box[3] + 4)
    assert box_contrast(plain, sick, grown, target)[1] == 0.0
    assert outside < inside


def test_volume_is_deterministic_and_in_fastmri_layout():
    plan = volume_plan(SMOKE, "knee", "val", 0)
    k1, t1, h1, a1, r1 = make_volume(SMOKE, plan)
    k2, t2, h2, a2, r2 = make_volume(SMOKE, plan)
    assert k1.tobytes() == k2.tobytes() and t1.tobytes() == t2.tobytes()
    assert (h1, a1, r1) == (h2, a2, r2)
    assert k1.dtype == np.complex64 and k1.shape == (4, 4, 128, 72)
    assert t1.dtype == np.float32 and t1.shape == (4, 64, 64)
    assert a1["max"] == pytest.approx(float(t1.max()))
    other = volume_plan({**SMOKE, "seed": 1}, "knee", "val", 0)
    assert make_volume({**SMOKE, "seed": 1}, other)[0].tobytes() != k1.tobytes()


def test_noise_level_matches_the_documented_snr():
    plan = volume_plan(SMOKE, "knee", "val", 1)
    kspace, _, _, attrs, _ = make_volume(SMOKE, plan)
    clean, clean_target = make_volume({**SMOKE, "snr_knee": 1e12}, {**plan, "snr": 1e12})[:2]
    pad = SMOKE["padding_columns"]
    assert not kspace[..., :pad].any() and not kspace[..., -pad:].any()
    noise = (kspace - clean)[..., pad:-pad]
    assert np.std(noise.real) == pytest.approx(attrs["noise_std"], rel=0.02)
    assert np.std(noise.imag) == pytest.approx(attrs["noise_std"], rel=0.02)
    # sigma = mean foreground signal / snr; the noiseless target's foreground mean recovers it
    foreground = clean_target[clean_target > 0.1 * clean_target.max()]
    assert foreground.mean() / attrs["noise_std"] == pytest.approx(SMOKE["snr_knee"], rel=0.1)


def test_val_knees_mostly_carry_boxes(smoke_root):
    from mrirobust.data import scale_annotations, split_dir

    df = scale_annotations("smoke", "knee")
    slices = list_slices(split_dir("smoke", "knee", "val"))
    boxed = {(f, s) for f, s in zip(df["file"], df["slice"], strict=True)}
    assert sum((p.stem, i) in boxed for p, i in slices) >= 0.5 * len(slices)


def test_ensure_embedded_regenerates_incomplete_data(tmp_path, monkeypatch, smoke_root):
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path))
    assert not is_complete("smoke")
    root = ensure_embedded("smoke", progress=False)
    assert root == tmp_path / "embedded" / "smoke" and is_complete("smoke")
    manifest = json.loads((root / "manifest.json").read_text())
    reference = json.loads((smoke_root / "manifest.json").read_text())
    # the same seed gives byte-identical files in another place and at another time
    assert {k: v["sha256"] for k, v in manifest["files"].items()} == {
        k: v["sha256"] for k, v in reference["files"].items()
    }
    assert manifest["parameters"] == resolve("smoke", "data")
    victim = root / "knee" / "multicoil_val" / "file_knee_val001.h5"
    victim.unlink()
    (root / "knee" / "multicoil_val" / "file_knee_val001.h5.123.tmp").write_bytes(b"half")
    assert not is_complete("smoke")
    ensure_embedded("smoke", progress=False)
    assert victim.is_file() and is_complete("smoke")
    assert len(list_slices(root / "knee" / "multicoil_val")) == 2 * SMOKE["slices_per_volume"]


def test_paper_scale_points_at_real_data(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTMRI_ROOT", str(tmp_path))
    assert ensure_embedded("paper") == tmp_path
    from mrirobust.data import split_dir

    assert split_dir("paper", "brain", "train") == tmp_path / "brain" / "multicoil_train"


def test_cli_reports_complete_data(smoke_root, capsys):
    from mrirobust.__main__ import main

    assert main(["data", "--scale", "smoke"]) == 0
    assert "is complete" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["data", "--scale", "paper"])  # the real data are never generated


TINY = {  # five volumes of two slices: a whole dataset in about a second
    "slices_per_volume": 2,
    "knee_train_volumes": 1,
    "knee_val_volumes": 1,
    "brain_train_volumes": 1,
    "brain_val_volumes": 1,
    "knee_shifted_val_volumes": 1,
}


def _leftovers(root):
    """The temporary files under `root`, after reading every slice of every final file (a
    partial final file raises)."""
    for path in root.rglob("*.h5"):
        for index in range(num_slices(path)):
            read_slice(path, index)
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" in p.name]


def test_generation_failing_midway_leaves_no_partial_file_and_the_next_run_completes(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path))
    root = embedded.generate("smoke", TINY, progress=False)
    assert is_complete("smoke", TINY)
    written = h5py.Group.create_dataset
    calls = []

    def fail_in_the_third_file(self, name, *args, **kwargs):
        calls.append(name)
        if name == "ismrmrd_header" and calls.count(name) == 3:
            raise OSError("disk full (simulated)")
        return written(self, name, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(h5py.Group, "create_dataset", fail_in_the_third_file)
        with pytest.raises(OSError, match="simulated"):
            embedded.generate("smoke", TINY, progress=False)
    assert _leftovers(root) == []
    assert not (root / "manifest.json").exists() and not is_complete("smoke", TINY)
    embedded.generate("smoke", TINY, progress=False)
    assert is_complete("smoke", TINY) and _leftovers(root) == []


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MRIROBUST_DATA", str(tmp_path))
    root = tmp_path / "embedded" / "smoke"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = root / "knee" / "multicoil_val" / f"file_knee_val000.h5.{dead.stdout.strip()}.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\x89HDF half a file")
    embedded.generate("smoke", TINY, progress=False)
    assert not stale.exists() and _leftovers(root) == []
    assert is_complete("smoke", TINY)


@pytest.mark.slow
def test_sigterm_stops_the_data_command_without_partial_files(tmp_path):
    lib = [str(paths.project_root() / "lib"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "MRIROBUST_DATA": str(tmp_path), "PYTHONPATH": os.pathsep.join(lib)}
    command = [sys.executable, "-m", "mrirobust", "data", "--scale", "smoke"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    root = tmp_path / "embedded" / "smoke"
    deadline = time.monotonic() + 60
    while not list(root.rglob("*.h5")) and process.poll() is None:
        assert time.monotonic() < deadline, "the data command wrote no file in 60 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert _leftovers(root) == []
    assert not (root / "manifest.json").exists()
