"""Claims as data: the papers' findings, checked on stored numbers and saved as verdicts.

A `Claim` states a finding once: an id "paper/figure/name", its kind, the statement in words, a
check function on stored tables, `check(**inputs) -> (outcome, evidence)`, and its cases (a
model, an acceleration, ...), `cases(**inputs) -> [case, ...]` (e.g. `cases("table", "model")`).
`check_all(claims, scale, data, **inputs)` checks every claim on every case; each verdict has
one schema for every paper:

    {id, paper, figure, kind, statement, case, outcome, evidence, scale, data, git}

`kind` is `paper` (the paper states it), `beyond` (the hypothesis of an experiment the papers
did not run), `sanity` (a check of the set-up) or `control` (a claim checked again in a
controlled experiment's setting, e.g. twice the training: the evidence of a diagnosis, counted
apart from the finding it controls; `as_control`). `outcome` is `holds`, `fails` or
`inconclusive`: a comparison over scored units (slices, boxes, voxels) carries its estimate and
95 % bootstrap interval, and a claim whose interval spans its threshold is inconclusive.
`evidence` holds the numbers compared. A claim that fails is a result to report, not an error; a
claim that cannot be evaluated (missing column, empty table, a result compared with itself)
raises.

The checks every paper shares live here, once: `beats` (a paired or unpaired difference of
means), `falls_along` / `rises_along` (the mean per-unit least-squares slope), `within` (an
equivalence test: the interval inside a band, e.g. a ratio of slopes within the conventional
80-125 %), `ranks` (a chain of `beats`), `beats_each` (`beats` on labelled pairs) and `all_of`
(several outcomes together). Each returns
`(outcome, evidence)`. `bootstrap_interval` gives any other statistic of paired per-unit
columns its interval (e.g. `correlations`). `per_unit`, `curves` and `paired` take the scored
units out of a stored table.

Each run saves its verdicts to `results/<scale>/<run>/claims.json` (`save`); `aggregate(scale)`
gathers them into `results/<scale>/claims.csv`; `python -m mrirobust claims --scale S` prints the
ledger and `--markdown` writes the README's per-paper summary and the full ledger, `CLAIMS.md`.

The ledger (`table`) adds two reviews to the stored verdicts:
- the training seed: `make stability` runs the manifest again with MRIROBUST_SEED=1 and
  `compare_seeds` stores, per verdict, the outcome with the second seed
  (`results/<scale>/seed_stability.csv`); a verdict whose outcome changes with the seed is
  `inconclusive` at that scale, with both outcomes in its evidence;
- diagnoses (`DIAGNOSES`, lib/mrirobust/diagnoses.yaml): why a `paper` claim fails at a scale,
  each backed by the stored verdict of a controlled experiment; the ledger shows the diagnosis
  and whether that verdict holds.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from mrirobust import paths, storage

__all__ = [
    "FIELDS",
    "KINDS",
    "OUTCOMES",
    "Claim",
    "cases",
    "check_all",
    "as_control",
    "Verdict",
    "Interval",
    "matching",
    "per_unit",
    "curves",
    "paired",
    "mean_interval",
    "ratio_interval",
    "slopes",
    "beats",
    "falls_along",
    "rises_along",
    "correlations",
    "bootstrap_interval",
    "within",
    "SIMILAR_RATIO",
    "ranks",
    "beats_each",
    "all_of",
    "save",
    "load",
    "aggregate",
    "table",
    "show",
    "counts",
    "summary_line",
    "summary_markdown",
    "open_markdown",
    "ledger_markdown",
    "write_ledger",
]

FIELDS = (
    "id",
    "paper",
    "figure",
    "kind",
    "statement",
    "case",
    "outcome",
    "evidence",
    "scale",
    "data",
    "git",
)
KINDS = ("paper", "beyond", "sanity", "control")
OUTCOMES = ("holds", "fails", "inconclusive")
FILENAME = "claims.json"
LEDGER = "CLAIMS.md"
STABILITY = "seed_stability.csv"
DIAGNOSES = Path(__file__).with_name("diagnoses.yaml")
CAUSES = ("data", "training", "sample_size", "disagreement")
BOOTSTRAP_RESAMPLES = 2000
SIMILAR_RATIO = (0.8, 1.25)  # the conventional equivalence band of a ratio (bioequivalence)


def _plain(value: Any, where: str) -> Any:
    """`value` as plain JSON types (numpy/torch scalars become numbers); NaN becomes None."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return None if math.isnan(value) else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(items)]
    raise ValueError(f"{where}: {type(value).__name__} is not a number, string, list or dict")


def _git() -> str:
    rev = paths.git_revision()
    if rev["revision"] is None:
        return "unknown"
    return rev["revision"][:12] + ("+dirty" if rev["dirty"] else "")


