"""The student release, as students receive it.

- ``python -m grader publish`` writes the student repository: notebooks, the helper
  package, README, licence, environment files; no solutions, judges, grader or
  instructor tests, and not one line of a solution, a hidden test or a judge;
- it updates an existing clone in place and says what changed;
- the helper distribution holds every subpackage of dlcourse and no grader;
- **Colab fidelity**: in a fresh virtual environment that holds only what a Colab
  runtime has (torch, torchvision, matplotlib, ipykernel, ipywidgets, pandas, scipy,
  scikit-learn, requests, tqdm, and what they need; no nbgrader, no course code), in a folder
  outside both repositories, every chapter's student notebook runs in a real kernel:
  its own setup cell installs d2l and the helpers from the release (through
  ``DLCOURSE_INSTALL_SOURCE``, as Colab does from the student repository); with the
  reference solutions pasted in, every test cell and the self-check pass; untouched,
  it fails only at its stubs and the self-check says "todo" / "not run", with no hint.

The environment links the Colab packages' installed files from the course
environment (the same releases pip would install from this machine's disk, without
copying 6 GB of torch and CUDA libraries) and gets pip's own installs on top. The
notebooks run two at a time, one torch thread each, in one environment.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.course import assignments
from grader.publish import INSTRUCTOR_ONLY, leaks, release_files, secret_lines

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = assignments()
# Colab's runtime ships these (scikit-learn too: chapter 5 loads its diabetes data from it)
COLAB = ("torch", "torchvision", "matplotlib", "ipykernel", "ipywidgets", "pandas", "scipy",
         "scikit-learn", "requests", "tqdm", "pip", "setuptools")
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)
CELL_TIMEOUT = 600


def publish(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "publish", str(out), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student") / "linear-mlp"
    proc = publish(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "git init" in proc.stdout
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


# --------------------------------------------------------------------------- what is in it

def test_the_release_holds_what_students_need_and_nothing_of_the_instructor(release):
    files = files_of(release)
    tops = {f.split("/", 1)[0] for f in files}
    assert tops == {"notebooks", "dlcourse", "data", "docs", "README.md", "LICENSE", "Makefile",
                    ".gitignore", "pyproject.toml", "requirements.txt", "requirements-d2l.txt",
                    "environment.yml"}, tops
    assert {f"notebooks/{a}/{a}.ipynb" for a in CHAPTERS} <= files.keys()
    assert {f"dlcourse/checks/ch{a[:2]}.py" for a in CHAPTERS} <= files.keys()
    assert list(files) == [f for f in files if not re.search(r"judge|solution|hidden|__pycache__", f)]
    assert files["data/README.md"] == (ROOT / "data" / "README.md").read_bytes()
    assert "MIT License" in files["LICENSE"].decode()
    readme = files["README.md"].decode()
    for link in re.findall(r"\]\(([^)#]+)\)", readme):  # every file the README links to is there
        assert "://" in link or link in files, f"README.md links to {link}, not in the release"
    assert "git clone https://github.com/dl-course/linear-mlp && cd linear-mlp" in readme
    assert "{{" not in readme and "grader" not in readme and "solutions/" not in readme
    pyproject = files["pyproject.toml"].decode()
    assert "[tool.dlcourse]" not in pyproject and "pytest" not in pyproject and "grader" not in pyproject
    pins = {l.split("==")[0] for l in files["requirements.txt"].decode().splitlines() if "==" in l}
    assert pins and not pins & INSTRUCTOR_ONLY, pins & INSTRUCTOR_ONLY
    conda = {l.strip(" -").split("==")[0] for l in files["environment.yml"].decode().splitlines() if "==" in l}
    assert conda == pins
    make = subprocess.run(["make", "-n", "lab"], cwd=release, capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    assert "pip install --progress-bar on -r requirements.txt" in make.stdout
    assert "jupyter lab notebooks/" in make.stdout


def test_the_release_holds_no_line_of_a_solution_a_hidden_test_or_a_judge(release):
    secrets = secret_lines(ROOT)
    assert len(secrets) > 100, "the search found almost nothing to search for"
    files = files_of(release)
    assert leaks(files, secrets) == []
    # the search finds a planted line, in a notebook and in the visible checks
    line, (where, _) = next((l, o) for l, o in secrets.items() if o[1])
    nb = json.loads(files["notebooks/01-linear-regression/01-linear-regression.ipynb"])
    nb["cells"][-1]["source"] = ["x = 1\n", f"    {line}\n"]
    planted = {"notebooks/01-linear-regression/01-linear-regression.ipynb": json.dumps(nb).encode(),
               "dlcourse/checks/ch01.py": files["dlcourse/checks/ch01.py"] + f"\n{line}\n".encode()}
    found = leaks(planted, secrets)
    assert len(found) == 2 and all(where in f for f in found), found


def test_the_distribution_holds_all_of_dlcourse_and_no_grader(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("dlcourse-*.whl"))).namelist()
    packages = {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    on_disk = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "dlcourse").rglob("__init__.py")}
    assert packages == on_disk and {"dlcourse", "dlcourse.checks".replace(".", "/")} <= packages
    assert {f"dlcourse/checks/ch{a[:2]}.py" for a in CHAPTERS} <= set(names)
    assert not [n for n in names if n.startswith("grader")]
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_publish_updates_a_clone_and_says_what_changed(tmp_path, release):
    clone = tmp_path / "clone"
    shutil.copytree(release, clone)
    git = dict(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    env = dict(os.environ, **git)
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "release 1"]):
        subprocess.run(["git", *cmd], cwd=clone, env=env, check=True)
    (clone / "notebooks" / "09-gone").mkdir()
    (clone / "notebooks" / "09-gone" / "09-gone.ipynb").write_text("{}")
    (clone / "dlcourse" / "old.py").write_text("x = 1\n")
    (clone / "README.md").write_text("an old README\n")
    (clone / "CONTRIBUTING.md").write_text("the student repository's own file\n")

    dry = publish(clone, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would be added" in dry.stdout and (clone / "dlcourse" / "old.py").exists()
    proc = publish(clone)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "0 file(s) were added, 1 updated, 2 removed" in out, out
    assert "updated: README.md" in out and "removed: dlcourse/old.py" in out
    assert "removed: notebooks/09-gone/09-gone.ipynb" in out
    assert "left alone (not written by publish): CONTRIBUTING.md" in out
    assert "git push" in out
    assert not (clone / "notebooks" / "09-gone").exists() and (clone / "CONTRIBUTING.md").exists()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert status.split() == ["??", "CONTRIBUTING.md"], status  # back to release 1, plus the own file
    assert files_of(clone).keys() - {"CONTRIBUTING.md"} == release_files(ROOT).keys()


def test_publish_refuses_a_folder_it_would_damage(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    proc = publish(tmp_path)
    assert proc.returncode != 0
    assert "neither a clone of the student repository nor an earlier release" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    inside = publish(ROOT / "var" / "release")
    assert inside.returncode != 0 and "inside the instructor repository" in inside.stderr


# --------------------------------------------------------------------------- a Colab runtime

def colab_closure() -> set[str]:
    """The Colab packages and everything they require (extras included), as installed here."""
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    todo, seen = [(n, "") for n in COLAB], set()
    while todo:
        name, extra = todo.pop()
        name = canonicalize_name(name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for line in dists[name].requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, "")] + [(req.name, e) for e in req.extras]
    return {name for name, _ in seen}


def link_installed(closure: set[str], mirror: Path) -> None:
    """Link the installed files of ``closure`` into ``mirror``: whole top-level folders where
    only those distributions own them, file by file where others share them."""
    owners: dict[str, set[str]] = {}
    files: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for f in dist.files or []:
            parts = Path(f).parts
            if parts and parts[0] != ".." and not Path(f).is_absolute() and "__pycache__" not in parts:
                owners.setdefault(parts[0], set()).add(name)
                if name in closure:
                    files.setdefault(parts[0], []).append(str(f))
    site = Path(sysconfig.get_paths()["purelib"])
    for top, paths in files.items():
        if owners[top] <= closure:
            (mirror / top).symlink_to(site / top)
            continue
        for f in paths:
            (mirror / f).parent.mkdir(parents=True, exist_ok=True)
            (mirror / f).symlink_to(site / f)


def wheel_of_installed(name: str, wheelhouse: Path) -> Path:
    """A wheel of an installed pure-Python distribution (d2l: the setup cell pip-installs it)."""
    dist = metadata.distribution(name)
    wheel = wheelhouse / f"{name}-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for f in dist.files:
            if not str(f).startswith("..") and "__pycache__" not in str(f) and not str(f).endswith("INSTALLER"):
                z.write(dist.locate_file(f), str(f))
    return wheel


FAKE_COLAB = '''\
"""Stands in for Colab's google.colab module, which a Colab kernel has imported at start-up."""
import types
output = types.SimpleNamespace(enable_custom_widget_manager=lambda: print("[colab] custom widget manager"))
'''


@dataclass
class Runtime:
    python: Path
    kernels: Path       # the folder of the kernel spec "colab"
    env: dict[str, str]
    content: Path       # the working folder, like Colab's /content


@pytest.fixture(scope="module")
def colab(tmp_path_factory, release) -> Runtime:
    from dlcourse import find_fashion_mnist

    where = tmp_path_factory.mktemp("colab")
    mirror = where / "site-packages"
    mirror.mkdir()
    closure = colab_closure()
    assert not closure & {"nbgrader", "dlcourse", "d2l", "jupyterlab", "nbconvert", "pytest"}, closure
    link_installed(closure, mirror)
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "_colab_packages.pth").write_text(f"import site; site.addsitedir({str(mirror)!r})\n")
    wheelhouse = where / "wheelhouse"
    wheelhouse.mkdir()
    wheel_of_installed("d2l", wheelhouse)

    fake = where / "fake-colab" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(FAKE_COLAB)
    startup = where / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text(f"import sys\nsys.path.append({str(fake.parent.parent)!r})\n"
                                         "import google.colab\n")
    content = where / "content"
    content.mkdir()
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "DLCOURSE_PROGRESS", "PYDEVD_DISABLE_FILE_VALIDATION")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", IPYTHONDIR=str(where / "ipython"),
               DLCOURSE_INSTALL_SOURCE=str(release), FASHION_MNIST_DIR=str(find_fashion_mnist(download=False)),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse), PIP_NO_BUILD_ISOLATION="0",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull,
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    kernels = where / "kernels"
    (kernels / "colab").mkdir(parents=True)
    (kernels / "colab" / "kernel.json").write_text(json.dumps(
        {"argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "Python 3 (Colab-like)", "language": "python"}))
    probe = subprocess.run([str(py), "-c", "import torch, torchvision, matplotlib, pandas, ipykernel\n"
                            "import dlcourse"], cwd=content, env=env, capture_output=True, text=True)
    assert "No module named 'dlcourse'" in probe.stderr, probe.stdout + probe.stderr
    return Runtime(py, kernels, env, content)


def answered(student: nbformat.NotebookNode, chapter: str) -> nbformat.NotebookNode:
    """The student notebook with the reference solutions pasted into its solution cells."""
    solution = nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
               for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    pasted = 0
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source, pasted = answers[gid], pasted + 1
    assert pasted == len(answers), f"{chapter}: {len(answers) - pasted} solution cell(s) not in the notebook"
    return nb


def execute(runtime: Runtime, nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, float]:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(kernel_name="colab",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(runtime.kernels)]))
    start = time.perf_counter()
    NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True,
                   resources={"metadata": {"path": str(runtime.content)}}).execute(env=runtime.env)
    return nb, time.perf_counter() - start


@pytest.fixture(scope="module")
def runs(colab, release) -> dict[tuple[str, str], nbformat.NotebookNode]:
    """Every chapter, untouched and with its solutions, executed in the Colab-like runtime.
    Chapter 1 untouched goes first and alone: its setup cell installs the helpers."""
    started = time.perf_counter()
    student = {a: nbformat.read(release / "notebooks" / a / f"{a}.ipynb", as_version=4) for a in CHAPTERS}
    done = {(CHAPTERS[0], "untouched"): execute(colab, student[CHAPTERS[0]])}
    jobs = [(a, "solved") for a in CHAPTERS] + [(a, "untouched") for a in CHAPTERS[1:]]

    def run(job):
        chapter, kind = job
        nb = answered(student[chapter], chapter) if kind == "solved" else student[chapter]
        return job, execute(colab, nb)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done.update(pool.map(run, jobs))
    wall = time.perf_counter() - started
    slowest = sorted(((s, f"{c} {k}") for (c, k), (_, s) in done.items()), reverse=True)[:3]
    print(f"\n[colab fidelity] {len(done)} notebook runs in {wall:.0f} s (load average "
          f"{open('/proc/loadavg').read().split()[0]}); slowest: "
          + ", ".join(f"{name} {s:.0f} s" for s, name in slowest))
    return {job: nb for job, (nb, _) in done.items()}


def outputs(nb: nbformat.NotebookNode) -> list[tuple[nbformat.NotebookNode, str, list[dict]]]:
    """(cell, its printed text, its errors) for every code cell."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        text += "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs
                        if o.output_type in ("execute_result", "display_data"))
        found.append((cell, text, [o for o in cell.outputs if o.output_type == "error"]))
    return found


def test_the_setup_cell_installs_the_helpers_from_the_release(runs, colab, release):
    first = outputs(runs[(CHAPTERS[0], "untouched")])[0]
    assert "setup" in first[0].metadata.get("tags", []) and not first[2], first[2]
    assert f"Installing the course helpers from {release} ..." in first[1], first[1]
    assert "[colab] custom widget manager" in first[1] and "Fashion-MNIST:" in first[1]
    assert re.search(r"^Training on (cpu|cuda)", first[1], re.M), first[1]
    for job, nb in runs.items():
        if job != (CHAPTERS[0], "untouched"):
            text = outputs(nb)[0][1]
            assert "Installing" not in text and "Training on" in text, (job, text)
    probe = subprocess.run([str(colab.python), "-c", textwrap_probe()], cwd=colab.content, env=colab.env,
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["installed", "d2l", "ok", "no-nbgrader", "no-grader"], probe.stdout


def textwrap_probe() -> str:
    chapters = ", ".join(f'"dlcourse.checks.ch{a[:2]}"' for a in CHAPTERS)
    return (
        "import importlib, sys, sysconfig\n"
        "import dlcourse\n"
        "print('installed' if dlcourse.__file__.startswith(sysconfig.get_paths()['purelib']) else dlcourse.__file__)\n"
        "from d2l import torch as d2l; print('d2l')\n"
        f"[importlib.import_module(m) for m in ({chapters},)]; print('ok')\n"
        "for name in ('nbgrader', 'grader'):\n"
        "    try:\n        importlib.import_module(name); print(name)\n"
        "    except ModuleNotFoundError:\n        print('no-' + name)\n")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_with_its_solutions_every_test_cell_and_the_selfcheck_pass(runs, chapter):
    cells = outputs(runs[(chapter, "solved")])
    failed = [(cell.source.splitlines()[:2], [f"{e['ename']}: {e['evalue']}" for e in errors])
              for cell, _, errors in cells if errors]
    assert not failed, f"{chapter}: cells failed in the Colab-like runtime: {failed}"
    tag = f"ch{chapter[:2]}"
    report = cells[-1][1]
    m = re.search(rf"Self-check, {tag}: (\d+) of (\d+) exercises pass their visible tests.", report)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) > 0, report
    assert "All visible tests pass." in report and "hint:" not in report


def defined_names(source: str) -> set[str]:
    """Names a cell defines at its top level: functions, classes, assignments."""
    names = set(re.findall(r"^(?:def|class)\s+(\w+)", source, re.M))
    for lhs in re.findall(r"^([A-Za-z_][\w, ]*?)\s*=[^=]", source, re.M):
        names.update(re.split(r"\s*,\s*", lhs.strip()))
    return names


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_it_fails_only_at_its_stubs_and_the_selfcheck_says_todo(runs, chapter):
    nb = runs[(chapter, "untouched")]
    cells = outputs(nb)
    assert not cells[0][2], f"{chapter}: the setup cell failed: {cells[0][2]}"
    # a stub raises NotImplementedError; a later cell may then miss a name that the stub's
    # solution, or a cell that failed because of a stub, would have defined
    solution = {c.metadata["nbgrader"]["grade_id"]: c.source
                for c in nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("solution")}
    undefined, unexpected = set(), []
    for cell, _, errors in cells:
        for e in errors:
            missing = re.fullmatch(r"name '(\w+)' is not defined", e["evalue"])
            if e["ename"] == "NotImplementedError" or (missing and missing.group(1) in undefined):
                undefined |= defined_names(cell.source)
            else:
                unexpected.append((cell.source.splitlines()[:2], f"{e['ename']}: {e['evalue']}"))
        undefined |= defined_names(solution.get(cell.metadata.get("nbgrader", {}).get("grade_id"), ""))
    assert not unexpected, f"{chapter}: untouched, these cells fail for another reason than a stub: {unexpected}"
    assert any(e for _, _, e in cells), f"{chapter}: the untouched notebook raised nothing"
    tag = f"ch{chapter[:2]}"
    report = cells[-1][1]
    assert re.search(rf"Self-check, {tag}: 0 of \d+ exercises pass their visible tests.", report), report
    statuses = re.findall(r"^\S+ [\d.]+ [^:]+: (\w+(?: \w+)?)$", report, re.M)
    assert statuses and set(statuses) <= {"todo", "not run"}, report
    assert "hint:" not in report and "Traceback" not in report, report
