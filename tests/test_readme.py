import json

import pytest

from mrirobust import claims, paths, runner, storage
from mrirobust import readme as readme_module


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch project: results and figures of scale smoke, and a README and docs/cpu_run.md
    using them; returns the project root."""
    monkeypatch.setenv("MRIROBUST_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MRIROBUST_FIGURES", str(tmp_path / "figures"))
    run = tmp_path / "results" / "smoke" / "train_models"
    run.mkdir(parents=True)
    (run / "quality.csv").write_text("method,ssim\nunet,0.6831\nzero_filled,0.449\n")
    (run / "run.json").write_text(json.dumps({"status": "ok", "duration_s": 90.0}))
    reference = {"workload": "one step", "seconds": 0.5, "threads": 2, "host": "h"}
    (run.parent / "reference.json").write_text(json.dumps(reference))
    markers = tmp_path / "results" / "smoke" / "pretrain"
    markers.mkdir()
    for name, seconds in (("unet", 30.0), ("varnet", 60.0)):
        job = {"job": name, "paper": "shared", "seconds": seconds}
        (markers / f"{name}.json").write_text(json.dumps(job))
    falls = claims.Claim("toy2024/fig1/falls", "it falls", lambda a, b: (b < a, {"a": a, "b": b}))
    claims.save(run, [falls.verdict({}, "smoke", "embedded", a=1.0, b=0.5)])
    (tmp_path / "figures" / "smoke").mkdir(parents=True)
    (tmp_path / "figures" / "smoke" / "fig1.png").write_bytes(b"png of smoke")
    (tmp_path / "figures" / "smoke" / "fig2.png").write_bytes(b"png 2 of smoke")
    pages = {
        "README.md": ("![Fig. 1](figures/gallery/fig1.png)", ["claims"]),
        "docs/cpu_run.md": (
            "![Fig. 2](../figures/gallery/fig2.png)",
            ["open-claims", "timings", "table:train_models/quality.csv"],
        ),
    }
    for name, (image, sections) in pages.items():
        text = f"# demo\n{image}\n"
        for section in sections:
            begin, end = storage.section_markers(section)
            text += f"{begin}\nstale\n{end}\n"
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_refresh_fills_every_section_and_copies_the_gallery(project):
    readme, run_page = readme_module.documents(project)
    assert readme_module.sections(readme) == ["claims"]
    assert readme_module.sections(run_page) == [
        "open-claims",
        "timings",
        "table:train_models/quality.csv",
    ]
    readme_module.refresh("smoke", project)
    text, details = readme.read_text(), run_page.read_text()
    assert "stale" not in text + details
    assert "| toy2024 | paper | 1 | 0 | 0 | 1 |" in text
    assert "| unet | 0.6831 |" in details and "| train_models | ok | 1.5 |" in details
    assert "| pre-training: shared (2 jobs) | ok | 1.5 |" in details and "**3.0**" in details
    assert "took 0.50 s, so the total is 360 reference steps" in details  # 3 min / 0.5 s
    assert "Every `paper` and `beyond` verdict holds." in details
    assert "falls: it falls" in (project / "CLAIMS.md").read_text()
    gallery = project / "figures" / "gallery"
    assert (gallery / "fig1.png").read_bytes() == b"png of smoke"
    assert (gallery / "fig2.png").read_bytes() == b"png 2 of smoke"


def test_a_missing_source_leaves_everything_as_it_was(project):
    readme, run_page = readme_module.documents(project)
    (project / "figures" / "smoke" / "fig2.png").unlink()
    before = readme.read_text(), run_page.read_text()
    with pytest.raises(FileNotFoundError, match="gallery figures missing.*fig2.png"):
        readme_module.refresh("smoke", project)
    assert (readme.read_text(), run_page.read_text()) == before
    run_page.write_text(before[1].replace("quality.csv", "absent.csv"))
    (project / "figures" / "smoke" / "fig2.png").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="absent.csv does not exist"):
        readme_module.refresh("smoke", project)
    assert readme.read_text() == before[0]


def test_unknown_sections_are_named(project):
    with pytest.raises(ValueError, match="unknown README section 'numbers'"):
        readme_module.render("numbers", "smoke")


def test_the_project_documents_name_only_known_sections_and_figures_runs_make():
    readme, run_page = readme_module.documents()
    assert readme_module.sections(readme) == ["claims"]  # the first screen: counts only
    names = readme_module.sections(run_page)
    assert {"open-claims", "timings", "table:train_models/quality.csv"} <= set(names)
    for name in names:
        assert name in ("open-claims", "timings") or name.startswith("table:"), name
    outputs = {
        output.removeprefix("{figures}/")
        for run in runner.load_manifest(paths.notebooks_root() / "manifest.yaml")
        for output in run.outputs
    }
    for figure in readme_module.gallery_figures(run_page) + readme_module.gallery_figures(readme):
        assert figure in outputs, f"the gallery shows {figure}, which no manifest run writes"
