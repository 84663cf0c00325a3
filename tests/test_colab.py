"""The student notebooks in Google Colab.

- every student notebook starts with an "Open in Colab" badge built from the one
  student-repository URL in pyproject.toml, and its setup cell is the bootstrap;
- the bootstrap does nothing where the helpers are installed (that it installs them
  in a fresh Colab-like runtime, from the student release, is tests/test_release.py);
- ``dlcourse.colab.setup()`` prepares a Colab runtime and is a no-op elsewhere;
- a notebook saved by Colab (its own JSON form) grades exactly like the same
  notebook saved by JupyterLab, cell by cell, with real nbgrader.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import nbformat
import pytest

from grader.course import assignments
from grader.header import BADGE_ID, BOOTSTRAP_MARK, bootstrap, colab_url, settings

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "01-linear-regression"


def student(chapter: str) -> nbformat.NotebookNode:
    path = ROOT / "notebooks" / chapter / f"{chapter}.ipynb"
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make build`"
    return nbformat.read(path, as_version=4)


def setup_cell(nb) -> str:
    return next(c.source for c in nb.cells if "setup" in c.metadata.get("tags", []))


# --------------------------------------------------------------------------- badge and bootstrap

def test_repository_is_configured_once_in_pyproject():
    conf = settings(ROOT)
    assert conf["repository"].startswith("https://github.com/"), conf
    url = colab_url(conf["repository"], conf["branch"], f"notebooks/{CHAPTER}/{CHAPTER}.ipynb")
    assert url == (f"https://colab.research.google.com/github/{conf['repository'][19:]}"
                   f"/blob/{conf['branch']}/notebooks/{CHAPTER}/{CHAPTER}.ipynb")


@pytest.mark.parametrize("chapter", assignments())
def test_student_notebook_has_the_badge_and_the_bootstrap(chapter):
    conf = settings(ROOT)
    nb = student(chapter)
    badge = nb.cells[0]
    url = colab_url(conf["repository"], conf["branch"], f"notebooks/{chapter}/{chapter}.ipynb")
    assert badge.cell_type == "markdown" and badge.get("id") == BADGE_ID, \
        f"{chapter}: the first cell should be the Colab badge; run `make build`"
    assert f"]({url})" in badge.source and "colab-badge.svg" in badge.source
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "setup" in first_code.metadata.get("tags", []), f"{chapter}: the first code cell is not the setup cell"
    assert first_code.source.startswith(bootstrap(conf["repository"], conf["branch"])), \
        f"{chapter}: the setup cell does not start with the bootstrap; run `make build`"
    assert f"git+{conf['repository']}@{conf['branch']}" in first_code.source
    assert "dlcourse.try_gpu()" in first_code.source and "describe_device" in first_code.source
    assert sum(BOOTSTRAP_MARK in c.source for c in nb.cells) == 1


def test_header_is_idempotent_and_adds_a_missing_setup_cell():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from grader.header import add_header
    conf = settings(ROOT)
    nb = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("x = 1")])
    once = add_header(nbformat.from_dict(nb), "https://colab.example/nb", **conf)
    twice = add_header(nbformat.from_dict(once), "https://colab.example/nb", **conf)
    assert once == twice
    assert [c.cell_type for c in once.cells] == ["markdown", "markdown", "code", "code"]
    assert once.cells[2].metadata["tags"] == ["setup"] and "dlcourse.try_gpu()" in once.cells[2].source
    assert once.cells[3].source == "x = 1"


def test_bootstrap_does_nothing_where_the_helpers_are_installed(tmp_path):
    """In the course environment the cell only imports and prints the device: no pip."""
    script = tmp_path / "cell.py"
    script.write_text("import subprocess\n"
                      "def no_pip(*a, **k):\n    raise AssertionError(f'pip was called: {a}')\n"
                      "subprocess.run = no_pip\n" + setup_cell(student(CHAPTER)))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Training on "), proc.stdout
    assert "Installing" not in proc.stdout


# --------------------------------------------------------------------------- dlcourse.colab

def test_colab_setup_is_a_no_op_outside_colab(capsys, monkeypatch):
    import dlcourse.colab
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not dlcourse.colab.in_colab()
    dlcourse.colab.setup()
    assert capsys.readouterr().out == ""


def test_colab_setup_survives_a_missing_dataset(capsys, monkeypatch):
    import types

    import dlcourse.colab
    import dlcourse.data
    fake = types.ModuleType("google.colab")
    monkeypatch.setitem(sys.modules, "google.colab", fake)  # no `output`: an old runtime

    def nowhere(download=True):
        raise dlcourse.data.DatasetError("Fashion-MNIST was not found. Looked in: ...")
    monkeypatch.setattr(dlcourse.data, "find_fashion_mnist", nowhere)
    dlcourse.colab.setup()
    out = capsys.readouterr().out
    assert "Fashion-MNIST is not available yet (Fashion-MNIST was not found." in out
    assert "the chapters that need it will try again" in out


# --------------------------------------------------------------------------- saved by Colab

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)
PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def answered(chapter: str, wrong: dict[str, str]) -> nbformat.NotebookNode:
    """The student notebook with the solutions typed in, as JupyterLab saves it after a run
    (outputs stored), except the exercises in ``wrong`` (grade id -> wrong code)."""
    solution = nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
               for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb = student(chapter)
    count = 0
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = wrong.get(gid, answers[gid])
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {count}\n")]
            if "Animator" in cell.source or "plt." in cell.source:
                cell.outputs.append(nbformat.v4.new_output(
                    "display_data", data={"image/png": PNG_1x1, "text/plain": "<Figure size 350x250 with 1 Axes>"}))
    return nb


def colab_id(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return "".join(rng.choice(alphabet) for _ in range(12))


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def colab_form(nb: nbformat.NotebookNode, name: str, seed: int = 0) -> str:
    """``nb`` in the exact JSON form Colab writes (File > Download > .ipynb) for a GPU runtime:
    nbformat 4.0, cell ids in metadata.id, "colab" and "outputId" on cells with outputs, no
    top-level cell ids, no deletable/editable flags, sources and texts as lists of lines."""
    rng = random.Random(seed)
    cells = []
    for cell in nb.cells:
        meta = {"id": colab_id(rng)}
        if "nbgrader" in cell.metadata:
            meta["nbgrader"] = dict(cell.metadata["nbgrader"])
        if cell.cell_type == "markdown":
            cells.append({"cell_type": "markdown", "source": lines(cell.source), "metadata": meta})
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                outputs.append({"output_type": "stream", "name": out.name, "text": lines(out.text)})
            else:
                data = {k: (v if k == "image/png" else lines(v)) for k, v in out.data.items()}
                outputs.append({"output_type": out.output_type, "data": data,
                                "metadata": {"needs_background": "light"} if "image/png" in data else {}})
        if outputs:
            meta = {"colab": {"base_uri": "https://localhost:8080/"}, **meta,
                    "outputId": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
        cells.append({"cell_type": "code", "execution_count": cell.execution_count, "metadata": meta,
                      "outputs": outputs, "source": lines(cell.source)})
    doc = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": [], "name": name},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
            "gpuClass": "standard",
        },
        "cells": cells,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def test_colab_form_is_what_colab_writes():
    text = colab_form(answered(CHAPTER, {}), f"{CHAPTER}.ipynb")
    doc = json.loads(text)
    assert list(doc) == ["nbformat", "nbformat_minor", "metadata", "cells"]
    assert (doc["nbformat"], doc["nbformat_minor"]) == (4, 0)
    assert doc["metadata"]["colab"] == {"provenance": [], "name": f"{CHAPTER}.ipynb"}
    assert doc["metadata"]["kernelspec"] == {"name": "python3", "display_name": "Python 3"}
    assert doc["metadata"]["accelerator"] == "GPU" and "gpuClass" in doc["metadata"]
    assert all("id" not in c and re.fullmatch(r"[\w-]{12}", c["metadata"]["id"]) for c in doc["cells"])
    assert "deletable" not in text and "editable" not in text
    with_outputs = [c for c in doc["cells"] if c["cell_type"] == "code" and c["outputs"]]
    assert with_outputs and all("outputId" in c["metadata"] and "colab" in c["metadata"] for c in with_outputs)
    nbformat.validate(nbformat.reads(text, as_version=4))


GRADE = textwrap.dedent("""\
    import json, sys
    from grader.gradebook import cell_scores
    from grader.grading import autograde_submissions

    if __name__ == "__main__":  # the grader's workers are spawned processes
        chapter, students = sys.argv[1], sys.argv[2:]
        results = autograde_submissions([chapter], students, 2, progress=False)
        print("STATUS", json.dumps({r.student: [r.status, r.notes] for r in results}))
        print("SCORES", json.dumps({s: cell_scores(chapter, s) for s in students}))
