"""Scoring: a graded notebook's cells into a Result's scores, messages and notes.

The score of an exercise is its judge's verdict (grader.judge) where the chapter has
judges: full marks or 0, never read from the cell's outputs, which student code can
shape. Chapters without judges keep nbgrader's rule (a test cell that raises scores 0),
with each test cell's message cut to one line and withheld where it may carry hidden
tests (:func:`_shown`). The notes say what was unusual: a dead kernel, a timeout,
truncated output, what the guard restored.
"""
from __future__ import annotations

import re

from .results import CellResult, Result
from .sandbox import Limits

MAX_MESSAGE = 200
SECRET_LINE = 20   # a hidden-test line this long in a message withholds it
_ENCODED = re.compile(r"[A-Za-z0-9+=_\-]{40,}")  # base64 / hex without spaces: maybe encoded


def _shown(text: str, hidden: set[str]) -> str:
    """A student-controlled message as the student may see it: its first line, at most
    MAX_MESSAGE characters, withheld when it quotes a hidden test or carries what looks
    like encoded data (code in the kernel can read the running test cell's source)."""
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    flat = " ".join(text.split())
    if any(h in flat or h in text for h in hidden if len(h) >= SECRET_LINE):
        return "(message withheld: it quotes the hidden tests)"
    if _ENCODED.search(text):
        return "(message withheld: it contains a long encoded-looking string)"
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 3] + "..."


def _message(cell, hidden: set[str] = frozenset()) -> tuple[str, str]:
    """(status, short message) of an executed test cell: from its error output, or from
    what it wrote to stderr when it raised nothing. ``hidden``: the hidden-test lines."""
    outputs = cell.get("outputs", [])
    errors = [o for o in outputs if o.output_type == "error"]
    if errors:
        out = errors[0]
        ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
        status = {"CellTimeoutError": "timeout", "NotebookTimeout": "timeout"}.get(ename)
        if status is None:
            status = "failed" if ename == "AssertionError" else "error"
        if ename == "CellTimeoutError":
            return status, "CellTimeoutError: the cell ran past its time limit"
        return status, f"{ename}: {_shown(evalue, hidden)}" if evalue.strip() else ename
    for out in outputs:
        if out.output_type == "stream" and out.get("name") == "stderr":
            return "failed", "the test cell wrote to stderr: " + _shown(out.get("text", ""), hidden)
    return "passed", ""





def _collect_notes(result: Result, ex, nb, limits: Limits) -> None:
    for i, why in sorted(ex.dead.items()):
        gid = nb.cells[i].metadata.get("nbgrader", {}).get("grade_id")
        where = f"cell {gid}" if gid else f"cell {i + 1}"
        result.notes.append(f"{why} in {where}: that cell scores 0 and the notebook was run "
                            "again without it")
    if ex.not_run:
        result.notes.append(f"notebook timed out after {limits.notebook_timeout} s: "
                            f"{len(ex.not_run)} cell(s) were not run")
    timeouts = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
        o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in c.outputs)]
    for i in timeouts:
        result.notes.append(f"cell {i + 1} timed out after {limits.cell_timeout} s and was interrupted")
    for cell in nb.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.output_type == "error" and out.get("ename") not in (
                        "NotImplementedError", "KernelDied", "NotebookTimeout", "CellTimeoutError"):
                    # the name only: the message is the student's text (see _message)
                    name = _shown(str(out.get("ename", "an exception")), set())[:80]
                    result.notes.append(f"solution cell {nbg['grade_id']} raised {name}")
    if ex.stderr_bytes > 64 << 10:
        result.notes.append(f"the notebook wrote {ex.stderr_bytes / 2**20:.1f} MB to stderr "
                            "(only a test cell's own stderr costs points)")
    if ex.truncated:
        result.notes.append(f"output of {len(ex.truncated)} cell(s) truncated at "
                            f"{limits.output_mb:g} MB a cell or {limits.notebook_output_mb:g} MB "
                            "in the notebook")
    if ex.restored:
        shown = ", ".join(sorted(ex.restored)[:8]) + (" ..." if len(ex.restored) > 8 else "")
        result.notes.append(f"the notebook patched what the tests rely on ({shown}): "
                            "restored before each test cell")
    if ex.tampered:
        result.notes.append("the notebook interferes with the kernel so that the grader's "
                            "integrity check could not run: the affected test cells score 0")


def _score(result: Result, nb, ex) -> None:
    from nbgrader import utils

    from .hidden import block_lines
    from .judge import judges_for

    judged_ids = {j.grade_id for j in judges_for(result.assignment)}
    if ex.verdict_note:
        result.notes.append(ex.verdict_note)

    hidden = {line for cell in nb.cells if utils.is_grade(cell) and cell.cell_type == "code"
              for line in block_lines(cell.source)}
    for i, cell in enumerate(nb.cells):
        if not utils.is_grade(cell):
            continue
        score, max_score = utils.determine_grade(cell)
        gid = cell.metadata.nbgrader["grade_id"]
        verdict = ex.verdicts.get(gid)
        if verdict is not None:
            # the judge's verdict, never the cell's output (see grader.judge)
            result.cells.append(CellResult(
                grade_id=gid, score=float(max_score) if verdict.passed else 0.0,
                max_score=float(max_score), status=verdict.status, message=verdict.message,
                seconds=round(ex.seconds.get(i, 0.0) + verdict.seconds, 3), judged=True))
            continue
        if gid in judged_ids:
            result.cells.append(CellResult(grade_id=gid, score=0.0, max_score=float(max_score),
                                           status="timeout" if i in ex.not_run else "error",
                                           message="not judged: the notebook did not run to its end",
                                           judged=True))
            continue
        status, message = _message(cell, hidden)
        if i in ex.not_run:
            status = "timeout"
        elif i in ex.dead:
            status = "error"
        result.cells.append(CellResult(
            grade_id=gid, score=float(score or 0),
            max_score=float(max_score), status=status if score == max_score or status != "passed"
            else "failed", message=message, seconds=round(ex.seconds.get(i, 0.0), 3)))
    result.score = sum(c.score for c in result.cells)
    result.max_score = sum(c.max_score for c in result.cells)


def _zero_cells(result: Result, assignment: str) -> None:
    """Every graded cell of the release at 0 points, status "missing"."""
    from .sanitize import release_cells

    try:
        cells = release_cells(assignment)
    except Exception:
        return
    result.cells = [CellResult(grade_id=c.metadata.nbgrader["grade_id"], score=0.0,
                               max_score=float(c.metadata.nbgrader.get("points", 0)),
                               status="missing", message=result.notes[0][:300] if result.notes else "")
                    for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    result.max_score = sum(c.max_score for c in result.cells)
    result.score = 0.0
