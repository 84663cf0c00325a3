"""Row 4: autograding throughput, this grader against plain ``nbgrader autograde``.

N synthetic submissions of chapter 1 (a mix: the solution, the untouched release,
one exercise wrong, half the exercises solved), and one student's full submission of
all eight chapters (the solution notebooks), are graded three ways, each in a fresh
private var/ (own gradebook):

* plain serial ``nbgrader autograde`` (one process for the whole class, no sandbox);
* this grader (``grader.grading.autograde_submissions``), 1 worker;
* this grader, 2 workers (persistent worker processes, each kernel in bubblewrap).

Printed: throughput of each and the ratios against plain serial (goal: >= 1.7x at
2 workers), the per-notebook overhead above executing the notebook itself
(nbclient alone, no nbgrader, no sandbox, on one of each variant, weighted by the
mix), and peak memory per worker process and per sandboxed kernel. Medians over
``--repeats`` runs. ``rows()`` gives the table rows of ``python -m bench``.

    python -m bench.grading                 # 40 submissions, 1 run (about half an hour on 2 cores)
    python -m bench.grading -n 8 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

A = "01-linear-regression"
VARIANTS = ("solution", "untouched", "one-wrong", "half-solved")


def _notebooks() -> dict[str, dict]:
    from grader.course import solution_path, student_path

    release = json.loads(student_path(A).read_text())
    solution = json.loads(solution_path(A).read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
               for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}

    def filled(ids, wrong=()):
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if gid in ids:
                cell["source"] = re.sub(r"\n?\s*### (BEGIN|END) SOLUTION", "", answers[gid])
            if gid in wrong:
                cell["source"] = "def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)).abs()\n"
        return nb

    every = list(answers)
    return {"solution": filled(every), "untouched": release,
            "one-wrong": filled(every, wrong=("ex4-squared-loss",)),
            "half-solved": filled(every[::2])}


def _mix(n: int) -> list[tuple[str, str]]:
    """(student, variant): half solutions, the rest spread over the other variants."""
    out = []
    for i in range(n):
        variant = "solution" if i % 2 == 0 else VARIANTS[1 + (i // 2) % 3]
        out.append((f"s{i:03d}-{variant}", variant))
    return out


ALL = "[0-9][0-9]-*"  # every chapter, as nbgrader's assignment glob


@contextmanager
def _var(assignment: str = A):
    """A fresh var/ with the assignment(s) in its gradebook; DLCOURSE_VAR points at it."""
    from grader.course import nbgrader

    old = os.environ.get("DLCOURSE_VAR")
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    os.environ["DLCOURSE_VAR"] = str(tmp / "var")
    try:
        nbgrader("generate_assignment", assignment, "--force",
                 f"--CourseDirectory.release_directory={tmp / 'release'}")
        yield tmp / "var"
    finally:
        if old is None:
            os.environ.pop("DLCOURSE_VAR", None)
        else:
            os.environ["DLCOURSE_VAR"] = old
        shutil.rmtree(tmp, ignore_errors=True)


def _submit(var: Path, mix, notebooks) -> None:
    for student, variant in mix:
        d = var / "submitted" / student / A
        d.mkdir(parents=True)
        (d / f"{A}.ipynb").write_text(json.dumps(notebooks[variant]))


class _WorkerMemory:
    """Peak resident memory (VmHWM) of this process's children, sampled in a thread."""

    def __init__(self):
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        me = os.getpid()
        while not self._stop.wait(0.5):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))
                hwm = re.search(r"VmHWM:\s+(\d+)", status)
                if ppid == me and hwm:
                    self.peak[int(pid)] = max(self.peak.get(int(pid), 0), int(hwm.group(1)) / 1024)

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return max(self.peak.values(), default=0.0)


def time_plain_nbgrader(mix, notebooks) -> dict:
    from grader.course import nbgrader
    from grader.gradebook import scores

    with _var() as var:
        _submit(var, mix, notebooks)
        mem = _WorkerMemory()
        t0 = time.perf_counter()
        nbgrader("autograde", A, "--force")
        seconds = time.perf_counter() - t0
        peak = mem.stop()
        total = sum(scores(A, s)[0] for s, _ in mix)
    return {"seconds": seconds, "worker_mb": peak, "total_score": total}


