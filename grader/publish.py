"""The student repository: what students clone, open in Colab and pip-install.

This repository is the instructor's (solutions, the grader, the judges, the
instructor tests) and stays private. ``publish(out)`` writes the *student*
repository into ``out``:

* ``notebooks/`` (the student notebooks that ``grader build`` made), the helper
  package ``dlcourse/``, ``data/README.md`` and the images the README shows;
* a student README, Makefile and .gitignore from the templates in
  ``grader/student/``;
* ``pyproject.toml`` (this one without its instructor tables), ``LICENSE``, and
  ``requirements.txt`` / ``environment.yml`` / ``requirements-d2l.txt`` without the
  instructor-only packages (``INSTRUCTOR_ONLY``).

Nothing else: no ``solutions/``, no ``grader/`` (so no judges), no ``tests/``, no
``bench/``. Before writing, every line of the solution blocks, of the hidden-test
blocks and of the judges (``grader/judges/``) that the course does not show
anyway is searched for in the release; one found stops the publish.

``out`` is a new or empty folder (ready for ``git init``), or a clone of the
student repository (or an earlier release), which is updated: its ``.git`` is
kept, files under the folders the release owns (``MANAGED``) that no longer
belong are removed, and anything else that publish did not write is left alone
and listed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .course import ROOT, assignments
from .header import requirement, settings

TEMPLATES = Path(__file__).resolve().parent / "student"
# Packages only the instructor needs: grading, distributed grading, the test suite.
INSTRUCTOR_ONLY = frozenset({"nbgrader", "dask", "distributed", "pytest", "playwright"})
# Folders of the release that publish owns whole: a file there that the release no
# longer has is removed from an existing clone.
MANAGED = ("notebooks", "dlcourse", "docs")
SKIP = re.compile(r"(^|/)(__pycache__|\.ipynb_checkpoints)(/|$)|\.py[co]$|(^|/)\.DS_Store$")
# Tables of pyproject.toml that only the instructor's checkout needs.
INSTRUCTOR_TABLES = ("tool.pytest", "tool.dlcourse")
BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
MIN_SECRET = 8  # shorter lines ("else:", "return") say nothing
CHECKS = "dlcourse/checks/"


class PublishError(SystemExit):
    """Publishing stopped; the message says why and what to do."""


@dataclass
class Report:
    """What ``publish`` did (or, with ``dry_run``, would do) to the release folder."""
    out: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    clone: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


# --------------------------------------------------------------------------- what the release holds

def _walk(root: Path, folder: str) -> list[str]:
    base = root / folder
    found = [p.relative_to(root).as_posix() for p in sorted(base.rglob("*")) if p.is_file()]
    return [f for f in found if not SKIP.search(f)]


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{(\w+)\}\}", template)
    if left:
        raise PublishError(f"grader/student/ template has unknown placeholders: {', '.join(sorted(set(left)))}")
    return template


def _pins(path: Path) -> list[tuple[str, str]]:
    """``name==version`` lines of a requirements file, in order."""
    pins = []
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.split("#", 1)[0].strip())
        if m:
            pins.append((m.group(1), m.group(2)))
    return pins


def student_pins(root: Path = ROOT) -> list[tuple[str, str]]:
    """The course environment's pins without the instructor-only packages."""
    return [(n, v) for n, v in _pins(root / "requirements.txt")
            if n.lower().replace("_", "-") not in INSTRUCTOR_ONLY]


def _requirements(pins: list[tuple[str, str]]) -> str:
    head = ("# The course environment (pip): `make setup` installs it into .venv.\n"
            "# environment.yml names the same packages and versions for conda.\n"
            "# d2l is installed separately, without its dependencies: see requirements-d2l.txt.\n")
    return head + "".join(f"{n}=={v}\n" for n, v in pins)


def _environment(pins: list[tuple[str, str]]) -> str:
    head = ("# The course environment for conda: the same packages and versions as requirements.txt.\n"
            "#   conda env create -f environment.yml && conda activate dl-course\n"
            "#   pip install --no-deps -r requirements-d2l.txt && pip install --no-deps -e .\n"
            "name: dl-course\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n")
    return head + "".join(f"      - {n}=={v}\n" for n, v in pins)


def _pyproject(root: Path) -> str:
    """This pyproject.toml without the instructor's tables and comments."""
    kept, keep = [], True
    for line in (root / "pyproject.toml").read_text().splitlines():
        header = re.match(r"\[+([^\]]+)\]+\s*$", line)
        if header:
            keep = not header.group(1).strip().startswith(INSTRUCTOR_TABLES)
        if keep and not line.lstrip().startswith("#"):
            kept.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return ("# The course helpers, dlcourse: `pip install -e .` here, or in Colab the notebooks' "
            "first cell\n# installs them from this repository.\n" + text + "\n")


