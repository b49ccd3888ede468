import h5py
import numpy as np
import pytest
import torch

from mrirobust.data import cmrxrecon
from mrirobust.data.cmrxrecon import (
    check_acs,
    list_patients,
    mapping_dir,
    read_kspace,
    read_mask,
    read_scan,
    read_times,
    write_mat,
    write_times,
)

SLICES, COILS, KY, KX = 2, 3, 16, 12


def kspace_h5(frames, seed=0):
    """Random k-space in h5py order (weighting, slice, coil, ky, kx)."""
    rng = np.random.default_rng(seed)
    shape = (frames, SLICES, COILS, KY, KX)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def line_mask(acceleration, acs=4):
    mask = np.zeros(KY, dtype=bool)
    mask[::acceleration] = True
    mask[KY // 2 - acs // 2 : KY // 2 + acs // 2] = True
    return mask


@pytest.fixture
def root(tmp_path):
    """One TrainingSet patient, T1map and T2map, FullSample and AccFactor04."""
    for modality, frames in cmrxrecon.MODALITIES.items():
        full = kspace_h5(frames)
        times = np.arange(SLICES * frames).reshape(SLICES, frames) * 10.0
        if modality == "T2map":
            times = np.tile([0.0, 35.0, 55.0], (SLICES, 1))
        folder = mapping_dir(tmp_path, "TrainingSet") / "P001"
        write_mat(folder / f"{modality}.mat", "kspace_full", full)
        write_times(folder / f"{modality}.csv", times)
        mask = line_mask(4)
        folder = mapping_dir(tmp_path, "TrainingSet", 4) / "P001"
        write_mat(folder / f"{modality}.mat", "kspace_sub04", full * mask[:, None])
        write_mat(folder / f"{modality}_mask.mat", "mask04", np.repeat(mask[:, None], KX, 1))
        write_times(folder / f"{modality}.csv", times)
    return tmp_path


def test_reads_kspace_written_by_plain_h5py_in_matlab_v73_layout(tmp_path):
    """Independent of our writer: a compound real/imag dataset as MATLAB stores it."""
    data = kspace_h5(9)
    raw = np.empty(data.shape, cmrxrecon.COMPLEX_DTYPE)
    raw["real"], raw["imag"] = data.real, data.imag
    path = tmp_path / "T1map.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["kspace_full"] = raw
    np.testing.assert_array_equal(read_kspace(path, "kspace_full"), data)


def test_writer_makes_a_matlab_73_file_with_sparse_unsampled_lines(tmp_path):
    full = kspace_h5(9)
    mask = line_mask(4)
    write_mat(tmp_path / "full" / "T1map.mat", "kspace_full", full)
    write_mat(tmp_path / "sub" / "T1map.mat", "kspace_sub04", full * mask[:, None])
    header = (tmp_path / "full" / "T1map.mat").read_bytes()[:128]
    assert header.startswith(b"MATLAB 7.3 MAT-file") and header[-2:] == b"IM"
    with h5py.File(tmp_path / "sub" / "T1map.mat") as f:
        assert f["kspace_sub04"].attrs["MATLAB_class"] == b"single"
        stored = f["kspace_sub04"].id.get_storage_size()
    assert stored == pytest.approx(full.nbytes * mask.mean())
    sub = read_kspace(tmp_path / "sub" / "T1map.mat", "kspace_sub04")
    np.testing.assert_array_equal(sub, full * mask[:, None])
    assert not list(tmp_path.rglob("*.tmp"))


def test_read_scan_returns_the_project_convention(root):
    scan = read_scan(root, "TrainingSet", "P001", "T1map", acceleration=4)
    full = kspace_h5(9)
    assert scan.kspace.shape == (SLICES, 9, COILS, KX, KY)  # (slices, w, coils, H=kx, W=ky)
    assert scan.kspace.dtype == torch.complex64
    expected = (full * line_mask(4)[:, None]).transpose(1, 0, 2, 4, 3)
    np.testing.assert_array_equal(scan.kspace.numpy(), expected)
    assert scan.mask.tolist() == line_mask(4).tolist()
    assert scan.acs_lines == 4
    assert scan.times_ms.shape == (SLICES, 9)
    assert scan.times_ms[1, 0] == 90.0
    t2 = read_scan(root, "TrainingSet", "P001", "T2map")
    assert t2.mask is None and t2.times_ms.tolist() == [[0, 35, 55]] * SLICES
    assert list_patients(root, "TrainingSet") == ["P001"]


def test_one_slice_is_read_alone(root):
    whole = read_scan(root, "TrainingSet", "P001", "T1map", acceleration=4)
    one = read_scan(root, "TrainingSet", "P001", "T1map", acceleration=4, index=1)
    assert one.kspace.shape == (1, 9, COILS, KX, KY)
    assert torch.equal(one.kspace[0], whole.kspace[1])
    assert torch.equal(one.times_ms[0], whole.times_ms[1])
    path = mapping_dir(root, "TrainingSet") / "P001" / "T1map.mat"
    assert cmrxrecon.kspace_shape(path, "kspace_full") == (9, SLICES, COILS, KY, KX)
    with pytest.raises(IndexError, match=r"T1map.mat: slice 2 .* valid: 0..1"):
        read_kspace(path, "kspace_full", SLICES)


def test_acs_width_is_inferred_not_assumed():
    assert check_acs(line_mask(8, acs=6)) == 6
    assert check_acs(line_mask(8, acs=10)) == 10
    with pytest.raises(ValueError, match="no ACS block"):
        check_acs(line_mask(4, acs=0))


def test_times_tolerate_blank_rows_and_trailing_columns(tmp_path):
    path = tmp_path / "T1map.csv"
    rows = ["Name,Slice1,Slice2,,"] + [f"TI{i + 1},{100 * i},{100 * i + 5},,," for i in range(9)]
    path.write_text("\n".join(rows[:4] + [",,,"] + rows[4:]) + "\n\n")
    times = read_times(path, 2)
    assert times.shape == (2, 9) and times[1, 3] == 305.0
    t2 = tmp_path / "T2map.csv"
    t2.write_text(",TE\nTE1,0\nTE2,35\nTE3,55\n")
    assert read_times(t2, 3).tolist() == [[0, 35, 55]] * 3


def test_bad_times_name_the_file(tmp_path):
    path = tmp_path / "T1map.csv"
    path.write_text(",Slice1\n" + "".join(f"TI{i},{i}\n" for i in range(8)))
    with pytest.raises(ValueError, match=r"T1map.csv: 8 timing row\(s\).*expected 9"):
        read_times(path, 1)
    path.write_text(",S1,S2,S3\n" + "".join(f"TI{i},{i},{i}\n" for i in range(9)))
    with pytest.raises(ValueError, match="T1map.csv: row 2 .* 2 value"):
        read_times(path, 3)
    path.write_text(",S1,S2\n" + "".join(f"TI{i},{i},x\n" for i in range(9)))
    with pytest.raises(ValueError, match="T1map.csv: row 2"):
        read_times(path, 2)
    with pytest.raises(FileNotFoundError, match="T2map.csv"):
        read_times(tmp_path / "T2map.csv", 2)


def test_wrong_variable_axis_order_and_dtype_name_the_file(tmp_path):
    path = tmp_path / "T1map.mat"
    write_mat(path, "kspace_full", kspace_h5(9))
    with pytest.raises(
        KeyError, match=r"T1map.mat: variable 'kspace_sub04' not found.*kspace_full"
    ):
        read_kspace(path, "kspace_sub04")
    write_mat(path, "kspace_full", kspace_h5(9).transpose(4, 3, 2, 1, 0))
    with pytest.raises(ValueError, match="MATLAB order"):
        read_kspace(path, "kspace_full")
    with h5py.File(path, "w") as f:
        f["kspace_full"] = np.abs(kspace_h5(9))
    with pytest.raises(ValueError, match="T1map.mat: variable 'kspace_full' has dtype float32"):
        read_kspace(path, "kspace_full")
    (tmp_path / "T2map.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(ValueError, match="T2map.mat: not a MATLAB v7.3"):
        read_kspace(tmp_path / "T2map.mat", "kspace_full")


def test_bad_masks_name_the_file_and_patient(root):
    folder = mapping_dir(root, "TrainingSet", 4) / "P001"
    write_mat(folder / "T1map_mask.mat", "mask04", np.repeat(line_mask(4, 0)[:, None], KX, 1))
    with pytest.raises(ValueError, match="T1map_mask.mat: variable 'mask04': no ACS block"):
        read_scan(root, "TrainingSet", "P001", "T1map", 4)
    write_mat(folder / "T1map_mask.mat", "mask04", np.repeat(line_mask(4)[None], KY, 0)[:, :KX])
    with pytest.raises(ValueError, match="not constant along kx"):
        read_mask(folder / "T1map_mask.mat", 4)
    (folder / "T2map_mask.mat").unlink()
    with pytest.raises(FileNotFoundError, match="patient P001 has no mask file T2map_mask.mat"):
        read_scan(root, "TrainingSet", "P001", "T2map", 4)
    with pytest.raises(FileNotFoundError, match="P002"):
        read_scan(root, "TrainingSet", "P002", "T2map", 4)
    with pytest.raises(ValueError, match="valid: T1map, T2map"):
        read_scan(root, "TrainingSet", "P001", "T3map", 4)
