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