def _chapter_table(root: Path, repository: str, branch: str) -> str:
    from .header import colab_url

    rows = ["| # | chapter | notebook | Colab |", "|---|---|---|---|"]
    for a in assignments():
        path = f"notebooks/{a}/{a}.ipynb"
        nb = json.loads((root / path).read_text())
        title = next((l for c in nb["cells"] if c["cell_type"] == "markdown"
                      for l in "".join(c["source"]).splitlines() if l.startswith("# ")), f"# {a}")
        title = re.sub(r"^# (Chapter \d+ · )?", "", title)
        rows.append(f"| {int(a[:2])} | {title} | [`{path}`]({path}) | "
                    f"[open]({colab_url(repository, branch, path)}) |")
    return "\n".join(rows)


def release_files(root: Path = ROOT) -> dict[str, bytes]:
    """Every file of the student repository: relative path -> content."""
    conf = settings(root)
    repository, branch = conf["repository"], conf["branch"]
    _check_notebooks(root, repository, branch)
    files: dict[str, bytes] = {}
    for folder in ("notebooks", "dlcourse"):
        for f in _walk(root, folder):
            files[f] = (root / f).read_bytes()
    for f in ("data/README.md", "LICENSE", "requirements-d2l.txt"):
        if not (root / f).is_file():
            raise PublishError(f"{root / f} is missing; the student repository needs it.")
        files[f] = (root / f).read_bytes()
    values = {"repository": repository, "branch": branch,
              "folder": repository.rsplit("/", 1)[-1], "chapters": _chapter_table(root, repository, branch)}
    readme = _fill((TEMPLATES / "README.md").read_text(), values)
    files["README.md"] = readme.encode()
    files["Makefile"] = (TEMPLATES / "Makefile").read_bytes()
    files[".gitignore"] = (TEMPLATES / "gitignore").read_bytes()
    for image in IMAGE.findall(readme):
        if "://" in image:
            continue
        if not (root / image).is_file():
            raise PublishError(f"grader/student/README.md shows {image}, which is not in {root}.")
        files[image] = (root / image).read_bytes()
    files["pyproject.toml"] = _pyproject(root).encode()
    pins = student_pins(root)
    files["requirements.txt"] = _requirements(pins).encode()
    files["environment.yml"] = _environment(pins).encode()
    return files


def _check_notebooks(root: Path, repository: str, branch: str) -> None:
    missing, stale = [], []
    for a in assignments():
        path = root / "notebooks" / a / f"{a}.ipynb"
        if not path.is_file():
            missing.append(a)
        elif requirement(repository, branch) not in path.read_text():
            stale.append(a)  # the pip requirement names another repository or branch
    if missing or stale:
        raise PublishError(
            "notebooks/ is not ready: "
            + (f"missing {', '.join(missing)}; " if missing else "")
            + (f"{', '.join(stale)} point(s) at another student repository than "
               f"{repository}@{branch}; " if stale else "")
            + "run `python -m grader build` first.")


# --------------------------------------------------------------------------- what must never be in it

def _solution_parts(root: Path) -> tuple[dict[str, tuple[str, bool]], set[str]]:
    """(lines of solution and hidden-test blocks -> (where from, is a solution line), public lines)."""
    secret: dict[str, tuple[str, bool]] = {}
    public: set[str] = set()
    for a in assignments():
        nb = json.loads((root / "solutions" / a / f"{a}.ipynb").read_text())
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            for kind, block in BLOCK.findall(text):
                for line in block.splitlines():
                    old = secret.get(line.strip())
                    if old is None or (kind == "SOLUTION" and not old[1]):
                        secret[line.strip()] = (f"solutions/{a}, {kind.lower()} block", kind == "SOLUTION")
            public.update(l.strip() for l in BLOCK.sub("", text).splitlines())
    return secret, public


