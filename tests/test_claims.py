import json

import numpy as np
import pandas as pd
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
    assert list(claims.table("smoke", paper="other2023", results_root=tmp_path)["outcome"]) == [
        "fails"
    ]
    with pytest.raises(ValueError, match="unknown paper 'nope'.*other2023, toy2024"):
        claims.table("smoke", paper="nope", results_root=tmp_path)
    with pytest.raises(ValueError, match="unknown id"):
        claims.table("smoke", claim="toy2024/fig1/nothing", results_root=tmp_path)
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        claims.table("huge", results_root=tmp_path)
    ledger = claims.ledger_markdown(frame)
    assert "| toy2024 | fig1 | ssim_falls: SSIM falls" in ledger and "**fails**" in ledger
    summary = claims.summary_markdown(frame)
    assert "| other2023 | paper | 0 | 1 | 0 | 1 |" in summary
    assert "| toy2024 | paper | 1 | 0 | 0 | 1 |" in summary
    assert "ranking: A beats B" not in summary
    unresolved = claims.open_markdown(frame)
    assert "ranking: A beats B" in unresolved and "ssim_falls" not in unresolved
    holding = frame[frame["outcome"] == "holds"]
    assert claims.open_markdown(holding) == "Every `paper` and `beyond` verdict holds.\n"


def test_files_that_break_the_schema_are_named_with_their_field(tmp_path):
    path = tmp_path / "claims.json"
    v = FALLS.verdict({}, "smoke", "embedded", first=1.0, last=0.0).to_dict()
    path.write_text(json.dumps([{**v, "outcome": True}]))
    with pytest.raises(ValueError, match=r"claims.json \[0\]: field 'outcome'"):
        claims.load(path)
    path.write_text(json.dumps([{**v, "outcome": "maybe"}]))
    with pytest.raises(ValueError, match="'outcome'.*'maybe'; valid: holds, fails, inconclusive"):
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
    with pytest.raises(ValueError, match="kind 'hunch'; valid: paper, beyond, sanity"):
        claims.Claim("toy2024/fig1/x", "x", _falls, kind="hunch")


