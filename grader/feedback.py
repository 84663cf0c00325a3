"""Feedback for students: one HTML page per student and assignment.

The page is built from what the grader recorded, never from the autograded
notebook itself: per exercise the points, passed or failed, the name and
message of the error, and the notes of any special handling. nbgrader's own
``generate_feedback`` renders the autograded notebook, hidden tests included;
this module does not use it.

Sources, in order of authority:

- the gradebook (``var/gradebook.db``): the points, including any manual
  score set in the formgrader;
- the grader's result (``var/results/<assignment>/<student>.json``): the status
  and message of each exercise, the notes, the timings;
- without a result (a submission graded by plain ``nbgrader autograde``), the
  error outputs of the test cells in ``var/autograded/``: name and message only,
  never the traceback, which quotes test source.

Every message is redacted before it is rendered: any line of a hidden-test
block in ``solutions/`` is replaced, so a submission that copies the test cell
into an exception message gets nothing out of it, and ``render`` refuses to
return a page in which a hidden-test line survives.

Pages follow nbgrader's feedback layout, ``var/feedback/<student>/<assignment>/
<assignment>.html``, with the submission's ``timestamp.txt`` and
``submission_secret.txt`` copied along when it has them (a submission collected
through nbgrader's exchange), which is what ``nbgrader release_feedback`` reads.
"""
from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .course import solution_path, var_dir
from .gradebook import open_gradebook
from .hidden import HIDDEN_TESTS, block_lines
from .results import Result, load_result, results_dir

HIDDEN_BEGIN, HIDDEN_END = HIDDEN_TESTS.begin, HIDDEN_TESTS.end
# Lines shorter than this (")", "else:", "pass") give nothing away and would
# collide with ordinary words on the page.
MIN_SECRET_LINE = 8
MAX_MESSAGE = 600
REDACTED = "[hidden test]"

STATUS_TEXT = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "timed out",
    "missing": "missing",
}


@dataclass
class Exercise:
    """One graded test cell of one submission."""

    grade_id: str
    score: float
    max_score: float
    status: str                 # passed | failed | error | timeout | missing
    message: str = ""           # "AssertionError: ..." (redacted), empty when passed
    seconds: float | None = None

    @property
    def name(self) -> str:
        """``ex1-synthetic-data-tests`` -> ``ex1-synthetic-data``."""
        return self.grade_id.removesuffix("-tests")


@dataclass
class Sheet:
    """What the grader knows about one submission, as a student may see it."""

    assignment: str
    student: str
    status: str                 # graded | rejected | error
    score: float
    max_score: float
    exercises: list[Exercise] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    late_penalty: float = 0.0
    seconds: float | None = None
    peak_memory_mb: float | None = None
    timestamp: datetime | None = None

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - self.late_penalty)


# -- hidden tests --------------------------------------------------------------

def hidden_test_lines(assignment: str) -> set[str]:
    """Every line (stripped) of the hidden-test blocks of the assignment's solution
    notebook that is long enough to give something away, and the markers themselves."""
    nb = json.loads(solution_path(assignment).read_text())
    lines = {text for cell in nb["cells"] for text in block_lines("".join(cell["source"]))
             if len(text) >= MIN_SECRET_LINE}
    return lines | {HIDDEN_BEGIN, HIDDEN_END} | judge_lines(assignment)


def judge_lines(assignment: str) -> set[str]:
    """The code lines (stripped, 20 characters or more) of the chapter's judges
    (``grader/judges/chNN.py``), not the message texts they show students."""
    path = Path(__file__).parent / "judges" / f"ch{assignment[:2]}.py"
    if not path.is_file():
        return set()
    return {text for line in path.read_text().splitlines() if len(text := line.strip()) >= 20
            and not text.startswith(('"', "'", 'f"', "f'", "#"))}


