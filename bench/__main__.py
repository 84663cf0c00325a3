"""``python -m bench`` (``make bench``): measure, print the Markdown table, save it.

Rows 1-3 run on the CPU in this process (the GPU, if any, is hidden from it so the
figures match the course's 2-core goals); row 5 runs rows 1-3 again in a child
process that sees the GPU, where the course picks it by itself. See bench/__init__.py.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROWS = ("1", "2", "3", "4", "5")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 loader epochs a side, training runs cut to 1 epoch and "
                        "run once (accuracies then say nothing about the goals)")
    p.add_argument("--repeats", type=int, default=None,
                   help="runs a side for row 1 (default 5; --quick 2)")
    p.add_argument("--train-repeats", type=int, default=None,
                   help="runs a side for the cheap runs of row 2 (default 3; --quick 1)")
    p.add_argument("--heavy-repeats", type=int, default=None,
                   help="runs a side for the 10-epoch Fashion-MNIST runs of row 2 "
                        "(default 1: the d2l side takes about a minute each; --quick 1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="cap every training run of row 2 at this many epochs (--quick: 1)")
    p.add_argument("--rows", default=",".join(ROWS),
                   help="which rows to measure, e.g. 1,2 (default: all)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch in rows 1-3 (sets OMP_NUM_THREADS for this process "
                        "and the notebook kernels; default: torch's choice, one per core). "
                        "On a machine shared with other jobs, 1 avoids torch's threads waiting "
                        "for each other")
    p.add_argument("--grading-n", type=int, default=None,
                   help="submissions for row 4 (default: bench/grading.py's, 40, about half an "
                        "hour on 2 cores; --quick 4)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for performance.md, results.json")
    p.add_argument("--gpu-child", type=Path, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.rows = [r.strip() for r in a.rows.split(",") if r.strip()]
    unknown = set(a.rows) - set(ROWS)
    if unknown:
        p.error(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    a.repeats = a.repeats or (2 if a.quick else 5)
    a.train_repeats = a.train_repeats or (1 if a.quick else 3)
    a.heavy_repeats = a.heavy_repeats or 1
    a.epochs = a.epochs or (1 if a.quick else None)
    a.grading_n = a.grading_n or (4 if a.quick else None)
    return a


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _no_progress_bars():
    """dlcourse.train's tqdm bar off while we time it (set only here: kernels keep theirs)."""
    old = os.environ.get("DLCOURSE_PROGRESS")
    os.environ["DLCOURSE_PROGRESS"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("DLCOURSE_PROGRESS", None)
        else:
            os.environ["DLCOURSE_PROGRESS"] = old


def measure(a: argparse.Namespace, label: str = "") -> list:
    """Rows 1-3 on whatever device the course picks in this process."""
    import warnings

    import torch

    from . import loader, notebooks, training
    from .d2l_data import D2LData

    # d2l's 4 workers on a 2-core machine: torch warns every epoch; the row says so once.
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    # the book's loop calls float() on a loss that requires grad; torch warns once per process
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
    rows = []
    if "1" in a.rows or "2" in a.rows:
        with D2LData() as data, _no_progress_bars():
            if "1" in a.rows:
                log(f"row 1{label}: one Fashion-MNIST epoch, {a.repeats} runs a side")
                torch.manual_seed(0)
                rows += loader.run(data, a.repeats, label)
            if "2" in a.rows:
                log(f"row 2{label}: headline training runs")
                rows += training.run(data, a.train_repeats, a.heavy_repeats, a.epochs, label, log)
    if "3" in a.rows:
        log(f"row 3{label}: solution notebooks")
        rows += notebooks.run(label, log)
    return rows


def grading_rows(n: int | None) -> list:
    from .table import Row, from_dict

    try:
        from . import grading
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.grading":
            raise
        return [Row("4", "autograding", status="not measured",
                    notes="bench/grading.py is not there yet (it provides rows())")]
    log("row 4: autograding")
    return [from_dict(d) for d in grading.rows(n=n)]


def gpu_rows(a: argparse.Namespace, cuda_env: str | None) -> tuple[list, dict | None]:
    """Rows 1-3 in a child process that sees the GPU; a 'not measured' row without one."""
    from .table import Row

    env = dict(os.environ)
    if cuda_env is None:
        env.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        env["CUDA_VISIBLE_DEVICES"] = cuda_env
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gpu.json"
        argv = [sys.executable, "-m", "bench", "--gpu-child", str(out), "--rows",
                ",".join(r for r in a.rows if r in "123") or "1,2,3", "--repeats", str(a.repeats),
                "--train-repeats", str(a.train_repeats), "--heavy-repeats", str(a.heavy_repeats)]
        if a.epochs:
            argv += ["--epochs", str(a.epochs)]
        if a.threads:
            argv += ["--threads", str(a.threads)]
        log("row 5: rows 1-3 on the GPU (a child process that can see it)")
        proc = subprocess.run(argv, cwd=Path(__file__).resolve().parent.parent, env=env)
        got = json.loads(out.read_text()) if out.is_file() else None
    if proc.returncode != 0 or got is None:
        return [Row("5", "rows 1-3 on an NVIDIA GPU", status="error",
                    notes=f"the GPU child process failed (exit {proc.returncode})")], None
    if got["device"] is None:
        return [Row("5", "rows 1-3 on an NVIDIA GPU", course="no GPU", status="not measured",
                    notes=f"no NVIDIA GPU in this run ({got['reason']}); run `make bench` on a "
                          "CUDA machine to fill rows 1-3 gpu")], None
    return [Row(**r) for r in got["rows"]], got["machine"]


def gpu_child(a: argparse.Namespace) -> int:
    import torch

    if not torch.cuda.is_available():
        reason = (f"torch {torch.__version__}: torch.cuda.is_available() is False, "
                  f"{torch.cuda.device_count()} CUDA devices")
        a.gpu_child.write_text(json.dumps({"device": None, "reason": reason}))
        return 0
    from .timing import machine

    import dlcourse
    device = dlcourse.try_gpu()
    rows = measure(a, label=" gpu")
    a.gpu_child.write_text(json.dumps({"device": str(device), "machine": machine(device),
                                       "rows": [asdict(r) for r in rows]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    # `kill` ends the run like Ctrl-C: context managers remove their temporary folders
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if a.threads:  # before torch starts; the notebook kernels inherit it
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(a.threads)
    if a.gpu_child:
        return gpu_child(a)
    # This process measures the CPU: hide any GPU before torch is imported.
    cuda_env = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    from .table import render
    from .timing import machine

    cpu = torch.device("cpu")
    info_before = machine(cpu)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.perf_counter()
    rows = measure(a)
    if "4" in a.rows:
        rows += grading_rows(a.grading_n)
    gpu_machine = None
    if "5" in a.rows:
        gpu, gpu_machine = gpu_rows(a, cuda_env)
        rows += gpu
    elapsed = time.perf_counter() - t0
    info_after = machine(cpu)

    import d2l

    mode = "quick (smoke run: numbers indicative only)" if a.quick else "full"
    header = {
        "run": f"{started}, {mode}, took {elapsed / 60:.1f} min",
        "repeats": (f"row 1: {a.repeats} epochs a side; row 2: {a.train_repeats} runs a side "
                    f"(10-epoch Fashion-MNIST runs: {a.heavy_repeats})"
                    + (f"; epochs capped at {a.epochs}" if a.epochs else "")),
        "machine": info_before["cpu"],
        "software": f"torch {info_before['torch']}, d2l {d2l.__version__}, "
                    f"Python {info_before['python']}",
        "load average (1/5/15 min)": f"{info_before.get('load', '?')} before, "
                                     f"{info_after.get('load', '?')} after",
    }
    if gpu_machine:
        header["GPU run"] = f"{gpu_machine['device']}; {gpu_machine['cpu']}"
    notes = [
        "Times are medians of the runs; each ratio compares two sides measured in the same run, "
        "alternating which goes first. Rows 1-3 run on the CPU (any GPU hidden); row 5 repeats "
        "them where the course finds a GPU.",
        "On a shared or busy machine (load average above the core count) every time is "
        "pessimistic and the ratios move; compare ratios, not seconds, between runs.",
    ]
    text = render(rows, header=header, title="Performance (`make bench`)", notes=notes)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "performance.md").write_text(text)
    (a.out / "results.json").write_text(json.dumps(
        {"header": header, "rows": [asdict(r) for r in rows]}, indent=1))
    print(text)
    log(f"written: {a.out / 'performance.md'}, {a.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
