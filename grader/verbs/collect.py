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
c.Collect.patterns in grader/nbgrader_config.py. Files that match no pattern,
or two files for the same student, are listed and NOT collected: rename them
and run again. Exit status 1 when some file was left out.
"""
from pathlib import Path

from ..collect import collect, collect_exchange


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
    if args.exchange:
        if not args.assignment:
            raise SystemExit("--exchange needs the assignment id")
        collect_exchange(args.assignment)
        return 0
    source = args.source or args.source_opt
    if source is None and args.assignment and Path(args.assignment).exists():
        source, args.assignment = Path(args.assignment), None
    if source is None:
        raise SystemExit("give a zip file or a folder to collect from, or --exchange")
    report = collect(source, args.assignment, args.pattern, dry_run=args.dry_run)
    for line in report.lines():
        print(line)
    print(f"\n{len(report.collected)} collected, {len(report.unmatched)} left out"
          + (" (dry run: nothing copied)" if args.dry_run else ""))
    return 1 if report.unmatched else 0