def redact(text: str, secrets: set[str]) -> str:
    """Replace every occurrence of a secret line in ``text``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def leaked_lines(page: str, secrets: set[str]) -> list[str]:
    """The secret lines found in a rendered page (raw or HTML-escaped)."""
    plain = html.unescape(page)
    return sorted(s for s in secrets if s in plain or s in page)


# -- reading what the grader recorded -----------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _result(assignment: str, student: str) -> Result | None:
    try:
        return load_result(assignment, student)
    except FileNotFoundError:
        return None


def autograded_notebook(assignment: str, student: str) -> Path:
    return var_dir() / "autograded" / student / assignment / f"{assignment}.ipynb"


def grade_id_order(assignment: str) -> list[str]:
    """Grade cell ids in notebook order (from the solution notebook when present)."""
    path = solution_path(assignment)
    if not path.is_file():
        return []
    nb = json.loads(path.read_text())
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _clean(message: str, secrets: set[str]) -> str:
    """Colour codes removed, hidden-test lines redacted, then cut to MAX_MESSAGE characters."""
    message = redact(_ANSI.sub("", message), secrets).strip()
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " ..."


def _explain(message: str) -> str:
    """A word for the student where the bare error says little."""
    if message.strip() == "NotImplementedError":
        return "NotImplementedError: not attempted yet (the stub still raises NotImplementedError)"
    return message


def _cell_seconds(cell: dict) -> float | None:
    """Run time of an executed cell, from the timestamps nbclient records in its metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def notebook_outcomes(path: Path) -> dict[str, tuple[str, str, float | None]]:
    """{grade_id: (status, message, seconds)} from the outputs of an autograded notebook.

    Only the error name and message are read: tracebacks quote test source.
    """
    nb = json.loads(path.read_text())
    found = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or cell["cell_type"] != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            status, message = "passed", ""
        else:
            ename, evalue = errors[0].get("ename", ""), errors[0].get("evalue", "")
            status = ("timeout" if "Timeout" in ename
                      else "failed" if ename == "AssertionError" else "error")
            message = f"{ename}: {evalue}" if evalue.strip() else ename
        found[meta["grade_id"]] = (status, message, _cell_seconds(cell))
    return found


def sheet(assignment: str, student: str, gb=None) -> Sheet | None:
    """Everything recorded about one submission, or None when it was never graded.

    ``gb``: an open nbgrader ``Gradebook`` (one is opened when omitted).
    """
    if gb is None:
        with open_gradebook() as gb:
            return sheet(assignment, student, gb)
    from nbgrader.api import MissingEntry

    result = _result(assignment, student)
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        submission = None
    if submission is None and result is None:
        return None

    secrets = hidden_test_lines(assignment) if solution_path(assignment).is_file() else set()
    points: dict[str, tuple[float, float]] = {}
    if submission is not None:
        for nb in submission.notebooks:
            for g in nb.grades:
                points[g.name] = (float(g.score), float(g.max_score))

    outcomes: dict[str, tuple[str, str, float | None]] = {}
    if result is not None:
        for c in result.cells:
            outcomes[c.grade_id] = (c.status, c.message, c.seconds)
            points.setdefault(c.grade_id, (float(c.score), float(c.max_score)))
    elif autograded_notebook(assignment, student).is_file():
        outcomes = notebook_outcomes(autograded_notebook(assignment, student))

    order = grade_id_order(assignment)
    ids = sorted(points, key=lambda g: (order.index(g) if g in order else len(order), g))
    exercises = []
    for gid in ids:
        score, top = points[gid]
        status, message, seconds = outcomes.get(gid, ("failed", "", None))
        if result is not None and result.status != "graded":
            message = ""  # the reason is in the notes, once
        if top and score >= top:
            status, message = "passed", ""  # the gradebook has the last word (manual grades)
        exercises.append(Exercise(gid, score, top, status, _clean(_explain(message), secrets), seconds))

    if submission is not None:
        score, top = float(submission.score), float(submission.max_score)
        penalty = float(submission.late_submission_penalty or 0)
        timestamp = submission.timestamp
    else:
        score, top = float(result.score), float(result.max_score)
        penalty, timestamp = 0.0, None
    return Sheet(
        assignment=assignment, student=student, status=result.status if result else "graded",
        score=score, max_score=top, exercises=exercises,
        notes=[_clean(n, secrets) for n in (result.notes if result else [])],
        late_penalty=penalty, seconds=result.seconds if result else None,
        peak_memory_mb=result.peak_memory_mb if result else None, timestamp=timestamp)


def graded_students(assignment: str, gb=None) -> list[str]:
    """Students with a gradebook submission or a result record for the assignment."""
    if gb is None:
        with open_gradebook() as gb:
            return graded_students(assignment, gb)
    from nbgrader.api import MissingEntry

    try:
        students = {s.student.id for s in gb.assignment_submissions(assignment)}
    except MissingEntry:
        students = set()
    students |= {p.stem for p in results_dir(assignment).glob("*.json")}
    return sorted(students)


