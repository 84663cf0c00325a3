"""The top of every student notebook: an "Open in Colab" badge and a setup cell
that makes the notebook work in a fresh Colab runtime.

``ColabHeader`` is an nbgrader preprocessor, registered for
``nbgrader generate_assignment`` in ``grader/nbgrader_config.py``, so the
chapter authors write nothing for it. On each student notebook it

1. puts a markdown cell with the badge first (a link that opens this notebook,
   from the course's student repository on GitHub, in Colab);
2. prefixes the solution's setup cell (the first code cell, tagged ``setup``)
   with a bootstrap: when ``dlcourse`` cannot be imported (a fresh Colab
   runtime) it installs d2l and the course helpers with pip, from the student
   repository (``python -m grader publish`` writes it); in the course
   environment it does nothing. The rest of the cell is the author's own
   (import the helpers, pick the device with ``dlcourse.try_gpu()``, print it).

The student repository is configured once, in ``pyproject.toml``::

    [tool.dlcourse]
    student-repository = "https://github.com/dl-course/linear-mlp"
    branch = "main"

It is the repository students see (notebooks, helpers, no solutions), never this
instructor repository.

``DLCOURSE_INSTALL_SOURCE`` (any pip requirement: a path to a checkout, a
wheel, a git URL) makes the bootstrap install from somewhere else; the tests
use it to install from the local checkout without the network.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode, default

from .course import ROOT

BADGE_ID = "colab-badge"
SETUP_TAG = "setup"
BOOTSTRAP_MARK = "# Course setup (added by the build)"
BOOTSTRAP_END = "    dlcourse.colab.setup()\n"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"

DEFAULT_SETUP = """\
import dlcourse
device = dlcourse.try_gpu()
print("Training on", dlcourse.describe_device(device))"""

BOOTSTRAP = '''\
{mark}. In the course environment it only imports the helpers;
# in a fresh Google Colab runtime it first installs d2l and the helpers (about a minute)
# and fetches Fashion-MNIST into data/. For faster training in Colab, pick a GPU:
# Runtime > Change runtime type > T4 GPU.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("dlcourse") is None:
    source = os.environ.get("DLCOURSE_INSTALL_SOURCE", "{requirement}")
    print("Installing the course helpers from", source, "...")
    for args in (["--no-deps", "d2l==1.0.3"], [source]):
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            raise RuntimeError(f"pip install {{' '.join(args)}} failed:\\n{{pip.stdout}}{{pip.stderr}}")
    importlib.invalidate_caches()
if "google.colab" in sys.modules:  # widgets, Fashion-MNIST, a word about the GPU
    import dlcourse.colab
    dlcourse.colab.setup()
'''


def settings(root: Path = ROOT) -> dict[str, str]:
    """The ``[tool.dlcourse]`` table of ``pyproject.toml``: ``repository`` (the student
    repository's URL, the key ``student-repository``) and ``branch``."""
    with open(root / "pyproject.toml", "rb") as f:
        table = tomllib.load(f).get("tool", {}).get("dlcourse", {})
    if "student-repository" not in table:
        renamed = " (rename its `repository` key)" if "repository" in table else ""
        raise SystemExit(f"{root / 'pyproject.toml'} has no [tool.dlcourse] student-repository = "
                         f"\"https://github.com/...\"{renamed}: the Colab badges and the setup cells of "
                         "the student notebooks point at the student repository that "
                         "`python -m grader publish` writes.")
    return {"repository": table["student-repository"].rstrip("/").removesuffix(".git"),
            "branch": table.get("branch", "main")}


def colab_url(repository: str, branch: str, path: str) -> str:
    """Colab's address for the notebook at ``path`` in a GitHub repository."""
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        raise ValueError(f"Colab opens notebooks from GitHub; {repository!r} is not a {prefix} URL")
    return f"https://colab.research.google.com/github/{repository[len(prefix):]}/blob/{branch}/{path}"


def badge_cell(url: str):
    cell = new_markdown_cell(f"[![Open In Colab]({COLAB_BADGE_SVG})]({url})")
    cell["id"] = BADGE_ID
    return cell


def requirement(repository: str, branch: str) -> str:
    """The pip requirement that installs the helpers from the student repository."""
    return f"dlcourse @ git+{repository}@{branch}"


def bootstrap(repository: str, branch: str) -> str:
    """The lines the build puts at the top of the setup cell."""
    return BOOTSTRAP.format(mark=BOOTSTRAP_MARK, requirement=requirement(repository, branch))


def add_header(nb, url: str, repository: str, branch: str):
    """Put the badge first and the bootstrap into the setup cell (idempotent)."""
    nb.cells = [c for c in nb.cells if c.get("id") != BADGE_ID]
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = next((c for c in code if SETUP_TAG in c.metadata.get("tags", [])), None)
    if setup is None:  # an author forgot nb.setup(): add the standard setup cell
        setup = new_code_cell(DEFAULT_SETUP, metadata={"tags": [SETUP_TAG]})
        setup["id"] = "setup"
        nb.cells.insert(nb.cells.index(code[0]) if code else len(nb.cells), setup)
    source = setup.source
    if source.startswith(BOOTSTRAP_MARK):
        source = source.split(BOOTSTRAP_END, 1)[-1]
    else:  # drop the author's own one-line heading comment: the bootstrap has one
        lines = source.splitlines()
        source = "\n".join(lines[1:] if lines and lines[0].startswith("#") else lines)
    setup.source = bootstrap(repository, branch) + source
    nb.cells.insert(0, badge_cell(url))
    return nb


class ColabHeader(NbGraderPreprocessor):
    """nbgrader preprocessor: the Colab badge and bootstrap on each student notebook."""

    repository = Unicode(help="GitHub URL of the student repository (default: [tool.dlcourse] "
                                "student-repository in pyproject.toml)"
                         ).tag(config=True)
    branch = Unicode(help="branch the badges and the bootstrap point to").tag(config=True)
    release_directory = Unicode("notebooks", help="where the student notebooks live in the repository"
                                ).tag(config=True)

    @default("repository")
    def _repository_default(self) -> str:
        return settings()["repository"]

    @default("branch")
    def _branch_default(self) -> str:
        return settings()["branch"]

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = f"{self.release_directory}/{info['assignment']}/{info['notebook']}.ipynb"
        add_header(nb, colab_url(self.repository, self.branch, path), self.repository, self.branch)
        return nb, resources
