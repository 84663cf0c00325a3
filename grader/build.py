"""Build the student notebooks (``notebooks/``) from the instructor solutions.

``nbgrader generate_assignment`` does the work, in one process for all the
selected chapters: solution code is replaced by stubs, hidden tests are
removed, outputs are cleared, the assignment is recorded in the gradebook (so
that autograding can restore the locked cells later) and, through the
``ColabHeader`` preprocessor (``grader/header.py``), every notebook gets an
"Open in Colab" badge and a setup cell that works in a fresh Colab runtime.
"""
from __future__ import annotations

import re
import shutil
import subprocess

from .course import ROOT, SOLUTIONS, assignments, nbgrader, solution_path, student_path, tool_env, var_dir

ALL = "[0-9][0-9]-*"  # nbgrader expands it to every chapter folder in solutions/
_WRITING = re.compile(r"Writing \d+ bytes to .*?([^/\\]+)\.ipynb\s*$")


def build(selected: list[str] | None = None, quiet: bool = False) -> list[str]:
    """Regenerate ``notebooks/<a>/<a>.ipynb`` for the selected assignments (default all)."""
    from dlcourse import progress

    names = selected or assignments()
    unknown = [a for a in names if not solution_path(a).is_file()]
    if unknown:
        raise SystemExit(f"no solution notebook for {', '.join(unknown)}; "
                         f"known assignments: {', '.join(assignments())}")
    from .judge import problems

    wrong = [p for a in names for p in problems(a)]
    if wrong:
        raise SystemExit("the judges (grader/judges/) do not match the solutions:\n  " + "\n  ".join(wrong))
    # One nbgrader process for all the chapters (its start-up costs more than a
    # chapter): nbgrader takes a glob for the assignment.
    every = sorted(p.name for p in SOLUTIONS.glob(ALL) if p.is_dir())
    if len(names) == 1 or names == every:
        _generate(names[0] if len(names) == 1 else ALL, names, quiet)
    else:
        for a in progress(names, desc="building notebooks", unit="chapter", disable=quiet):
            _generate(a, [a], quiet=True)
    missing = [str(student_path(a)) for a in names if not student_path(a).is_file()]
    if missing:
        raise SystemExit(f"nbgrader did not write {', '.join(missing)}")
    return names


def _generate(pattern: str, names: list[str], quiet: bool) -> None:
    """``nbgrader generate_assignment PATTERN --force``, with a progress bar fed by its log."""
    from dlcourse import progress

    var_dir().mkdir(parents=True, exist_ok=True)
    exe = shutil.which("nbgrader", path=tool_env()["PATH"])
    if exe is None:
        raise SystemExit("nbgrader is not installed in this environment; run `make setup`.")
    log: list[str] = []
    with progress(None, total=len(names), desc="building notebooks", unit="chapter", disable=quiet) as bar:
        proc = subprocess.Popen([exe, "generate_assignment", pattern, "--force"], cwd=ROOT,
                                env=tool_env(), text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        for line in proc.stdout:
            log.append(line)
            m = _WRITING.search(line)
            if m and m.group(1) in names:
                bar.set_postfix_str(m.group(1), refresh=False)
                bar.update(1)
        proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment {pattern} failed:\n{''.join(log[-80:])}")


def validate(selected: list[str] | None = None, quiet: bool = False) -> list[str]:
    """Run ``nbgrader validate`` on the solutions; returns the failures."""
    from dlcourse import progress

    failures = []
    for a in progress(selected or assignments(), desc="validating solutions", unit="chapter",
                      disable=quiet):
        proc = nbgrader("validate", str(solution_path(a)), check=False)
        if proc.returncode != 0 or "Success!" not in proc.stdout:
            failures.append(f"{a}: {proc.stdout.strip()} {proc.stderr.strip()[-2000:]}")
    return failures
