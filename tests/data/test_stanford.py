"""The Stanford (mridata ISMRMRD) -> fastMRI converter on a small volume the test writes."""

import h5py
import numpy as np
import pytest
import torch

from mrirobust import physics
from mrirobust.data import read_slice
from mrirobust.data.fastmri_io import ISMRMRD_NS
from mrirobust.data.stanford import convert

COILS, X, Y, Z = 3, 12, 10, 6

HEAD = np.dtype(
    [
        ("version", "<u2"),
        ("flags", "<u8"),
        ("number_of_samples", "<u2"),
        ("available_channels", "<u2"),
        ("active_channels", "<u2"),
        (
            "idx",
            [("kspace_encode_step_1", "<u2"), ("kspace_encode_step_2", "<u2"), ("slice", "<u2")],
        ),
    ]
)
ACQUISITION = np.dtype(
    [("head", HEAD), ("traj", h5py.vlen_dtype(np.float32)), ("data", h5py.vlen_dtype(np.float32))]
)


def _xml(centre_y=Y // 2, centre_z=Z // 2):
    limits = "".join(
        f"<{step}><minimum>0</minimum><maximum>{n - 1}</maximum><center>{c}</center></{step}>"
        for step, n, c in (
            ("kspace_encoding_step_1", Y, centre_y),
            ("kspace_encoding_step_2", Z, centre_z),
        )
    )
    return (
        f'<?xml version="1.0"?><ismrmrdHeader xmlns="{ISMRMRD_NS}">'
        "<measurementInformation><protocolName>3D FSE knee</protocolName>"
        "</measurementInformation><encoding><encodedSpace><matrixSize>"
        f"<x>{X}</x><y>{Y}</y><z>{Z}</z></matrixSize></encodedSpace>"
        f"<encodingLimits>{limits}</encodingLimits></encoding></ismrmrdHeader>"
    )


def _volume(seed=0):
    """Coil images (coils, x, y, z) and their centred 3-D k-space."""
    rng = np.random.default_rng(seed)
    images = (rng.normal(size=(COILS, X, Y, Z)) + 1j * rng.normal(size=(COILS, X, Y, Z))).astype(
        np.complex64
    )
    axes = (1, 2, 3)
    k = np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(images, axes), axes=axes, norm="ortho"), axes)
    return images, k.astype(np.complex64)


def write_ismrmrd(path, kspace, drop=(), xml=None):
    """One acquisition per (ky, kz) line in shuffled order, plus a noise scan first."""
    lines = [(y, z) for y in range(Y) for z in range(Z) if (y, z) not in drop]
    order = np.random.default_rng(1).permutation(len(lines))
    rows = np.zeros(len(lines) + 1, dtype=ACQUISITION)
    rows[0]["head"]["flags"] = 1 << 18  # ACQ_IS_NOISE_MEASUREMENT
    rows[0]["head"]["number_of_samples"], rows[0]["head"]["active_channels"] = 4, COILS
    rows[0]["data"] = np.ones(2 * COILS * 4, dtype=np.float32)
    rows[0]["traj"] = np.zeros(0, dtype=np.float32)
    for row, i in zip(rows[1:], order, strict=True):
        y, z = lines[i]
        row["head"]["number_of_samples"], row["head"]["active_channels"] = X, COILS
        row["head"]["idx"]["kspace_encode_step_1"] = y
        row["head"]["idx"]["kspace_encode_step_2"] = z
        row["data"] = np.ascontiguousarray(kspace[:, :, y, z]).view(np.float32).ravel()
        row["traj"] = np.zeros(0, dtype=np.float32)
    with h5py.File(path, "w") as hf:
        hf.create_dataset("dataset/data", data=rows)
        hf.create_dataset("dataset/xml", data=[xml or _xml()], dtype=h5py.string_dtype())