def matching(table: pd.DataFrame, where: str, **match) -> pd.DataFrame:
    """The rows of `table` whose columns equal `match`; raises, naming `where`, when a column is
    missing or no row matches (the claim cannot be evaluated)."""
    rows = table
    for column, wanted in match.items():
        if column not in rows.columns:
            raise ValueError(f"{where}: the table has no column {column!r}")
        rows = rows[rows[column] == wanted]
    if rows.empty:
        raise ValueError(f"{where}: the table has no rows with {match}")
    return rows


def per_unit(
    table: pd.DataFrame, value: str, where: str, unit: str | list[str] = "slice", **match
) -> pd.Series:
    """`value` of the rows matching `match`, one per scored `unit`, sorted by unit; raises when
    a unit has several rows."""
    rows = matching(table, where, **match)
    if rows.duplicated(unit).any():
        raise ValueError(f"{where}: {match} has several rows per {unit}")
    return rows.set_index(unit)[value].sort_index()


def curves(
    table: pd.DataFrame,
    by: str,
    value: str,
    where: str,
    unit: str | list[str] = "slice",
    **match,
) -> pd.DataFrame:
    """`value` with one row per scored `unit` (the mean of its rows, e.g. frames) and one
    column per value of `by` (sorted), for the rows matching `match`; raises when a unit misses
    a column."""
    rows = matching(table, where, **match)
    wide = rows.pivot_table(index=unit, columns=by, values=value, aggfunc="mean")
    if wide.isna().any().any():
        raise ValueError(f"{where}: some units miss a value of {by} for {match}")
    return wide.sort_index(axis=1)


def paired(where: str, *scores: pd.Series) -> list[np.ndarray]:
    """The per-unit `scores` as arrays over the same units in the same order; raises when they
    were scored on different units."""
    units = set(scores[0].index)
    if any(set(s.index) != units for s in scores[1:]):
        raise ValueError(f"{where}: the results were not scored on the same units")
    return [s.reindex(scores[0].index).to_numpy(float) for s in scores]


@dataclass(frozen=True)
class Interval:
    """An estimate over `n` scored units with its 95 % percentile-bootstrap interval.

    With fewer than 2 units there is no interval (`low`, `high` are None): any comparison on it
    is inconclusive."""

    estimate: float
    low: float | None
    high: float | None
    n: int

    def evidence(self, name: str) -> dict[str, Any]:
        return {name: self.estimate, f"{name}_ci95": [self.low, self.high], "n": self.n}

    def above(self, threshold: float) -> str:
        """`holds` when the interval lies above `threshold`, `fails` when below, else
        `inconclusive`."""
        if self.low is not None and self.low > threshold:
            return "holds"
        if self.high is not None and self.high < threshold:
            return "fails"
        return "inconclusive"

    def below(self, threshold: float) -> str:
        """`holds` when the interval lies below `threshold`, `fails` when above, else
        `inconclusive`."""
        return {"holds": "fails", "fails": "holds"}.get(self.above(threshold), "inconclusive")


def _units(columns: Sequence[np.ndarray], where: str) -> int:
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError(f"{where}: paired values need one length, got {sorted(lengths)}")
    (n,) = lengths
    if n == 0:
        raise ValueError(f"{where}: no scored units")
    return n


def bootstrap_interval(
    statistic: Callable[..., np.ndarray], columns: Sequence[np.ndarray], where: str, seed: int = 0
) -> Interval:
    """`statistic(*columns)` and its percentile interval over `BOOTSTRAP_RESAMPLES` resamples
    of the units (the rows, drawn together for paired columns). `statistic` maps arrays whose
    first axis is the resample to one value per resample; resamples where it is undefined (NaN,
    e.g. a correlation of constant values) are left out of the interval."""
    columns = [np.asarray(c, dtype=float) for c in columns]
    n = _units(columns, where)
    estimate = float(statistic(*(c[None] for c in columns))[0])
    if not math.isfinite(estimate):
        raise ValueError(f"{where}: the estimate is {estimate}")
    if n < 2:
        return Interval(estimate, None, None, n)
    draws = np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    values = statistic(*(c[draws] for c in columns))
    low, high = np.nanpercentile(values, [2.5, 97.5])  # resamples where it is undefined left out
    return Interval(estimate, float(low), float(high), n)


def mean_interval(values, where: str = "mean", seed: int = 0) -> Interval:
    """The mean of per-unit `values` with its bootstrap interval."""
    return bootstrap_interval(lambda v: v.mean(axis=1), [values], where, seed)


def ratio_interval(numerator, denominator, where: str = "ratio", seed: int = 0) -> Interval:
    """mean(numerator) / mean(denominator) over paired units, with its bootstrap interval."""
    return bootstrap_interval(
        lambda a, b: a.mean(axis=1) / b.mean(axis=1), [numerator, denominator], where, seed
    )