def secret_lines(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """Lines that must not reach students: line -> (where it comes from, is a solution line).

    The solution blocks and hidden-test blocks of ``solutions/`` and every file under
    ``grader/judges/``, less what students see anyway: the solution notebooks outside
    those blocks, and the helper modules of ``dlcourse`` (the package's versions of
    what the chapters teach are public by design; the visible checks are not counted
    as public). Only lines of at least ``MIN_SECRET`` characters that are not comments.
    """
    secret, public = _solution_parts(root)
    for path in sorted((root / "dlcourse").rglob("*.py")):
        if CHECKS not in path.relative_to(root).as_posix():
            public.update(l.strip() for l in path.read_text().splitlines())
    judges = root / "grader" / "judges"
    for path in sorted(judges.rglob("*")) if judges.is_dir() else []:
        if path.is_file() and not SKIP.search(path.as_posix()):
            for line in path.read_text(errors="replace").splitlines():
                secret.setdefault(line.strip(), (path.relative_to(root).as_posix(), False))
    return {l: origin for l, origin in secret.items()
            if len(l) >= MIN_SECRET and not l.startswith("#") and l not in public}


def _text_lines(name: str, content: bytes) -> list[str]:
    try:
        text = content.decode()
    except UnicodeDecodeError:
        return []  # an image
    if name.endswith(".ipynb"):
        nb = json.loads(text)
        return [l for c in nb["cells"] for l in "".join(c["source"]).splitlines()]
    return text.splitlines()


def leaks(files: dict[str, bytes], secrets: dict[str, tuple[str, bool]]) -> list[str]:
    """``file:line: text (from where)`` for every secret line found in ``files``.

    The visible checks (``dlcourse/checks``) are tests themselves: a line they share
    with a hidden test or a judge is a shared idiom (``for _ in range(3):``) and is
    allowed there, while a line of a reference solution never is. (That no check
    copies a run of hidden-test lines is tested in tests/test_selfcheck.py.)
    """
    found = []
    for name in sorted(files):
        for i, line in enumerate(_text_lines(name, files[name]), 1):
            origin = secrets.get(line.strip())
            if origin and (origin[1] or not name.startswith(CHECKS)):
                found.append(f"{name}:{i}: {line.strip()}  (from {origin[0]})")
    return found


# --------------------------------------------------------------------------- writing it

def _existing(out: Path) -> list[str]:
    return [p.relative_to(out).as_posix() for p in sorted(out.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(out).parts[:1]]


def _check_target(out: Path, root: Path) -> bool:
    """True when ``out`` is a clone or an earlier release to update; stops on anything unsafe."""
    out, root = out.resolve(), root.resolve()
    if out == root or root in out.parents or out in root.parents:
        raise PublishError(f"{out} is inside the instructor repository {root} (or holds it): "
                           "publish into a folder of its own, e.g. ../student-release.")
    if out.exists() and not out.is_dir():
        raise PublishError(f"{out} is a file; give a folder (new, empty, or a clone of the student repository).")
    if not out.exists() or not any(out.iterdir()):
        return False
    clone = (out / ".git").exists()
    earlier = (out / "dlcourse" / "__init__.py").is_file() and (out / "notebooks").is_dir()
    if not (clone or earlier):
        raise PublishError(f"{out} is not empty and is neither a clone of the student repository nor an "
                           "earlier release: nothing was written. Give a new or empty folder, or a clone.")
    return True


def publish(out: Path, root: Path = ROOT, dry_run: bool = False) -> Report:
    """Write (or update) the student repository in ``out``; see the module docstring."""
    out = Path(out).expanduser()
    updating = _check_target(out, root)
    files = release_files(root)
    found = leaks(files, secret_lines(root))
    if found:
        raise PublishError("the release would contain solution or hidden-test lines; nothing was written:\n  "
                           + "\n  ".join(found[:20])
                           + ("\n  ..." if len(found) > 20 else "")
                           + "\nRebuild notebooks/ (`python -m grader build`) or reword the line in "
                             "dlcourse/ so that it gives nothing away.")
    report = Report(out=out, clone=(out / ".git").exists())
    before = set(_existing(out)) if updating else set()
    for name, content in sorted(files.items()):
        target = out / name
        if name not in before:
            report.added.append(name)
        elif target.read_bytes() != content:
            report.updated.append(name)
        else:
            report.unchanged.append(name)
            continue
        if not dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    for name in sorted(before - files.keys()):
        if name.split("/", 1)[0] in MANAGED and not SKIP.search(name):
            report.removed.append(name)
            if not dry_run:
                (out / name).unlink()
        elif name.split("/", 1)[0] not in {n.split("/", 1)[0] for n in files}:
            top = name.split("/", 1)[0]
            if top not in report.left_alone:
                report.left_alone.append(top)
    if not dry_run:
        for folder in MANAGED:  # folders emptied by the removals
            for d in sorted((out / folder).rglob("*"), reverse=True) if (out / folder).is_dir() else []:
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
    return report


def describe(report: Report, dry_run: bool = False) -> str:
    """The report as the ``publish`` verb prints it: what changed, then what to do next."""
    verb = "would be" if dry_run else "were"
    lines = [f"Student repository in {report.out}: {len(report.added)} file(s) {verb} added, "
             f"{len(report.updated)} updated, {len(report.removed)} removed, "
             f"{len(report.unchanged)} unchanged."]
    for label, names in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        shown = names if len(names) <= 15 else names[:15] + [f"... and {len(names) - 15} more"]
        lines += [f"  {label}: {n}" for n in shown]
    if report.left_alone:
        lines.append(f"  left alone (not written by publish): {', '.join(report.left_alone)}")
    if dry_run:
        return "\n".join(lines)
    repo = settings()["repository"]
    if report.clone:
        lines += ["Next: review and push it:",
                  f"  cd {report.out} && git status && git add -A && git commit -m 'Course update' && git push"]
    else:
        lines += ["Next: make it the student repository (empty on GitHub, public):",
                  f"  cd {report.out} && git init -b {settings()['branch']} && git add -A && "
                  "git commit -m 'The course for students'",
                  f"  git remote add origin {repo}.git && git push -u origin {settings()['branch']}"]
    return "\n".join(lines)
