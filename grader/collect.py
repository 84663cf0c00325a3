"""Collecting submissions into ``var/submitted/<student>/<assignment>/<assignment>.ipynb``.

Three sources: nbgrader's exchange (``nbgrader collect``), a zip file downloaded
from an LMS (Moodle, Canvas, ...) and a folder of ``.ipynb`` files (e.g. downloaded
from Colab or a shared drive). File names are mapped to student ids by regular
expressions with named groups ``student`` (required) and ``assignment``
(optional: else the assignment given on the command line); the first pattern that
matches wins. The defaults (``c.Collect.patterns`` in grader/nbgrader_config.py
overrides them) cover::

    Lastname_12345_678901_01-linear-regression.ipynb   -> student 12345 (LMS style)
    alice_01-linear-regression.ipynb                   -> student alice
    alice/01-linear-regression.ipynb                   -> student alice (a folder per student)

Copies downloaded again. Browsers and LMSs name a second download of the same
file ``alice_01-linear-regression (1).ipynb`` or ``...(2).ipynb``. Such a " (N)"
before ``.ipynb`` is taken off before the patterns are tried, so the copy maps to
the same student. When one student has several copies of the same name, they are
the same file downloaded more than once: the one modified last is collected (on
equal times, the highest N), and the others are listed as skipped.

Nothing else is guessed: a file that matches no pattern, names an unknown
assignment, or collides with a file of another name for the same student is
reported and left out.

Symbolic links are never followed. A submission folder is the student's: a link
in it named like a notebook could point at ``solutions/`` and copy the solution
into ``var/submitted``. Every link (to a file or a folder, at any depth, and links
stored in a zip) is reported as "skipped: a symbolic link" and left out; files are
opened with ``O_NOFOLLOW``, folder by folder from file descriptors, so a link that
appears while collecting is refused too. Only the folder, zip or notebook named on
the command line is taken as given. A hard link is a real file and is copied.
The exchange (``--exchange``) uses the same rules (grader/exchange_collect.py).
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator, NamedTuple

from traitlets import List, TraitError, Unicode, validate
from traitlets.config import Configurable

from .course import assignments, var_dir

ASSIGNMENT = r"(?P<assignment>\d\d-[a-z0-9]+(?:-[a-z0-9]+)*)"
DEFAULT_PATTERNS = [
    # LMS downloads: <name>_<numeric id>_<more numbers or words>_<assignment>[-1].ipynb
    rf"^[^_/]+_(?P<student>\d+)_(?:[^_/]+_)*?{ASSIGNMENT}(?:-\d+)?\.ipynb$",
    # <student>_<assignment>.ipynb
    rf"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*)_{ASSIGNMENT}\.ipynb$",
    # <student>/<assignment>.ipynb (a folder per student)
    rf"^(?:.*/)?(?P<student>[A-Za-z0-9][A-Za-z0-9._-]*)/{ASSIGNMENT}\.ipynb$",
]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# " (1)" or "(2)" that a browser or an LMS adds to a file downloaded again
COPY_SUFFIX = re.compile(r"\s*\((\d{1,4})\)(?=\.ipynb$)")
SKIPPED_LINK = "skipped: a symbolic link"
MAX_DEPTH = 32  # folders below the source; deeper ones are reported, not read

NOFOLLOW_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
NOFOLLOW_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


@dataclass
class CollectReport:
    collected: list[tuple[str, str, str]] = field(default_factory=list)  # (student, assign., file)
    skipped: list[tuple[str, str]] = field(default_factory=list)         # (file, why): old copies
    unmatched: list[tuple[str, str]] = field(default_factory=list)       # (file, why): left out

    def lines(self) -> list[str]:
        out = [f"collected {s} / {a}  <- {f}" for s, a, f in self.collected]
        out += [f"skipped {f}: {why}" for f, why in self.skipped]
        out += [f"NOT COLLECTED {f}: {why}" for f, why in self.unmatched]
        return out


class Entry(NamedTuple):
    """A file of the source: its bytes, or why it is not read (``refused``)."""
    name: str                     # relative name, '/' separated
    data: bytes | None
    mtime: datetime | None
    refused: str | None = None


class Collect(Configurable):
    """How collect maps the names of submitted files to student ids.

    Set as ``c.Collect.<name>`` in the course configuration, or ``--pattern``."""

    patterns = List(Unicode(), default_value=DEFAULT_PATTERNS,
                    help="Regular expressions from a file's name (relative to the source, '/' "
                         "separated) to a student id: a named group `student`, optionally "
                         "`assignment`; the first that matches wins.").tag(config=True)

    @validate("patterns")
    def _compile(self, proposal):
        for pattern in proposal["value"]:
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise TraitError(f"{pattern!r} is not a regular expression ({error})") from None
            if "student" not in compiled.groupindex:
                raise TraitError(f"{pattern!r} has no named group (?P<student>...)")
        return proposal["value"]


def configured_patterns(patterns: list[str] | None = None) -> list[str]:
    """``patterns`` (from ``--pattern``) if given, else ``c.Collect.patterns`` from the
    course configuration, else the defaults; ValueError says which one is not usable."""
    from .config import course_config

    try:
        if patterns:
            return list(Collect(patterns=list(patterns)).patterns)
        return list(Collect(config=course_config()).patterns)
    except TraitError as error:
        raise ValueError(f"{'--pattern' if patterns else 'c.Collect.patterns'}: {error}") from None


def split_copy(name: str) -> tuple[str, int]:
    """``('bob_x.ipynb', 2)`` for ``'bob_x (2).ipynb'``; ``(name, 0)`` for a name without " (N)"."""
    m = COPY_SUFFIX.search(name)
    return (name[:m.start()] + name[m.end():], int(m.group(1))) if m else (name, 0)


def match(name: str, patterns: list[str], assignment: str | None = None) -> tuple[str, str] | str:
    """(student, assignment) for a file name (relative path, '/' separated), or why not.

    A " (N)" copy suffix is taken off first; the name as it is is tried after that."""
    base, _ = split_copy(name)
    got = _match(base, patterns, assignment)
    return _match(name, patterns, assignment) if base != name and isinstance(got, str) else got


def _match(name: str, patterns: list[str], assignment: str | None) -> tuple[str, str] | str:
    known = set(assignments())
    for pattern in patterns:
        m = re.search(pattern, name)
        if not m:
            continue
        groups = m.groupdict()
        student, found = groups.get("student"), groups.get("assignment") or assignment
        if not student or not STUDENT_ID.match(student):
            return f"pattern matched but the student id {student!r} is not a valid id"
        if found is None:
            return "no assignment in the name; give the assignment on the command line"
        if found not in known:
            return f"unknown assignment {found!r} (known: {', '.join(sorted(known))})"
        if assignment and found != assignment:
            return f"a notebook of {found}, not {assignment}"
        return student, found
    return "the name matches no pattern (see --pattern)"


def link_refusal(target: str) -> str:
    """The report's reason for a symbolic link (``target``: where it points, not read)."""
    return (f"{SKIPPED_LINK} (to {target}); links are never followed: ask the student "
            "for the notebook file itself")