def slopes(x, curves) -> np.ndarray:
    """The least-squares slope of each unit's curve (rows of `curves`) against the shared `x`.

    The slope of the mean curve is the mean of these slopes (least squares is linear in y)."""
    x = np.asarray(x, dtype=float)
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    if curves.shape[1] != len(x) or len(x) < 2 or np.ptp(x) == 0:
        raise ValueError(
            f"slopes need one value per x and at least two distinct x; x {x.tolist()}, "
            f"curves of shape {curves.shape}"
        )
    centred = x - x.mean()
    return (curves - curves.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)


def beats(
    a,
    b,
    *,
    names: tuple[str, str],
    higher_is_better: bool = True,
    paired: bool = True,
    seed: int = 0,
) -> tuple[str, dict]:
    """Whether `names[0]` (per-unit scores `a`) beats `names[1]` (`b`): the difference of means
    mean(a) − mean(b) (sign-flipped when lower is better) lies above 0 with 95 % confidence.

    Paired scores (the same units, in the same order) are resampled together; a paired
    comparison of identical scores compares a result with itself and raises."""
    where = f"{names[0]} vs {names[1]}"
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    if paired:
        _units([a, b], where)
        if np.array_equal(a, b):
            raise ValueError(
                f"{where}: the two results are identical (a result compared with itself)"
            )
        gap = bootstrap_interval(lambda d: d.mean(axis=1), [sign * (a - b)], where, seed)
    else:
        gap = _unpaired_gap(sign * a, sign * b, where, seed)
    evidence = {
        f"mean_{names[0]}": float(a.mean()),
        f"mean_{names[1]}": float(b.mean()),
        **gap.evidence("gap"),
    }
    return gap.above(0.0), evidence


def _unpaired_gap(a: np.ndarray, b: np.ndarray, where: str, seed: int) -> Interval:
    """mean(a) − mean(b) of independent samples, each resampled on its own."""
    _units([a], where), _units([b], where)
    estimate = float(a.mean() - b.mean())
    if min(len(a), len(b)) < 2:
        return Interval(estimate, None, None, min(len(a), len(b)))
    rng = np.random.default_rng(seed)
    gaps = a[rng.integers(0, len(a), (BOOTSTRAP_RESAMPLES, len(a)))].mean(axis=1) - b[
        rng.integers(0, len(b), (BOOTSTRAP_RESAMPLES, len(b)))
    ].mean(axis=1)
    low, high = np.percentile(gaps, [2.5, 97.5])
    return Interval(estimate, float(low), float(high), min(len(a), len(b)))


def falls_along(x, curves, *, name: str = "slope", seed: int = 0) -> tuple[str, dict]:
    """Whether the value falls as x grows: the mean per-unit least-squares slope of `curves`
    (one row per unit, one column per x) lies below 0 with 95 % confidence."""
    slope = mean_interval(slopes(x, curves), name, seed)
    return slope.below(0.0), {"x": np.asarray(x, dtype=float).tolist(), **slope.evidence(name)}


def rises_along(x, curves, *, name: str = "slope", seed: int = 0) -> tuple[str, dict]:
    """Whether the value rises as x grows: the mean per-unit slope lies above 0 (as
    `falls_along`)."""
    slope = mean_interval(slopes(x, curves), name, seed)
    return slope.above(0.0), {"x": np.asarray(x, dtype=float).tolist(), **slope.evidence(name)}


def correlations(a: np.ndarray, b: np.ndarray, *, rank: bool = False) -> np.ndarray:
    """Pearson's r (Spearman's ρ, the r of the ranks, when `rank`) of each row of `a` with the
    same row of `b`: a statistic for `bootstrap_interval` over paired columns."""
    if rank:
        a, b = stats.rankdata(a, axis=-1), stats.rankdata(b, axis=-1)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant values: undefined, NaN
        return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))


def within(interval: Interval, bounds: tuple[float, float], *, name: str) -> tuple[str, dict]:
    """Whether `interval` lies inside `bounds` (an equivalence test): `holds` when the whole
    95 % interval is inside, `fails` when it lies wholly outside, else `inconclusive`.

    For the papers' "similar" and "parallel" statements on a ratio or a slope, `bounds` is
    `SIMILAR_RATIO`, the conventional 80-125 % equivalence band (the papers give no number)."""
    lo, hi = bounds
    evidence = {**interval.evidence(name), "band": [lo, hi]}
    if interval.low is None:
        return "inconclusive", evidence
    if lo <= interval.low and interval.high <= hi:
        return "holds", evidence
    if interval.high < lo or interval.low > hi:
        return "fails", evidence
    return "inconclusive", evidence


