"""Timing helpers: paired medians, the copy-bandwidth probe, what machine this is."""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

__all__ = ["Sample", "paired", "timed", "copy_bandwidth", "machine", "sync"]


@dataclass
class Sample:
    """Wall times (seconds) of repeated runs of one side, and what each run returned."""
    times: list[float] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def last(self) -> Any:
        return self.results[-1]

    def spread(self) -> str:
        """``min-max`` over the runs, for the notes column."""
        if len(self.times) < 2:
            return "1 run"
        return f"{len(self.times)} runs, {min(self.times):.3g}-{max(self.times):.3g} s"


def sync() -> None:
    """Wait for queued GPU work, so that a timer stops when the work is done."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn()`` once: (seconds, its result)."""
    sync()
    start = time.perf_counter()
    result = fn()
    sync()
    return time.perf_counter() - start, result


def paired(reference: Callable[[], Any], course: Callable[[], Any], repeats: int
           ) -> tuple[Sample, Sample]:
    """Time both sides ``repeats`` times each, alternating which goes first.

    Alternating puts both sides under the same (noisy, shared) machine load, so
    the ratio of the medians is steadier than either time alone.
    """
    ref, ours = Sample(), Sample()
    for i in range(repeats):
        order = [(reference, ref), (course, ours)]
        for fn, sample in (order if i % 2 == 0 else order[::-1]):
            seconds, result = timed(fn)
            sample.times.append(seconds)
            sample.results.append(result)
    return ref, ours


def copy_bandwidth(device: torch.device, nbytes: int = 256 * 2**20, repeats: int = 7) -> float:
    """Bytes per second moved (read + write) by ``dst.copy_(src)`` of ``nbytes``; best of runs.

    This is the machine's practical memory-bandwidth bound for streaming work:
    no loader can read and write its bytes faster than a plain copy.
    """
    src = torch.ones(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)  # first touch: page faults, not bandwidth
    best = float("inf")
    for _ in range(repeats):
        seconds, _ = timed(lambda: dst.copy_(src))
        best = min(best, seconds)
    return 2 * nbytes / best


def machine(device: torch.device) -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores, torch threads {torch.get_num_threads()}",
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})"
                                 if device.type == "cuda" else ""),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):
        info["load"] = "%.1f %.1f %.1f" % os.getloadavg()
    return info
