"""The class hub for real: `python -m grader hub` as root, with local accounts made for
the test, nbgrader's exchange in a fresh folder, and Debian's chromium (the browser
fixture and page helpers of tests/browser/).

These tests create system users, so they run only when asked for by path
(`make test-hub`, i.e. `pytest tests/hub`, as root), never in a plain `pytest`.
Everything they start is stopped and every account they made is removed at the end,
whether they pass or fail. The hub's log goes to test-artifacts/hub/.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "tests" / "grader"))


def _browser_conftest():
    """tests/browser/conftest.py, loaded under a name of its own (its fixtures are reused)."""
    spec = importlib.util.spec_from_file_location("browser_conftest", ROOT / "tests" / "browser" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser_conftest = _browser_conftest()
browser = browser_conftest.browser  # Debian's chromium through Playwright, one per module

ARTIFACTS = ROOT / "test-artifacts" / "hub"
HUB_START_TIMEOUT = 300  # seconds: accounts, the exchange, JupyterHub and its proxy


def pytest_ignore_collect(collection_path, config):
    """Collect tests/hub only when a path inside it was given on the command line."""
    asked = any(Path(arg.split("::")[0]).resolve().is_relative_to(HERE) for arg in config.args)
    return None if asked else True


@dataclass
class Hub:
    """A running class hub: its URL, settings and accounts ({name: password})."""
    url: str
    settings: object
    instructor: str
    students: list[str]
    passwords: dict[str, str]
    log: Path

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    def run_as(self, name: str, args: list[str], cwd: Path | None = None,
               timeout: int = 900) -> subprocess.CompletedProcess:
        """Run ``args`` as the local user ``name`` with the environment the hub gives that
        user's server (and so its terminals)."""
        from grader.hub.prepare import user_environment

        entry = pwd.getpwnam(name)
        env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1", "DLCOURSE_PROGRESS": "0",
               **user_environment(self.settings, name)}
        return subprocess.run(args, cwd=cwd or entry.pw_dir, env=env, user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=[], capture_output=True,
                              text=True, timeout=timeout)

    def grader(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        """``python -m grader ARGS`` as the instructor, in their course folder; must succeed."""
        proc = self.run_as(self.instructor, [sys.executable, "-m", "grader", *args],
                           cwd=Path(self.settings.instructor_course), timeout=timeout)
        assert proc.returncode == 0, (f"python -m grader {' '.join(args)} (exit {proc.returncode}):\n"
                                      f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc


def open_for_users(paths: list[Path]) -> list[tuple[Path, int]]:
    """Let other users enter the folders on the way to ``paths`` (o+x only, not listing),
    as the hub requires; returns [(folder, old mode)] to put back. On CI nothing needs it;
    a development machine may keep its Python under /root."""
    from grader.hub.prepare import closed_to_others

    changed = []
    for path in paths:
        while (folder := closed_to_others(path)) is not None:
            changed.append((folder, folder.stat().st_mode & 0o7777))
            folder.chmod(folder.stat().st_mode | 0o001)
    return changed


def _unattended_lab(name: str, home: Path) -> None:
    """A student's own JupyterLab settings for a test run: every cell in the DOM (no
    windowing) and the app object in the page, for the helpers of tests/browser."""
    jupyter = home / ".jupyter"
    for setting, value in browser_conftest.LAB_SETTINGS.items():
        path = jupyter / "lab" / "user-settings" / setting
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (jupyter / "jupyter_server_config.json").write_text(json.dumps({"LabApp": {"expose_app_in_browser": True}}))
    entry = pwd.getpwnam(name)
    for folder, _, files in os.walk(jupyter):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for f in files:
            os.chown(os.path.join(folder, f), entry.pw_uid, entry.pw_gid)


def _stop(proc: subprocess.Popen, private: Path, names: list[str]) -> None:
    """Stop the hub as Ctrl-C would, then end whatever is left of it, by process id."""
    from grader.hub.accounts import exists, processes_of

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    leftovers = []
    for pid_file in ("jupyterhub.pid", "jupyterhub-proxy.pid"):
        path = private / pid_file
        if path.is_file() and path.read_text().strip().isdigit():
            leftovers.append(int(path.read_text()))
    for name in names:
        if exists(name):
            leftovers += processes_of(name)
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while any(exists(n) and processes_of(n) for n in names) and time.monotonic() < deadline:
        time.sleep(0.5)


@pytest.fixture(scope="module")
def hub() -> Hub:
    if os.geteuid() != 0:
        pytest.fail("the class hub test runs as root: it creates local accounts "
                    "(run `sudo make test-hub`)")
    from grader.hub import accounts
    from grader.hub.prepare import PROXY, Settings, paths_users_need

    if not os.access(PROXY, os.X_OK):
        pytest.fail(f"{PROXY} is missing: run `make hub-setup`")
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-"))
    base.chmod(0o755)  # users reach the exchange inside it
    state, private = base / "state", base / "state" / "private"
    tag = secrets.token_hex(2)
    instructor, students = f"prof-{tag}", [f"ada-{tag}", f"ben-{tag}"]
    out = base / "hub-output.txt"
    env = dict(os.environ, DLCOURSE_EXCHANGE=str(base / "exchange"))
    cmd = [sys.executable, "-m", "grader", "hub", "--dir", str(state), "--instructor", instructor,
           "--students", ",".join(students), "--port", str(browser_conftest.free_port())]
    opened, proc = open_for_users(list(paths_users_need())), None
    try:
        with open(out, "w") as f:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        deadline = time.monotonic() + HUB_START_TIMEOUT
        while "The class hub is running" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the hub did not start:\n{out.read_text()[-4000:]}")
            time.sleep(0.5)
        settings = Settings.load(state / "settings.json")
        logins = json.loads((private / "accounts.json").read_text())
        running = Hub(url=settings.url.rstrip("/"), settings=settings, instructor=instructor,
                      students=students, passwords={n: a["password"] for n, a in logins.items()},
                      log=private / "hub.log")
        for name in students:
            _unattended_lab(name, running.home(name))
        yield running
    finally:
        if proc is not None:
            _stop(proc, private, [instructor, *students])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for path in (out, private / "hub.log"):
            if path.is_file():
                shutil.copy2(path, ARTIFACTS / path.name)
        if private.is_dir():
            accounts.remove(private)
        for folder, mode in reversed(opened):
            folder.chmod(mode)
        shutil.rmtree(base, ignore_errors=True)