def time_grader(mix, notebooks, workers: int) -> dict:
    from grader.grading import autograde_submissions

    with _var() as var:
        _submit(var, mix, notebooks)
        mem = _WorkerMemory()
        t0 = time.perf_counter()
        results = autograde_submissions([A], None, workers, progress=False)
        seconds = time.perf_counter() - t0
        peak = mem.stop()
    kernels = [r.peak_memory_mb for r in results if r.peak_memory_mb]
    return {"seconds": seconds, "worker_mb": peak,
            "kernel_mb": statistics.median(kernels) if kernels else 0.0,
            "per_notebook": statistics.median(r.seconds for r in results),
            "total_score": sum(r.score for r in results),
            "errors": sum(r.status != "graded" for r in results)}


def time_full_course(workers: int | None) -> dict:
    """One student's full submission of every chapter (the solution notebooks): plain
    serial ``nbgrader autograde`` over all assignments (``workers=None``) or this grader."""
    from grader.course import assignments, nbgrader, solution_path
    from grader.gradebook import scores
    from grader.grading import autograde_submissions

    chapters = assignments()
    with _var(ALL) as var:
        for a in chapters:
            d = var / "submitted" / "full" / a
            d.mkdir(parents=True)
            shutil.copy(solution_path(a), d / f"{a}.ipynb")
        mem = _WorkerMemory()
        t0 = time.perf_counter()
        if workers is None:
            nbgrader("autograde", ALL, "--force")
        else:
            autograde_submissions(chapters, ["full"], workers, progress=False)
        seconds = time.perf_counter() - t0
        peak = mem.stop()
        got = [scores(a, "full") for a in chapters]
    return {"seconds": seconds, "worker_mb": peak, "chapters": len(chapters),
            "score": sum(g[0] for g in got), "max_score": sum(g[1] for g in got)}


def time_execution(notebooks) -> dict[str, float]:
    """Seconds to execute each variant with nbclient alone (kernel start included)."""
    import nbformat
    from nbclient import NotebookClient

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant, nb in notebooks.items():
            node = nbformat.reads(json.dumps(nb), as_version=4)
            t0 = time.perf_counter()
            NotebookClient(node, timeout=180, allow_errors=True, kernel_name="python3",
                           resources={"metadata": {"path": tmp}}).execute()
            out[variant] = time.perf_counter() - t0
    return out


def measure(n: int = 40, repeats: int = 1, log=print, full_course: bool = True) -> dict:
    notebooks, mix = _notebooks(), _mix(n)
    runs = {"plain": [], "w1": [], "w2": []}
    for r in range(repeats):
        log(f"[grading bench] run {r + 1}/{repeats}: plain serial nbgrader autograde, {n} notebooks")
        runs["plain"].append(time_plain_nbgrader(mix, notebooks))
        log(f"[grading bench] run {r + 1}/{repeats}: this grader, 1 worker")
        runs["w1"].append(time_grader(mix, notebooks, 1))
        log(f"[grading bench] run {r + 1}/{repeats}: this grader, 2 workers")
        runs["w2"].append(time_grader(mix, notebooks, 2))
    full = {"plain": [], "w1": [], "w2": []}
    for r in range(repeats if full_course else 0):
        for key, workers in (("plain", None), ("w1", 1), ("w2", 2)):
            log(f"[grading bench] run {r + 1}/{repeats}: one full submission of every chapter, "
                + ("plain serial nbgrader autograde" if workers is None else
                   f"this grader, {workers} worker{'s' if workers > 1 else ''}"))
            full[key].append(time_full_course(workers))
    log("[grading bench] executing each variant with nbclient alone")
    execution = time_execution(notebooks)
    exec_per_nb = statistics.mean(execution[v] for _, v in mix)
    med = {k: statistics.median(x["seconds"] for x in v) for k, v in runs.items()}
    return {
        "n": n, "repeats": repeats, "runs": runs, "median_seconds": med,
        "throughput_per_min": {k: 60 * n / s for k, s in med.items()},
        "ratio_w1": med["plain"] / med["w1"], "ratio_w2": med["plain"] / med["w2"],
        "execution_per_notebook": exec_per_nb,
        "overhead_per_notebook": med["w1"] / n - exec_per_nb,
        "plain_overhead_per_notebook": med["plain"] / n - exec_per_nb,
        "worker_mb": statistics.median(x["worker_mb"] for x in runs["w2"]),
        "kernel_mb": statistics.median(x["kernel_mb"] for x in runs["w2"]),
        "total_scores": {k: sorted({x["total_score"] for x in v}) for k, v in runs.items()},
        "scores_agree": len({x["total_score"] for k in ("w1", "w2") for x in runs[k]}) == 1,
        "full_course": {k: statistics.median(x["seconds"] for x in v) for k, v in full.items() if v},
        "full_course_runs": full,
        "full_course_scores": sorted({(x["score"], x["max_score"]) for v in full.values() for x in v}),
    }


