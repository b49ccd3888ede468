import numpy as np
import pandas as pd
import pytest
import torch

from mrirobust import tables


def test_summary_has_a_confidence_band_around_the_mean():
    table = pd.DataFrame({"eta": [0, 0, 0, 1, 1, 1], "ssim_region": [1, 0.8, 0.9, 0.5, 0.7, 0.6]})
    summary = tables.summarise(table, ["eta"]).set_index("eta")
    assert summary.loc[0, "mean"] == pytest.approx(0.9)
    assert summary.loc[0, "ci_low"] < 0.9 < summary.loc[0, "ci_high"]
    assert summary.loc[0, "count"] == 3


def test_tables_json_and_images_round_trip_and_leave_no_temporary_file(tmp_path):
    table = pd.DataFrame({"model": ["unet", "varnet"], "ssim": [0.5, 0.75]})
    assert tables.save_table(tmp_path, "scores", table) == tmp_path / "scores.csv"
    pd.testing.assert_frame_equal(tables.load_table(tmp_path, "scores"), table)
    tables.save_json(tmp_path, "record", {"eta": 0.02, "box": [1, 2, 3, 4]})
    assert tables.load_json(tmp_path, "record") == {"eta": 0.02, "box": [1, 2, 3, 4]}
    image = torch.rand(5, 6)
    tables.save_images(tmp_path, "images", {"target": image, "other": image.numpy() * 2})
    stored = tables.load_images(tmp_path, "images")
    np.testing.assert_array_equal(stored["target"], image.numpy())
    assert set(stored) == {"target", "other"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "images.npz",
        "record.json",
        "scores.csv",
    ]


def test_a_failing_write_keeps_the_previous_file(tmp_path):
    tables.save_json(tmp_path, "record", {"a": 1})
    with pytest.raises(TypeError):
        tables.save_json(tmp_path, "record", {"a": object()})
    assert tables.load_json(tmp_path, "record") == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_images_keep_labels_and_scalars_beside_tensors(tmp_path):
    tables.save_images(
        tmp_path, "boxes", {"boxes": torch.ones(2, 4), "ids": np.array(["a/1", "b/2"]), "stride": 3}
    )
    stored = tables.load_images(tmp_path, "boxes")
    assert list(stored["ids"]) == ["a/1", "b/2"]
    assert int(stored["stride"]) == 3
    np.testing.assert_array_equal(stored["boxes"], np.ones((2, 4), dtype=np.float32))


def test_summarise_names_the_value_of_an_empty_table():
    with pytest.raises(ValueError, match="cannot summarise 'ssim': the table is empty"):
        tables.summarise(pd.DataFrame({"method": [], "ssim": []}), ["method"], "ssim")


def test_a_table_written_chunk_by_chunk_is_the_whole_table_and_appears_only_when_done(tmp_path):
    table = pd.DataFrame({"model": ["unet", "varnet", "unet"], "ssim": [0.5, 0.75, 0.25]})
    with tables.table_writer(tmp_path, "rows") as write:
        write(table.iloc[:1])
        assert not (tmp_path / "rows.csv").exists()  # a reader never sees half a table
        write(table.iloc[1:])
    whole = tables.save_table(tmp_path, "whole", table)
    assert (tmp_path / "rows.csv").read_text() == whole.read_text()
    with pytest.raises(ValueError, match="columns"), tables.table_writer(tmp_path, "bad") as write:
        write(table)
        write(table[["ssim", "model"]])
    with pytest.raises(ValueError, match="no table"), tables.table_writer(tmp_path, "none"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv", "whole.csv"]
