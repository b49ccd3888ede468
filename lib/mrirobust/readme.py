"""The generated parts of the README and of `docs/cpu_run.md` (`DOCUMENTS`), written from the
stored results of one scale.

Numbers in these documents are generated, never typed (showyourwork's idea). A document marks
each generated part with a pair of comments, `<!-- NAME:begin (generated) -->` ...
`<!-- NAME:end -->`:

- `claims`: the stored claim verdicts counted per paper and kind (`mrirobust.claims`; the full
  ledger goes to `CLAIMS.md` in the project root);
- `open-claims`: the `paper` and `beyond` verdicts that do not hold, with their diagnoses;
- `timings`: each run's status and duration from its `run.json`, the pre-training jobs' per
  paper, the total, and the total in steps of the reference workload (`runner.reference`)
  timed after the run on the same machine;
- `table:RUN/FILE.csv`: the CSV `results/<scale>/RUN/FILE.csv` as a Markdown table.

Every image a document shows from `figures/gallery/NAME.png` is copied from
`figures/<scale>/NAME.png`. `refresh(scale)` checks that every source exists before it writes
anything; `python -m mrirobust readme --scale cpu` (`make gallery`) runs it.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd

from mrirobust import claims, paths, storage

__all__ = ["DOCUMENTS", "documents", "sections", "gallery_figures", "render", "refresh"]

DOCUMENTS = ("README.md", "docs/cpu_run.md")  # relative to the project root
_SECTION = re.compile(r"<!-- (\S+):begin \(generated\) -->")
_GALLERY = re.compile(r"\]\((?:\.\./)*figures/gallery/([\w.-]+\.png)\)")


def documents(root: Path | None = None) -> list[Path]:
    """The documents with generated parts under the project `root` (default: this project)."""
    root = Path(root) if root else paths.project_root()
    return [root / name for name in DOCUMENTS]


def sections(document: Path) -> list[str]:
    """Names of the generated sections of `document`, in order."""
    return _SECTION.findall(Path(document).read_text())


def gallery_figures(document: Path) -> list[str]:
    """File names of the gallery images `document` shows."""
    return _GALLERY.findall(Path(document).read_text())


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _csv_markdown(path: Path) -> str:
    frame = pd.read_csv(path)
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "---|" * len(frame.columns))
    lines += ["| " + " | ".join(_number(v) for v in row) + " |" for row in frame.itertuples(False)]
    return f"From `results/<scale>/{path.parent.name}/{path.name}`:\n\n" + "\n".join(lines) + "\n"


def _timings(scale: str) -> str:
    """Each run's status and minutes (its `run.json`), the pre-training jobs' minutes per paper
    (their markers, `runner.pretrain`) and the total."""
    root = paths.results_root() / scale
    records = sorted(root.glob("*/run.json"))
    if not records:
        raise FileNotFoundError(f"no run.json under {root}; run `make reproduce SCALE={scale}`")
    lines = ["| run | status | minutes |", "|---|---|---|"]
    total = 0.0
    pretraining: dict[str, list[float]] = {}
    spans = []  # (start, end) of every job, seconds since the epoch
    for marker in sorted((root / "pretrain").glob("*.json")):
        job = storage.read_json(marker)
        seconds = float(job.get("seconds", 0.0))
        pretraining.setdefault(job.get("paper", "?"), []).append(seconds)
        written = marker.stat().st_mtime
        spans.append((written - seconds, written))
    for paper, seconds in sorted(pretraining.items()):
        minutes = sum(seconds) / 60
        total += minutes
        lines.append(f"| pre-training: {paper} ({len(seconds)} jobs) | ok | {minutes:.1f} |")
    for record in records:
        run = storage.read_json(record)
        minutes = float(run.get("duration_s", 0.0)) / 60
        total += minutes
        lines.append(f"| {record.parent.name} | {run.get('status', '?')} | {minutes:.1f} |")
        if run.get("start") and run.get("end"):
            spans.append(
                tuple(datetime.fromisoformat(run[k]).timestamp() for k in ("start", "end"))
            )
    lines.append(f"| **total (sum of the jobs)** | | **{total:.1f}** |")
    text = (
        f"Scale {scale}, from each run's `run.json` and each pre-training job's marker "
        "(`results/<scale>/pretrain/`):\n\n" + "\n".join(lines) + "\n"
    )
    if spans:
        wall = (max(end for _, end in spans) - min(start for start, _ in spans)) / 60
        text += (
            f"\nJobs may run side by side (`JOBS`): from the first job's start to the last one's "
            f"end took {wall:.1f} min.\n"
        )
    reference = root / "reference.json"
    if reference.exists():
        record = storage.read_json(reference)
        steps = total * 60 / record["seconds"]
        text += (
            f"\nOn this machine the reference workload ({record['workload']}; "
            f"`runner.reference`, {record['threads']} threads) took "
            f"{record['seconds']:.2f} s, so the total is {steps:,.0f} reference steps: another "
            "machine's total in minutes is about that count times its own reference time / 60.\n"
        )
    return text


def render(name: str, scale: str) -> str:
    """The Markdown of generated section `name` from the results at `scale`."""
    if name == "claims":
        return claims.summary_markdown(claims.table(scale))
    if name == "open-claims":
        return claims.open_markdown(claims.table(scale))
    if name == "timings":
        return _timings(scale)
    if name.startswith("table:"):
        path = paths.results_root() / scale / name.removeprefix("table:")
        if path.suffix != ".csv":
            raise ValueError(f"README section {name!r}: tables are CSV files (RUN/FILE.csv)")
        if not path.exists():
            raise FileNotFoundError(f"README section {name!r}: {path} does not exist")
        return _csv_markdown(path)
    raise ValueError(
        f"unknown README section {name!r}; valid: claims, open-claims, timings, table:RUN/FILE.csv"
    )


def refresh(scale: str = "cpu", root: Path | None = None) -> list[str]:
    """Copy the gallery figures from `figures/<scale>/` to `<root>/figures/gallery/` and
    regenerate every section of every document (`documents(root)`).

    Everything is rendered and every figure found before anything is written, so a missing
    result leaves the documents and the gallery as they were. Returns what was refreshed.
    """
    docs = documents(root)
    figures = paths.figures_dir(scale)
    shown = [name for doc in docs for name in gallery_figures(doc)]
    missing = [name for name in shown if not (figures / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"gallery figures missing from {figures}: {', '.join(missing)}; "
            f"run `make reproduce SCALE={scale}` first"
        )
    texts = {(doc, name): render(name, scale) for doc in docs for name in sections(doc)}
    with_claims = any(name == "claims" for _, name in texts)
    ledger = claims.ledger_markdown(claims.table(scale)) if with_claims else None
    gallery = docs[0].parent / "figures" / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    for name in shown:
        storage.atomic_write(gallery / name, lambda tmp, n=name: shutil.copyfile(figures / n, tmp))
    for (doc, name), text in texts.items():
        storage.replace_section(doc, name, text)
    if ledger is not None:
        claims.write_ledger(ledger, docs[0].parent)
    return [
        *(f"{doc.name}: {name}" for doc, name in texts),
        *([claims.LEDGER] if ledger else []),
        *shown,
    ]


def configure_parser(parser) -> None:
    parser.add_argument("--scale", default="cpu", help="scale whose results and figures to use")


def main(args) -> int:
    for item in refresh(args.scale):
        print(f"refreshed {item}")
    return 0
