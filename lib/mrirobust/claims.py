"""Claims as data: the papers' findings, checked on stored numbers and saved as verdicts.

A `Claim` states a finding once: an id "paper/figure/name", the statement in words and a check
function on stored tables, `check(**inputs) -> (holds, evidence)`. Checking it on one case (a
model, an acceleration, ...) gives a `Verdict`, with one schema for every paper:

    {id, paper, figure, statement, case, holds, evidence, scale, data, git}

`evidence` holds the numbers compared. A claim that does not hold is a result to report, not an
error; a claim that cannot be evaluated (missing column, empty table) raises.

Each run saves its verdicts to `results/<scale>/<run>/claims.json` (`save`); `aggregate(scale)`
gathers them into `results/<scale>/claims.csv`; `python -m mrirobust claims --scale S` prints the
table and `--markdown` writes it into the README's generated `claims` section.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mrirobust import paths, storage

__all__ = [
    "FIELDS",
    "Claim",
    "Verdict",
    "save",
    "load",
    "aggregate",
    "table",
    "show",
    "markdown",
]

FIELDS = ("id", "paper", "figure", "statement", "case", "holds", "evidence", "scale", "data", "git")
FILENAME = "claims.json"


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


@dataclass(frozen=True)
class Verdict:
    """One checked claim on one case, with the numbers behind it."""

    id: str
    paper: str
    figure: str
    statement: str
    case: dict[str, Any]
    holds: bool
    evidence: dict[str, Any]
    scale: str
    data: str
    git: str

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
        kinds = {"case": dict, "evidence": dict, "holds": bool}
        for name in FIELDS:
            kind = kinds.get(name, str)
            if not isinstance(entry[name], kind):
                raise ValueError(
                    f"{source}: field {name!r} of verdict {entry['id']!r} must be a "
                    f"{kind.__name__}, got {type(entry[name]).__name__}"
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


@dataclass(frozen=True)
class Claim:
    """A finding of a paper, declared once: `check(**inputs) -> (holds, evidence)`."""

    id: str
    statement: str
    check: Callable[..., tuple[bool, Mapping[str, Any]]] = field(repr=False)

    def __post_init__(self):
        _split_id(self.id)

    @property
    def paper(self) -> str:
        return _split_id(self.id)[0]

    @property
    def figure(self) -> str:
        return _split_id(self.id)[1]

    def verdict(self, case: Mapping[str, Any], scale: str, data: str, **inputs) -> Verdict:
        """Check the claim on `inputs` for one `case` (plain values naming the sub-case)."""
        holds, evidence = self.check(**inputs)
        if not isinstance(holds, bool):
            if not (hasattr(holds, "item") and isinstance(holds.item(), bool)):
                raise TypeError(f"claim {self.id}: check must return a bool, got {holds!r}")
            holds = holds.item()
        return Verdict(
            id=self.id,
            paper=self.paper,
            figure=self.figure,
            statement=self.statement,
            case=_plain(dict(case), f"claim {self.id} case"),
            holds=holds,
            evidence=_plain(dict(evidence), f"claim {self.id} evidence"),
            scale=scale,
            data=data,
            git=_git(),
        )


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
) -> pd.DataFrame:
    """The aggregated verdicts at `scale`, optionally of one paper or one claim id.

    An unknown paper or claim id raises an error listing the ones stored at that scale.
    """
    frame = aggregate(scale, results_root)
    if frame.empty:
        where = _results(scale, results_root)
        raise ValueError(
            f"no claims stored at scale {scale!r} (no {where}/*/{FILENAME}); "
            f"run `make reproduce SCALE={scale}` first"
        )
    for column, value in (("paper", paper), ("id", claim)):
        if value is None:
            continue
        if value not in set(frame[column]):
            valid = ", ".join(sorted(set(frame[column])))
            raise ValueError(f"unknown {column} {value!r} at scale {scale!r}; valid: {valid}")
        frame = frame[frame[column] == value]
    return frame.reset_index(drop=True)


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


def _line(holds: bool, claim_id: str, case: str, evidence: str) -> str:
    return f"{'holds' if holds else 'DOES NOT HOLD':13}  {claim_id}  [{case}]  {evidence}"


def show(verdicts: Iterable[Verdict]) -> None:
    """Print one line per verdict: holds / DOES NOT HOLD, the claim, its case and evidence."""
    for v in verdicts:
        case, evidence = json.dumps(v.case), json.dumps(v.evidence)
        print(_line(v.holds, v.id, _case_text(case), _evidence_text(evidence)))


def markdown(frame: pd.DataFrame) -> str:
    """The verdict table as Markdown: one row per claim and case, grouped by paper."""
    scales, data = sorted(set(frame["scale"])), sorted(set(frame["data"]))
    lines = [
        f"Scale: {', '.join(scales)}; data: {', '.join(data)}; "
        f"{int(frame['holds'].sum())} of {len(frame)} verdicts hold.",
        "",
        "| paper | figure | claim | case | holds | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for row in frame.sort_values(["paper", "figure", "id"], kind="stable").itertuples():
        name = row.id.split("/")[-1]
        lines.append(
            f"| {row.paper} | {row.figure} | {name}: {row.statement} | {_case_text(row.case)} | "
            f"{'yes' if row.holds else '**no**'} | {_evidence_text(row.evidence)} |"
        )
    return "\n".join(lines) + "\n"


def configure_parser(parser) -> None:
    parser.add_argument("--scale", default="cpu", help="scale whose results to read (cpu)")
    parser.add_argument("--paper", help="only this paper's claims")
    parser.add_argument("--claim", help="only this claim id (paper/figure/name)")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="write the table into README.md's generated claims section (and print it)",
    )


def main(args) -> int:
    frame = table(args.scale, paper=args.paper, claim=args.claim)
    if args.markdown:
        text = markdown(frame)
        readme = paths.project_root() / "README.md"
        storage.replace_section(readme, "claims", text)
        print(text, end="")
        print(f"written to the claims section of {readme}")
        return 0
    for row in frame.itertuples():
        print(_line(row.holds, row.id, _case_text(row.case), _evidence_text(row.evidence)))
    print(f"{int(frame['holds'].sum())} of {len(frame)} verdicts hold (scale {args.scale})")
    return 0
