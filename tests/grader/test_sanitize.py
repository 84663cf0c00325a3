"""grader.sanitize on notebook files alone (no kernel): rejection, upgrade, repair; the caps
and the time budget of grader.budget; the marker-block parser of grader.hidden."""
from __future__ import annotations

import json
import time

import pytest

from fixtures import malformed as bad
from fixtures import submissions as subs
from grader import hidden
from grader.budget import Budget, OverBudget, Submission, checkpoint, submission_limits
from grader.sanitize import Rejected, load_submission, release_cells

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


# -- malformed files: a rejection with a reason, never a grader error (issue 15) -------

MALFORMED = [pytest.param(builder, word, id=builder.__name__)
             for builders, word in bad.KINDS.values() for builder in builders]
AGAIN = "download the notebook again"


def cpu_seconds(fn, *args, **kwargs):
    """(what fn returned or raised, CPU seconds of this process it took)."""
    t0 = time.process_time()
    try:
        out = fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - returned for the caller to check
        out = e
    return out, time.process_time() - t0


def load_with(tmp_path, data: bytes, **caps):
    p = tmp_path / f"{A}.ipynb"
    p.write_bytes(data)
    return load_submission(p, A, Submission(**caps) if caps else None)


@pytest.mark.parametrize("builder, word", MALFORMED)
def test_malformed_file_is_rejected_with_a_reason(tmp_path, builder, word):
    out, cpu = cpu_seconds(load, tmp_path, builder(subs.correct_notebook()))
    assert isinstance(out, Rejected), out
    assert word in str(out) and AGAIN in str(out), str(out)
    assert cpu < 2.0, f"{cpu:.2f} s of CPU"


@pytest.mark.parametrize("builder", [builders[k] for builders, _ in bad.KINDS.values() for k in (0, 1)
                                     if k < len(builders)], ids=lambda b: b.__name__)
def test_grade_one_rejects_a_malformed_file_without_a_kernel(tmp_path, builder):
    from grader.grading import grade_one

    p = tmp_path / f"{A}.ipynb"
    p.write_bytes(builder(subs.correct_notebook()))
    result = grade_one(A, "mallory", p)
    assert result.status == "rejected", result.notes
    assert result.notes[0].startswith("not graded: ") and AGAIN in result.notes[0], result.notes
    assert result.score == 0 and {c.status for c in result.cells} == {"missing"}
    assert result.seconds < 10


# -- caps, checked before the JSON is parsed ---------------------------------------------

def test_a_notebook_file_over_the_cap_is_rejected_unparsed(tmp_path):
    assert submission_limits().max_notebook_mb == 20.0  # c.Submission in nbgrader_config.py
    out, cpu = cpu_seconds(load, tmp_path, bad.big_outputs(subs.correct_notebook(), mb=21))
    assert isinstance(out, Rejected) and "over the cap of 20 MB (c.Submission.max_notebook_mb)" \
        in str(out), out
    assert cpu < 0.5, f"{cpu:.2f} s of CPU"
    # Not JSON at all: still the size that is reported, so it was not parsed.
    out, _ = cpu_seconds(load_with, tmp_path, b"{" * (3 << 20), max_notebook_mb=2)
    assert isinstance(out, Rejected) and "3.0 MB, over the cap of 2 MB" in str(out), out


@pytest.mark.parametrize("shape", ["text", "lines", "markdown"])
def test_a_cell_over_the_cap_is_rejected(tmp_path, shape):
    nb = subs.correct_notebook()
    data = bad.big_cell(nb, mb=1.5)
    if shape != "text":
        nb = json.loads(data)
        target = subs.cell(nb, bad.SOLUTION_CELL)
        if shape == "lines":
            target["source"] = target["source"].splitlines(keepends=True)
        else:
            target.update(cell_type="markdown", outputs=None)
            del target["outputs"], target["execution_count"]
        data = subs.dump(nb)
    out, cpu = cpu_seconds(load, tmp_path, data)
    assert isinstance(out, Rejected), out
    assert "is 1.5 MB, over the cap of 1 MB (c.Submission.max_cell_mb)" in str(out), str(out)
    assert cpu < 2.0, f"{cpu:.2f} s of CPU"


# -- linear parsing ----------------------------------------------------------------------

@pytest.mark.parametrize("markers", [hidden.HIDDEN_TESTS, hidden.SOLUTION], ids=["hidden", "solution"])
def test_70000_unclosed_blocks_parse_in_linear_time(markers):
    source = (markers.begin + "\n") * 70_000
    (outside, inside), cpu = cpu_seconds(hidden.split, source, markers)
    assert outside == "" and len(inside) == 69_999  # one block, to the end of the cell
    assert cpu < 0.2, f"{cpu:.3f} s of CPU"
    twice, cpu2 = cpu_seconds(hidden.split, source + "x = 1\n" * 70_000, markers)
    assert len(twice[1]) == 139_999 and cpu2 < 0.4, f"{cpu2:.3f} s of CPU"