def read_nofollow(name: str, dir_fd: int | None = None) -> tuple[bytes, os.stat_result]:
    """Bytes and status of the regular file ``name`` (relative to ``dir_fd``), without
    following a symbolic link. OSError ELOOP for a link, EINVAL for anything else that
    is not a regular file (a FIFO, a device)."""
    fd = os.open(name, NOFOLLOW_FILE, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(), st
    finally:
        os.close(fd)


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, tz=timezone.utc)


def refusal(error: OSError, dir_fd: int | None, name: str) -> str:
    """The report's reason for a file that ``read_nofollow`` (or opening a folder) refused."""
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        try:
            return link_refusal(os.readlink(name, dir_fd=dir_fd))
        except OSError:
            return SKIPPED_LINK
    if error.errno == errno.EINVAL:
        return "skipped: not a regular file"
    return f"could not be read ({error.strerror})"


def _zip_entries(source: Path) -> Iterator[Entry]:
    with zipfile.ZipFile(source) as z:
        for info in z.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or "__MACOSX" in name.parts:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                target = z.read(info).decode(errors="replace")
                yield Entry(str(name), None, None, link_refusal(target))
            elif name.suffix == ".ipynb":
                yield Entry(str(name), z.read(info), datetime(*info.date_time, tzinfo=timezone.utc))


