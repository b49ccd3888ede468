import h5py
import numpy as np
import pytest
import torch
from fastmri.data import SliceDataset
from fastmri.data.subsample import RandomMaskFunc
from fastmri.data.transforms import VarNetDataTransform

from mrirobust import physics
from mrirobust.data import list_slices, read_slice, split_dir
from mrirobust.data.fastmri_io import acquisition, header_xml, num_slices, parse_header

# a header as in the real fastMRI knee files: 640 x 368 encoded, 320 x 320 recon
REAL_LIKE = (
    '<?xml version="1.0"?><ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD"><encoding>'
    "<encodedSpace><matrixSize><x>640</x><y>368</y><z>1</z></matrixSize></encodedSpace>"
    "<reconSpace><matrixSize><x>320</x><y>320</y><z>1</z></matrixSize></reconSpace>"
    "<encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>332</maximum>"
    "<center>166</center></kspace_encoding_step_1></encodingLimits></encoding></ismrmrdHeader>"
)


def write_file(path, slices=3, coils=2, H=16, W=12, singlecoil=False, **overrides):
    """A small file written by hand in the fastMRI format (acquired columns 1..10)."""
    rng = np.random.default_rng(0)
    shape = (slices, H, W) if singlecoil else (slices, coils, H, W)
    kspace = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    data = {
        "kspace": kspace,
        "reconstruction_esc" if singlecoil else "reconstruction_rss": rng.random(
            (slices, 8, 8), dtype=np.float32
        ),
        # written by hand, not by our header_xml: padding_left = 12 // 2 - 5 = 1, last = 1 + 9
        "ismrmrd_header": REAL_LIKE.replace("640", str(H))
        .replace("368", str(W))
        .replace("320", "8")
        .replace("<maximum>332", "<maximum>9")
        .replace("<center>166", f"<center>{W // 2 - 1}"),
    }
    data.update(overrides)
    with h5py.File(path, "w") as hf:
        for key, value in data.items():
            if value is not None:
                hf.create_dataset(key, data=value)
        hf.attrs.update(acquisition="CORPD_FBK", max=1.0, norm=2.0, patient_id="abc")
    return data


def test_header_xml_round_trip():
    header = parse_header(header_xml((128, 72, 1), (64, 64, 1), center=32, maximum=63))
    assert header.encoding_size == (128, 72, 1) and header.recon_size == (64, 64, 1)
    assert header.acquired == (4, 67)


def test_parse_header_matches_fastmri_padding():
    header = parse_header(REAL_LIKE)
    assert header.encoding_size == (640, 368, 1)
    assert header.recon_size == (320, 320, 1)
    # padding_left = 368 // 2 - 166 = 18, padding_right = 18 + 332 + 1 = 351
    assert header.acquired == (18, 350)


def test_read_hand_written_multicoil(tmp_path):
    data = write_file(tmp_path / "file1.h5")
    s = read_slice(tmp_path / "file1.h5", 2)
    assert s.kspace.dtype == torch.complex64 and s.kspace.shape == (2, 16, 12)
    assert torch.equal(s.kspace, torch.from_numpy(data["kspace"][2]))
    assert s.target.dtype == torch.float32
    assert torch.equal(s.target, torch.from_numpy(data["reconstruction_rss"][2]))
    assert s.acquired == (1, 10)
    assert (s.fname, s.index) == ("file1", 2)
    assert s.attrs["acquisition"] == "CORPD_FBK" and s.attrs["patient_id"] == "abc"
    assert s.attrs["max"] == 1.0 and s.attrs["recon_size"] == (8, 8, 1)
    assert (
        acquisition(tmp_path / "file1.h5") == "CORPD_FBK" and num_slices(tmp_path / "file1.h5") == 3
    )
    with h5py.File(tmp_path / "file1.h5", "a") as hf:
        del hf.attrs["acquisition"]
    assert acquisition(tmp_path / "file1.h5") == ""


def test_read_singlecoil_adds_coil_axis_and_takes_the_esc_target(tmp_path):
    # real single-coil files hold reconstruction_rss as well: the target is still the ESC
    rss = np.full((3, 8, 8), 7.0, np.float32)
    data = write_file(tmp_path / "single.h5", singlecoil=True, reconstruction_rss=rss)
    s = read_slice(tmp_path / "single.h5", 0)
    assert s.kspace.shape == (1, 16, 12)
    assert torch.equal(s.target, torch.from_numpy(data["reconstruction_esc"][0]))
    with pytest.raises(KeyError, match="single2.h5: no target dataset 'reconstruction_esc'"):
        write_file(tmp_path / "single2.h5", singlecoil=True, reconstruction_esc=None)
        read_slice(tmp_path / "single2.h5", 0)