@pytest.mark.parametrize("marker, where", [
    ("### BEGIN HIDDEN TESTS", bad.SOLUTION_CELL), ("### BEGIN HIDDEN TESTS", bad.TEST_CELL),
    ("### BEGIN SOLUTION", bad.SOLUTION_CELL)])
def test_a_submission_of_70000_unclosed_blocks_loads_in_bounded_time(tmp_path, marker, where):
    data = bad.unclosed_blocks(subs.correct_notebook(), marker, where=where)
    out, cpu = cpu_seconds(load_with, tmp_path, data, max_cell_mb=4)  # over the default cap
    assert not isinstance(out, Exception), out
    assert graded_ids(out[0]) == GRADED
    assert cpu < 3.0, f"{cpu:.2f} s of CPU for the whole load"
    out, _ = cpu_seconds(load, tmp_path, data)  # default caps: 1.6 MB is over 1 MB per cell
    assert isinstance(out, Rejected) and "c.Submission.max_cell_mb" in str(out)


def test_a_huge_cell_is_not_compared_character_by_character(tmp_path):
    # Metadata stripped: solution cells are found by similarity (difflib), which costs
    # len(a) x len(b); a cell just under the cap must not be compared with each stub.
    nb = json.loads(subs.metadata_stripped(subs.correct_notebook()))
    for c in nb["cells"][:6]:
        if c["cell_type"] == "code":
            c["source"] = "y = [1, 2, 3]  # padding\n" * 40_000
    out, cpu = cpu_seconds(load, tmp_path, subs.dump(nb))
    assert not isinstance(out, Exception), out
    assert cpu < 3.0, f"{cpu:.2f} s of CPU"


def test_the_parser_reads_the_course_as_the_release_does():
    """Every test cell of solutions/, without its hidden blocks, is the release's cell."""
    from grader.course import NOTEBOOKS, solution_path

    with_hidden = 0
    for path in sorted(NOTEBOOKS.glob("*/*.ipynb")):
        release = {c.metadata.nbgrader["grade_id"]: c.source for c in release_cells(path.stem)
                   if c.metadata.get("nbgrader", {}).get("locked")}
        for cell in json.loads(solution_path(path.stem).read_text())["cells"]:
            gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if gid in release and cell["cell_type"] == "code":
                src = "".join(cell["source"])
                with_hidden += bool(hidden.block_lines(src))
                assert hidden.without_blocks(src).strip() == release[gid].strip(), (path.stem, gid)
    # every chapter is judged now (grader/judges/): no solution keeps hidden tests
    assert with_hidden == 0, "a solution notebook still holds hidden tests"


def test_marker_blocks():
    src = "a\n  ### BEGIN HIDDEN TESTS (slow)\nsecret one\n### END HIDDEN TESTS\nb\n" \
          "### BEGIN HIDDEN TESTS\nsecret two\n"
    assert hidden.split(src) == ("a\nb\n", ["secret one", "secret two"])
    assert hidden.block_lines("### BEGIN SOLUTION\n  x = 1\n### END SOLUTION\n", hidden.SOLUTION) == {"x = 1"}


# -- the time budget -------------------------------------------------------------------

def test_the_budget_interrupts_a_step_in_library_code():
    t0 = time.perf_counter()
    with pytest.raises(OverBudget, match="over the time budget of 0.2 s"):
        with Budget(0.2):
            while True:  # no checkpoint: the timer signal stops it
                pass
    assert time.perf_counter() - t0 < 2.0


def test_the_budget_in_a_thread_stops_at_a_checkpoint():
    from concurrent.futures import ThreadPoolExecutor

    def loop():
        with Budget(0.2):
            while True:
                checkpoint()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool, pytest.raises(OverBudget):
        pool.submit(loop).result(timeout=10)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("in_thread", [False, True], ids=["main thread", "worker thread"])
def test_a_submission_over_the_budget_is_rejected(tmp_path, in_thread):
    from concurrent.futures import ThreadPoolExecutor

    data = subs.metadata_stripped(subs.correct_notebook())
    if in_thread:
        with ThreadPoolExecutor(1) as pool:
            out = pool.submit(cpu_seconds, load_with, tmp_path, data, seconds=0.001).result()[0]
    else:
        out, _ = cpu_seconds(load_with, tmp_path, data, seconds=0.001)
    assert isinstance(out, Rejected), out
    assert "longer than the budget of 0.001 s (c.Submission.seconds)" in str(out)
    assert load(tmp_path, data)[0].cells  # the same file, in the default budget: loads