def all_of(outcomes: Iterable[str]) -> str:
    """`fails` when any outcome fails, `holds` when all hold, else `inconclusive`."""
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("all_of needs at least one outcome")
    if "fails" in outcomes:
        return "fails"
    return "holds" if all(o == "holds" for o in outcomes) else "inconclusive"


def beats_each(
    comparisons: Mapping[str, tuple[Any, Any]],
    *,
    higher_is_better: bool = True,
    paired: bool = True,
    seed: int = 0,
) -> tuple[str, dict]:
    """`beats` on every labelled pair (a, b) of `comparisons` (e.g. one per eta), `all_of` the
    outcomes; evidence: per label the gap and its 95 % interval, and the units `n` (of the
    first)."""
    if not comparisons:
        raise ValueError("beats_each needs at least one comparison")
    outcomes, evidence = [], {}
    for label, (a, b) in comparisons.items():
        outcome, numbers = beats(
            a,
            b,
            names=(f"{label} a", f"{label} b"),
            higher_is_better=higher_is_better,
            paired=paired,
            seed=seed,
        )
        outcomes.append(outcome)
        evidence[label] = [numbers["gap"], *numbers["gap_ci95"]]
        evidence.setdefault("n", numbers["n"])
    return all_of(outcomes), evidence


def best(
    scores: Mapping[str, Any], *, higher_is_better: bool = True, seed: int = 0
) -> tuple[str, str, dict]:
    """The method with the best mean of its paired per-unit `scores`, and whether it is the
    best: `beats` each other method; returns (method, `all_of` the outcomes, evidence: per
    other method the gap and its 95 % interval). A statement about "the best method" holds or
    fails only when its outcome holds."""
    if len(scores) < 2:
        raise ValueError(f"best: needs at least two methods with scores, got {list(scores)}")
    sign = 1.0 if higher_is_better else -1.0
    top = max(scores, key=lambda m: sign * float(np.mean(scores[m])))
    others = {f"{top}>{m}": (scores[top], s) for m, s in scores.items() if m != top}
    outcome, evidence = beats_each(others, higher_is_better=higher_is_better, seed=seed)
    return top, outcome, evidence


def ranks(
    scores: Mapping[str, Any],
    order: Sequence[str],
    *,
    higher_is_better: bool = True,
    seed: int = 0,
) -> tuple[str, dict]:
    """Whether the methods rank in `order` (best first): each beats the next (`beats`, paired
    per-unit `scores`); `all_of` the adjacent comparisons."""
    missing = [m for m in order if m not in scores]
    if missing or len(order) < 2:
        raise ValueError(f"ranks: needs at least two methods with scores; missing {missing}")
    outcomes, evidence = [], {"order": list(order)}
    for better, worse in zip(order, order[1:], strict=False):
        outcome, numbers = beats(
            scores[better],
            scores[worse],
            names=(better, worse),
            higher_is_better=higher_is_better,
            seed=seed,
        )
        outcomes.append(outcome)
        evidence[f"{better}>{worse}"] = [numbers["gap"], *numbers["gap_ci95"]]
    return all_of(outcomes), evidence


@dataclass(frozen=True)
class Verdict:
    """One checked claim on one case, with the numbers behind it."""

    id: str
    paper: str
    figure: str
    kind: str
    statement: str
    case: dict[str, Any]
    outcome: str
    evidence: dict[str, Any]
    scale: str
    data: str
    git: str

    @property
    def holds(self) -> bool:
        return self.outcome == "holds"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, entry: Any, source: str) -> Verdict:
        """Validate one stored verdict; errors name `source` and the field."""
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: a verdict must be an object, got {type(entry).__name__}")
        missing = [f for f in FIELDS if f not in entry]
        extra = sorted(set(entry) - set(FIELDS))
        if missing or extra:
            raise ValueError(
                f"{source}: verdict {entry.get('id', '?')!r} has missing fields {missing} and "
                f"unknown fields {extra}; the schema is {', '.join(FIELDS)}"
            )
        types = {"case": dict, "evidence": dict}
        for name in FIELDS:
            kind = types.get(name, str)
            if not isinstance(entry[name], kind):
                raise ValueError(
                    f"{source}: field {name!r} of verdict {entry['id']!r} must be a "
                    f"{kind.__name__}, got {type(entry[name]).__name__}"
                )
        for name, valid in (("kind", KINDS), ("outcome", OUTCOMES)):
            if entry[name] not in valid:
                raise ValueError(
                    f"{source}: field {name!r} of verdict {entry['id']!r} is {entry[name]!r}; "
                    f"valid: {', '.join(valid)}"
                )
        paper, figure, _ = _split_id(entry["id"], source)
        if (entry["paper"], entry["figure"]) != (paper, figure):
            raise ValueError(
                f"{source}: fields 'paper'/'figure' of verdict {entry['id']!r} must be "
                f"{paper!r}/{figure!r} (from its id), got {entry['paper']!r}/{entry['figure']!r}"
            )
        return cls(**entry)


