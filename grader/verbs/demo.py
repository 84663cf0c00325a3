"""The whole cycle on two sample submissions, start to finish:

  1. find (or fetch) Fashion-MNIST;
  2. build the student notebooks from the solutions;
  3. submit two samples per chapter: the full solution ("demo-solution") and the
     student notebook left untouched ("demo-untouched");
  4. autograde them in parallel, each kernel in its own bubblewrap sandbox
     (python -m grader autograde), and print the score table.

The solution must score full marks and the untouched notebook 0.
"""
import shutil
import time

from ..build import build
from ..course import assignments, solution_path, student_path, var_dir
from ..gradebook import score_table
from ..grading import autograde_submissions
from . import assignment_id

SAMPLES = {"demo-solution": solution_path, "demo-untouched": student_path}


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: all chapters)")


def run(args):
    from dlcourse import find_fashion_mnist

    t0 = time.perf_counter()
    print("1/4  Fashion-MNIST ...", flush=True)
    print(f"     found in {find_fashion_mnist()}")
    print("2/4  building the student notebooks from solutions/ ...", flush=True)
    names = build(args.assignments or None)
    print(f"     {len(names)} chapter(s) in notebooks/")
    print("3/4  submitting two samples per chapter ...", flush=True)
    for student, source in SAMPLES.items():
        for a in names:
            dest = var_dir() / "submitted" / student / a
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            shutil.copy(source(a), dest / f"{a}.ipynb")
    print("4/4  autograding (parallel, sandboxed) ...", flush=True)
    autograde_submissions(names, list(SAMPLES))
    table, ok = score_table(names, list(SAMPLES))
    print()
    print(table)
    print(f"\nDone in {time.perf_counter() - t0:.0f} s.")
    print("Next: `make lab` (or `jupyter lab notebooks/`) to work through the chapters;")
    print("      graded copies are in var/autograded/, the gradebook is var/gradebook.db.")
    if not ok:
        print("\nUNEXPECTED: the solution should score full marks and the untouched notebook 0.")
        return 1
    return 0
