"""Grade collected submissions in parallel, each in its own sandbox, into the gradebook.

Each submission in var/submitted/<student>/<assignment>/ is sanitised (metadata
repaired against the release, locked cells and hidden tests restored by nbgrader),
run by a kernel inside bubblewrap (no network, read-only environment, only its
own folder; memory, CPU, process and time limits from c.Sandbox in
grader/nbgrader_config.py) and scored by nbgrader. Results are merged into the
gradebook one at a time, as `nbgrader autograde` would record them (formgrader and
`nbgrader export` keep working), and saved as var/results/<assignment>/<student>.json
with a line for everything unusual (a rejected file, a dead kernel, a timeout).

Examples:
  python -m grader autograde 01-linear-regression              # everyone, one worker per core
  python -m grader autograde 01-linear-regression -s alice bob -j 2
  python -m grader autograde 01-linear-regression --cell-timeout 60 --memory-mb 4096
  python -m grader autograde 01-linear-regression --scheduler tcp://host:8786   # Dask cluster

With --scheduler the grading runs on the workers of a Dask cluster (started with
`dask scheduler` and `dask worker tcp://host:8786 --nworkers N --nthreads 1` on
machines with the course environment and folder); the results are merged here.

Exit status: 0 when every submission was graded (whatever its score), 1 when the
grader itself failed on some (status "error": grade them again), when a result
could not be written into the gradebook (e.g. it was locked: grade those again),
or when a student given with -s has no collected submission; 2 when bubblewrap
is unavailable.
"""
from ..course import assignments
from ..sandbox import Limits, SandboxUnavailable
from . import assignment_id

NO_SANDBOX_HELP = (
    "run student code WITHOUT the sandbox: only for submissions you trust. Dropped: "
    "bubblewrap (the kernel sees and may write all your files, and has the network), "
    "the separate sandbox user, the process limit (it would count all your processes) "
    "and the cgroup. Kept: the kernel environment (FASHION_MNIST_DIR, thread caps, "
    "PYTHONSAFEPATH), the memory, CPU-time and file-size limits (prlimit), the time "
    "and output limits, the integrity guard, and leaving out Python files shipped "
    "with a submission")


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="+", metavar="ASSIGNMENT",
                   help=f"assignment id(s), e.g. {(assignments() or ['01-linear-regression'])[0]}")
    p.add_argument("-s", "--student", nargs="+", dest="students", metavar="ID",
                   help="grade only these students (default: every collected submission)")
    p.add_argument("-j", "--workers", type=int, default=None,
                   help="parallel workers (default: the number of cores)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (c.Sandbox.cell_timeout)")
    p.add_argument("--notebook-timeout", type=int,
                   help="seconds per notebook (c.Sandbox.notebook_timeout)")
    p.add_argument("--memory-mb", type=int, help="memory limit of a kernel (c.Sandbox.memory_mb)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask cluster, e.g. tcp://host:8786 (default: on this machine)")
    p.add_argument("--no-sandbox", action="store_true", help=NO_SANDBOX_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args):
    from ..grading import autograde_submissions, submitted_students, unknown_students
    from ..sandbox import cgroup_cpu_unavailable, cgroups_unavailable

    overrides = dict(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                     memory_mb=args.memory_mb)
    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs with your permissions, unconfined.")
        overrides["sandbox"] = False
    limits = Limits.from_config(**overrides)
    unknown = unknown_students(args.assignments, args.students)
    for a in sorted({a for a, _ in unknown}):
        names = ", ".join(s for b, s in unknown if b == a)
        known = submitted_students(a)
        print(f"ERROR: no collected submission of {a} for: {names} (var/submitted/<student>/{a}/"
              f"{a}.ipynb); not graded, not added to the gradebook. Check the ids"
              + (f" (collected: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''})"
                 if known else "") + " or run `python -m grader collect` first.")
    if limits.sandbox and (why := cgroups_unavailable()):
        print(f"note: no cgroup per kernel ({why}): memory and process limits apply to each "
              "process of a kernel, not to the whole sandbox.")
    elif limits.sandbox and (why := cgroup_cpu_unavailable()):
        print(f"note: no CPU share per kernel ({why}): one kernel's busy threads can slow "
              "the others' cells into their timeouts.")
    try:
        if args.scheduler:
            from ..distributed import autograde_on_cluster

            results = autograde_on_cluster(args.scheduler, args.assignments, args.students,
                                           limits=limits, progress=not args.quiet)
        else:
            results = autograde_submissions(args.assignments, args.students, args.workers,
                                            limits=limits, progress=not args.quiet)
    except SandboxUnavailable as e:
        print(f"ERROR: {e}")
        return 2
    if not results:
        if not unknown:
            print("nothing to grade: no submissions in var/submitted/ (run `python -m grader collect`)")
        return 1 if unknown else 0
    width = max(len(r.student) for r in results) + 2
    for r in sorted(results, key=lambda r: (r.assignment, r.student)):
        print(f"{r.assignment}  {r.student.ljust(width)}{r.score:g} / {r.max_score:g}  {r.status}")
        for note in r.notes:
            print(f"{'':{len(r.assignment) + 2 + width}}- {note.splitlines()[0]}")
    errors = [r for r in results if r.status == "error"]
    print(f"\n{len(results)} graded, {sum(r.status == 'rejected' for r in results)} rejected, "
          f"{len(errors)} grader error(s); results in var/results/")
    unmerged = [r for r in results if r.merge_error]
    if unmerged:
        print(f"ERROR: {len(unmerged)} result(s) could not be written into the gradebook "
              "(their JSON results are in var/results/); grade them again once the cause is "
              "fixed:")
        for r in unmerged:
            print(f"  {r.assignment} {r.student}: {r.merge_error}")
        for a in sorted({r.assignment for r in unmerged}):
            print(f"  python -m grader autograde {a} -s "
                  + " ".join(r.student for r in unmerged if r.assignment == a))
    return 1 if errors or unmerged or unknown else 0
