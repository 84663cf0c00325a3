"""Reading and copying files from folders a student controls, without following links.

A submission folder (``var/submitted/<student>/<assignment>/``) holds what the student
handed in, and a student can hand in a symbolic link: to ``var/gradebook.db``, to
``solutions/``, to a device. Following it would copy the instructor's files into places
the student may see. Here every path is opened one component at a time below a trusted
folder, with ``O_NOFOLLOW``: a symbolic link is never followed, only regular files
(with no other hard link) are read, and fifos, sockets and devices are refused without
being opened for reading. A refusal is an :class:`Unsafe` error, or, in the functions
taking ``notes``, one line appended there saying what was skipped and why.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_FILES = 1000             # entries copied from one submission folder
MAX_BYTES = 200 * 1024 ** 2  # bytes copied from one submission folder
MAX_DEPTH = 16               # folder levels copied

_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


class Unsafe(OSError):
    """A path in a student's folder that is not read: a link, a device, a fifo, ..."""


def _kind(mode: int) -> str:
    return ("a symbolic link" if stat.S_ISLNK(mode) else "a fifo" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")


def _parts(relative: str | Path) -> tuple[str, ...]:
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts:
        raise ValueError(f"{relative}: expected a path inside the folder, without '..'")
    return parts


def _open_at(dir_fd: int, name: str, shown: str, *, directory: bool) -> int:
    """Open ``name`` in ``dir_fd`` without following a link: a folder or a regular file
    with one hard link, checked before opening (lstat) and after (the same inode)."""
    before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    wanted = stat.S_ISDIR if directory else stat.S_ISREG
    if not wanted(before.st_mode):
        what = "not a folder" if stat.S_ISREG(before.st_mode) else _kind(before.st_mode)
        raise Unsafe(errno.EPERM, f"{shown} is {what}")
    if not directory and before.st_nlink > 1:
        raise Unsafe(errno.EPERM, f"{shown} has other hard links")
    try:
        fd = os.open(name, _OPEN | (os.O_DIRECTORY if directory else 0), dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
            raise Unsafe(errno.EPERM, f"{shown} changed while being opened") from e
        raise
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) or not wanted(after.st_mode):
        os.close(fd)
        raise Unsafe(errno.EPERM, f"{shown} changed while being opened")
    return fd


def open_below(root: Path, relative: str | Path, *, directory: bool = False) -> int:
    """A file descriptor of ``root/relative``: ``root`` is trusted, every component below
    it is opened without following a link. Raises :class:`Unsafe` or FileNotFoundError."""
    parts = _parts(relative)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            shown = "/".join(parts[:i + 1])
            nfd = _open_at(fd, part, shown, directory=directory or not last)
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_bytes(root: Path, relative: str | Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file ``root/relative`` (see :func:`open_below`)."""
    fd = open_below(root, relative)
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)


def read_text(root: Path, relative: str | Path, limit: int, notes: list[str]) -> str:
    """The text of ``root/relative`` (UTF-8, at most ``limit`` bytes), "" when it is
    missing; when it is refused, "" and a line in ``notes`` saying why."""
    try:
        return read_bytes(root, relative, limit).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    except Unsafe as e:
        notes.append(f"{e.strerror}: ignored")
        return ""


def copy_tree(root: Path, relative: str | Path, dest: Path, notes: list[str],
              skip_suffixes: tuple[str, ...] = ()) -> int:
    """Copy the folder ``root/relative`` into ``dest``, a folder of the grader's (created
    when missing; the names copied must not exist there yet): folders and regular files
    only, never through a link, at most :data:`MAX_FILES` entries, :data:`MAX_BYTES` bytes and :data:`MAX_DEPTH` levels.
    Files whose names end in ``skip_suffixes`` (at the top level) are left out. Every
    entry refused is a line in ``notes``. Returns the number of files copied; a missing
    folder copies nothing."""
    try:
        fd = open_below(root, relative, directory=True)
    except FileNotFoundError:
        return 0
    except Unsafe as e:
        notes.append(f"{e.strerror}: nothing copied from it")
        return 0
    budget = {"files": MAX_FILES, "bytes": MAX_BYTES}
    try:
        return _copy_dir(fd, Path(relative), dest, notes, skip_suffixes, budget, 0)
    finally:
        os.close(fd)


def _copy_dir(fd: int, shown: Path, dest: Path, notes: list[str], skip_suffixes: tuple[str, ...],
              budget: dict, depth: int) -> int:
    copied = 0
    for name in sorted(os.listdir(fd)):
        here = shown / name
        if depth == 0 and name.endswith(skip_suffixes):
            continue
        if budget["files"] <= 0:
            notes.append(f"{shown}: more than {MAX_FILES} files; the rest not copied")
            break
        budget["files"] -= 1
        try:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) and depth + 1 >= MAX_DEPTH:
                notes.append(f"{here}: deeper than {MAX_DEPTH} folders; not copied")
                continue
            child = _open_at(fd, name, str(here), directory=stat.S_ISDIR(mode))
        except Unsafe as e:
            notes.append(f"{e.strerror}: not copied")
            continue
        except FileNotFoundError:
            continue
        try:
            if stat.S_ISDIR(mode):
                (dest / name).mkdir(parents=True, exist_ok=True)
                copied += _copy_dir(child, here, dest / name, notes, skip_suffixes, budget, depth + 1)
            else:
                copied += _copy_file(child, here, dest / name, notes, budget)
        finally:
            os.close(child)
    return copied


def _copy_file(fd: int, shown: Path, target: Path, notes: list[str], budget: dict) -> int:
    size = os.fstat(fd).st_size
    if size > budget["bytes"]:
        notes.append(f"{shown}: over the {MAX_BYTES // 1024 ** 2} MB copied per submission; "
                     "not copied")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    remaining = size
    with os.fdopen(out, "wb") as f:
        while remaining > 0 and (chunk := os.read(fd, min(_CHUNK, remaining))):
            f.write(chunk)
            remaining -= len(chunk)
    budget["bytes"] -= size - remaining
    return 1
