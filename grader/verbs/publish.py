"""Write the student repository: what students clone, open in Colab and pip-install.

This repository is the instructor's and stays private (solutions, judges, the
grader, the instructor tests). `publish` writes the public one into OUT:
notebooks/ (run `build` first), the helper package dlcourse/, data/README.md, a
student README, Makefile and .gitignore (templates in grader/student/),
pyproject.toml, LICENSE, and requirements.txt / environment.yml without the
instructor-only packages. It refuses to write a release that holds a line of a
solution, a hidden test or a judge.

OUT is a new or empty folder (then `git init` and push it), or a clone of the
student repository: publish keeps its .git, updates what changed, removes files
of notebooks/, dlcourse/ and docs/ that no longer belong, leaves everything else
alone, and says what changed. The Colab badges and the helpers' pip requirement
point at [tool.dlcourse] student-repository in pyproject.toml.

  python -m grader build && python -m grader publish ../linear-mlp --dry-run
  python -m grader publish ../linear-mlp
"""
from pathlib import Path

from ..publish import describe, publish


def add_arguments(p):
    p.add_argument("out", type=Path, metavar="OUT",
                   help="the release folder: new, empty, or a clone of the student repository")
    p.add_argument("-n", "--dry-run", action="store_true", help="say what would change, write nothing")


def run(args):
    report = publish(args.out, dry_run=args.dry_run)
    print(describe(report, dry_run=args.dry_run))
    return 0
