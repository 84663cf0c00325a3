"""Small training utilities: Accumulator and Timer (as in d2l)."""
from __future__ import annotations

import time

__all__ = ["Accumulator", "Timer"]


class Accumulator:
    """Sums ``n`` running quantities, e.g. total loss, correct predictions, examples."""

    def __init__(self, n: int):
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        if len(args) != len(self.data):
            raise ValueError(f"Accumulator holds {len(self.data)} values, got {len(args)}")
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]

    def __len__(self) -> int:
        return len(self.data)


class Timer:
    """Records the durations of several runs: ``start()`` ... ``stop()``."""

    def __init__(self):
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out
