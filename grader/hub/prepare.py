"""What the class hub sets up before JupyterHub starts: nbgrader's exchange, the global
configuration every user's server reads, and the instructor's course folder.

The hub runs as root. Each user's server runs as that local user with the course
environment (this Python's ``bin/``) and ``JUPYTER_CONFIG_PATH`` pointing at a
folder the hub writes under ``<state>/jupyter/<role>/``:

* ``nbgrader_config.py``: the course id and the exchange (``c.Exchange.root``) from
  the course configuration (``grader/nbgrader_config.py``; ``DLCOURSE_EXCHANGE``
  moves it), and the exchange classes of :mod:`grader.hub.exchange`, which keep
  each student's submission and feedback private;
* ``labconfig/page_config.json`` switches off JupyterLab's news pop-ups and, for
  students, with ``jupyter_server_config.json``, nbgrader's instructor tools
  (formgrader, course list, create assignment); the Assignments tab and the
  Validate button stay.

The exchange gets nbgrader's documented layout, made up front so that no student
can claim it first: the root of mode 1777 (everyone may create entries, nobody may
remove another's), ``<course>/`` and ``outbound/`` of mode 0755, ``inbound/`` 2733
and ``feedback/`` 0711, all owned by the instructor.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..course import CONFIG, ROOT

HUB_DIR = Path(__file__).resolve().parent
PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB_CONFIG = HUB_DIR / "jupyterhub_config.py"
NBGRADER_DEFAULT_EXCHANGE = Path("/usr/local/share/nbgrader/exchange")

# What an instructor needs of the course in a folder of their own (when root owns the course).
INSTRUCTOR_COPY = ["solutions", "notebooks", "grader", "nbgrader_config.py", "pyproject.toml",
                   "README.md", "data/README.md"]

STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True}}}
# JupyterLab plugins switched off: the news and update pop-ups for everyone (the hub's
# administrator updates the environment), nbgrader's instructor tools for students.
PAGE_CONFIG = {
    "instructor": {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}},
    "student": {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True,
                                       "@jupyter/nbgrader:formgrader": True,
                                       "@jupyter/nbgrader:course-list": True,
                                       "@jupyter/nbgrader:create-assignment": True}},
}

NBGRADER_CONFIG = """\
# Written by `python -m grader hub`: the course and nbgrader's exchange, for every
# user's server on the class hub. Edit grader/nbgrader_config.py instead.
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
c.ExchangeFactory.submit = "grader.hub.exchange.PrivateSubmit"
c.ExchangeFactory.release_feedback = "grader.hub.exchange.PrivateReleaseFeedback"
"""
# nbgrader's formgrader reads the configuration of the folder the server starts in (the
# home), not of the one it shows: the instructor's global configuration loads the course's,
# except in the course folder, where nbgrader finds it by itself (loading it twice would
# run the build's preprocessors twice).
INSTRUCTOR_NBGRADER_CONFIG = """\
import os
if os.path.realpath(os.getcwd()) != {course!r}:
    load_subconfig({course_config!r})
"""


@dataclass
class Settings:
    """The hub's settings, written to ``<state>/settings.json`` for jupyterhub_config.py."""
    state: str
    ip: str
    port: int
    instructor: str
    students: list[str]
    course_id: str
    exchange: str
    instructor_course: str
    python_bin: str = str(Path(sys.executable).parent)
    proxy: str = str(PROXY)
    hub_port: int = 0
    proxy_api_port: int = 0
    config_dirs: dict[str, str] = field(default_factory=dict)

    @property
    def private(self) -> Path:
        """The hub's own files, root only: its database, cookie secret, logins, log."""
        return Path(self.state) / "private"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"http://{host}:{self.port}/"

    def save(self) -> Path:
        path = Path(self.state) / "settings.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Settings":
        return cls(**json.loads(Path(path).read_text()))


