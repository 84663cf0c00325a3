"""Row 1: one epoch of Fashion-MNIST minibatches, the course's loader against d2l's.

Both loaders are built first (untimed); one epoch is one pass over the 60000
training examples in batches of 256, touching each batch (counting its labels).
d2l's ``DataLoader`` starts its 4 worker processes at the start of every epoch,
so that cost belongs to the epoch, as it does in the book.

The bandwidth bound: an epoch must read 60000 x 784 uint8 pixels and write them as
float32 (5 bytes a pixel, 235 MB); a plain tensor copy measured in the same run
gives the bytes a second this machine can move, hence the fastest possible epoch.
"""
from __future__ import annotations

import dlcourse
import torch

from .d2l_data import D2LData
from .table import Row, ratio, seconds, verdict
from .timing import copy_bandwidth, paired, timed

BATCH_SIZE = 256
GOAL = 15.0


def _epoch(train_iter) -> int:
    """One pass, touching each batch; returns the examples seen."""
    n = 0
    for X, y in train_iter:
        n += y.shape[0]
    return n


def run(d2l_data: D2LData, repeats: int, label: str = "") -> list[Row]:
    course_train, _ = dlcourse.load_data_fashion_mnist(BATCH_SIZE)
    ref_train, _ = d2l_data.load(BATCH_SIZE)
    device = course_train.device
    for it in (course_train, ref_train):  # warm-up: allocator, page cache, worker imports
        timed(lambda: _epoch(it))
    ref, ours = paired(lambda: _epoch(ref_train), lambda: _epoch(course_train), repeats)
    if set(ref.results) | set(ours.results) != {60000}:
        raise RuntimeError(f"an epoch did not see 60000 examples: {ref.results} {ours.results}")
    speedup = ref.median / ours.median

    pixels = course_train.num_examples * 28 * 28
    nbytes = pixels * (1 + 4)  # uint8 read + float32 write
    bandwidth = copy_bandwidth(device)
    bound = nbytes / bandwidth
    achieved = nbytes / ours.median
    on = f" on {device}" if device.type != "cpu" else ""
    return [
        Row(f"1{label}", f"Fashion-MNIST, one training epoch, batch {BATCH_SIZE}{on}",
            course=f"{seconds(ours.median)} (dlcourse, in memory, {device})",
            reference=f"{seconds(ref.median)} (d2l, DataLoader, 4 workers)",
            result=ratio(ref.median, ours.median), goal=f">= {GOAL:.0f}x faster",
            status=verdict(speedup >= GOAL),
            notes=f"median of {repeats}; course {ours.spread()}; d2l {ref.spread()}"),
        Row(f"1{label}", f"share of the memory-bandwidth bound{on}",
            course=f"{achieved / 1e9:.2f} GB/s achieved ({nbytes / 1e6:.0f} MB an epoch)",
            reference=f"copy bandwidth {bandwidth / 1e9:.1f} GB/s -> bound {seconds(bound)}",
            result=f"{100 * bound / ours.median:.0f}% of bound", goal="report", status="n/a",
            notes="bytes = 60000x784 uint8 read + float32 write; bandwidth = "
                  "best torch copy_ of 256 MiB (read + write) in this run"),
    ]


def main() -> None:  # a quick look: python -m bench.loader
    with D2LData() as data:
        for row in run(data, repeats=3):
            print(row)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