def test_slices_are_the_2d_fft_of_the_volume_along_kz(tmp_path):
    images, kspace = _volume()
    write_ismrmrd(tmp_path / "knee.h5", kspace)
    out = convert(tmp_path / "knee.h5", tmp_path / "fastmri" / "knee.h5", target_size=(8, 8))
    for s in (0, 3, Z - 1):
        sl = read_slice(out, s)
        expected = physics.fft2c(torch.from_numpy(images[..., s]))
        torch.testing.assert_close(sl.kspace, expected, rtol=1e-4, atol=1e-4)
        rss = np.sqrt((np.abs(images[..., s]) ** 2).sum(0))[2:10, 1:9]
        np.testing.assert_allclose(sl.target.numpy(), rss, rtol=1e-4)
        assert sl.acquired == (0, Y - 1)  # every column measured
    assert sl.attrs["acquisition"] == "3D FSE knee" and sl.attrs["patient_id"] == "knee"
    with h5py.File(out) as hf:
        assert sl.attrs["max"] == pytest.approx(float(hf["reconstruction_rss"][()].max()))
    assert not list((tmp_path / "fastmri").glob("*.tmp"))


def test_slices_can_be_picked(tmp_path):
    images, kspace = _volume(seed=2)
    write_ismrmrd(tmp_path / "knee.h5", kspace)
    out = convert(tmp_path / "knee.h5", tmp_path / "out.h5", slices=[2], target_size=(8, 8))
    sl = read_slice(out, 0)
    with pytest.raises(IndexError, match="valid 0..0"):
        read_slice(out, 1)
    expected = physics.fft2c(torch.from_numpy(images[..., 2]))
    torch.testing.assert_close(sl.kspace, expected, rtol=1e-4, atol=1e-4)


def test_bad_input_gives_clear_errors(tmp_path):
    _, kspace = _volume()
    write_ismrmrd(tmp_path / "holes.h5", kspace, drop={(3, 2), (4, 4)})
    with pytest.raises(ValueError, match="2 of 60 .ky, kz. lines are missing"):
        convert(tmp_path / "holes.h5", tmp_path / "out.h5", target_size=(8, 8))
    assert not (tmp_path / "out.h5").exists()
    write_ismrmrd(tmp_path / "shifted.h5", kspace, xml=_xml(centre_y=Y // 2 - 1))
    with pytest.raises(
        ValueError, match=r"ky 10, kz \d \(after centring\) leaves the encoded matrix 10 x 6"
    ):
        convert(tmp_path / "shifted.h5", tmp_path / "out.h5", target_size=(8, 8))
    write_ismrmrd(tmp_path / "ok.h5", kspace)
    with pytest.raises(ValueError, match=r"slices must be a non-empty list of indices in \[0, 5\]"):
        convert(tmp_path / "ok.h5", tmp_path / "out.h5", slices=[6], target_size=(8, 8))
    with pytest.raises(ValueError, match=r"target_size \(320, 320\) exceeds the image 12 x 10"):
        convert(tmp_path / "ok.h5", tmp_path / "out.h5")
    with h5py.File(tmp_path / "other.h5", "w") as hf:
        hf["kspace"] = np.zeros(3)
    with pytest.raises(KeyError, match="'dataset/xml' is missing"):
        convert(tmp_path / "other.h5", tmp_path / "out.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        convert(tmp_path / "none.h5", tmp_path / "out.h5")


def test_command_line_converts_each_file(tmp_path, capsys):
    from mrirobust.__main__ import main

    _, kspace = _volume()
    write_ismrmrd(tmp_path / "a.h5", kspace)
    write_ismrmrd(tmp_path / "b.h5", kspace)
    sources = [str(tmp_path / "a.h5"), str(tmp_path / "b.h5")]
    assert (
        main(
            ["stanford", *sources, "--out", str(tmp_path / "out"), "--slices", "1", "2"]
            + ["--target-size", "6", "6"]
        )
        == 0
    )
    assert "b.h5" in capsys.readouterr().out
    assert read_slice(tmp_path / "out" / "b.h5", 1).target.shape == (6, 6)
    with pytest.raises(ValueError, match="would overwrite its source"):
        main(["stanford", sources[0], "--out", str(tmp_path), "--target-size", "6", "6"])
    with pytest.raises(ValueError, match="target_size"):  # fastMRI's 320 x 320 by default
        main(["stanford", str(tmp_path / "a.h5"), "--out", str(tmp_path / "out")])