def _folder_entries(dir_fd: int, prefix: str = "", depth: int = 0) -> Iterator[Entry]:
    """Every .ipynb below the open folder ``dir_fd``, and every symbolic link, in name order."""
    with os.scandir(dir_fd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        rel = prefix + e.name
        if e.is_symlink():
            yield Entry(rel, None, None, link_refusal(os.readlink(e.name, dir_fd=dir_fd)))
        elif e.is_dir(follow_symlinks=False):
            if e.name in (".ipynb_checkpoints", "__MACOSX"):
                continue
            if depth >= MAX_DEPTH:
                yield Entry(rel + "/", None, None, f"skipped: more than {MAX_DEPTH} folders deep")
                continue
            try:
                fd = os.open(e.name, NOFOLLOW_DIR, dir_fd=dir_fd)
            except OSError as error:
                yield Entry(rel + "/", None, None, refusal(error, dir_fd, e.name))
                continue
            try:
                yield from _folder_entries(fd, rel + "/", depth + 1)
            finally:
                os.close(fd)
        elif e.name.endswith(".ipynb"):
            try:
                data, st = read_nofollow(e.name, dir_fd)
            except OSError as error:
                yield Entry(rel, None, None, refusal(error, dir_fd, e.name))
                continue
            yield Entry(rel, data, _mtime(st))


def _entries(source: Path) -> Iterator[Entry]:
    """Every .ipynb in a zip, a folder or the one notebook given, and every link found."""
    if source.is_file() and zipfile.is_zipfile(source):
        yield from _zip_entries(source)
    elif source.is_dir():
        fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)  # the instructor's choice: followed
        try:
            yield from _folder_entries(fd)
        finally:
            os.close(fd)
    elif source.suffix == ".ipynb" and (source.is_file() or source.is_symlink()):
        try:
            data, st = read_nofollow(str(source))
        except OSError as error:
            yield Entry(source.name, None, None, refusal(error, None, str(source)))
            return
        yield Entry(source.name, data, _mtime(st))
    else:
        raise SystemExit(f"{source}: not a zip file, a folder or a notebook; give the zip your "
                         "LMS exported, a folder of notebooks, or one .ipynb file")


def _newest_copy(files: list[Entry]) -> Entry | None:
    """The copy to collect when every file has the same name up to " (N)", else None."""
    if len({split_copy(f.name)[0] for f in files}) > 1:
        return None
    return max(files, key=lambda f: (f.mtime, split_copy(f.name)[1]))


def collect(source: Path, assignment: str | None = None, patterns: list[str] | None = None,
            dry_run: bool = False) -> CollectReport:
    """Copy every matched notebook of ``source`` (zip or folder) into var/submitted/."""
    patterns = configured_patterns(patterns)
    report = CollectReport()
    found: dict[tuple[str, str], list[Entry]] = {}
    for entry in _entries(Path(source)):
        got = entry.refused or match(entry.name, patterns, assignment)
        if isinstance(got, str):
            report.unmatched.append((entry.name, got))
        else:
            found.setdefault(got, []).append(entry)
    for (student, a), files in sorted(found.items()):
        chosen = files[0] if len(files) == 1 else _newest_copy(files)
        if chosen is None:
            names = ", ".join(f.name for f in files)
            for f in files:
                report.unmatched.append((f.name, f"{len(files)} files for {student} / {a} "
                                                 f"({names}): keep one and collect again"))
            continue
        for f in files:
            if f is not chosen:
                report.skipped.append((f.name, f"an older download of {chosen.name} (of the copies "
                                               "of one file, the one modified last is collected)"))
        if not dry_run:
            dest = var_dir() / "submitted" / student / a
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            (dest / f"{a}.ipynb").write_bytes(chosen.data)
            (dest / "timestamp.txt").write_text(chosen.mtime.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        report.collected.append((student, a, chosen.name))
    return report


def collect_exchange(assignment: str) -> int:
    """``nbgrader collect`` from the exchange (c.Exchange.root; --update takes newer ones),
    through grader/exchange_collect.py: no symbolic link is followed. Prints nbgrader's
    log; returns 1 when a submission or a file in one was skipped as a link, else 0."""
    from .course import nbgrader

    proc = nbgrader("collect", assignment, "--update", check=False)
    log = proc.stdout + proc.stderr
    print(log)
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader collect {assignment} failed (exit {proc.returncode})")
    refused = log.count(SKIPPED_LINK)
    if refused:
        print(f"{refused} symbolic link(s) skipped (see above): those files were not collected")
    return 1 if refused else 0
