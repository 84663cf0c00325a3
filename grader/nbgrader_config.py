"""nbgrader configuration for the course: the one place where it is set.

The repository root is the nbgrader course directory:

    solutions/<assignment>/<assignment>.ipynb   instructor source (nbgrader "source")
    notebooks/<assignment>/<assignment>.ipynb   student version (nbgrader "release"), committed
    var/                                        submissions, autograded copies, feedback,
                                                the gradebook; never committed

``nbgrader_config.py`` at the root only loads this file, so that ``nbgrader``
and the formgrader started from the root both find it.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)

ROOT = Path(os.environ.get("DLCOURSE_COURSE_ROOT", Path(__file__).resolve().parent.parent))
VAR = Path(os.environ.get("DLCOURSE_VAR", ROOT / "var"))

c.CourseDirectory.course_id = "dl-linear-mlp"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.relpath(VAR / "submitted", ROOT)
c.CourseDirectory.autograded_directory = os.path.relpath(VAR / "autograded", ROOT)
c.CourseDirectory.feedback_directory = os.path.relpath(VAR / "feedback", ROOT)
c.CourseDirectory.db_url = f"sqlite:///{VAR / 'gradebook.db'}"

# var/ is not in git: create it here, so that nbgrader's own commands (`nbgrader
# generate_assignment ...`, formgrader) work from a fresh clone. Without it, SQLite
# cannot create the gradebook and nbgrader blames "an upgraded database" instead.
try:
    VAR.mkdir(parents=True, exist_ok=True)
except OSError as error:
    import sys

    print(f"nbgrader_config.py: cannot create {VAR} for the gradebook ({error.strerror}); "
          "set DLCOURSE_VAR to a folder you can write", file=sys.stderr)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]


# Student notebooks open in Colab too: the build puts an "Open in Colab" badge on
# top and makes the setup cell install the helpers in a fresh runtime (grader/header.py;
# the student repository's URL is [tool.dlcourse] in pyproject.toml).
c.GenerateAssignment.preprocessors.append("grader.header.ColabHeader")

# nbgrader's exchange (`python -m grader release` / `collect --exchange`, and the
# students' fetch_assignment / submit / fetch_feedback): a folder everyone can write,
# nbgrader's default /usr/local/share/nbgrader/exchange. DLCOURSE_EXCHANGE moves it.
if os.environ.get("DLCOURSE_EXCHANGE"):
    c.Exchange.root = os.environ["DLCOURSE_EXCHANGE"]
# Collecting copies what students wrote into the exchange: never follow a symbolic
# link there (a link to solutions/ would copy the solution into var/submitted).
c.ExchangeFactory.collect = "grader.exchange_collect.NoFollowCollect"

# Student stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution while autograding: chapters train small models on the CPU, so give
# each cell more than nbgrader's default 30 s; the sandboxed grader in grader/
# applies its own, configurable per-cell and per-notebook limits on top.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = []

# nbgrader gives 0 to a test cell that wrote *anything* to stderr. Warnings from
# torch or the text progress bar of tqdm are not failures: drop those outputs
# before grading. Errors still come back as "error" outputs and still fail.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(?:.*\b\w*Warning: |\s*warnings\.warn\(|.*\d+%\|.*\|)"  # warning or tqdm line
    r"|\A\s*\Z"                                                      # a bare newline left by tqdm
)

# Keep student output bounded in the autograded and feedback copies.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60


# The sandboxed, parallel grader (python -m grader autograde; grader/sandbox.py
# documents what is enforced). Every student kernel runs in bubblewrap with:
c.Sandbox.memory_mb = 8192        # address space (torch alone maps ~3.3 GB)
c.Sandbox.cpu_seconds = 900       # CPU time, all threads together
c.Sandbox.nproc = 256             # processes and threads (fork bombs stop here)
c.Sandbox.file_mb = 512           # largest file it may write (in its scratch folder)
c.Sandbox.output_mb = 4.0         # output kept per cell
c.Sandbox.notebook_output_mb = 16.0  # output kept per notebook, all cells together
c.Sandbox.cell_timeout = 180      # seconds per cell (as c.Execute.timeout)
c.Sandbox.notebook_timeout = 600  # seconds per notebook; cells past it are not run
c.Sandbox.threads = 0             # torch/OpenMP threads per kernel; 0: cores / workers
c.Sandbox.tmp_mb = 512            # size of its private /tmp (in memory)
c.Sandbox.cpu_weight = 100        # its share of the CPU against other kernels; 100: equal
c.Sandbox.cpu_cores = 0           # at most this many cores (e.g. 1.5); 0: no cap
# As root with cgroup-tools, memory_mb and nproc also bound each kernel's whole
# sandbox (its own cgroup); elsewhere they apply per process. cpu_weight and
# cpu_cores need that cgroup (and its cpu controller).

# `python -m grader collect`: file name -> student id. Regular expressions with a
# named group `student` and optionally `assignment`; the first that matches wins.
# Unset: grader.collect.DEFAULT_PATTERNS ("alice_01-linear-regression.ipynb",
# "Lastname_12345_678901_01-linear-regression.ipynb", "alice/01-....ipynb"). A " (1)"
# that a browser or an LMS adds to a file downloaded again is taken off before matching.
# c.Collect.patterns = [r"^(?P<student>[a-z]+\d*)-(?P<assignment>\d\d-[a-z-]+)\.ipynb$"]

# A submitted notebook, before its kernel starts (grader/budget.py): files and cell
# sources over these caps are rejected unparsed, and reading, checking and repairing
# one notebook must fit in `seconds` (a chapter's notebook takes well under one).
c.Submission.max_notebook_mb = 20.0
c.Submission.max_cell_mb = 1.0
c.Submission.max_depth = 64
c.Submission.seconds = 10.0
