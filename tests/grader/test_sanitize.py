"""grader.sanitize on notebook files alone (no kernel): rejection, upgrade, repair."""
from __future__ import annotations

import json

import pytest

from fixtures import submissions as subs
from grader.sanitize import Rejected, load_submission

A = subs.ASSIGNMENT
GRADED = ["ex1-synthetic-data", "ex1-synthetic-data-tests", "ex2-data-iter", "ex2-data-iter-tests",
          "ex3-linreg", "ex3-linreg-tests", "ex4-squared-loss", "ex4-squared-loss-tests",
          "ex5-sgd", "ex5-sgd-tests", "ex6-train", "ex6-train-tests"]


def load(tmp_path, data: bytes):
    p = tmp_path / f"{A}.ipynb"
    p.write_bytes(data)
    return load_submission(p, A)


def graded_ids(nb):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]


@pytest.mark.parametrize("builder, why", [
    (subs.malformed_json, "not valid JSON"), (subs.not_a_notebook, "not a Jupyter notebook"),
    (subs.binary_file, "binary"), (subs.empty_file, "empty"),
    (subs.wrong_chapter, "not the notebook of"),
])
def test_rejected(tmp_path, builder, why):
    with pytest.raises(Rejected, match=why):
        load(tmp_path, builder(subs.correct_notebook()))


@pytest.mark.parametrize("builder, note", [
    (subs.nbformat_44, "4.4 upgraded"), (subs.colab, "Colab"),
    (subs.metadata_stripped, "recovered by matching"), (subs.cells_duplicated, "more than once"),
    (subs.cells_reordered, "out of order"),
])
def test_repaired_to_the_release_structure(tmp_path, builder, note):
    nb, notes = load(tmp_path, builder(subs.correct_notebook()))
    assert graded_ids(nb) == GRADED
    assert any(note in n for n in notes), notes
    assert all(c.get("id") for c in nb.cells) and nb.nbformat_minor == 5


def test_recovered_solutions_keep_the_students_code(tmp_path):
    nb, _ = load(tmp_path, subs.metadata_stripped(subs.correct_notebook()))
    linreg = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-linreg")
    assert "return X @ w + b" in linreg.source


def test_deleted_cells_come_back_from_the_release(tmp_path):
    nb, notes = load(tmp_path, subs.cells_deleted(subs.correct_notebook()))
    assert graded_ids(nb) == GRADED
    stub = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-linreg")
    assert "NotImplementedError" in stub.source
    assert any("ex3-linreg was missing" in n for n in notes)
    assert any("ex4-squared-loss-tests was missing" in n for n in notes)


def test_edited_metadata_is_replaced(tmp_path):
    nb, _ = load(tmp_path, subs.metadata_points_edited(subs.correct_notebook()))
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    assert cells["ex4-squared-loss-tests"].metadata["nbgrader"]["points"] == 1
    assert cells["ex5-sgd-tests"].metadata["nbgrader"]["locked"] is True


def test_correct_notebook_needs_no_repair(tmp_path):
    nb, notes = load(tmp_path, json.dumps(subs.correct_notebook()).encode())
    assert notes == [] and graded_ids(nb) == GRADED


@pytest.mark.parametrize("other", ["02-softmax-regression", "03-fashion-mnist", "07-dropout"])
def test_another_chapters_real_notebook_is_rejected_by_content(tmp_path, other):
    # Chapter ids are cell-NNN everywhere and grade ids such as ex6-train-tests repeat:
    # the chapter is told by the test cells, before any id is matched.
    with pytest.raises(Rejected, match=f"this is the notebook of {other}, not the notebook of {A}"):
        load(tmp_path, subs.dump(subs.correct_notebook(other)))


def test_another_chapter_without_metadata_is_rejected(tmp_path):
    with pytest.raises(Rejected, match="this is the notebook of 02-softmax-regression"):
        load(tmp_path, subs.wrong_chapter_stripped(subs.correct_notebook()))


def test_a_cell_id_match_needs_a_similar_source(tmp_path):
    # Metadata stripped, release cell ids kept, but ex3-linreg's cell (cell-017) holds
    # unrelated code: it is not taken for the solution, which is found by its source.
    nb = subs.correct_notebook()
    for c in nb["cells"]:
        c["metadata"] = {}
    i = next(i for i, c in enumerate(nb["cells"]) if c["id"] == "cell-017")
    linreg = nb["cells"][i]
    nb["cells"][i] = {**linreg, "source": "print('a note to self')\n"}
    nb["cells"].insert(i, {**linreg, "id": "moved"})
    loaded, notes = load(tmp_path, subs.dump(nb))
    cell = next(c for c in loaded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-linreg")
    assert "return X @ w + b" in cell.source
    assert graded_ids(loaded) == GRADED


def test_chapter_fits_tell_every_chapter_apart():
    from grader.course import NOTEBOOKS
    from grader.sanitize import chapter_fits

    for path in sorted(NOTEBOOKS.glob("*/*.ipynb")):
        fits = chapter_fits(subs.correct_notebook(path.stem)["cells"])
        assert fits[path.stem] == 1.0
        assert max(f for a, f in fits.items() if a != path.stem) == 0.0, (path.stem, fits)
