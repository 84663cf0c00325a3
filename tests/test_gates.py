"""The build and grading gates of the course, on every chapter.

- notebooks/ is exactly what the build generates from solutions/;
- every solution autogrades to full marks, every untouched student notebook to 0 on every cell;
- no solution code or hidden-test text reaches notebooks/;
- no notebook in git stores outputs; nbgrader validate passes on the solutions;
- nbgrader's own commands work in a fresh clone (no var/ yet).

The build and the autograding run once per test session (the ``graded_demo``
fixture of conftest.py), in a private copy of the course with a private gradebook,
through the same `python -m grader demo` that `make demo` runs.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from repo import tracked_files
from grader.course import assignments

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = assignments()


def test_demo_prints_the_score_table_and_passes(graded_demo):
    course, proc, _ = graded_demo
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for chapter in CHAPTERS:
        assert re.search(rf"^{re.escape(chapter)}\s+(\d+) / \1\s+0 / \1\s*$", proc.stdout, re.M), \
            f"{chapter}: expected full marks and 0 in\n{proc.stdout}"
    assert "jupyter lab notebooks/" in proc.stdout


def test_notebooks_are_exactly_what_the_build_generates(graded_demo):
    course, _, _ = graded_demo
    for chapter in CHAPTERS:
        rel = f"notebooks/{chapter}/{chapter}.ipynb"
        built, committed = course / rel, ROOT / rel
        assert committed.is_file(), f"{rel} is missing: run `make build` and commit notebooks/"
        assert json.loads(built.read_text()) == json.loads(committed.read_text()), \
            f"{rel} differs from what the build generates from solutions/: run `make build`"
    extra = {p.parent.name for p in (ROOT / "notebooks").glob("*/*.ipynb")} - set(CHAPTERS)
    assert not extra, f"notebooks/ has chapters without a solution: {extra}"


def test_every_cell_scores_full_for_the_solution_and_zero_untouched(graded_demo):
    course, _, env = graded_demo
    from nbgrader.api import Gradebook
    gb = Gradebook(f"sqlite:///{course / 'var' / 'gradebook.db'}")
    try:
        for chapter in CHAPTERS:
            for student, full in [("demo-solution", True), ("demo-untouched", False)]:
                nb = gb.find_submission_notebook(chapter, chapter, student)
                grades = {g.name: (g.score, g.max_score) for g in nb.grades}
                assert grades, f"{chapter}: no graded cells"
                for cell, (score, top) in grades.items():
                    want = top if full else 0
                    assert score == want, f"{chapter} {student} {cell}: {score} / {top}, expected {want}"
                total = sum(top for _, top in grades.values())
                assert total % 5 == 0, f"{chapter}: {total} points is not a round total"
    finally:
        gb.close()


# --------------------------------------------------------------------------- static gates

BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def secret_lines(source: nbformat.NotebookNode) -> set[str]:
    """Lines inside solution and hidden-test blocks that appear nowhere else in the source."""
    secret, public = set(), set()
    for cell in source.cells:
        text = cell.source
        for _, block in BLOCK.findall(text):
            secret.update(l.strip() for l in block.splitlines())
        for line in BLOCK.sub("", text).splitlines():
            public.add(line.strip())
    return {l for l in secret - public if len(l) >= 8 and not l.startswith("#")}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_solution_or_hidden_test_reaches_the_student(chapter):
    source = nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    student_path = ROOT / "notebooks" / chapter / f"{chapter}.ipynb"
    student_lines = {l.strip() for c in nbformat.read(student_path, as_version=4).cells
                     for l in c.source.splitlines()}
    secrets = secret_lines(source)
    assert secrets, f"{chapter}: no solution or hidden-test blocks found"
    leaked = sorted(secrets & student_lines)
    assert not leaked, f"{chapter}: these lines leak into the student notebook: {leaked[:5]}"
    raw = student_path.read_text()
    assert "BEGIN HIDDEN TESTS" not in raw and "BEGIN SOLUTION" not in raw


def test_no_notebook_in_git_stores_outputs():
    notebooks = [f for f in tracked_files() if f.endswith(".ipynb")]
    assert notebooks
    for f in notebooks:
        nb = nbformat.read(ROOT / f, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, \
                    f"{f} stores outputs: clear them (the build does, for notebooks/)"


def test_nbgrader_validate_passes_on_the_solutions(tmp_path):
    # Two notebooks at once on the 2-core machine: one torch thread each, as the grader
    # gives its kernels (two kernels of two threads each wait on each other's cores).
    env = dict(os.environ, DLCOURSE_VAR=str(tmp_path / "var"), OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")

    def validate(chapter):
        path = ROOT / "solutions" / chapter / f"{chapter}.ipynb"
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
        return chapter, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        for chapter, proc in pool.map(validate, CHAPTERS):
            assert proc.returncode == 0 and "Success!" in proc.stdout, \
                f"{chapter}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"


def test_nbgrader_generate_assignment_works_in_a_fresh_clone(tmp_path):
    """`nbgrader generate_assignment` in a fresh clone of HEAD, before var/ exists: it makes
    the gradebook (grader/nbgrader_config.py creates var/) and writes the committed notebook."""
    chapter = CHAPTERS[0]
    clone = tmp_path / "clone"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", head], cwd=clone, check=True)
    assert not (clone / "var").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLCOURSE_")}
    # the clone's own grader package (for the build's preprocessor), as `make setup` there would
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
               PYTHONPATH=str(clone), OMP_NUM_THREADS="1")

    def nbgrader(*args):
        proc = subprocess.run(["nbgrader", *args], cwd=clone, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, \
            f"nbgrader {' '.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        return proc.stdout + proc.stderr

    nbgrader("generate_assignment", chapter, "--force")
    assert (clone / "var" / "gradebook.db").is_file()
    assert chapter in nbgrader("db", "assignment", "list")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout
    assert status == "", f"the clone changed (does the notebook differ from the build?):\n{status}"
