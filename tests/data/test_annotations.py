import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import regions
from mrirobust.data import (
    annotations_path,
    boxes_for,
    check_annotations,
    load_annotations,
    scale_annotations,
)
from mrirobust.data.annotations import write_annotations
from mrirobust.paths import annotations_dir

KNEE_LABELS = {
    "Meniscus Tear", "Cartilage - Partial Thickness loss/defect", "Joint Effusion",
    "Bone-Fracture/Contusion/dislocation", "Bone- Subchondral edema", "Periarticular cysts",
    "Ligament - ACL Low Grade sprain", "Ligament - ACL High Grade Sprain",
    "Cartilage - Full Thickness loss/defect", "Ligament - MCL Low-Mod Grade Sprain",
    "Displaced Meniscal Tissue", "Bone - Lesion", "Ligament - PCL Low-Mod grade sprain",
    "LCL Complex - Low-Mod Grade Sprain", "Soft Tissue Lesion", "Muscle Strain", "Joint Bodies",
    "Patellar Retinaculum - High grade sprain", "Ligament - PCL High Grade",
    "LCL Complex- High Grade Sprain", "Ligament - MCL High Grade sprain",
}  # fmt: skip


def load(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load_annotations(path, **kwargs)
    return df, [str(w.message) for w in caught]


def test_real_knee_csv_counts_and_edge_cases():
    raw = pd.read_csv(annotations_dir() / "knee.csv")
    assert len(raw) == 16167 and raw["file"].nunique() == 974
    assert (raw["study_level"] == "Yes").sum() == 13
    df, messages = load(annotations_dir() / "knee.csv")
    # 13 study-level rows, 6 with y = -1 and 1 of zero height carry no usable box
    assert len(df) == 16167 - 20
    assert messages == [
        "knee.csv: skipped 20 of 16167 rows without a usable box: 13 study-level, "
        "6 with y = -1, 1 with zero width or height"
    ]
    assert list(df.columns) == ["file", "slice", "x", "y", "width", "height", "label"]
    # 'artifact' occurs only on study-level rows; 'Joint Effusion ' loses its trailing space
    assert set(df["label"]) == KNEE_LABELS
    assert (df[["width", "height"]] > 0).all().all() and (df["y"] >= 0).all()
    assert ((df["y"] + df["height"]) <= 320).all() and ((df["x"] + df["width"]) <= 320).all()


def test_real_rows_converted_by_hand():
    df, _ = load(annotations_dir() / "knee.csv")
    # file1000001,14,No,90,173,35,10: y_unflipped = 320 - 173 - 10 = 137
    first = df[(df["file"] == "file1000001") & (df["slice"] == 14)]
    assert first[["x", "y", "width", "height"]].values.tolist() == [[90, 137, 35, 10]]
    # file1000001 slice 15 has two boxes: (93, 173, 39, 10) and (117, 162, 20, 12)
    boxes = boxes_for(df, "file1000001", 15)
    assert boxes.dtype == torch.long
    assert boxes.tolist() == [[93, 137, 39, 10], [117, 146, 20, 12]]
    assert boxes_for(df, "file1000001", 0).shape == (0, 4)
    brain, messages = load(annotations_dir() / "brain.csv")
    # file_brain_AXFLAIR_200_6002425,2,No,91,132,7,6 -> y = 320 - 132 - 6 = 182
    assert boxes_for(brain, "file_brain_AXFLAIR_200_6002425", 2).tolist() == [[91, 182, 7, 6]]
    assert "643 study-level" in messages[0] and "2 with zero width or height" in messages[0]


def test_edge_cases_and_round_trip(tmp_path):
    csv = tmp_path / "edge.csv"
    csv.write_text(
        "file,slice,study_level,x,y,width,height,label\n"
        "f1,0,Yes,,,,,artifact\n"
        "f1,3,No,10,-1,5,6,Joint Effusion \n"
        "f1,4,No,10,20,0,6,Meniscus Tear\n"
        "f1,5,No,10,20,5,0,Meniscus Tear\n"
        "f1,6,No,10,20,5,6,Meniscus Tear\n"
    )
    df, messages = load(csv, target_height=64)
    assert messages == [
        "edge.csv: skipped 4 of 5 rows without a usable box: 1 study-level, 1 with y = -1, "
        "2 with zero width or height"
    ]
    assert df.to_dict("records") == [
        dict(file="f1", slice=6, x=10, y=64 - 20 - 6, width=5, height=6, label="Meniscus Tear")
    ]
    write_annotations(df.to_dict("records"), tmp_path / "again.csv", target_height=64)
    again, messages = load(tmp_path / "again.csv", target_height=64)
    assert messages == [] and again.equals(df)
    assert pd.read_csv(tmp_path / "again.csv")["y"].tolist() == [20]  # stored flipped


def test_missing_csv_and_columns(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_annotations(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("file,slice,x\nf,0,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        load_annotations(tmp_path / "cols.csv")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "EmptyDataError"),
        (b"\x89HDF\r\n\x1a\n\x00\xff\xfe binary", "not a readable fastMRI\\+ annotation CSV"),
        (b'file,slice\n"unclosed,0\n', "not a readable fastMRI\\+ annotation CSV"),
    ],
)
def test_unreadable_csv_names_the_file_and_the_expected_header(tmp_path, content, words):
    (tmp_path / "knee.csv").write_bytes(content)
    with pytest.raises(ValueError, match=words) as info:
        load_annotations(tmp_path / "knee.csv")
    assert "knee.csv" in str(info.value) and "file,slice,study_level,x,y" in str(info.value)


def test_non_numeric_box_names_the_column_and_line(tmp_path):
    (tmp_path / "knee.csv").write_text(
        "file,slice,study_level,x,y,width,height,label\n"
        "f,0,No,10,20,5,5,Meniscus Tear\n"
        "f,1,No,ten,20,5,5,Meniscus Tear\n"
    )
    with pytest.raises(
        ValueError, match=r"knee\.csv: column 'x' must hold numbers; line\(s\) \[3\]"
    ):
        load_annotations(tmp_path / "knee.csv")


def test_annotation_slice_not_in_file(tmp_path):
    with h5py.File(tmp_path / "f1.h5", "w") as hf:
        hf.create_dataset("kspace", data=np.zeros((3, 1, 4, 4), np.complex64))
    ok = pd.DataFrame([dict(file="f1", slice=2), dict(file="elsewhere", slice=99)])
    check_annotations(ok, tmp_path)  # files not in the folder are ignored
    bad = pd.DataFrame([dict(file="f1", slice=2), dict(file="f1", slice=3)])
    with pytest.raises(ValueError, match=r"file f1 names slice\(s\) \[3\].*has 3 slices"):
        check_annotations(bad, tmp_path)


def test_annotations_path_per_scale():
    assert annotations_path("smoke", "knee").parts[-4:] == (
        "embedded",
        "smoke",
        "annotations",
        "knee.csv",
    )
    with pytest.raises(ValueError, match="'knee' or 'brain'"):
        annotations_path("smoke", "knee_shifted")


def test_embedded_annotations_valid(smoke_root):
    from mrirobust.data import split_dir

    df = scale_annotations("smoke", "knee")
    assert set(df["label"]) <= KNEE_LABELS
    for split in ("train", "val"):
        check_annotations(df, split_dir("smoke", "knee", split))
    # every box lies inside the 64 x 64 target
    regions.as_boxes(df[["x", "y", "width", "height"]].to_numpy(), len(df), (64, 64))
    brain = scale_annotations("smoke", "brain")
    assert set(brain["label"]) <= {"Nonspecific white matter lesion", "Nonspecific lesion"}
