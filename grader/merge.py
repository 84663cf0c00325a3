"""Merging: one graded submission into the shared gradebook, serially.

:func:`merge` records a :class:`~grader.results.Result` as ``nbgrader autograde`` would
(student, submission and its timestamp, every graded cell's score: the judge's verdict
where the exercise has a judge, SaveAutoGrades' reading of the outputs elsewhere, the
"No response." comments, the late penalty), writes the autograded notebook and saves the
JSON result. :func:`merge_safely` records a failure on the result instead of raising,
so a batch goes on.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import inert, safefs
from .course import var_dir
from .results import Result


def submission_file(assignment: str, student: str) -> Path:
    """Where nbgrader keeps a collected submission: var/submitted/<student>/<a>/<a>.ipynb."""
    return var_dir() / "submitted" / student / assignment / f"{assignment}.ipynb"


def autograded_file(assignment: str, student: str) -> Path:
    return var_dir() / "autograded" / student / assignment / f"{assignment}.ipynb"


def merge(result: Result, config=None) -> None:
    """Record a result in the gradebook as ``nbgrader autograde`` would, serially.

    Creates the student and the submission (timestamp from ``timestamp.txt``
    when the submission has one), sets every graded cell's auto score and the
    solution cells' "No response." comments (nbgrader's SaveAutoGrades, run on
    the graded notebook), assigns the late penalty (nbgrader's AssignLatePenalties,
    with ``c.LateSubmissionPlugin`` of ``config``, the course configuration by
    default), writes the autograded notebook, made inert (:mod:`grader.inert`), to
    ``var/autograded/<student>/<assignment>/`` with the submission's other files and
    saves the JSON result. Nothing in the submission folder is read through a symbolic
    link (:mod:`grader.safefs`); what was skipped is said in ``result.notes``.
    Grades a grader set by hand are kept, as nbgrader keeps them.
    """
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own; plain autograde shows them too
    from .config import course_config

    config = config if config is not None else course_config()
    a, s = result.assignment, result.student
    db_url = f"sqlite:///{var_dir() / 'gradebook.db'}"
    dest_dir = autograded_file(a, s).parent
    # The submission folder is the student's: read and copy from it without following links.
    submitted, sub_rel = var_dir() / "submitted", Path(s) / a
    stamp = safefs.read_text(submitted, sub_rel / "timestamp.txt", 200, result.notes).strip()
    resources = {"nbgrader": {"notebook": a, "assignment": a, "student": s, "db_url": db_url}}
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(s)
        if stamp:
            gb.update_or_create_submission(a, s, timestamp=stamp)
        else:
            gb.update_or_create_submission(a, s)
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    if result.notebook is not None:
        nb = nbformat.reads(result.notebook, as_version=4)
        SaveAutoGrades(config=config).preprocess(nb, resources)
        dest_dir.mkdir(parents=True)
        safefs.copy_tree(submitted, sub_rel, dest_dir, result.notes, skip_suffixes=(".ipynb",))
        nbformat.write(inert.make_inert(nb), dest_dir / f"{a}.ipynb")
        result.autograded_path = str(dest_dir / f"{a}.ipynb")
        verdicts = {c.grade_id: c.score for c in result.cells if c.judged}
        if verdicts:  # the judges' scores over what SaveAutoGrades read from the outputs
            with Gradebook(db_url) as gb:
                for grade in gb.find_submission_notebook(a, a, s).grades:
                    if grade.name in verdicts:
                        _save_auto_score(grade, verdicts[grade.name])
                gb.db.commit()
    else:
        nb = nbformat.v4.new_notebook()
        with Gradebook(db_url) as gb:
            for grade in gb.find_submission_notebook(a, a, s).grades:
                _save_auto_score(grade, 0.0)
            gb.db.commit()
        result.autograded_path = ""
    AssignLatePenalties(config=config).preprocess(nb, resources)
    result.save()


def _save_auto_score(grade, auto_score: float) -> None:
    """Set an automatic score as nbgrader's SaveAutoGrades does: a grade with a manual
    score (kept, it wins) or without any score needs a look from a human."""
    grade.auto_score = auto_score
    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None


def merge_safely(result: Result, merge_one=None) -> bool:
    """:func:`merge` (or ``merge_one``), but a failure (a locked gradebook, a full disk)
    is recorded on the result (``merge_error``) instead of raised, and the JSON result
    is still saved. Returns whether the merge worked."""
    try:
        (merge_one or merge)(result)
        return True
    except Exception as e:  # noqa: BLE001  (any failure: keep the batch going)
        result.merge_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        try:
            result.save()
        except OSError:
            pass
        return False
