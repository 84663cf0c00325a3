"""Where things are: the course root, the assignments, the nbgrader command line."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("DLCOURSE_COURSE_ROOT", Path(__file__).resolve().parent.parent))
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "grader" / "nbgrader_config.py"


def var_dir() -> Path:
    """Submissions, autograded copies, feedback and the gradebook (never committed).

    ``DLCOURSE_VAR`` moves it, e.g. to give a test its own gradebook.
    """
    return Path(os.environ.get("DLCOURSE_VAR", ROOT / "var"))


def assignments() -> list[str]:
    """Chapter assignment ids in order: ``01-linear-regression`` ... ``08-initialization``."""
    return sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]-*") if (p / f"{p.name}.ipynb").is_file())


def solution_path(assignment: str) -> Path:
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def student_path(assignment: str) -> Path:
    return NOTEBOOKS / assignment / f"{assignment}.ipynb"


def tool_env() -> dict[str, str]:
    """Environment for nbgrader and jupyter subprocesses: this Python's bin first on PATH
    (nbgrader shells out to ``alembic`` and ``jupyter``)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("DLCOURSE_PROGRESS", "0")
    return env


def nbgrader(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` at the course root with the course configuration."""
    var_dir().mkdir(parents=True, exist_ok=True)
    exe = shutil.which("nbgrader", path=tool_env()["PATH"])
    if exe is None:
        raise SystemExit("nbgrader is not installed in this environment; run `make setup`.")
    proc = subprocess.run([exe, *args], cwd=ROOT, env=tool_env(), text=True,
                          capture_output=capture)
    if check and proc.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc
