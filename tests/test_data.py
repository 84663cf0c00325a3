"""The Fashion-MNIST loader: search order, verification, clear errors, batches."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import struct
import threading
from functools import partial
from pathlib import Path

import pytest
import torch

import dlcourse
from dlcourse import data
from dlcourse.data import DatasetError, IdxFile, read_idx_files

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: torch.Tensor) -> bytes:
    shape = tuple(array.shape)
    return struct.pack(">HBB", 0, 8, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + \
        array.to(torch.uint8).numpy().tobytes()


def small_set(folder: Path, gz: bool = True) -> dict[str, IdxFile]:
    """Write four tiny IDX files and return specs that describe them."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    arrays = {"train_images": torch.randint(0, 256, (6, 4, 4), generator=g),
              "train_labels": torch.randint(0, 10, (6,), generator=g),
              "test_images": torch.randint(0, 256, (3, 4, 4), generator=g),
              "test_labels": torch.randint(0, 10, (3,), generator=g)}
    specs = {}
    for key, arr in arrays.items():
        name = data.FILES[key].name
        raw = idx_bytes(arr)
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
        specs[key] = IdxFile(name, tuple(arr.shape), hashlib.sha256(raw).hexdigest())
    return specs


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No dataset anywhere and no network: empty cwd, no env var, no Debian package,
    a mirror that refuses connections."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/",))
    return tmp_path


# --------------------------------------------------------------------------- small files

@pytest.mark.parametrize("gz", [True, False])
def test_reads_small_idx_files(tmp_path, gz):
    specs = small_set(tmp_path, gz=gz)
    t = read_idx_files(tmp_path, specs)
    assert t["train_images"].shape == (6, 4, 4) and t["train_images"].dtype == torch.uint8
    assert t["test_labels"].shape == (3,)


def test_truncated_file_is_an_error(tmp_path):
    specs = small_set(tmp_path, gz=False)
    path = tmp_path / specs["train_images"].name
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx_files(tmp_path, specs, verify=False)  # even without checksums
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        read_idx_files(tmp_path, specs)


def test_truncated_gzip_is_an_error(tmp_path):
    specs = small_set(tmp_path, gz=True)
    path = tmp_path / (specs["test_images"].name + ".gz")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DatasetError, match="cannot be read or decompressed"):
        read_idx_files(tmp_path, specs)


def test_corrupt_byte_fails_the_checksum(tmp_path):
    specs = small_set(tmp_path, gz=False)
    path = tmp_path / specs["test_images"].name
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        read_idx_files(tmp_path, specs)


def test_wrong_header_is_an_error(tmp_path):
    specs = small_set(tmp_path, gz=False)
    path = tmp_path / specs["train_labels"].name
    path.write_bytes(b"\x00\x00\x0d\x01" + path.read_bytes()[4:])  # float data, not bytes
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx_files(tmp_path, specs, verify=False)


def test_wrong_shape_is_an_error(tmp_path):
    specs = small_set(tmp_path, gz=False)
    specs["test_labels"] = IdxFile(specs["test_labels"].name, (4,), specs["test_labels"].sha256)
    with pytest.raises(DatasetError, match="shape"):
        read_idx_files(tmp_path, specs, verify=False)


def test_missing_file_is_named(tmp_path):
    specs = small_set(tmp_path)
    (tmp_path / (specs["test_labels"].name + ".gz")).unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        read_idx_files(tmp_path, specs)


