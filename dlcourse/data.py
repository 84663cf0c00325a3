"""Datasets for the course: Fashion-MNIST served from memory, and synthetic data.

Fashion-MNIST is read once from its four IDX files into uint8 tensors, checked
against the published sizes and SHA-256 sums of the uncompressed bytes, and then
served as shuffled minibatches straight from memory, on the chosen device.

Where the files are looked for, in this order:

1. ``data/fashion-mnist`` in the current folder or any folder above it
   (the course repository keeps its cache there);
2. the folder named by the environment variable ``FASHION_MNIST_DIR``;
3. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``);
4. a download into ``data/fashion-mnist`` (only after the three above fail).

Gzipped files found in 2-4 are kept uncompressed in ``data/fashion-mnist`` once
verified (when ``data/`` exists), so later reads skip the decompression.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import torch

from .device import try_gpu

__all__ = [
    "DatasetError",
    "FASHION_MNIST_LABELS",
    "download_fashion_mnist",
    "TensorLoader",
    "find_fashion_mnist",
    "get_fashion_mnist_labels",
    "load_array",
    "load_data_fashion_mnist",
    "read_fashion_mnist",
    "synthetic_data",
]

FASHION_MNIST_LABELS = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

ENV_VAR = "FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MIRRORS = (
    "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)


@dataclass(frozen=True)
class IdxFile:
    name: str
    shape: tuple[int, ...]
    sha256: str  # of the uncompressed bytes, header included

    @property
    def size(self) -> int:
        return (16 if len(self.shape) == 3 else 8) + math.prod(self.shape)


FILES = {
    "train_images": IdxFile("train-images-idx3-ubyte", (60000, 28, 28),
                             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train_labels": IdxFile("train-labels-idx1-ubyte", (60000,),
                             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "test_images": IdxFile("t10k-images-idx3-ubyte", (10000, 28, 28),
                            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "test_labels": IdxFile("t10k-labels-idx1-ubyte", (10000,),
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}


class DatasetError(RuntimeError):
    """The dataset is missing, truncated or corrupt. The message says what to do."""


# --------------------------------------------------------------------------- finding

def _cache_dirs() -> list[Path]:
    """``data/fashion-mnist`` in the working folder and each folder above it."""
    here = Path.cwd().resolve()
    return [d / "data" / "fashion-mnist" for d in (here, *here.parents)]


def _has_all(folder: Path) -> bool:
    return all(_locate(folder, f.name) is not None for f in FILES.values())


def _locate(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_fashion_mnist(download: bool = True) -> Path:
    """Return the folder holding the four Fashion-MNIST IDX files.

    Looks in ``data/fashion-mnist`` (here or above), then ``$FASHION_MNIST_DIR``,
    then Debian's ``/usr/share/datasets/fashion-mnist``, and downloads into
    ``data/fashion-mnist`` only when all of these fail and ``download`` is true.
    """
    searched: list[str] = []
    for folder in _cache_dirs():
        if folder.is_dir():
            if _has_all(folder):
                return folder
            searched.append(f"{folder} (incomplete)")
    searched.append("data/fashion-mnist in this folder and the folders above it")
    env = os.environ.get(ENV_VAR)
    if env:
        if _has_all(Path(env)):
            return Path(env)
        searched.append(f"${ENV_VAR}={env} (files missing)")
    else:
        searched.append(f"${ENV_VAR} (not set)")
    if _has_all(DEBIAN_DIR):
        return DEBIAN_DIR
    searched.append(f"{DEBIAN_DIR} (Debian package dataset-fashion-mnist not installed)")

    target = _download_target()
    if download:
        try:
            _download(target, MIRRORS)
            return target
        except OSError as err:
            searched.append(f"download into {target} failed: {err}")
    raise DatasetError(
        "Fashion-MNIST was not found. Looked in:\n  - " + "\n  - ".join(searched) +
        "\nTo get it, do one of:\n"
        "  - run `make data` (or dlcourse.data.download_fashion_mnist()) on a machine with network access;\n"
        "  - `sudo apt-get install dataset-fashion-mnist` on Debian or Ubuntu;\n"
        f"  - copy the four *-ubyte(.gz) files into data/fashion-mnist, or point ${ENV_VAR} at them."
    )


def _download_target() -> Path:
    for folder in _cache_dirs():
        if folder.parent.is_dir():
            return folder
    return Path.cwd() / "data" / "fashion-mnist"


def download_fashion_mnist(target: str | Path | None = None,
                           mirrors: tuple[str, ...] | None = None, timeout: float = 30) -> Path:
    """Download the four files into ``target`` (default ``data/fashion-mnist``), verified.

    Files already there are kept. Each download is checked before it is renamed
    into place, so an interrupted or corrupt transfer never leaves a bad file.
    """
    target = Path(target) if target is not None else _download_target()
    _download(target, mirrors or MIRRORS, timeout)
    return target


def _download(target: Path, mirrors: tuple[str, ...], timeout: float = 30) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for spec in FILES.values():
        if _locate(target, spec.name):
            continue
        errors = []
        for mirror in mirrors:
            partial = target / f"{spec.name}.gz.part"
            try:
                with urllib.request.urlopen(mirror + spec.name + ".gz", timeout=timeout) as r:
                    partial.write_bytes(r.read())
                _check(spec, gzip.decompress(partial.read_bytes()), partial)
                partial.rename(target / f"{spec.name}.gz")
                break
            except (OSError, DatasetError, EOFError) as err:
                partial.unlink(missing_ok=True)
                errors.append(f"{mirror}: {err}")
        else:
            raise OSError("; ".join(errors))


# --------------------------------------------------------------------------- reading

def _check(spec: IdxFile, raw: bytes, path: Path) -> None:
    fix = ("Delete it and run `make data` again, or reinstall "
           "dataset-fashion-mnist.")
    if len(raw) != spec.size:
        raise DatasetError(f"{path}: {len(raw)} bytes uncompressed, expected {spec.size} "
                           f"(the file is truncated or is not {spec.name}). {fix}")
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise DatasetError(f"{path}: SHA-256 checksum mismatch; the file is corrupt. {fix}")


def _load_raw(path: Path) -> bytearray:
    """The uncompressed bytes of one file, ``.gz`` or not (a mutable buffer, so that
    the tensor can share it instead of copying 47 MB)."""
    try:
        if path.suffix == ".gz":
            return bytearray(gzip.decompress(path.read_bytes()))
        with open(path, "rb") as f:
            buf = bytearray(os.fstat(f.fileno()).st_size)
            f.readinto(buf)
            return buf
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DatasetError(f"{path}: cannot be read or decompressed ({err}). "
                           "Delete it and fetch it again.") from err


def _parse_idx(raw: bytes | bytearray, path: Path, expected_shape: tuple[int, ...] | None) -> torch.Tensor:
    if len(raw) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file ({len(raw)} bytes).")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes "
                           f"(header {raw[:4].hex()}).")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated inside the header.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if expected_shape is not None and tuple(shape) != tuple(expected_shape):
        raise DatasetError(f"{path}: shape {shape}, expected {expected_shape}.")
    body = len(raw) - header
    if body != math.prod(shape):
        raise DatasetError(f"{path}: {body} data bytes for shape {shape} "
                           f"(expected {math.prod(shape)}); the file is truncated or corrupt.")
    buf = raw if isinstance(raw, bytearray) else bytearray(raw)
    return torch.frombuffer(buf, dtype=torch.uint8, offset=header).reshape(shape)


def read_fashion_mnist(folder: str | Path | None = None, verify: bool = True
                       ) -> dict[str, torch.Tensor]:
    """Read the four files into uint8 tensors: images (N, 28, 28), labels (N,).

    ``verify`` checks sizes and SHA-256 sums of the uncompressed bytes. Gzipped
    files, once verified, are also kept uncompressed in the course's
    ``data/fashion-mnist`` when that folder (or ``data/``) already exists and is
    writable: decompressing costs most of the time of a read, and the search
    order finds that copy first next time.
    """
    folder = Path(folder) if folder is not None else find_fashion_mnist()
    return _read_cached(folder.resolve(), verify)


@lru_cache(maxsize=4)
def _read_cached(folder: Path, verify: bool) -> dict[str, torch.Tensor]:
    return read_idx_files(folder, FILES, verify, cache=_plain_cache_dir() if verify else None)


def _plain_cache_dir() -> Path | None:
    """The course's ``data/fashion-mnist`` (here or above) if ``data/`` exists; never created."""
    for folder in _cache_dirs():
        if folder.parent.is_dir():
            return folder
    return None


