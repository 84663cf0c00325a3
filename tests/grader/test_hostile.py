"""Bad and hostile submissions of chapter 1, graded in one parallel batch.

Every case must get a fair score (0 for what was cheated or broken, full credit for
intact correct work elsewhere), a note or cell message that says what happened,
must not stop the batch, and must leave every other student's record unchanged.
The submissions are made by the small functions of fixtures/submissions.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fixtures import submissions as subs
from grader.course import ROOT, nbgrader

A = subs.ASSIGNMENT
FULL = 10.0
STUBS = ("ex3-linreg-tests", "ex4-squared-loss-tests")
ALL = ["ex1-synthetic-data-tests", "ex2-data-iter-tests", "ex3-linreg-tests",
       "ex4-squared-loss-tests", "ex5-sgd-tests", "ex6-train-tests"]


# case: (builder, status, expected total, cells that must score 0 (others full), text that
# must be in the notes or cell messages, or with "output:" in the graded notebook's output).
# Each exercise is judged alone (grader/judges/ch01.py): exercise 6's judge trains with the
# reference data_iter, linreg, squared_loss and sgd, so breaking one of exercises 2-5 costs
# that exercise only.
CASES = {
    "correct": (None, "graded", FULL, (), "output:error in w:"),
    "untouched": ("untouched", "graded", 0.0, tuple(ALL), "NotImplementedError"),
    "malformed-json": (subs.malformed_json, "rejected", 0.0, tuple(ALL), "not valid JSON"),
    "not-a-notebook": (subs.not_a_notebook, "rejected", 0.0, tuple(ALL), "not a Jupyter notebook"),
    "binary-file": (subs.binary_file, "rejected", 0.0, tuple(ALL), "binary"),
    "empty-file": (subs.empty_file, "rejected", 0.0, tuple(ALL), "empty"),
    "wrong-chapter": (subs.wrong_chapter, "rejected", 0.0, tuple(ALL),
                      "this is the notebook of 02-softmax-regression"),
    "wrong-chapter-stripped": (subs.wrong_chapter_stripped, "rejected", 0.0, tuple(ALL),
                               "this is the notebook of 02-softmax-regression"),
    "nbformat-4.4": (subs.nbformat_44, "graded", FULL, (), "4.4 upgraded"),
    "colab": (subs.colab, "graded", FULL, (), "Colab"),
    "metadata-stripped": (subs.metadata_stripped, "graded", FULL, (), "recovered by matching"),
    "cells-deleted": (subs.cells_deleted, "graded", 9.0, ("ex3-linreg-tests",), "was missing"),
    "cells-duplicated": (subs.cells_duplicated, "graded", FULL, (), "more than once"),
    "cells-reordered": (subs.cells_reordered, "graded", FULL, (), "out of order"),
    "test-cell-edited": (subs.test_cell_edited, "graded", 9.0, ("ex3-linreg-tests",), "was edited"),
    "points-edited": (subs.metadata_points_edited, "graded", FULL, (), "metadata of cell"),
    "infinite-loop": (subs.infinite_loop, "graded", 9.0, ("ex3-linreg-tests",), "timed out"),
    "sys-exit": (subs.sys_exit, "graded", 8.0, ("ex2-data-iter-tests",), "SystemExit"),
    "os-exit": (subs.os_exit, "graded", 9.0, ("ex3-linreg-tests",), "status 3"),
    "segfault": (subs.segfault, "graded", 9.0, ("ex4-squared-loss-tests",), "segfault"),
    "memory-bomb": (subs.memory_bomb, "graded", 8.0, ("ex5-sgd-tests",), "MemoryError"),
    "fork-bomb": (subs.fork_bomb, "graded", 8.0, ("ex1-synthetic-data-tests",), "raised NameError"),
    "huge-output": (subs.huge_output, "graded", FULL, (), "truncated"),
    "stderr-spam": (subs.stderr_spam, "graded", FULL, (), "to stderr"),
    "patch-allclose": (subs.monkeypatch_allclose, "graded", 9.0, ("ex3-linreg-tests",),
                       "torch.allclose"),
    "patch-checks": (subs.monkeypatch_checks, "graded", 9.0, ("ex4-squared-loss-tests",),
                     "check_squared_loss"),
    "ast-transformer": (subs.ast_transformer, "graded", 8.0, ("ex5-sgd-tests",),
                        "transformer"),
    "read-hidden": ("read_hidden", "graded", FULL, (), "output:SNOOPED: none of the course's private"),
    "write-outside": ("write_outside", "graded", FULL, (), "output:BLOCKED"),
    "network": (subs.network, "graded", FULL, (), "output:NO NETWORK"),
    "training-never-finishes": (subs.training_never_finishes, "graded", 8.0, ("ex6-train-tests",),
                                "timed out"),
    # The guard replaced (its old fixed name, and wherever it is found): the cell is not run.
    "guard-replaced": (subs.guard_replaced, "graded", 9.0, ("ex3-linreg-tests",),
                       "replaced or bypassed the grader's integrity guard"),
    # Existing attributes of the shell and the kernel replaced: put back before the tests.
    "compile-patched": (subs.compile_patched, "graded", 9.0, ("ex4-squared-loss-tests",),
                        "shell.compile.ast_parse"),
    "shell-patched": (subs.shell_patched, "graded", 8.0, ("ex5-sgd-tests",),
                      "kernel.shell_handlers.execute_request"),
    "ignores-interrupt": (subs.ignores_interrupt, "graded", 9.0, ("ex3-linreg-tests",),
                          "ignored the interrupt"),
    "encoded-leak": (subs.encoded_leak, "graded", 9.0, ("ex4-squared-loss-tests",),
                     "raised ValueError"),
    "shadow-torch": (subs.shadow_torch, "graded", FULL, (), "torch.py (Python code"),
    "many-large-outputs": (subs.many_large_outputs, "graded", FULL, (), "MB in the notebook"),
    # Issue 15's kinds of attack on the verdict, two forms each (fixtures/submissions.py):
    # exercises 3 and 4 are stubs or wrong answers in disguise, the rest is correct.
    "output-value": (subs.output_value, "graded", 8.0, STUBS, "NotImplementedError"),
    "session-send": (subs.session_send, "graded", 8.0, STUBS, "NotImplementedError"),
    "session-forged": (subs.session_forged, "graded", 8.0, STUBS, "integrity guard"),
    "disguised-patch": (subs.disguised_patch, "graded", 8.0, STUBS, "should be X @ w + b"),
    "repatch": (subs.repatch, "graded", 8.0, STUBS, "should be X @ w + b"),
    "tensor-liar": (subs.tensor_liar, "graded", 8.0, STUBS, "should be X @ w + b"),
    "runtime-forged": (subs.guard_off, "graded", 0.0, tuple(ALL), "exercise asks for"),
    "oracle": (subs.oracle, "graded", 8.0, STUBS, "should be X @ w + b"),
    "persistence": (subs.persistence, "graded", 8.0, STUBS, "run again"),
    "leak-by-name": (subs.leak_by_name, "graded", 6.0, STUBS + ("ex6-train-tests",),
                     "an exception of its own"),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every case in one parallel run (after a bystander), as a class would be."""
    from grader.gradebook import cell_scores
    from grader.grading import autograde_submissions
    from grader.sandbox import Limits

    var = tmp_path_factory.mktemp("hostile") / "var"
    # 25 s a cell: the slowest cell of chapter 1 takes about 3 s; the endless loops of the
    # hostile cases wait for this limit, so it sets much of the batch's time.
    limits = Limits.from_config(cell_timeout=25, notebook_timeout=400, output_mb=1.0,
                                    notebook_output_mb=3.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_VAR", str(var))
        nbgrader("generate_assignment", A, "--force",
                 f"--CourseDirectory.release_directory={var / 'release'}")
        context = {"root": str(ROOT), "var": str(var), "venv": sys.prefix}

        def submit(student, data: bytes | dict[str, bytes]):
            d = var / "submitted" / student / A
            d.mkdir(parents=True, exist_ok=True)
            for name, content in (data if isinstance(data, dict) else {f"{A}.ipynb": data}).items():
                (d / name).write_bytes(content)

        submit("bystander", subs.dump(subs.correct_notebook()))
        first = autograde_submissions([A], ["bystander"], workers=1, limits=limits, progress=False)
        before = (cell_scores(A, "bystander"), (var / "results" / A / "bystander.json").read_text())
        for name, (builder, *_rest) in CASES.items():
            nb = subs.correct_notebook()
            if builder is None:
                data = subs.dump(nb)
            elif builder == "untouched":
                data = subs.dump(subs.untouched_notebook())
            elif builder == "read_hidden":
                data = subs.read_hidden(nb, root=context["root"], var=context["var"])
            elif builder == "write_outside":
                data = subs.write_outside(nb, root=context["root"], var=context["var"],
                                          venv=context["venv"])
            else:
                data = builder(nb)
            submit(name, data)
        results = autograde_submissions([A], list(CASES), workers=2, limits=limits, progress=False)
        after = (cell_scores(A, "bystander"), (var / "results" / A / "bystander.json").read_text())
        from grader.gradebook import scores

        book = {s: (scores(A, s), cell_scores(A, s)) for s in CASES}
        # the same student's record graded again, over the first
        again = autograde_submissions([A], ["bystander"], workers=1, limits=limits, progress=False)
        regraded = (cell_scores(A, "bystander"), scores(A, "bystander"))
        yield {"var": var, "results": {r.student: r for r in results}, "first": first[0],
               "before": before, "after": after, "book": book, "again": again[0],
               "regraded": regraded}


@pytest.mark.parametrize("case", list(CASES))
def test_case(batch, case):
    _, status, total, zeros, text = CASES[case]
    r = batch["results"][case]
    detail = json.dumps(r.to_dict(), indent=1)[:4000]
    assert r.status == status, detail
    assert r.score == total, detail
    cells = r.cell
    assert set(cells) == set(ALL), detail
    for gid in ALL:
        want = 0.0 if gid in zeros else cells[gid].max_score
        assert cells[gid].score == want, f"{gid}: {detail}"
    if text.startswith("output:"):
        assert text.removeprefix("output:") in _output(batch, case), detail
    else:
        said = " ".join(r.notes) + " " + " ".join(c.message for c in r.cells)
        assert text in said, detail
    # the gradebook says the same as the result
    (got, top), per_cell = batch["book"][case]
    assert (got, top) == (r.score, r.max_score)
    assert per_cell == {c.grade_id: (c.score, c.max_score) for c in r.cells}


def _output(batch, case) -> str:
    import nbformat

    nb = nbformat.read(batch["results"][case].autograded_path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)


def test_hidden_tests_solutions_and_gradebook_are_out_of_reach(batch):
    out = _output(batch, "read-hidden")
    line = next(l for l in out.splitlines() if l.startswith("SNOOP "))
    decoder, rest = json.JSONDecoder(), line.removeprefix("SNOOP ")
    seen, end = decoder.raw_decode(rest)
    found, _ = decoder.raw_decode(rest[end:].lstrip())
    assert seen and not any(seen.values()), seen
    assert found == [], found  # no .db file at all: neither gradebook nor the grader's copy


def test_no_message_or_note_gives_hidden_tests_away(batch):
    """Student code can read the running test cell's source: whatever it puts in an
    error message (plain, or encoded) must not come back in the result."""
    import base64
    import re

    from classroom import hidden_lines_all

    from grader.course import solution_path
    from grader.hidden import SOLUTION, block_lines

    solution = json.loads(solution_path(A).read_text())
    answers = {line for c in solution["cells"] for line in block_lines("".join(c["source"]), SOLUTION)}
    hidden = {h for h in hidden_lines_all() | answers if len(h) >= 20}
    for case in CASES:
        r = batch["results"][case]
        text = " ".join(r.notes) + " " + " ".join(c.message for c in r.cells)
        decoded = []
        for run in re.findall(r"[A-Za-z0-9+/=_-]{16,}", text):
            try:
                decoded.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
            except ValueError:
                pass
        for h in hidden:
            assert h not in text and all(h not in d for d in decoded), (case, h)
        if r.status == "graded":  # one line: a judge's verdict, at most 400 characters
            assert all(len(c.message) <= 400 and "\n" not in c.message for c in r.cells), case
    leak = batch["results"]["encoded-leak"]
    assert any(n == "solution cell ex4-squared-loss raised RuntimeError" for n in leak.notes), leak.notes


def test_nothing_written_outside_the_sandbox(batch):
    out = _output(batch, "write-outside")
    assert "WROTE" not in out, out
    assert "BLOCKED" in out
    assert not (batch["var"] / "pwned.txt").exists()
    assert not (ROOT / "pwned.txt").exists()
    assert not (Path(sys.prefix) / "pwned.txt").exists()


def test_no_network(batch):
    out = _output(batch, "network")
    assert "CONNECTED" not in out and out.count("NO NETWORK") == 3, out


def test_other_students_records_unchanged(batch):
    assert batch["before"] == batch["after"]


def test_same_submission_same_score(batch):
    first, again = batch["first"], batch["results"]["correct"]
    assert [(c.grade_id, c.score) for c in first.cells] == [(c.grade_id, c.score) for c in again.cells]
    assert first.score == again.score == FULL


def test_same_record_graded_twice_same_scores(batch):
    first, again = batch["first"], batch["again"]
    assert again.student == first.student == "bystander" and again.status == "graded"
    assert [(c.grade_id, c.score, c.status) for c in first.cells] == \
        [(c.grade_id, c.score, c.status) for c in again.cells]
    cells, total = batch["regraded"]
    assert (cells, total) == (batch["before"][0], (FULL, FULL))


def test_gradebook_consistent(batch):
    with _book(batch["var"]) as gb:
        students = {s.id for s in gb.students}
        assert set(CASES) | {"bystander"} <= students
        for s in CASES:
            sub = gb.find_submission_notebook(A, A, s)
            assert len(sub.grades) == len(ALL)
            assert all(g.auto_score is not None for g in sub.grades)


def _book(var):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{var / 'gradebook.db'}")
