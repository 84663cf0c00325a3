"""Hand out a chapter, or its feedback, through nbgrader's exchange.

Two ways to give students the notebooks; use one or both:

* **Git / Colab.** `python -m grader publish OUT` writes the student repository
  (notebooks and helpers, no solutions): push it, and every notebook's "Open in
  Colab" badge opens it from there ([tool.dlcourse] student-repository in
  pyproject.toml). Students download their work (File > Download .ipynb) and
  hand it in through your LMS; `collect` takes the zip.
* **nbgrader's exchange** (a shared folder on a JupyterHub or lab server,
  c.Exchange.root, default /usr/local/share/nbgrader/exchange;
  DLCOURSE_EXCHANGE moves it):

    python -m grader release 01-linear-regression              # copy notebooks/01-... into it
    # students:  nbgrader fetch_assignment 01-linear-regression --course dl-linear-mlp
    #            nbgrader submit 01-linear-regression --course dl-linear-mlp
    python -m grader collect 01-linear-regression --exchange
    python -m grader autograde 01-linear-regression
    python -m grader feedback 01-linear-regression
    python -m grader release 01-linear-regression --feedback   # the pages from `feedback`
    # students:  nbgrader fetch_feedback 01-linear-regression --course dl-linear-mlp

Run `build` first: the exchange gets exactly what is in notebooks/. Releasing
again replaces the released copy (students who fetched it keep theirs).
"""
from ..course import NOTEBOOKS, nbgrader, student_path, var_dir
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="+", metavar="ASSIGNMENT",
                   help="assignment id(s), e.g. 01-linear-regression")
    p.add_argument("--feedback", action="store_true",
                   help="release the feedback pages written by `feedback` instead of the notebook")
    p.add_argument("--student", action="append", metavar="ID",
                   help="with --feedback: only this student (repeatable)")


def run(args):
    for a in args.assignments:
        if args.feedback:
            _release_feedback(a, args.student or [])
        else:
            _release_assignment(a)
    return 0


def _release_assignment(assignment: str) -> None:
    if not student_path(assignment).is_file():
        raise SystemExit(f"{student_path(assignment)} is missing: run `python -m grader build "
                         f"{assignment}` first")
    proc = nbgrader("release_assignment", assignment, "--force", check=False)
    _report(proc, f"released {assignment} from {NOTEBOOKS.name}/ to the exchange",
            f"nbgrader release_assignment {assignment}")


def _release_feedback(assignment: str, students: list[str]) -> None:
    pages = sorted((var_dir() / "feedback").glob(f"*/{assignment}/{assignment}.html"))
    if not pages:
        raise SystemExit(f"no feedback pages for {assignment} in {var_dir() / 'feedback'}: run "
                         f"`python -m grader feedback {assignment}` first")
    extra = [f"--student={s}" for s in students]
    proc = nbgrader("release_feedback", assignment, *extra, check=False)
    _report(proc, f"released the feedback of {assignment} to the exchange",
            f"nbgrader release_feedback {assignment}")


def _report(proc, done: str, what: str) -> None:
    log = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        hint = ""
        if "exchange" in log.lower() and ("exist" in log.lower() or "permission" in log.lower()):
            hint = ("\nThe exchange folder (c.Exchange.root, nbgrader's default "
                    "/usr/local/share/nbgrader/exchange) must exist and be writable by "
                    "everyone: create it (mkdir -m 777), or point DLCOURSE_EXCHANGE or "
                    "c.Exchange.root in grader/nbgrader_config.py at another one.")
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{log[-3000:]}{hint}")
    print(done)
