"""Fashion-MNIST for d2l's loader, staged offline.

``d2l.load_data_fashion_mnist`` builds ``torchvision.datasets.FashionMNIST(
root="../data", download=True)``. torchvision skips the download when the four
uncompressed IDX files are present in ``<root>/FashionMNIST/raw/`` (its
``_check_exists`` only tests that those files exist). So the benchmark writes the
uncompressed files, read from the course's own copy (``dlcourse.find_fashion_mnist``),
into a temporary tree ``<tmp>/data/FashionMNIST/raw/`` and calls d2l from
``<tmp>/work``, where ``"../data"`` resolves to ``<tmp>/data``. Nothing is downloaded:
the files are checked with torchvision's own ``download=False`` path first.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from dlcourse.data import FILES, find_fashion_mnist

__all__ = ["D2LData"]


class D2LData:
    """A staged ``../data`` tree for d2l; use as a context manager.

    ``with D2LData() as data: train_iter, test_iter = data.load(256)``.
    """

    def __init__(self) -> None:
        self.tmp: Path | None = None

    def __enter__(self) -> "D2LData":
        source = find_fashion_mnist(download=False)
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-d2l-"))
        raw = self.tmp / "data" / "FashionMNIST" / "raw"
        raw.mkdir(parents=True)
        (self.tmp / "work").mkdir()
        for spec in FILES.values():
            plain, packed = source / spec.name, source / f"{spec.name}.gz"
            if plain.is_file():
                shutil.copyfile(plain, raw / spec.name)
            else:
                (raw / spec.name).write_bytes(gzip.decompress(packed.read_bytes()))
        self._check()
        return self

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    @contextlib.contextmanager
    def _inside(self) -> Iterator[None]:
        """Work in ``<tmp>/work`` so that d2l's ``"../data"`` is the staged tree."""
        if self.tmp is None:
            raise RuntimeError("use D2LData as a context manager: `with D2LData() as data:`")
        old = os.getcwd()
        os.chdir(self.tmp / "work")
        try:
            yield
        finally:
            os.chdir(old)

    def _check(self) -> None:
        """torchvision finds the files without downloading (raises otherwise)."""
        import torchvision

        with self._inside():
            for train in (True, False):
                torchvision.datasets.FashionMNIST(root="../data", train=train, download=False)

    def load(self, batch_size: int):
        """``d2l.load_data_fashion_mnist(batch_size)``, exactly as the book calls it."""
        from d2l import torch as d2l

        with self._inside():
            return d2l.load_data_fashion_mnist(batch_size)