def test_cli_prints_the_table_and_writes_the_readme_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path))
    _store(
        tmp_path, "run_a", [FALLS.verdict({"model": "unet"}, "smoke", "embedded", first=1, last=0)]
    )
    assert main(["claims", "--scale", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "HOLDS         paper   toy2024/fig1/ssim_falls  [model=unet]  first 1; last 0" in out
    assert "paper: 1 of 1 hold, 0 fail, 0 inconclusive" in out
    readme = tmp_path / "README.md"
    begin, end = storage.section_markers("claims")
    readme.write_text(f"intro\n{begin}\nSTALE\n{end}\nend\n")
    monkeypatch.setenv("MRIROBUST_ROOT", str(tmp_path))
    assert main(["claims", "--scale", "smoke", "--markdown"]) == 0
    content = readme.read_text()
    assert "STALE" not in content and content.endswith("end\n")
    assert "| toy2024 | paper | 1 | 0 | 0 | 1 |" in content
    assert "ssim_falls: SSIM falls" in (tmp_path / "CLAIMS.md").read_text()
    with pytest.raises(ValueError, match="unknown paper"):
        main(["claims", "--scale", "smoke", "--paper", "zhao2023"])


# The shared checks: each holds on constructed data where the claim is true, fails where it is
# false, and is inconclusive where the data cannot tell.

RNG = np.random.default_rng(3)


def test_beats_holds_fails_and_is_inconclusive_with_its_interval():
    base = RNG.normal(0.7, 0.05, 40)
    outcome, evidence = claims.beats(base + 0.02, base, names=("varnet", "unet"))
    assert outcome == "holds" and evidence["n"] == 40
    assert evidence["gap_ci95"][0] > 0 and evidence["gap"] == pytest.approx(0.02)
    assert claims.beats(base - 0.02, base, names=("varnet", "unet"))[0] == "fails"
    noisy = base + RNG.normal(0, 0.05, 40)
    assert claims.beats(noisy, base, names=("a", "b"))[0] == "inconclusive"
    # lower is better (errors): the smaller error beats
    assert claims.beats(base, base + 1, names=("a", "b"), higher_is_better=False)[0] == "holds"
    # one unit gives no interval, so no verdict either way
    assert claims.beats([0.9], [0.1], names=("a", "b"))[0] == "inconclusive"


def test_beats_unpaired_compares_independent_samples():
    a, b = RNG.normal(1.0, 0.1, 30), RNG.normal(0.5, 0.1, 20)
    assert claims.beats(a, b, names=("a", "b"), paired=False)[0] == "holds"
    assert claims.beats(b, a, names=("b", "a"), paired=False)[0] == "fails"


def test_comparing_a_result_with_itself_is_an_error():
    scores = RNG.normal(0.7, 0.05, 10)
    with pytest.raises(ValueError, match="l1_knee vs l1_brain: the two results are identical"):
        claims.beats(scores, scores.copy(), names=("l1_knee", "l1_brain"))
    with pytest.raises(ValueError, match="one length"):
        claims.beats(scores, scores[:5], names=("a", "b"))


def test_falls_along_reads_the_slope_of_each_unit():
    x = np.array([0.0, 0.01, 0.02])
    falling = 0.8 - 5 * x + RNG.normal(0, 0.01, (25, 3))
    outcome, evidence = claims.falls_along(x, falling)
    assert outcome == "holds" and evidence["slope"] == pytest.approx(-5, abs=1)
    assert claims.falls_along(x, 0.8 + 5 * x + RNG.normal(0, 0.01, (25, 3)))[0] == "fails"
    assert claims.falls_along(x, 0.8 + RNG.normal(0, 0.05, (25, 3)))[0] == "inconclusive"
    # the mean of per-unit slopes is the slope of the mean curve
    assert claims.slopes(x, falling).mean() == pytest.approx(claims.slopes(x, falling.mean(0))[0])
    with pytest.raises(ValueError, match="two distinct x"):
        claims.slopes([1.0, 1.0], [[0.0, 1.0]])


def test_within_is_an_equivalence_test():
    x = np.array([0.0, 1.0, 2.0])
    a = -1.0 * x + RNG.normal(0, 0.02, (30, 3))
    same = -1.05 * x + RNG.normal(0, 0.02, (30, 3))
    ratio = claims.ratio_interval(claims.slopes(x, same), claims.slopes(x, a))
    assert claims.within(ratio, claims.SIMILAR_RATIO, name="ratio")[0] == "holds"
    steeper = claims.ratio_interval(claims.slopes(x, 3 * same), claims.slopes(x, a))
    outcome, evidence = claims.within(steeper, claims.SIMILAR_RATIO, name="ratio")
    assert outcome == "fails" and evidence["band"] == [0.8, 1.25]
    wide = claims.mean_interval(RNG.normal(1.0, 2.0, 8))
    assert claims.within(wide, claims.SIMILAR_RATIO, name="slope")[0] == "inconclusive"


def test_ranks_and_all_of_combine_comparisons():
    base = RNG.normal(0.6, 0.05, 30)
    scores = {"varnet": base + 0.05, "unet": base + 0.03, "l1": base}
    outcome, evidence = claims.ranks(scores, ["varnet", "unet", "l1"])
    assert outcome == "holds" and set(evidence) == {"order", "varnet>unet", "unet>l1"}
    assert claims.ranks(scores, ["l1", "unet", "varnet"])[0] == "fails"
    assert claims.all_of(["holds", "inconclusive"]) == "inconclusive"
    assert claims.all_of(["holds", "inconclusive", "fails"]) == "fails"
    with pytest.raises(ValueError, match="missing \\['convdecoder'\\]"):
        claims.ranks(scores, ["varnet", "convdecoder"])


def test_best_names_the_top_method_and_whether_it_beats_each_other():
    base = RNG.normal(0.6, 0.05, 30)
    top, outcome, evidence = claims.best({"l1": base, "varnet": base + 0.05, "unet": base + 0.03})
    assert (top, outcome) == ("varnet", "holds") and set(evidence) == {
        "varnet>l1",
        "varnet>unet",
        "n",
    }
    tied = {"l1": base + RNG.normal(0, 0.05, 30), "varnet": base + RNG.normal(0, 0.05, 30)}
    assert claims.best(tied)[1] == "inconclusive"
    assert claims.best({"a": base, "b": base + 0.1}, higher_is_better=False)[:2] == ("a", "holds")
    with pytest.raises(ValueError, match="at least two methods"):
        claims.best({"a": base})


def test_the_bootstrap_is_reproducible():
    values = RNG.normal(0, 1, 50)
    assert claims.mean_interval(values) == claims.mean_interval(values)


def test_rises_along_mirrors_falls_along_and_correlations_match_scipy():
    x = np.array([4.0, 8.0, 10.0])
    rising = 1.0 + 0.1 * x + RNG.normal(0, 0.01, (20, 3))
    assert claims.rises_along(x, rising)[0] == "holds"
    assert claims.falls_along(x, rising)[0] == "fails"
    a, b = RNG.normal(size=30), RNG.normal(size=30)
    from scipy import stats

    assert claims.correlations(a, b) == pytest.approx(stats.pearsonr(a, b).statistic)
    assert claims.correlations(a, b, rank=True) == pytest.approx(stats.spearmanr(a, b).statistic)
    rho = claims.bootstrap_interval(claims.correlations, [a, a + RNG.normal(0, 0.1, 30)], "r")
    assert rho.above(0.5) == "holds" and rho.below(0.5) == "fails"
    touching = claims.Interval(0.5, 0.4, 0.6, 10)
    assert touching.below(0.5) == "inconclusive" and touching.below(1.0) == "holds"


def test_units_come_out_of_a_stored_table_and_pair_up():
    import pandas as pd

    table = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b", "a", "a"],
            "slice": [2, 1, 1, 2, 1, 2],
            "eta": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
            "ssim": [0.8, 0.9, 0.7, 0.6, 0.5, 0.4],
        }
    )
    a = claims.per_unit(table, "ssim", "t", model="a", eta=0.0)
    assert list(a.index) == [1, 2] and list(a) == [0.9, 0.8]
    b = claims.per_unit(table, "ssim", "t", model="b").iloc[::-1]
    x, y = claims.paired("t", a, b)
    assert list(y) == [0.7, 0.6]  # reordered to a's units
    wide = claims.curves(table, "eta", "ssim", "t", model="a")
    assert wide.to_numpy().tolist() == [[0.9, 0.5], [0.8, 0.4]]
    with pytest.raises(ValueError, match="t: .* has several rows per slice"):
        claims.per_unit(table, "ssim", "t", model="a")
    with pytest.raises(ValueError, match="t: the table has no column 'mode'"):
        claims.per_unit(table, "ssim", "t", mode="region")
    with pytest.raises(ValueError, match="t: the table has no rows with"):
        claims.per_unit(table, "ssim", "t", model="c")
    with pytest.raises(ValueError, match="miss a value of eta"):  # slice 2 lacks eta = 1
        claims.curves(table.iloc[:-1], "eta", "ssim", "t", model="a")
    with pytest.raises(ValueError, match="not scored on the same units"):
        claims.paired("t", a, b.iloc[:1])


