"""Show the course's own settings: each one's meaning, default and value now.

The settings are read from grader/nbgrader_config.py, where they are set as
c.<Section>.<name> = value (nbgrader's own sections, c.CourseDirectory,
c.Execute, ..., are listed by `nbgrader --help-all`). Each is declared once, with
its default and its check, as a traitlets Configurable:

  c.Sandbox     grader.sandbox.Sandbox     limits of every student kernel
  c.Submission  grader.budget.Submission   caps and time budget of reading a submission
  c.Collect     grader.collect.Collect     file names to student ids

A value set in the file is marked "(set)". A value of the wrong type or out of
range is reported with the setting's name, and the exit status is then 2.
"""
from __future__ import annotations

import textwrap


def configurables():
    """The course's Configurable classes, in the order of a submission's path."""
    from ..budget import Submission
    from ..collect import Collect
    from ..sandbox import Sandbox

    return [Collect, Submission, Sandbox]


def add_arguments(p):
    p.add_argument("section", nargs="*", metavar="SECTION",
                   help="only these sections (Collect, Submission, Sandbox)")


def run(args):
    from traitlets import TraitError

    from ..config import CONFIG, course_config

    classes = configurables()
    names = {cls.__name__.lower(): cls for cls in classes}
    unknown = [s for s in args.section if s.lower() not in names]
    if unknown:
        args.parser.error(f"unknown section {', '.join(unknown)}; the sections are "
                          f"{', '.join(cls.__name__ for cls in classes)}")
    chosen = [names[s.lower()] for s in args.section] or classes
    config = course_config()
    print(f"# settings of {CONFIG}")
    problems = []
    for cls in chosen:
        given = config.get(cls.__name__, {})
        try:
            current = cls(config=config)
        except (TraitError, ValueError) as error:
            text = str(error)
            problems.append(text if text.startswith("c.") else f"c.{cls.__name__}: {text}")
            current = cls()
        print(f"\nc.{cls.__name__}: {(cls.__doc__ or '').strip().splitlines()[0]}")
        for name, trait in sorted(cls.class_traits(config=True).items()):
            mark = "  (set)" if name in given else ""
            print(f"  {name} = {getattr(current, name)!r}{mark}")
            print(textwrap.fill(f"{trait.help} Default: {trait.default_value!r}.", width=88,
                                initial_indent="      ", subsequent_indent="      "))
    for problem in problems:
        print(f"\nNOT USABLE: {problem}")
    return 2 if problems else 0
