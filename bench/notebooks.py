"""Row 3: every solution notebook executed top to bottom in a real kernel (nbclient).

One fresh ``python3`` kernel per chapter, started in the notebook's folder, as
``jupyter nbconvert --execute`` does; the time runs from starting the kernel to
the last cell's end (hidden tests included). Outputs stay in memory; nothing is
written back. Chapters not written yet are reported as missing.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .table import Row, seconds, verdict

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTER_GOAL = 60.0
COURSE_GOAL = 180.0
CELL_TIMEOUT = 180  # as grader/nbgrader_config.py
CHAPTERS = {
    "01": "linear regression", "02": "softmax regression", "03": "Fashion-MNIST, softmax regression",
    "04": "multilayer perceptrons", "05": "model selection, under/overfitting",
    "06": "weight decay", "07": "dropout", "08": "backprop, stability, initialisation",
}


@dataclass
class Execution:
    """One notebook's run: wall time, whether it finished, its slowest cells."""
    path: Path
    seconds: float
    error: str = ""
    slowest: list[tuple[int, float]] | None = None   # (code cell number, seconds)


def find(number: str) -> Path | None:
    """``solutions/NN-name/NN-name.ipynb`` for chapter ``NN``, if it exists."""
    for folder in sorted(SOLUTIONS.glob(f"{number}-*")):
        nb = folder / f"{folder.name}.ipynb"
        if nb.is_file():
            return nb
    return None


def _cell_seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def execute(path: Path) -> Execution:
    """Run one notebook top to bottom in a fresh kernel; time it."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            record_timing=True, resources={"metadata": {"path": str(path.parent)}})
    error = ""
    start = time.perf_counter()
    try:
        # the kernel's own stderr (a warning about TCP transport) stays out of the log;
        # cell errors still come back through the client
        client.execute(stderr=subprocess.DEVNULL)
    except CellExecutionError as err:
        error = f"error: {err.ename}"
    except (CellTimeoutError, DeadKernelError) as err:
        error = f"error: {type(err).__name__}"
    elapsed = time.perf_counter() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    times = [(i + 1, t) for i, c in enumerate(code) if (t := _cell_seconds(c)) is not None]
    return Execution(path, elapsed, error, sorted(times, key=lambda x: -x[1])[:3])


def run(label: str = "", log=print) -> list[Row]:
    rows, total, missing, failed = [], 0.0, [], []
    for number, title in CHAPTERS.items():
        path = find(number)
        if path is None:
            missing.append(number)
            rows.append(Row(f"3 ch{number}{label}", f"chapter {number} notebook ({title})",
                            course="missing", goal=f"<= {CHAPTER_GOAL:.0f} s", status="missing",
                            notes=f"no solutions/{number}-*/ notebook yet"))
            continue
        log(f"  executing {path.relative_to(ROOT)}")
        ex = execute(path)
        total += ex.seconds
        if ex.error:
            failed.append(number)
        slow = ", ".join(f"cell {i}: {t:.1f} s" for i, t in ex.slowest or [])
        rows.append(Row(f"3 ch{number}{label}", f"{path.parent.name} executed top to bottom",
                        course=seconds(ex.seconds) + (f" ({ex.error})" if ex.error else ""),
                        goal=f"<= {CHAPTER_GOAL:.0f} s",
                        status=ex.error or verdict(ex.seconds <= CHAPTER_GOAL),
                        notes=f"slowest code cells: {slow}" if slow else ""))
    done = len(CHAPTERS) - len(missing)
    notes = [f"{done} of {len(CHAPTERS)} chapters ran"]
    if missing:
        notes.append("missing: " + ", ".join(missing))
    if failed:
        notes.append("failed: " + ", ".join(failed))
    status = verdict(total <= COURSE_GOAL) if done else "missing"
    if missing and done:
        status += " (incomplete)"
    rows.append(Row(f"3 all{label}", "the whole course: all solution notebooks, one after another",
                    course=seconds(total), goal=f"<= {COURSE_GOAL / 60:.0f} min",
                    status=status, notes="; ".join(notes)))
    return rows