def test_beats_each_labels_every_comparison():
    base = RNG.normal(0.6, 0.05, 20)
    outcome, evidence = claims.beats_each(
        {"eta=0": (base + 0.1, base), "eta=1": (base + 0.2, base)}
    )
    assert outcome == "holds" and evidence["n"] == 20
    assert evidence["eta=1"][0] == pytest.approx(0.2)
    mixed = {"x": (base + 0.1, base), "y": (base - 0.1, base)}
    assert claims.beats_each(mixed)[0] == "fails"
    with pytest.raises(ValueError, match="at least one"):
        claims.beats_each({})


def test_resamples_where_a_statistic_is_undefined_are_left_out():
    a = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])  # some resamples are constant: r undefined
    rho = claims.bootstrap_interval(claims.correlations, [a, 2 * a + 1], "r")
    assert rho.estimate == pytest.approx(1.0) and rho.low == pytest.approx(1.0)


def _beats(a: float, b: float):
    return a > b, {"a": a, "b": b}


BEATS = claims.Claim("toy2024/fig2/a_beats_b", "A beats B", _beats)
CONTROL = claims.Claim("toy2024/fig2/true_maps_help", "with true maps A beats B", _beats, "sanity")


def test_a_verdict_that_changes_with_the_training_seed_is_inconclusive(tmp_path):
    first, second = tmp_path / "seed0", tmp_path / "seed1"
    for root, last in ((first, 0.0), (second, 2.0)):
        _store(root, "run_a", [FALLS.verdict({}, "smoke", "embedded", first=1.0, last=last)])
        _store(root, "run_b", [BEATS.verdict({}, "smoke", "embedded", a=2, b=1)])
    pairs = claims.compare_seeds("smoke", second, first)
    assert list(pairs["flips"]) == [True, False]
    assert (first / "smoke" / claims.STABILITY).exists()
    frame = claims.table("smoke", results_root=first, diagnoses=[])
    flipped = frame[frame["id"] == FALLS.id].iloc[0]
    assert (flipped["outcome"], flipped["seeds"]) == ("inconclusive", "flips")
    assert json.loads(flipped["evidence"])["seed_1"] == "fails"
    assert list(frame[frame["id"] == BEATS.id]["outcome"]) == ["holds"]
    assert "1 of 2 verdicts compared change outcome" in claims.summary_line(frame)
    # results that changed since the comparison are not reviewed with stale outcomes
    _store(first, "run_c", [])
    (first / "smoke" / "run_a" / "claims.json").unlink()
    _store(first, "run_d", [FALLS.verdict({}, "smoke", "embedded", first=0.0, last=1.0)])
    frame = claims.table("smoke", results_root=first, diagnoses=[])
    assert list(frame[frame["id"] == FALLS.id]["outcome"]) == ["fails"]
    with pytest.raises(ValueError, match="no claims stored"):
        claims.compare_seeds("smoke", tmp_path / "nothing", first)


