"""A JupyterLab server on a private copy of the course, and Debian's chromium driven by Playwright.

The server runs on localhost (a free port, a token) with its own configuration,
data, runtime, settings and workspace folders and a private DLCOURSE_VAR, so it
never touches the repository, var/ or ~/.jupyter. It is shut down at the end.
Screenshots and the browser console log go to test-artifacts/browser/.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_notebooks import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
START_TIMEOUT = 180  # seconds for JupyterLab to answer (2 loaded cores can be slow)

# JupyterLab settings for an unattended run: no news or update pop-ups; every cell in the
# DOM (no windowing), so the test can read any cell's output without scrolling.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# The student's nbgrader configuration: an exchange folder of its own, so that the
# Assignment List has somewhere to look.
STUDENT_NBGRADER_CONFIG = """\
c = get_config()
c.Exchange.root = {exchange!r}
c.CourseDirectory.course_id = "dl-linear-mlp"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path) -> Path:
    """The student-facing part of the course: notebooks/, the grader's config, pyproject."""
    shutil.copytree(ROOT / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "grader", dest / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copy2(ROOT / f, dest / f)
    return dest


class Lab:
    """A running JupyterLab: ``url(path)`` opens a file of the course copy."""

    def __init__(self, root: Path, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.proc, self.log = root, port, token, proc, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str = "") -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def api(self, path: str) -> dict:
        req = urllib.request.Request(f"{self.base}/api/{path}",
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.is_file() else ""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    base = tmp_path_factory.mktemp("lab")
    course = copy_course(base / "course")
    home = base / "home"
    for d in ("config", "data", "runtime", "settings", "workspaces", "ipython", "exchange"):
        (home / d).mkdir(parents=True)
    for name, value in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (home / "config" / "nbgrader_config.py").write_text(
        STUDENT_NBGRADER_CONFIG.format(exchange=str(home / "exchange")))
    port, token = free_port(), os.urandom(16).hex()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               DLCOURSE_VAR=str(base / "var"), DLCOURSE_COURSE_ROOT=str(course),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("DLCOURSE_PROGRESS", None)  # progress bars on, as for a student
    log = base / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
           f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Lab(course, port, token, proc, log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            server.api("status")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start:\n{server.log_tail()}")
            time.sleep(0.5)
    yield server
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its kernels
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(log, ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