""")


def test_a_notebook_saved_by_colab_grades_exactly_like_the_original(tmp_path):
    """Chapter 1 answered (one exercise wrong, so that not every cell is full marks), saved
    by JupyterLab and by Colab, autograded by nbgrader in a private copy of the course."""
    course = tmp_path / "course"
    for part in ("grader", f"solutions/{CHAPTER}"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copy2(ROOT / f, course / f)
    env = dict(os.environ, DLCOURSE_COURSE_ROOT=str(course), DLCOURSE_VAR=str(course / "var"),
               DLCOURSE_PROGRESS="0")
    subprocess.run([sys.executable, "-m", "grader", "build", CHAPTER, "-q"], cwd=course, env=env,
                   check=True, capture_output=True, timeout=600)

    wrong = {"ex1-synthetic-data": textwrap.dedent('''\
        def synthetic_data(w, b, num_examples):
            """Forgets the noise."""
            X = torch.normal(0, 1, (num_examples, len(w)))
            return X, (X @ w + b).reshape(-1, 1)''')}
    nb = answered(CHAPTER, wrong)
    saved = {"saved-by-jupyterlab": nbformat.writes(nb) + "\n",
             "saved-by-colab": colab_form(nb, f"{CHAPTER}.ipynb")}
    for name, text in saved.items():
        dest = course / "var" / "submitted" / name / CHAPTER
        dest.mkdir(parents=True)
        (dest / f"{CHAPTER}.ipynb").write_text(text)
    (course / "grade.py").write_text(GRADE)
    proc = subprocess.run([sys.executable, "grade.py", CHAPTER, *saved], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    status = json.loads(proc.stdout.split("STATUS", 1)[1].split("SCORES", 1)[0])
    assert all(s == "graded" for s, _ in status.values()), f"the grader failed: {status}"
    scores = json.loads(proc.stdout.split("SCORES", 1)[1])
    jupyter, colab = scores["saved-by-jupyterlab"], scores["saved-by-colab"]
    assert colab == jupyter, f"Colab's copy grades differently:\n{colab}\n{jupyter}"
    tests = {gid: s for gid, s in jupyter.items() if gid.endswith("-tests")}
    assert tests["ex1-synthetic-data-tests"][0] == 0
    assert all(score == top > 0 for gid, (score, top) in tests.items() if gid != "ex1-synthetic-data-tests"), tests