def _split_id(claim_id: str, source: str = "claim") -> tuple[str, str, str]:
    parts = claim_id.split("/") if isinstance(claim_id, str) else []
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{source}: claim id {claim_id!r} must read 'paper/figure/name'")
    return parts[0], parts[1], parts[2]


def _one_case(**inputs) -> list[dict[str, Any]]:
    return [{}]


def cases(table: str, *keys: str, **match) -> Callable[..., list[dict[str, Any]]]:
    """A claim's cases (`Claim(cases=...)`): one per distinct value of `keys` among the rows of
    the input `table` whose columns equal `match`, sorted by `keys`."""

    def found(**inputs) -> list[dict[str, Any]]:
        rows = inputs[table]
        for column, wanted in match.items():
            rows = rows[rows[column] == wanted]
        distinct = rows[list(keys)].drop_duplicates().sort_values(list(keys))
        return [
            _plain(dict(zip(keys, values, strict=True)), f"{table} cases")
            for values in distinct.itertuples(index=False)
        ]

    return found


def _arguments(function: Callable, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `values` that `function` takes (all of them if it takes **kwargs)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return dict(values)
    return {p.name: values[p.name] for p in parameters if p.name in values}


@dataclass(frozen=True)
class Claim:
    """A finding, declared once: `check(**inputs) -> (outcome, evidence)`, where the outcome is
    one of `OUTCOMES` or a bool (holds / fails: an exact comparison, e.g. on one example), and
    `cases(**inputs) -> [case, ...]`, the sub-cases it is checked on (default: one, `{}`); `check`
    gets the inputs it names, each case's values included (`check_all`)."""

    id: str
    statement: str
    check: Callable[..., tuple[str | bool, Mapping[str, Any]]] = field(repr=False)
    kind: str = "paper"
    cases: Callable[..., list[dict[str, Any]]] = field(default=_one_case, repr=False)

    def __post_init__(self):
        _split_id(self.id)
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r}; valid: {', '.join(KINDS)}")

    @property
    def paper(self) -> str:
        return _split_id(self.id)[0]

    @property
    def figure(self) -> str:
        return _split_id(self.id)[1]

    def verdict(self, case: Mapping[str, Any], scale: str, data: str, **inputs) -> Verdict:
        """Check the claim on `inputs` for one `case` (plain values naming the sub-case)."""
        outcome, evidence = self.check(**inputs)
        if hasattr(outcome, "item") and isinstance(outcome.item(), bool):
            outcome = outcome.item()
        if isinstance(outcome, bool):
            outcome = "holds" if outcome else "fails"
        if outcome not in OUTCOMES:
            raise TypeError(
                f"claim {self.id}: check must return a bool or one of {OUTCOMES}, got {outcome!r}"
            )
        return Verdict(
            id=self.id,
            paper=self.paper,
            figure=self.figure,
            kind=self.kind,
            statement=self.statement,
            case=_plain(dict(case), f"claim {self.id} case"),
            outcome=outcome,
            evidence=_plain(dict(evidence), f"claim {self.id} evidence"),
            scale=scale,
            data=data,
            git=_git(),
        )


def as_control(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """`verdicts` of a controlled experiment (a setting the scale's profile does not run: more
    epochs, another mapping network), their kind `control`: a diagnosis cites them, and the
    ledger counts them apart from the verdicts in the profile's setting."""
    return [replace(v, kind="control") for v in verdicts]


def check_all(claims: Iterable[Claim], scale: str, data: str, **inputs) -> list[Verdict]:
    """Every claim on every case its `cases` finds in `inputs` (stored tables and settings),
    claim by claim: `check` gets the inputs it names, the case's values included."""
    verdicts = []
    for claim in claims:
        for case in claim.cases(**_arguments(claim.cases, inputs)):
            arguments = _arguments(claim.check, {**inputs, **case})
            verdicts.append(claim.verdict(case, scale, data, **arguments))
    return verdicts


def save(out_dir: Path, verdicts: Iterable[Verdict]) -> Path:
    """Write `out_dir/claims.json` atomically; returns its path."""
    entries = [v.to_dict() for v in verdicts]
    path = Path(out_dir) / FILENAME
    for i, entry in enumerate(entries):
        Verdict.from_dict(entry, f"{path} [{i}]")
    storage.write_json(path, entries)
    return path


def load(path: Path) -> list[Verdict]:
    """The verdicts of one `claims.json`, validated against the schema."""
    content = storage.read_json(path)
    if not isinstance(content, list):
        raise ValueError(f"{path}: must hold a list of verdicts, got {type(content).__name__}")
    return [Verdict.from_dict(entry, f"{path} [{i}]") for i, entry in enumerate(content)]


def _results(scale: str, results_root: Path | None) -> Path:
    if scale not in paths.SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(paths.SCALES)}")
    return (Path(results_root) if results_root else paths.results_root()) / scale


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["run", *FIELDS]
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("case", "evidence"):
        frame[name] = [json.dumps(v, sort_keys=True) for v in frame[name]]
    return frame