def user_environment(s: Settings, name: str) -> dict[str, str]:
    """What the hub adds to the environment of ``name``'s server (and so of its terminals):
    the course environment first on PATH, the class's nbgrader configuration; for the
    instructor, their course folder (where `python -m grader` works)."""
    env = {"PATH": os.pathsep.join([s.python_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
           "JUPYTER_CONFIG_PATH": s.config_dirs["instructor" if name == s.instructor else "student"],
           "DLCOURSE_EXCHANGE": s.exchange}
    if name == s.instructor:
        env["DLCOURSE_COURSE_ROOT"] = s.instructor_course
    return env


def course_config() -> tuple[str, Path]:
    """(course id, exchange root) as the course configuration sets them."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    root = config.Exchange.root if "root" in config.Exchange else NBGRADER_DEFAULT_EXCHANGE
    return config.CourseDirectory.course_id, Path(root)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(ip: str, port: int) -> None:
    """Stop with a message when browsers' port is taken."""
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError as e:
            raise SystemExit(f"cannot listen on {ip}:{port} ({e.strerror}): another program "
                             "(or another hub) uses it; choose a free port with --port") from None


def check_requirements() -> None:
    """Stop with what to do when the hub cannot run here."""
    if os.geteuid() != 0:
        raise SystemExit("the class hub runs as root: it creates the local accounts and starts "
                         "each user's server as that user (JupyterHub's LocalProcessSpawner). "
                         "Run `sudo make hub` (or `sudo .venv/bin/python -m grader hub`).")
    if not os.access(PROXY, os.X_OK):
        raise SystemExit(f"JupyterHub's proxy is not installed ({PROXY}): run `make hub-setup` "
                         "(npm; on Debian `apt-get install nodejs npm` first).")
    if shutil.which("jupyterhub-singleuser", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("JupyterHub is not installed in this environment: run `make setup`.")
    for path, remedy in paths_users_need().items():
        blocked = closed_to_others(path)
        if blocked is not None:
            raise SystemExit(
                f"users' servers run as their own accounts and must read {path}, but {blocked} "
                f"is closed to other users (mode {stat.filemode(blocked.stat().st_mode)}). Either "
                f"let them enter it (`chmod o+x {blocked}`: entering, not listing), or {remedy}.")


def paths_users_need() -> dict[Path, str]:
    """What every user's server reads: the Python it runs (with its standard library), the
    course environment and the course folder (the helpers are installed from it); for
    each, what to do when it is out of their reach."""
    python = ("create the course environment from a Python everyone can run, e.g. Debian's: "
              "`rm -rf .venv && make setup PYTHON=/usr/bin/python3`")
    course = ("put the course in a folder everyone may enter (e.g. /srv/dl-course) and run "
              "`make setup` there")
    return {Path(os.path.realpath(sys.executable)): python, Path(sys.base_prefix): python,
            Path(sys.prefix): course, ROOT: course}


def closed_to_others(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (itself included) that other users cannot
    enter, or None."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def _user_ids(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def prepare_exchange(root: Path, course_id: str, instructor: str) -> None:
    """Make nbgrader's exchange for ``course_id`` with the modes nbgrader documents, owned by
    ``instructor``; an existing course folder of someone else's is an error."""
    uid, gid = _user_ids(instructor)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o1777)
    course = root / course_id
    if course.exists() and course.stat().st_uid != uid:
        owner = pwd.getpwuid(course.stat().st_uid).pw_name
        raise SystemExit(f"{course} belongs to {owner}, not to the instructor {instructor}: "
                         f"remove it (it holds that course's releases and submissions) or "
                         f"start the hub with --instructor {owner}")
    for folder, mode in ((course, 0o755), (course / "outbound", 0o755),
                         (course / "inbound", 0o2733), (course / "feedback", 0o711)):
        if not folder.exists():
            folder.mkdir()
            os.chown(folder, uid, gid)
            folder.chmod(mode)


def write_config_dirs(state: Path, course_id: str, exchange: Path, instructor_course: Path) -> dict[str, str]:
    """The global configuration folders of the users' servers: {role: folder}."""
    dirs = {}
    for role in ("instructor", "student"):
        folder = state / "jupyter" / role
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        config = NBGRADER_CONFIG.format(course_id=course_id, exchange=str(exchange))
        if role == "instructor":
            config += INSTRUCTOR_NBGRADER_CONFIG.format(
                course=os.path.realpath(instructor_course),
                course_config=str(instructor_course / "nbgrader_config.py"))
        (folder / "nbgrader_config.py").write_text(config)
        (folder / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG[role], indent=1))
        if role == "student":
            (folder / "jupyter_server_config.json").write_text(json.dumps(STUDENT_SERVER_CONFIG, indent=1))
        dirs[role] = str(folder)
    for folder in [state / "jupyter", *(state / "jupyter").rglob("*")]:
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    return dirs


def instructor_course(instructor: str, home: Path, course_id: str) -> Path:
    """The course folder the instructor works in: the course itself when they own it, else
    a copy in their home (made once, never overwritten), as a clone of the course would be."""
    uid, gid = _user_ids(instructor)
    if ROOT.stat().st_uid == uid:
        return ROOT
    dest = home / course_id
    if dest.exists():
        return dest
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", ".ipynb_checkpoints")
    for name in INSTRUCTOR_COPY:
        src = ROOT / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, target)
    for folder, dirs, files in os.walk(dest):
        os.chown(folder, uid, gid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, gid)
    return dest


def make_state(state: Path) -> Path:
    """The hub's folder: ``jupyter/`` readable by every user, ``private/`` by root only."""
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    private = state / "private"
    private.mkdir(exist_ok=True)
    private.chmod(0o700)
    return private
