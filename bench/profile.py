"""Where a chapter's time goes: ``python -m bench.profile [NN ...]``.

Executes solution notebooks as row 3 does (nbclient, a fresh kernel each), with
cProfile switched on inside the kernel after the setup cell, then prints the
slowest code cells and the functions with the largest cumulative and own times.
Without arguments it profiles every chapter that exists; ``--slowest`` first
times them all and profiles the slowest one.
"""
from __future__ import annotations

import argparse
import pstats
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .notebooks import CELL_TIMEOUT, CHAPTERS, ROOT, _cell_seconds, execute, find


def profile(path: Path, top: int = 25) -> None:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "kernel.prof"
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell(
            "import cProfile as _bench_cprofile\n_bench_prof = _bench_cprofile.Profile()\n"
            "_bench_prof.enable()"))
        nb.cells.append(nbformat.v4.new_code_cell(
            f"_bench_prof.disable()\n_bench_prof.dump_stats({str(stats_file)!r})"))
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                record_timing=True,
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute(stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        print(f"\n=== {path.relative_to(ROOT)}: {elapsed:.1f} s with the profiler on")
        code = [c for c in nb.cells if c.cell_type == "code"]
        # number the notebook's own code cells from 1, as row 3 does; skip the profiler's two
        own = [c for i, c in enumerate(code) if i != 1 and i != len(code) - 1]
        cells = sorted(((t, i + 1, c) for i, c in enumerate(own) if (t := _cell_seconds(c))),
                       key=lambda x: -x[0])
        print("slowest code cells (numbered from 1 as in row 3):")
        for t, i, c in cells[:8]:
            first = c.source.strip().splitlines()[0][:70] if c.source.strip() else ""
            print(f"  {t:6.2f} s  cell {i:2d}  {first}")
        stats = pstats.Stats(str(stats_file))
        for key in ("cumulative", "tottime"):
            print(f"\ntop {top} by {key}:")
            stats.sort_stats(key).print_stats(top)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("chapters", nargs="*", help="chapter numbers, e.g. 03 07")
    p.add_argument("--slowest", action="store_true", help="time all, profile the slowest")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    chapters = [c.zfill(2) for c in a.chapters] or list(CHAPTERS)
    paths = [path for c in chapters if (path := find(c))]
    if a.slowest:
        timed = [(execute(path).seconds, path) for path in paths]
        for t, path in timed:
            print(f"{t:6.1f} s  {path.parent.name}")
        paths = [max(timed)[1]]
    for path in paths:
        profile(path, a.top)


if __name__ == "__main__":
    main()