def test_a_failing_paper_claim_shows_its_diagnosis_and_the_controlled_verdict(tmp_path):
    _store(
        tmp_path,
        "run_a",
        [
            BEATS.verdict({"method": "l1"}, "smoke", "embedded", a=1, b=2),
            BEATS.verdict({"method": "unet"}, "smoke", "embedded", a=1, b=2),
            CONTROL.verdict({"maps": "true"}, "smoke", "embedded", a=3, b=2),
        ],
    )
    diagnosis = claims.Diagnosis(
        claim=BEATS.id,
        scale="smoke",
        cause="data",
        text="ESPIRiT's maps fail at the edge.",
        because=CONTROL.id,
        case={"method": "l1"},
        because_case={"maps": "true"},
    )
    frame = claims.table("smoke", results_root=tmp_path, diagnoses=[diagnosis])
    by_case = dict(zip(frame["case"], frame["diagnosis"], strict=True))
    assert by_case['{"method": "l1"}'] == (
        f"data: ESPIRiT's maps fail at the edge. Controlled: {CONTROL.id} holds (a 3; b 2)."
    )
    assert by_case['{"method": "unet"}'] == ""
    ledger = claims.ledger_markdown(frame)
    assert "| data: ESPIRiT's maps fail at the edge." in ledger and "| none yet |" in ledger
    assert claims.table("smoke", results_root=tmp_path, diagnoses=[])["diagnosis"].eq("").all()


