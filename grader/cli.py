"""``python -m grader VERB``: the instructor's command line.

Verbs are registered by the modules that implement them (grader/verbs/): each adds
its arguments with ``add_arguments(parser)`` and runs with ``run(args)``, where
``args.parser`` is its parser (``args.parser.error(...)``: a usage error, exit 2).
An assignment id names a chapter in every verb (grader.verbs.assignment_id).
"""
from __future__ import annotations

import argparse
import importlib

from .course import var_dir

# (verb module, one-line summary) in the order of the instructor's workflow.
VERBS = [
    ("build", "regenerate notebooks/ from solutions/ with nbgrader"),
    ("validate", "check the solution notebooks with nbgrader validate"),
    ("demo", "the whole cycle on two sample submissions, with a score table"),
    ("publish", "write the student repository: notebooks, helpers, README; no solutions"),
    ("release", "hand out a chapter (or, with --feedback, its feedback) via nbgrader's exchange"),
    ("collect", "take submissions from the exchange, a zip or a folder of notebooks"),
    ("autograde", "grade submissions in parallel, each in a sandbox, into the gradebook"),
    ("feedback", "HTML feedback per student: scores, messages, no hidden tests"),
    ("export", "grades as CSV for an LMS (--detail: a column per exercise)"),
    ("report", "class report: pass rates, histogram, slowest cells, special cases"),
    ("hub", "a class hub: JupyterHub with nbgrader's exchange, local accounts, the grader"),
    ("settings", "the course's own settings: meaning, default, value now, and whether it is usable"),
]

EPILOG = """\
The instructor's cycle:
  edit solutions/  ->  build  ->  publish (the student repository, for Colab and git)
  ->  release (nbgrader's exchange, optional)
  ->  collect  ->  autograde  ->  feedback (release --feedback)  ->  export / report

Every verb reads grader/nbgrader_config.py; the gradebook is var/gradebook.db
(DLCOURSE_VAR moves var/). Run `python -m grader VERB --help` for details.
Exit status 2: a usage error, such as an unknown assignment id.
"""


def _verb_modules():
    for verb, summary in VERBS:
        yield verb, summary, importlib.import_module(f"grader.verbs.{verb}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m grader``, a subparser per verb."""
    parser = argparse.ArgumentParser(
        prog="python -m grader", description="Instructor tooling for the course, on top of nbgrader.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb, summary, module in _verb_modules():
        p = sub.add_parser(verb, help=summary, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run, parser=p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        var_dir().mkdir(parents=True, exist_ok=True)  # not in git; the gradebook lives there
    except OSError as error:
        raise SystemExit(f"cannot create {var_dir()} for the gradebook ({error.strerror}): "
                         "set DLCOURSE_VAR to a folder you can write") from None
    return args.run(args) or 0
