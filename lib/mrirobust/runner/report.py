"""Texts of the HTML report (`make report`): each figure's caption and the front page.

Snakemake renders both from reStructuredText: the captions through `caption.rst`, a template
that looks up the run's caption in the workflow config, and the front page from a file written
here, with the claims table gathered by `mrirobust.claims.aggregate`.
"""

from __future__ import annotations

from pathlib import Path

from mrirobust import claims, storage
from mrirobust.runner.manifest import Run, run_dir

CAPTION = Path(__file__).with_name("caption.rst")
FIGURES = (".png", ".svg", ".jpg", ".jpeg", ".gif")  # outputs shown as figures in the report


def data_description(scale: str) -> str:
    """The data set that `scale` uses, in the words of every figure caption."""
    from mrirobust.plots import data_caption  # matplotlib is imported only for the report

    return data_caption(scale)


def caption(run: Run, scale: str, manifest: str | Path) -> str:
    """A figure's caption: the run and notebook, the data, parameters, revision and date."""
    record_path = run_dir(scale, run.id) / "run.json"
    record = storage.read_json(record_path) if record_path.exists() else {}
    git = (record.get("git") or {}).get("revision") or "unknown"
    notebook = run.notebook.relative_to(Path(manifest).parent).as_posix()
    parameters = ", ".join(f"{k}={v}" for k, v in sorted(run.params(scale).items()))
    return (
        f"Run ``{run.id}`` of ``{notebook}`` at scale ``{scale}``. "
        f"**Data: {data_description(scale)}.** "
        f"Parameters: {parameters}. Git revision ``{git[:12]}``, finished {record.get('end')}."
    )


def write_description(scale: str, path: Path) -> Path:
    """Write the report's front page (reStructuredText) with the claims table; returns `path`."""
    frame = claims.aggregate(scale)
    if not frame.empty:
        frame = claims.table(scale)  # reviewed for the training seed, with diagnoses
    title = f"mrirobust results at scale {scale}"
    lines = [
        title,
        "=" * len(title),
        "",
        f"Data: {data_description(scale)}. Figures are under *Results*, grouped by paper and run;",
        "each caption names the run, its notebook, the data and the parameters.",
        "",
        "Claims",
        "------",
        "",
    ]
    if frame.empty:
        lines.append("No run at this scale stored claims (no results/<scale>/<run>/claims.json).")
    else:
        lines += [
            f"{claims.summary_line(frame)} From results/{scale}/claims.csv.",
            "",
            ".. raw:: html",
            "",
        ]
        columns = [
            "paper",
            "figure",
            "kind",
            "id",
            "statement",
            "case",
            "outcome",
            "evidence",
            "diagnosis",
            "run",
        ]
        table = frame[columns].to_html(index=False, classes="claims", border=0)
        lines += ["   " + line for line in table.splitlines()]
    storage.atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return path