@pytest.mark.parametrize(
    "overrides, error, words",
    [
        ({"kspace": None}, KeyError, "'kspace' is missing"),
        ({"reconstruction_rss": None}, KeyError, "no target dataset"),
        ({"ismrmrd_header": None}, KeyError, "'ismrmrd_header' is missing"),
        ({"kspace": np.zeros((3, 2, 16, 12), np.float32)}, ValueError, "must be complex"),
        ({"reconstruction_rss": np.zeros((2, 8, 8), np.float32)}, ValueError, "3 slices"),
        ({"ismrmrd_header": b"<not xml"}, ValueError, "ISMRMRD header"),
    ],
)
def test_bad_files_name_file_and_key(tmp_path, overrides, error, words):
    write_file(tmp_path / "bad.h5", **overrides)
    with pytest.raises(error, match=words) as info:
        read_slice(tmp_path / "bad.h5", 0)
    assert "bad.h5" in str(info.value)


def test_nan_and_out_of_range_slices(tmp_path):
    kspace = np.ones((3, 2, 16, 12), np.complex64)
    kspace[1, 0, 3, 3] = np.nan
    write_file(tmp_path / "nan.h5", kspace=kspace)
    read_slice(tmp_path / "nan.h5", 0)
    with pytest.raises(ValueError, match=r"nan\.h5: slice 1 of 'kspace' contains NaN"):
        read_slice(tmp_path / "nan.h5", 1)
    with pytest.raises(IndexError, match=r"slice 3 out of range.*valid 0\.\.2"):
        read_slice(tmp_path / "nan.h5", 3)
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        read_slice(tmp_path / "missing.h5", 0)


def test_truncated_and_non_hdf5_files_name_the_file_and_the_format(tmp_path):
    write_file(tmp_path / "whole.h5", H=64, W=48)
    whole = (tmp_path / "whole.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notes.h5").write_text("not an HDF5 file\n")
    (tmp_path / "folder.h5").mkdir()
    for name in ("truncated.h5", "notes.h5", "folder.h5"):
        with pytest.raises(
            OSError, match=rf"(?s){name}: cannot be opened as HDF5 .*expected a fastMRI"
        ):
            num_slices(tmp_path / name)
    for name in ("truncated.h5", "notes.h5"):
        with pytest.raises(OSError, match=rf"(?s){name}: cannot be opened as HDF5 .*'kspace'"):
            read_slice(tmp_path / name, 0)
    with pytest.raises(OSError, match="folder.h5"):
        list_slices(tmp_path)


def test_damaged_dataset_names_the_file_when_reading_fails(tmp_path):
    path = tmp_path / "damaged.h5"
    write_file(path)
    kspace = np.ones((3, 2, 16, 12), np.complex64)
    with h5py.File(path, "a") as hf:
        del hf["kspace"]
        hf.create_dataset("kspace", data=kspace, chunks=(1, 2, 16, 12), compression="gzip")
        chunk = hf["kspace"].id.get_chunk_info(0)
    with open(path, "r+b") as f:  # overwrite the first compressed chunk with garbage
        f.seek(chunk.byte_offset)
        f.write(b"\xff" * chunk.size)
    read_slice(path, 1)
    with pytest.raises(OSError, match=r"(?s)damaged\.h5: reading failed.*expected a fastMRI"):
        read_slice(path, 0)


def test_list_slices_sorted(tmp_path):
    write_file(tmp_path / "b.h5", slices=2)
    write_file(tmp_path / "a.h5", slices=3)
    assert [(p.name, i) for p, i in list_slices(tmp_path)] == [("a.h5", i) for i in range(3)] + [
        ("b.h5", i) for i in range(2)
    ]


def test_split_dir_layout():
    assert split_dir("smoke", "knee", "val").parts[-4:] == (
        "embedded",
        "smoke",
        "knee",
        "multicoil_val",
    )
    with pytest.raises(ValueError, match="valid: knee, brain, knee_shifted"):
        split_dir("smoke", "heart", "val")


def test_embedded_files_load_in_fastmri_slicedataset(smoke_root):
    directory = split_dir("smoke", "knee", "val")
    transform = VarNetDataTransform(RandomMaskFunc([0.08], [4]), use_seed=True)
    dataset = SliceDataset(directory, "multicoil", transform=transform, use_dataset_cache=False)
    assert len(dataset) == len(list_slices(directory))
    sample = dataset[1]
    ours = read_slice(*list_slices(directory)[1])
    assert sample.crop_size == tuple(ours.target.shape)
    assert torch.equal(sample.target, ours.target)
    assert sample.max_value == ours.attrs["max"]
    # fastmri never samples outside the acquired columns the header gives, nor do we read others
    first, last = ours.acquired
    sampled = sample.mask.reshape(-1).bool()
    assert not sampled[:first].any() and not sampled[last + 1 :].any()
    assert (ours.kspace[..., :first] == 0).all() and (ours.kspace[..., last + 1 :] == 0).all()


def test_embedded_target_is_rss_of_kspace(smoke_root):
    for anatomy in ("knee", "brain", "knee_shifted"):
        s = read_slice(*list_slices(split_dir("smoke", anatomy, "val"))[0])
        image = physics.rss_crop(s.kspace[None], tuple(s.target.shape))[0]
        torch.testing.assert_close(image, s.target, rtol=1e-4, atol=1e-4 * s.target.max().item())