def _keep_plain(cache: Path, name: str, raw: bytes) -> None:
    """Write verified, uncompressed bytes into the cache (atomically); skip quietly when
    it cannot be written (a read-only checkout, a sandbox, a full disk)."""
    partial = cache / f"{name}.part"
    try:
        cache.mkdir(exist_ok=True)
        partial.write_bytes(raw)
        partial.replace(cache / name)
    except OSError:
        partial.unlink(missing_ok=True)


def read_idx_files(folder: Path, specs: dict[str, IdxFile], verify: bool = True,
                   cache: Path | None = None) -> dict[str, torch.Tensor]:
    """Read a set of IDX files described by ``specs`` (name, shape, SHA-256) from ``folder``.

    With ``cache``, each gzipped file is also written there uncompressed, after it
    has been verified (so ``cache`` never holds a file that failed its checks).
    """
    out = {}
    for key, spec in specs.items():
        path = _locate(folder, spec.name)
        if path is None:
            raise DatasetError(f"{folder}: {spec.name}(.gz) is missing.")
        raw = _load_raw(path)
        if verify:
            _check(spec, raw, path)
        out[key] = _parse_idx(raw, path, spec.shape)
        if cache is not None and verify and path.suffix == ".gz" and not (cache / spec.name).is_file():
            _keep_plain(cache, spec.name, raw)
    return out