def _rows(m: dict) -> list[dict]:
    n, med, tp = m["n"], m["median_seconds"], m["throughput_per_min"]
    totals = m["total_scores"]
    if not m["scores_agree"]:  # this grader must give the same scores whatever its worker count
        agree = f"TOTAL SCORES DIFFER between 1 and 2 workers: {totals['w1']} vs {totals['w2']}"
    else:
        agree = f"this grader: {totals['w2'][0]:g} points in all, with 1 worker as with 2"
        if totals["plain"] != totals["w2"]:
            agree += (f"; plain nbgrader: {', '.join(f'{t:g}' for t in totals['plain'])}, from the "
                      "visible checks alone (the judges' verdicts exist only in this grader)")
    return [
        {"row": "4", "what": f"autograde {n} ch1 submissions, 2 workers vs plain serial nbgrader",
         "course": f"{med['w2']:.0f} s ({tp['w2']:.1f}/min)",
         "reference": f"{med['plain']:.0f} s ({tp['plain']:.1f}/min)",
         "result": f"{m['ratio_w2']:.2f}x throughput", "goal": ">= 1.7x",
         "status": "met" if m["ratio_w2"] >= 1.7 else "not met",
         "notes": f"medians of {m['repeats']} run(s); each kernel in bubblewrap; {agree}"},
        {"row": "4", "what": "autograde, 1 worker vs plain serial nbgrader",
         "course": f"{med['w1']:.0f} s", "reference": f"{med['plain']:.0f} s",
         "result": f"{m['ratio_w1']:.2f}x throughput", "goal": "", "status": "n/a",
         "notes": (f"overhead above executing the notebook ({m['execution_per_notebook']:.1f} s): "
                   f"{m['overhead_per_notebook']:+.1f} s per notebook (plain nbgrader: "
                   f"{m['plain_overhead_per_notebook']:+.1f} s)")},
        *([_full_course_row(m)] if m["full_course"] else []),
        {"row": "4", "what": "autograde, peak memory", "course":
         f"{m['worker_mb']:.0f} MB per worker process, {m['kernel_mb']:.0f} MB per sandboxed kernel",
         "reference": "", "result": "", "goal": "", "status": "n/a",
         "notes": "VmHWM of the worker processes; the kernel's resident set (median of notebooks)"},
    ]


def _full_course_row(m: dict) -> dict:
    f, scores = m["full_course"], m["full_course_scores"]
    ok = len(scores) == 1 and scores[0][0] == scores[0][1]
    said = (f"{scores[0][0]:g} / {scores[0][1]:g} points on every side" if len(scores) == 1
            else f"SCORES DIFFER: {scores}")
    return {"row": "4", "what": "autograde one full submission of all 8 chapters, 2 workers "
                                "vs plain serial nbgrader",
            "course": f"{f['w2']:.0f} s (1 worker: {f['w1']:.0f} s)",
            "reference": f"{f['plain']:.0f} s",
            "result": f"{f['plain'] / f['w2']:.2f}x faster (1 worker: {f['plain'] / f['w1']:.2f}x)",
            "goal": "report", "status": "n/a" if ok else "**not met**",
            "notes": f"the solution notebooks as one student's submissions; {said}"}


def rows(n: int | None = None, repeats: int | None = None) -> list[dict]:
    """The rows of ``python -m bench`` (BENCH_GRADING_N / BENCH_GRADING_REPEATS override)."""
    n = n or int(os.environ.get("BENCH_GRADING_N", 40))
    repeats = repeats or int(os.environ.get("BENCH_GRADING_REPEATS", 1))
    return _rows(measure(n, repeats, log=lambda s: print(s, file=sys.stderr, flush=True)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=40, help="number of submissions (default 40)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each side (default 1)")
    p.add_argument("--json", type=Path, help="also save the measurements here")
    p.add_argument("--no-full-course", action="store_true",
                   help="leave out the one-submission-of-every-chapter runs (about 7 minutes)")
    a = p.parse_args(argv)
    m = measure(a.n, a.repeats, full_course=not a.no_full_course)
    for r in _rows(m):
        print(f"{r['what']}\n    course {r['course']}  |  reference {r['reference']}  |  "
              f"{r['result']}  goal {r['goal'] or '-'}  {r['status']}\n    {r['notes']}")
    if a.json:
        a.json.write_text(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