def aggregate(scale: str, results_root: Path | None = None) -> pd.DataFrame:
    """Every run's verdicts at `scale` in one table, also written to `<results>/claims.csv`.

    `case` and `evidence` are stored as JSON text. Runs without a claims.json are skipped.
    """
    root = _results(scale, results_root)
    rows = []
    for path in sorted(root.glob(f"*/{FILENAME}")):
        rows += [{"run": path.parent.name, **v.to_dict()} for v in load(path)]
    frame = _frame(rows)
    if root.is_dir():
        storage.atomic_write(root / "claims.csv", lambda tmp: frame.to_csv(tmp, index=False))
    return frame


def table(
    scale: str,
    paper: str | None = None,
    claim: str | None = None,
    results_root: Path | None = None,
    diagnoses: list[Diagnosis] | None = None,
) -> pd.DataFrame:
    """The ledger at `scale`, optionally of one paper or one claim id: the aggregated verdicts
    reviewed for the training seed and joined to their diagnoses (default: `load_diagnoses()`).

    An unknown paper or claim id raises an error listing the ones stored at that scale.
    """
    frame = aggregate(scale, results_root)
    if frame.empty:
        where = _results(scale, results_root)
        raise ValueError(
            f"no claims stored at scale {scale!r} (no {where}/*/{FILENAME}); "
            f"run `make reproduce SCALE={scale}` first"
        )
    frame = _with_seed_stability(frame, _results(scale, results_root) / STABILITY)
    frame = _with_diagnoses(frame, scale, load_diagnoses() if diagnoses is None else diagnoses)
    for column, value in (("paper", paper), ("id", claim)):
        if value is None:
            continue
        if value not in set(frame[column]):
            valid = ", ".join(sorted(set(frame[column])))
            raise ValueError(f"unknown {column} {value!r} at scale {scale!r}; valid: {valid}")
        frame = frame[frame[column] == value]
    return frame.reset_index(drop=True)


def compare_seeds(scale: str, other_root: Path, results_root: Path | None = None) -> pd.DataFrame:
    """Each verdict at `scale` beside the same claim and case stored under `other_root` by a
    run with another training seed (`make stability`): columns id, case, outcome,
    other_outcome ("" where the other run has no such verdict) and flips. Written to
    `results/<scale>/seed_stability.csv`, which `table` reads."""
    this, other = aggregate(scale, results_root), aggregate(scale, other_root)
    if this.empty or other.empty:
        where = _results(scale, results_root if this.empty else other_root)
        raise ValueError(f"no claims stored in {where}; run both reproductions first")
    pairs = this[["id", "case", "outcome"]].merge(
        other[["id", "case", "outcome"]].rename(columns={"outcome": "other_outcome"}),
        on=["id", "case"],
        how="left",
    )
    pairs["other_outcome"] = pairs["other_outcome"].fillna("")
    pairs["flips"] = (pairs["other_outcome"] != "") & (pairs["other_outcome"] != pairs["outcome"])
    path = _results(scale, results_root) / STABILITY
    storage.atomic_write(path, lambda tmp: pairs.to_csv(tmp, index=False))
    return pairs