def test_gzipped_files_are_kept_uncompressed_once_verified(tmp_path):
    source, cache = tmp_path / "debian", tmp_path / "data" / "fashion-mnist"
    specs = small_set(source, gz=True)
    cache.parent.mkdir()  # the course's data/ exists; its fashion-mnist/ is made on demand
    first = read_idx_files(source, specs, cache=cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(s.name for s in specs.values())
    again = read_idx_files(cache, specs)  # the plain copies pass the same checks
    assert all(torch.equal(first[k], again[k]) for k in specs)


def test_a_file_that_fails_its_check_is_not_cached(tmp_path):
    source, cache = tmp_path / "debian", tmp_path / "data" / "fashion-mnist"
    specs = small_set(source, gz=True)
    bad = specs["test_labels"]
    specs["test_labels"] = IdxFile(bad.name, bad.shape, "0" * 64)
    cache.parent.mkdir()
    with pytest.raises(DatasetError, match="checksum"):
        read_idx_files(source, specs, cache=cache)
    assert not (cache / bad.name).exists()
    assert not list(cache.glob("*.part"))


def test_the_cache_folder_is_never_created_where_there_is_no_data_folder(nowhere):
    assert data._plain_cache_dir() is None
    (nowhere / "data").mkdir()
    assert data._plain_cache_dir() == nowhere / "data" / "fashion-mnist"


# --------------------------------------------------------------------------- where to look

def test_no_data_and_no_network_names_every_way(nowhere):
    with pytest.raises(DatasetError) as err:
        dlcourse.find_fashion_mnist()
    msg = str(err.value)
    for way in ("data/fashion-mnist", data.ENV_VAR, "dataset-fashion-mnist", "make data",
                "download into"):
        assert way in msg, f"{way!r} missing from:\n{msg}"
    # the failed download leaves no partial file behind
    assert not list(nowhere.rglob("*.part"))


def test_search_order_data_dir_first(nowhere, monkeypatch):
    env_dir, cache = nowhere / "env", nowhere / "data" / "fashion-mnist"
    small_set(env_dir)
    monkeypatch.setenv(data.ENV_VAR, str(env_dir))
    assert dlcourse.find_fashion_mnist(download=False) == env_dir
    small_set(cache)
    assert dlcourse.find_fashion_mnist(download=False).resolve() == cache.resolve()


def test_cache_found_from_a_subfolder(nowhere, monkeypatch):
    small_set(nowhere / "data" / "fashion-mnist")
    sub = nowhere / "notebooks" / "01-x"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert dlcourse.find_fashion_mnist(download=False).resolve() == \
        (nowhere / "data" / "fashion-mnist").resolve()


def test_debian_package_after_env_var(nowhere, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", DEBIAN)
    assert dlcourse.find_fashion_mnist(download=False) == DEBIAN
    env_dir = nowhere / "env"
    small_set(env_dir)
    monkeypatch.setenv(data.ENV_VAR, str(env_dir))
    assert dlcourse.find_fashion_mnist(download=False) == env_dir


def test_download_from_a_mirror_verifies_and_caches(nowhere, monkeypatch):
    """The download path for real, against a mirror on loopback serving the real files."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(DEBIAN))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (nowhere / "data").mkdir()
        monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/",
                                              f"http://127.0.0.1:{server.server_port}/"))
        folder = dlcourse.find_fashion_mnist()
    finally:
        server.shutdown()
    assert folder.resolve() == (nowhere / "data" / "fashion-mnist").resolve()
    t = dlcourse.read_fashion_mnist(folder)
    assert t["train_images"].shape == (60000, 28, 28)


def test_corrupt_download_is_rejected(nowhere, monkeypatch):
    bad = nowhere / "mirror"
    bad.mkdir()
    for f in DEBIAN.glob("*.gz"):
        shutil.copy(f, bad / f.name)
    labels = bad / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] ^= 1
    labels.write_bytes(gzip.compress(bytes(raw)))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(bad))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(data, "MIRRORS", (f"http://127.0.0.1:{server.server_port}/",))
        with pytest.raises(DatasetError, match="checksum"):
            dlcourse.find_fashion_mnist()
    finally:
        server.shutdown()
    cache = nowhere / "data" / "fashion-mnist"
    assert not (cache / "t10k-labels-idx1-ubyte.gz").exists(), "a corrupt download was kept"


# --------------------------------------------------------------------------- the real data

def test_real_data_verifies_and_batches(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.ENV_VAR, str(DEBIAN))
    train_iter, test_iter = dlcourse.load_data_fashion_mnist(256, device="cpu")
    assert len(train_iter) == 235 and len(test_iter) == 40
    X, y = next(iter(train_iter))
    assert X.shape == (256, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (256,) and y.dtype == torch.int64
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    total = sum(len(y) for _, y in test_iter)
    assert total == 10000
    counts = torch.bincount(torch.cat([y for _, y in train_iter]), minlength=10)
    assert counts.tolist() == [6000] * 10
    torch.manual_seed(5)
    first = next(iter(train_iter))[1]
    torch.manual_seed(5)
    assert torch.equal(first, next(iter(train_iter))[1]), "shuffling must follow torch's seed"
    assert not torch.equal(first, next(iter(train_iter))[1]), "each epoch draws a new order"
    assert dlcourse.get_fashion_mnist_labels([0, 9]) == ["t-shirt", "ankle boot"]


def test_tensor_loader_resize_and_errors():
    X = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    y = torch.arange(10)
    loader = data.TensorLoader(X, y, 4, device="cpu", scale=1 / 255, resize=14)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][0].shape == (4, 1, 14, 14)
    with pytest.raises(ValueError, match="rows"):
        data.TensorLoader(X, y[:3], 4, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        data.TensorLoader(X, y, 0, device="cpu")


def test_synthetic_data_shapes_and_noise():
    torch.manual_seed(0)
    X, y = dlcourse.synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 1000)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    resid = y.reshape(-1) - (X @ torch.tensor([2.0, -3.4]) + 4.2)
    assert 0.008 < float(resid.std()) < 0.012
