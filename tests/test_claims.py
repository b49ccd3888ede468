import json

import numpy as np
import pytest

from mrirobust import claims, storage
from mrirobust.__main__ import main


def _falls(first: float, last: float):
    return last < first, {"first": first, "last": last}


FALLS = claims.Claim("toy2024/fig1/ssim_falls", "SSIM falls as the budget grows", _falls)


def _store(root, run, verdicts):
    out = root / "smoke" / run
    out.mkdir(parents=True)
    return claims.save(out, verdicts)


def test_a_verdict_records_the_case_the_evidence_and_the_schema(tmp_path):
    v = FALLS.verdict(
        {"model": "unet", "acceleration": 4}, "smoke", "embedded", first=0.9, last=0.5
    )
    assert (v.paper, v.figure, v.holds) == ("toy2024", "fig1", True)
    assert v.evidence == {"first": 0.9, "last": 0.5}
    path = _store(tmp_path, "run_a", [v])
    assert claims.load(path) == [v]
    assert set(json.loads(path.read_text())[0]) == set(claims.FIELDS)


def test_numpy_values_become_plain_json_and_a_failed_claim_is_a_result():
    v = FALLS.verdict(
        {"eta": np.float32(0.5)}, "smoke", "embedded", first=np.float64(0.2), last=0.7
    )
    assert v.holds is False
    assert isinstance(v.evidence["first"], float) and isinstance(v.case["eta"], float)


def test_aggregate_collects_every_run_and_filters_by_paper_and_claim(tmp_path):
    other = claims.Claim("other2023/table1/ranking", "A beats B", lambda a, b: (a > b, {"a": a}))
    _store(tmp_path, "run_a", [FALLS.verdict({}, "smoke", "embedded", first=1.0, last=0.0)])
    _store(tmp_path, "run_b", [other.verdict({}, "smoke", "embedded", a=1, b=2)])
    frame = claims.aggregate("smoke", tmp_path)
    assert list(frame["run"]) == ["run_a", "run_b"]
    assert (tmp_path / "smoke" / "claims.csv").exists()
    assert list(claims.table("smoke", paper="other2023", results_root=tmp_path)["holds"]) == [False]
    with pytest.raises(ValueError, match="unknown paper 'nope'.*other2023, toy2024"):
        claims.table("smoke", paper="nope", results_root=tmp_path)
    with pytest.raises(ValueError, match="unknown id"):
        claims.table("smoke", claim="toy2024/fig1/nothing", results_root=tmp_path)
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        claims.table("huge", results_root=tmp_path)
    text = claims.markdown(frame)
    assert "| toy2024 | fig1 | ssim_falls: SSIM falls" in text and "**no**" in text


def test_files_that_break_the_schema_are_named_with_their_field(tmp_path):
    path = tmp_path / "claims.json"
    v = FALLS.verdict({}, "smoke", "embedded", first=1.0, last=0.0).to_dict()
    path.write_text(json.dumps([{**v, "holds": "yes"}]))
    with pytest.raises(ValueError, match=r"claims.json \[0\]: field 'holds'"):
        claims.load(path)
    path.write_text(json.dumps([{k: v[k] for k in v if k != "evidence"}]))
    with pytest.raises(ValueError, match="missing fields \\['evidence'\\]"):
        claims.load(path)
    path.write_text(json.dumps([{**v, "figure": "fig9"}]))
    with pytest.raises(ValueError, match="'paper'/'figure'"):
        claims.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="claims.json: not valid JSON"):
        claims.load(path)
    with pytest.raises(ValueError, match="paper/figure/name"):
        claims.Claim("no-slashes", "x", _falls)


def test_cli_prints_the_table_and_writes_the_readme_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path))
    _store(
        tmp_path, "run_a", [FALLS.verdict({"model": "unet"}, "smoke", "embedded", first=1, last=0)]
    )
    assert main(["claims", "--scale", "smoke"]) == 0
    assert (
        "holds          toy2024/fig1/ssim_falls  [model=unet]  first 1; last 0"
        in capsys.readouterr().out
    )
    readme = tmp_path / "README.md"
    begin, end = storage.section_markers("claims")
    readme.write_text(f"intro\n{begin}\nSTALE\n{end}\nend\n")
    monkeypatch.setenv("MRIROBUST_ROOT", str(tmp_path))
    assert main(["claims", "--scale", "smoke", "--markdown"]) == 0
    content = readme.read_text()
    assert "STALE" not in content and "ssim_falls" in content and content.endswith("end\n")
    with pytest.raises(ValueError, match="unknown paper"):
        main(["claims", "--scale", "smoke", "--paper", "zhao2023"])