# -- the page ----------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.total { font-size: 1.25rem; margin: .5rem 0 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
td.points { white-space: nowrap; text-align: right; }
td.exercise { white-space: nowrap; }
.passed { color: #1a7f37; font-weight: 600; }
.failed, .error, .timeout, .missing { color: #b42318; font-weight: 600; }
.message { font-family: ui-monospace, monospace; font-size: .9rem; white-space: pre-wrap; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5rem 1rem; }
footer { margin-top: 2rem; color: #666; font-size: .85rem; }
"""


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def render(s: Sheet, secrets: set[str] = frozenset()) -> str:
    """The HTML feedback page of one submission (self-contained, no scripts).

    Raises RuntimeError if a line of ``secrets`` would appear on the page.
    """
    e = html.escape
    rows = []
    for ex in s.exercises:
        rows.append(
            f"<tr><td class='exercise'>{e(ex.name)}</td>"
            f"<td class='points'>{_num(ex.score)} / {_num(ex.max_score)}</td>"
            f"<td class='{e(ex.status)}'>{e(STATUS_TEXT.get(ex.status, ex.status))}</td>"
            f"<td class='message'>{e(ex.message)}</td></tr>")
    total = f"{_num(s.score)} / {_num(s.max_score)} points"
    if s.late_penalty:
        total += f" &minus; {_num(s.late_penalty)} late penalty = {_num(s.final_score)}"
    status_line = {
        "graded": "",
        "rejected": "<p class='notes'>This submission could not be graded as it was handed in; "
                    "see the notes below.</p>",
        "error": "<p class='notes'>The grader hit a problem with this submission; "
                 "see the notes below. Your instructor has been told.</p>",
    }.get(s.status, "")
    # A grader error is not the student's doing: its notes (a traceback) are for the
    # instructor's report. Other notes show their first line.
    shown = [] if s.status == "error" else [n.splitlines()[0] for n in s.notes if n.strip()]
    notes = ""
    if shown:
        items = "".join(f"<li>{e(n)}</li>" for n in shown)
        notes = f"<h2>Notes from the grader</h2><ul class='notes'>{items}</ul>"
    when = f", submission of {s.timestamp:%Y-%m-%d %H:%M}" if s.timestamp else ""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(s.assignment)} ({e(s.student)})</title>
<style>{CSS}</style></head>
<body>
<h1>{e(s.assignment)}</h1>
<p>Feedback for <strong>{e(s.student)}</strong>{e(when)}.</p>
<p class="total">Score: <strong>{total}</strong></p>
{status_line}
<table>
<thead><tr><th>Exercise</th><th>Points</th><th>Result</th><th>Message</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{notes}
<footer>Each exercise is scored by visible tests (the ones in your notebook) and hidden tests
that try other inputs. A message shows the first check that did not pass; hidden tests are
not shown. Run the visible tests and the self-check at the end of the notebook before you
submit again. Generated {generated}.</footer>
</body></html>
"""
    leaks = leaked_lines(page, secrets)
    if leaks:
        raise RuntimeError(f"feedback for {s.student}/{s.assignment} would show hidden-test "
                           f"lines {leaks[:3]}; not written")
    return page


def feedback_path(assignment: str, student: str) -> Path:
    """nbgrader's layout: ``var/feedback/<student>/<assignment>/<assignment>.html``."""
    return var_dir() / "feedback" / student / assignment / f"{assignment}.html"


def write_feedback(assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write the feedback page of each graded submission; returns the pages written.

    The ``timestamp.txt`` and ``submission_secret.txt`` nbgrader keeps next to the
    autograded notebook are copied along, so that ``nbgrader release_feedback``
    accepts the pages.
    """
    secrets = hidden_test_lines(assignment) if solution_path(assignment).is_file() else set()
    written = []
    with open_gradebook() as gb:
        for student in students or graded_students(assignment, gb):
            s = sheet(assignment, student, gb)
            if s is None:
                continue
            page = render(s, secrets)
            dest = feedback_path(assignment, student)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(page)
            for extra in ("timestamp.txt", "submission_secret.txt"):
                src = autograded_notebook(assignment, student).parent / extra
                if src.is_file():
                    shutil.copy(src, dest.parent / extra)
            written.append(dest)
    return written
