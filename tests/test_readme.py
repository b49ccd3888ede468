import json

import pytest

from mrirobust import claims, paths, readme, runner, storage


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch project: results and figures of scale smoke, and a README using them."""
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
    sections = ["claims", "timings", "table:train_models/quality.csv"]
    text = "# demo\n![Fig. 1](figures/gallery/fig1.png)\n"
    for name in sections:
        begin, end = storage.section_markers(name)
        text += f"{begin}\nstale\n{end}\n"
    path = tmp_path / "README.md"
    path.write_text(text)
    return path


def test_refresh_fills_every_section_and_copies_the_gallery(project):
    assert readme.sections(project) == ["claims", "timings", "table:train_models/quality.csv"]
    readme.refresh("smoke", project)
    text = project.read_text()
    assert "stale" not in text
    assert "| unet | 0.6831 |" in text and "| train_models | ok | 1.5 |" in text
    assert "| pre-training: shared (2 jobs) | ok | 1.5 |" in text and "**3.0**" in text
    assert "took 0.50 s, so the total is 360 reference steps" in text  # 3 min / 0.5 s
    assert "| toy2024 | paper | 1 | 0 | 0 | 1 |" in text
    assert "falls: it falls" in (project.parent / "CLAIMS.md").read_text()
    assert (project.parent / "figures" / "gallery" / "fig1.png").read_bytes() == b"png of smoke"


def test_a_missing_source_leaves_everything_as_it_was(project):
    (project.parent / "figures" / "smoke" / "fig1.png").unlink()
    before = project.read_text()
    with pytest.raises(FileNotFoundError, match="gallery figures missing.*fig1.png"):
        readme.refresh("smoke", project)
    assert project.read_text() == before
    project.write_text(before.replace("quality.csv", "absent.csv"))
    (project.parent / "figures" / "smoke" / "fig1.png").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="absent.csv does not exist"):
        readme.refresh("smoke", project)


def test_unknown_sections_are_named(project):
    with pytest.raises(ValueError, match="unknown README section 'numbers'"):
        readme.render("numbers", "smoke")


def test_the_project_readme_names_only_known_sections_and_figures_runs_make():
    names = readme.sections()
    assert {"claims", "timings", "table:train_models/quality.csv"} <= set(names)
    for name in names:
        assert name in ("claims", "timings") or name.startswith("table:"), name
    outputs = {
        output.removeprefix("{figures}/")
        for run in runner.load_manifest(paths.notebooks_root() / "manifest.yaml")
        for output in run.outputs
    }
    for figure in readme.gallery_figures():
        assert figure in outputs, f"README gallery shows {figure}, which no manifest run writes"