def test_a_controlled_experiments_verdicts_are_counted_apart_and_back_a_diagnosis(tmp_path):
    failing = BEATS.verdict({}, "smoke", "embedded", a=1, b=2)
    (longer,) = claims.as_control([BEATS.verdict({"epochs": 12}, "smoke", "embedded", a=1, b=3)])
    assert (longer.kind, longer.id, longer.outcome) == ("control", BEATS.id, "fails")
    _store(tmp_path, "run_a", [failing, longer])
    diagnosis = claims.Diagnosis(
        claim=BEATS.id,
        scale="smoke",
        cause="disagreement",
        text="Longer training widens the gap.",
        because=BEATS.id,
        because_case={"epochs": 12},
    )
    frame = claims.table("smoke", results_root=tmp_path, diagnoses=[diagnosis])
    counted = claims.counts(frame).reset_index()
    assert dict(zip(counted["kind"], counted["fails"], strict=True)) == {"control": 1, "paper": 1}
    paper = frame[frame["kind"] == "paper"].iloc[0]
    assert paper["diagnosis"].endswith(f"Controlled: {BEATS.id} fails (a 1; b 3).")
    assert frame[frame["kind"] == "control"].iloc[0]["diagnosis"] == ""
    assert "paper: 0 of 1 hold" in claims.summary_line(frame)
    assert "## control" in claims.ledger_markdown(frame)


def test_diagnoses_are_validated_naming_the_file(tmp_path):
    path = tmp_path / "diagnoses.yaml"
    entry = dict(claim=BEATS.id, scale="cpu", cause="data", text="t", because=CONTROL.id)
    path.write_text(json.dumps([{**entry, "cause": "bad luck"}]))
    with pytest.raises(ValueError, match=r"diagnoses.yaml \[0\]: cause 'bad luck'; valid: data"):
        claims.load_diagnoses(path)
    path.write_text(json.dumps([{**entry, "because": "nope"}]))
    with pytest.raises(ValueError, match="paper/figure/name"):
        claims.load_diagnoses(path)
    path.write_text(json.dumps([{**entry, "reason": "x"}]))
    with pytest.raises(ValueError, match=r"\[0\]: a diagnosis has the keys"):
        claims.load_diagnoses(path)
    path.write_text(json.dumps([entry]))
    assert claims.load_diagnoses(path)[0].cause == "data"


def test_the_shipped_diagnoses_name_paper_claims_and_controls_that_exist():
    import importlib

    from mrirobust.papers import PAPERS

    declared = {}
    for paper in PAPERS:
        module = importlib.import_module(f"mrirobust.papers.{paper}.claims")
        declared |= {c.id: c for c in vars(module).values() if isinstance(c, claims.Claim)}
    for d in claims.load_diagnoses():
        assert d.claim in declared and declared[d.claim].kind == "paper", d
        assert d.because in declared, d


def test_check_all_checks_every_claim_on_every_declared_case_with_the_inputs_it_names():
    table = pd.DataFrame(
        {
            "model": ["b", "a", "a", "b", "a"],
            "acceleration": np.array([8, 4, 4, 4, 8], dtype=np.int64),
            "mode": ["x", "x", "y", "x", "x"],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    seen = []

    def per_case(table, model, acceleration):  # no `limit`, `mode`: not passed
        seen.append((model, acceleration))
        rows = table[(table.model == model) & (table.acceleration == acceleration)]
        return bool(rows.value.max() > 1.5), {"max": rows.value.max()}

    each = claims.Claim(
        "p/f/each", "s", per_case, cases=claims.cases("table", "model", "acceleration", mode="x")
    )
    once = claims.Claim("p/f/once", "s", lambda limit: (limit > 0, {"limit": limit}))
    never = claims.Claim("p/f/never", "s", lambda table: (True, {}), cases=lambda table: [])
    verdicts = claims.check_all((each, once, never), "smoke", "d", table=table, limit=2)
    assert [(v.id, v.case) for v in verdicts] == [
        ("p/f/each", {"model": "a", "acceleration": 4}),
        ("p/f/each", {"model": "a", "acceleration": 8}),
        ("p/f/each", {"model": "b", "acceleration": 4}),
        ("p/f/each", {"model": "b", "acceleration": 8}),
        ("p/f/once", {}),
    ]
    assert seen == [("a", 4), ("a", 8), ("b", 4), ("b", 8)]
    assert type(verdicts[0].case["acceleration"]) is int  # plain JSON, not numpy
    assert [v.outcome for v in verdicts] == ["holds", "holds", "holds", "fails", "holds"]
