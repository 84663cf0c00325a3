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

Nothing is guessed: a file that matches no pattern, names an unknown assignment,
or collides with another file for the same student is reported and left out.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .course import assignments, var_dir

ASSIGNMENT = r"(?P<assignment>\d\d-[a-z0-9]+(?:-[a-z0-9]+)*)"
DEFAULT_PATTERNS = [
    # LMS downloads: <name>_<numeric id>_<more numbers or words>_<assignment>[ (1)].ipynb
    rf"^[^_/]+_(?P<student>\d+)_(?:[^_/]+_)*?{ASSIGNMENT}(?:\s*\(\d+\)|-\d+)?\.ipynb$",
    # <student>_<assignment>.ipynb
    rf"^(?P<student>[A-Za-z0-9][A-Za-z0-9.-]*)_{ASSIGNMENT}\.ipynb$",
    # <student>/<assignment>.ipynb (a folder per student)
    rf"^(?:.*/)?(?P<student>[A-Za-z0-9][A-Za-z0-9._-]*)/{ASSIGNMENT}\.ipynb$",
]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class CollectReport:
    collected: list[tuple[str, str, str]] = field(default_factory=list)  # (student, assignment, file)
    unmatched: list[tuple[str, str]] = field(default_factory=list)       # (file, why)

    def lines(self) -> list[str]:
        out = [f"collected {s} / {a}  <- {f}" for s, a, f in self.collected]
        out += [f"NOT COLLECTED {f}: {why}" for f, why in self.unmatched]
        return out


def configured_patterns() -> list[str]:
    """``c.Collect.patterns`` from the course configuration, else the defaults."""
    from traitlets.config.loader import PyFileConfigLoader

    from .course import CONFIG

    cfg = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    return list(cfg.get("Collect", {}).get("patterns", DEFAULT_PATTERNS))


def match(name: str, patterns: list[str], assignment: str | None = None) -> tuple[str, str] | str:
    """(student, assignment) for a file name (relative path, '/' separated), or why not."""
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


def _entries(source: Path):
    """(relative name, bytes reader, modification time) for every .ipynb in a zip or folder."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            for info in z.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.suffix != ".ipynb" or "__MACOSX" in name.parts:
                    continue
                yield str(name), z.read(info), datetime(*info.date_time, tzinfo=timezone.utc)
    elif source.is_dir():
        for p in sorted(source.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in p.parts:
                continue
            mtime = datetime.fromtimestamp(p.stat().st_mtime, tz=timezone.utc)
            yield p.relative_to(source).as_posix(), p.read_bytes(), mtime
    elif source.is_file() and source.suffix == ".ipynb":
        mtime = datetime.fromtimestamp(source.stat().st_mtime, tz=timezone.utc)
        yield source.name, source.read_bytes(), mtime
    else:
        raise SystemExit(f"{source}: not a zip file, a folder or a notebook")


def collect(source: Path, assignment: str | None = None, patterns: list[str] | None = None,
            dry_run: bool = False) -> CollectReport:
    """Copy every matched notebook of ``source`` (zip or folder) into var/submitted/."""
    patterns = patterns or configured_patterns()
    report = CollectReport()
    found: dict[tuple[str, str], list[tuple[str, bytes, datetime]]] = {}
    for name, data, mtime in _entries(Path(source)):
        got = match(name, patterns, assignment)
        if isinstance(got, str):
            report.unmatched.append((name, got))
        else:
            found.setdefault(got, []).append((name, data, mtime))
    for (student, a), files in sorted(found.items()):
        if len(files) > 1:
            names = ", ".join(f for f, _, _ in files)
            for f, _, _ in files:
                report.unmatched.append((f, f"{len(files)} files for {student} / {a} ({names}): "
                                            "keep one and collect again"))
            continue
        name, data, mtime = files[0]
        if not dry_run:
            dest = var_dir() / "submitted" / student / a
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            (dest / f"{a}.ipynb").write_bytes(data)
            (dest / "timestamp.txt").write_text(mtime.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        report.collected.append((student, a, name))
    return report


def collect_exchange(assignment: str) -> None:
    """``nbgrader collect`` from the exchange (c.Exchange.root; --update takes newer ones)."""
    from .course import nbgrader

    proc = nbgrader("collect", assignment, "--update", check=False)
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader collect {assignment} failed (exit {proc.returncode})")
