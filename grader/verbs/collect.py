"""Take submissions into var/submitted/<student>/<assignment>/, ready for autograde.

From nbgrader's exchange:
  python -m grader collect 01-linear-regression --exchange
From a zip downloaded from an LMS, or a folder of notebooks (Colab downloads):
  python -m grader collect 01-linear-regression downloads/submissions.zip
  python -m grader collect --from ~/Downloads/colab/           # assignment read from each name

File names map to student ids with regular expressions (named groups `student`,
and `assignment` when the name holds it). The defaults accept
"alice_01-linear-regression.ipynb", LMS-style
"Lastname_12345_678901_01-linear-regression.ipynb" (student 12345) and
"alice/01-linear-regression.ipynb"; set your own with --pattern (repeatable) or
c.Collect.patterns in grader/nbgrader_config.py.

A file downloaded again, "alice_01-linear-regression (1).ipynb" or "...(2).ipynb",
is a copy of the same file: the " (N)" is taken off before matching, the copy
modified last is collected (on equal times, the highest N) and the others are
listed as skipped. Files that match no pattern, two files of different names for
the same student, and symbolic links (never followed: a link could point at the
solutions) are listed and NOT collected: fix them and run again.

Exit status 1 when some file was left out (also a link skipped in the exchange),
2 for an unknown assignment id.
"""
from pathlib import Path

from ..collect import collect, collect_exchange
from ..course import assignments
from . import unknown_assignment


def add_arguments(p):
    p.add_argument("assignment", nargs="?", help="assignment id (default: read from each file name)")
    p.add_argument("source", nargs="?", type=Path, help="a zip file, a folder or one .ipynb")
    p.add_argument("--from", dest="source_opt", type=Path, metavar="SOURCE",
                   help="same as SOURCE, when no assignment is given")
    p.add_argument("--exchange", action="store_true", help="collect from nbgrader's exchange")
    p.add_argument("--pattern", action="append", metavar="REGEX",
                   help="file name pattern with (?P<student>...) and optionally (?P<assignment>...)")
    p.add_argument("-n", "--dry-run", action="store_true", help="show the mapping, copy nothing")


def run(args):
    source = args.source or args.source_opt
    if args.assignment and args.assignment not in assignments():
        if source is None and not args.exchange and Path(args.assignment).exists():
            source, args.assignment = Path(args.assignment), None  # `collect FOLDER`
        else:
            args.parser.error(unknown_assignment(args.assignment) + (
                "" if source or args.exchange else "; nor is it a file or folder to collect from"))
    if args.exchange:
        if not args.assignment:
            args.parser.error("--exchange needs the assignment id")
        return collect_exchange(args.assignment)
    if source is None:
        args.parser.error("give a zip file or a folder to collect from, or --exchange")
    try:
        report = collect(source, args.assignment, args.pattern, dry_run=args.dry_run)
    except ValueError as error:  # a pattern that is not a usable regular expression
        args.parser.error(str(error))
    for line in report.lines():
        print(line)
    print(f"\n{len(report.collected)} collected, {len(report.skipped)} older copies skipped, "
          f"{len(report.unmatched)} left out"
          + (" (dry run: nothing copied)" if args.dry_run else ""))
    return 1 if report.unmatched else 0