# --------------------------------------------------------------------------- serving

class TensorLoader:
    """Minibatches from tensors held in memory, on one device.

    Iterating gives ``(X, y)`` batches; with ``shuffle`` a new permutation is
    drawn from torch's global generator each epoch, so ``torch.manual_seed``
    makes the order reproducible. Images stored as uint8 are turned into
    float32 in [0, 1] one batch at a time.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                 shuffle: bool = False, device: torch.device | str | None = None,
                 scale: float | None = None, resize: int | None = None):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.device = torch.device(device) if device is not None else try_gpu()
        self.X, self.y = X.to(self.device), y.to(self.device)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.scale, self.resize = scale, resize

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    @property
    def num_examples(self) -> int:
        return len(self.X)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.X)
        order = torch.randperm(n).to(self.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                X, y = self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                X, y = self.X[idx], self.y[idx]
            if self.scale is not None:
                X = X.to(torch.float32).mul_(self.scale)
            if self.resize is not None:
                X = torch.nn.functional.interpolate(X, size=(self.resize, self.resize),
                                                    mode="bilinear", align_corners=False)
            yield X, y


def load_data_fashion_mnist(batch_size: int, resize: int | None = None,
                            device: torch.device | str | None = None
                            ) -> tuple[TensorLoader, TensorLoader]:
    """Fashion-MNIST as ``(train_iter, test_iter)``, like ``d2l.load_data_fashion_mnist``.

    Batches are ``X: (batch, 1, 28, 28) float32 in [0, 1]`` and
    ``y: (batch,) int64``, already on ``device`` (default: ``try_gpu()``).
    The training set is reshuffled every epoch.
    """
    t = read_fashion_mnist()
    train = TensorLoader(t["train_images"].unsqueeze(1), t["train_labels"].long(), batch_size,
                         shuffle=True, device=device, scale=1 / 255, resize=resize)
    test = TensorLoader(t["test_images"].unsqueeze(1), t["test_labels"].long(), batch_size,
                        shuffle=False, device=device, scale=1 / 255, resize=resize)
    return train, test


def get_fashion_mnist_labels(labels) -> list[str]:
    """Text labels for numeric class indices (an iterable of ints or a tensor)."""
    return [FASHION_MNIST_LABELS[int(i)] for i in labels]


# --------------------------------------------------------------------------- synthetic

def synthetic_data(w: torch.Tensor, b: float, num_examples: int, noise: float = 0.01
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``y = X w + b + noise``: X (num_examples, len(w)) ~ N(0, 1), y (num_examples, 1)."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = X @ w.reshape(-1) + b
    y += torch.normal(0, noise, y.shape)
    return X, y.reshape(-1, 1)


def load_array(data_arrays: tuple[torch.Tensor, ...], batch_size: int, is_train: bool = True
               ) -> torch.utils.data.DataLoader:
    """A PyTorch ``DataLoader`` over tensors, as in ``d2l.load_array``."""
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)