def _with_seed_stability(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """`frame` with a `seeds` column (same / flips / "" when not compared) from `path`; a
    verdict that flips becomes inconclusive, with both outcomes in its evidence. A stored pair
    whose first outcome is no longer the verdict's (the results changed since) is ignored."""
    frame = frame.assign(seeds="")
    if frame.empty or not path.exists():
        return frame
    pairs = pd.read_csv(path, dtype=str, keep_default_na=False)
    stored = {(r.id, r.case): (r.outcome, r.other_outcome) for r in pairs.itertuples()}
    for i, row in frame.iterrows():
        first, second = stored.get((row["id"], row["case"]), ("", ""))
        if first != row["outcome"] or not second:
            continue
        if second == first:
            frame.at[i, "seeds"] = "same"
            continue
        evidence = {**json.loads(row["evidence"]), "seed_0": first, "seed_1": second}
        frame.at[i, "seeds"] = "flips"
        frame.at[i, "outcome"] = "inconclusive"
        frame.at[i, "evidence"] = json.dumps(evidence, sort_keys=True)
    return frame


@dataclass(frozen=True)
class Diagnosis:
    """Why a `paper` claim fails at a scale: a `cause` (one of `CAUSES`), a one-line `text`,
    and the controlled experiment that shows it: the stored verdict `because` (claim id) on
    `because_case`, at the same scale. `case` keys select the failing cases it covers."""

    claim: str
    scale: str
    cause: str
    text: str
    because: str
    case: dict[str, Any] = field(default_factory=dict)
    because_case: dict[str, Any] = field(default_factory=dict)

    def covers(self, claim_id: str, case: Mapping[str, Any], scale: str) -> bool:
        return (claim_id, scale) == (self.claim, self.scale) and _has(case, self.case)


def load_diagnoses(path: Path = DIAGNOSES) -> list[Diagnosis]:
    """The diagnoses in `path` (a YAML list of `Diagnosis` fields), validated."""
    entries = yaml.safe_load(Path(path).read_text()) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: must hold a list of diagnoses")
    out = []
    names = {f.name for f in Diagnosis.__dataclass_fields__.values()}
    for i, entry in enumerate(entries):
        where = f"{path} [{i}]"
        if not isinstance(entry, dict) or set(entry) - names:
            raise ValueError(f"{where}: a diagnosis has the keys {', '.join(sorted(names))}")
        try:
            diagnosis = Diagnosis(**entry)
        except TypeError as error:
            raise ValueError(f"{where}: {error}") from None
        _split_id(diagnosis.claim, where)
        _split_id(diagnosis.because, where)
        if diagnosis.cause not in CAUSES:
            raise ValueError(f"{where}: cause {diagnosis.cause!r}; valid: {', '.join(CAUSES)}")
        if diagnosis.scale not in paths.SCALES:
            raise ValueError(f"{where}: scale {diagnosis.scale!r}; valid: {paths.SCALES}")
        out.append(diagnosis)
    return out


def _with_diagnoses(frame: pd.DataFrame, scale: str, diagnoses: list[Diagnosis]) -> pd.DataFrame:
    """`frame` with a `diagnosis` column: for each failing `paper` verdict, the diagnosis that
    covers it, its cause and the outcome and evidence of its controlled experiment ("" when
    none covers it)."""
    frame = frame.assign(diagnosis="")
    for i, row in frame[(frame["kind"] == "paper") & (frame["outcome"] == "fails")].iterrows():
        case = json.loads(row["case"])
        found = [d for d in diagnoses if d.covers(row["id"], case, scale)]
        if not found:
            continue
        d = found[0]
        controls = frame["case"].map(lambda text, d=d: _has(json.loads(text), d.because_case))
        control = frame[(frame["id"] == d.because) & controls]
        if control.empty:
            shown = "not stored at this scale"
        else:
            shown = ", ".join(
                f"{r.outcome} ({_evidence_text(r.evidence)})" for r in control.itertuples()
            )
        frame.at[i, "diagnosis"] = f"{d.cause}: {d.text} Controlled: {d.because} {shown}."
    return frame


def _has(case: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether `case` has every key of `wanted` with its value."""
    return all(case.get(k) == v for k, v in wanted.items())


def _case_text(case_json: str) -> str:
    case = json.loads(case_json)
    return ", ".join(f"{k}={v}" for k, v in case.items()) or "-"


def _evidence_text(evidence_json: str) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)

    return "; ".join(f"{k} {fmt(v)}" for k, v in json.loads(evidence_json).items())


def _line(outcome: str, kind: str, claim_id: str, case: str, evidence: str) -> str:
    return f"{outcome.upper():12}  {kind:6}  {claim_id}  [{case}]  {evidence}"


def show(verdicts: Iterable[Verdict]) -> None:
    """Print one line per verdict: outcome, kind, claim, case and evidence."""
    for v in verdicts:
        case, evidence = json.dumps(v.case), json.dumps(v.evidence)
        print(_line(v.outcome, v.kind, v.id, _case_text(case), _evidence_text(evidence)))


def counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Verdicts per paper and kind: one column per outcome, and the total."""
    table = (
        frame.groupby(["paper", "kind"])["outcome"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=list(OUTCOMES), fill_value=0)
    )
    return table.assign(total=table.sum(axis=1)).reset_index()


def summary_line(frame: pd.DataFrame) -> str:
    """One sentence: the scale, the data and the outcomes per kind."""
    scales, data = sorted(set(frame["scale"])), sorted(set(frame["data"]))
    by_kind = counts(frame).groupby("kind")[[*OUTCOMES, "total"]].sum()
    parts = [
        f"{kind}: {row.holds} of {row.total} hold, {row.fails} fail, {row.inconclusive} "
        "inconclusive"
        for kind, row in by_kind.iterrows()
    ]
    line = f"Scale: {', '.join(scales)}; data: {', '.join(data)}. " + "; ".join(parts) + "."
    if "seeds" in frame and (frame["seeds"] != "").any():
        compared = int((frame["seeds"] != "").sum())
        flips = int((frame["seeds"] == "flips").sum())
        line += (
            f" With a second training seed, {flips} of {compared} verdicts compared change "
            "outcome and count as inconclusive here."
        )
    return line


def _diagnosis_text(row) -> str:
    """A verdict's diagnosis; "none yet" for a failing `paper` verdict that has none."""
    diagnosis = getattr(row, "diagnosis", "")
    if not diagnosis and row.kind == "paper" and row.outcome == "fails":
        return "none yet"
    return diagnosis


def _rows(frame: pd.DataFrame) -> list[str]:
    lines = []
    for row in frame.sort_values(["paper", "figure", "id"], kind="stable").itertuples():
        name = row.id.split("/")[-1]
        outcome = row.outcome if row.outcome == "holds" else f"**{row.outcome}**"
        lines.append(
            f"| {row.paper} | {row.figure} | {name}: {row.statement} | {_case_text(row.case)} | "
            f"{outcome} | {_evidence_text(row.evidence)} | {_diagnosis_text(row)} |"
        )
    return lines


_TABLE_HEAD = [
    "| paper | figure | claim | case | outcome | evidence | diagnosis |",
    "|---|---|---|---|---|---|---|",
]


def summary_markdown(frame: pd.DataFrame) -> str:
    """The README's claims section: the verdicts counted per paper and kind."""
    lines = [
        summary_line(frame),
        "",
        "| paper | kind | holds | fails | inconclusive | total |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.paper} | {r.kind} | {r.holds} | {r.fails} | {r.inconclusive} | {r.total} |"
        for r in counts(frame).itertuples()
    ]
    return "\n".join(lines) + "\n"


def open_markdown(frame: pd.DataFrame) -> str:
    """Every `paper` and `beyond` verdict that does not hold, with its diagnosis (the full
    ledger is `ledger_markdown`)."""
    open_ = frame[frame["kind"].isin(["paper", "beyond"]) & (frame["outcome"] != "holds")]
    if open_.empty:
        return "Every `paper` and `beyond` verdict holds.\n"
    lines = ["The `paper` and `beyond` verdicts that do not hold:", "", *_TABLE_HEAD]
    return "\n".join(lines + _rows(open_)) + "\n"


def ledger_markdown(frame: pd.DataFrame) -> str:
    """Every verdict, grouped by kind then paper, as Markdown (the `CLAIMS.md` ledger)."""
    lines = [
        "# Claims ledger",
        "",
        "Generated by `python -m mrirobust claims --markdown` (`make gallery`) from "
        "`results/<scale>/*/claims.json`; do not edit. Each comparison carries its estimate and "
        "95 % bootstrap interval (`_ci95`) over the scored units (`n`); an interval that spans "
        "the threshold makes the verdict inconclusive.",
        "",
        summary_line(frame),
    ]
    for kind in KINDS:
        part = frame[frame["kind"] == kind]
        if part.empty:
            continue
        lines += ["", f"## {kind}", "", *_TABLE_HEAD, *_rows(part)]
    return "\n".join(lines) + "\n"


def write_ledger(text: str, root: Path | None = None) -> Path:
    """Write the ledger `text` (`ledger_markdown`) to `CLAIMS.md` at the project root."""
    path = (Path(root) if root else paths.project_root()) / LEDGER
    storage.atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def configure_parser(parser) -> None:
    parser.add_argument("--scale", default="cpu", help="scale whose results to read (cpu)")
    parser.add_argument("--paper", help="only this paper's claims")
    parser.add_argument("--claim", help="only this claim id (paper/figure/name)")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="write the README's claims summary and the ledger CLAIMS.md (and print the summary)",
    )
    parser.add_argument(
        "--stability",
        metavar="RESULTS",
        help="first compare with the verdicts of a second-seed run stored under this results "
        "root (`make stability`) and store results/SCALE/seed_stability.csv",
    )


def main(args) -> int:
    if args.stability:
        pairs = compare_seeds(args.scale, Path(args.stability))
        print(
            f"{int(pairs['flips'].sum())} of {int((pairs['other_outcome'] != '').sum())} "
            f"verdicts change outcome with the second seed ({args.stability})"
        )
    frame = table(args.scale, paper=args.paper, claim=args.claim)
    if args.markdown:
        text = summary_markdown(frame)
        readme = paths.project_root() / "README.md"
        storage.replace_section(readme, "claims", text)
        print(text, end="")
        ledger = write_ledger(ledger_markdown(frame))
        print(f"written to the claims section of {readme} and to {ledger}")
        return 0
    for row in frame.itertuples():
        print(
            _line(row.outcome, row.kind, row.id, _case_text(row.case), _evidence_text(row.evidence))
        )
        if _diagnosis_text(row):
            print(f"{'':14}  diagnosis: {_diagnosis_text(row)}")
    print(summary_line(frame))
    return 0
