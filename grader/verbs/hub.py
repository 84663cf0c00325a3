"""A class hub on this machine: JupyterHub for an instructor and a few students, with
nbgrader's exchange and the course's grader, for a demo or a small class.

  sudo make hub                                   # the same as the next line
  sudo .venv/bin/python -m grader hub             # instructor + alice, bob, carol on :8000
  sudo .venv/bin/python -m grader hub --students ada,ben --port 8080 --ip 0.0.0.0
  sudo .venv/bin/python -m grader hub --remove-accounts   # after Ctrl-C: remove the demo accounts

It runs as root with local accounts (JupyterHub's LocalProcessSpawner starts each
user's server as that user) and PAM passwords: missing accounts are created, each
with a private home and a generated password that the hub prints. Students log in,
fetch chapters from the Assignments tab (Nbgrader > Assignment List), validate and
submit; the instructor works in a terminal of their own server with
`python -m grader` (release, collect --exchange, autograde, feedback, release
--feedback, export). The exchange is the course configuration's (c.Exchange.root,
DLCOURSE_EXCHANGE moves it); grader/hub/exchange.py keeps every student's
submission and feedback private. Ctrl-C stops the hub and every user's server.

Needs: root, the proxy (`make hub-setup`: configurable-http-proxy from npm), the
course folder readable by every user, and free ports (--port for the browsers;
two more on localhost, chosen at start). Its state is var/hub/ (--dir): settings,
the users' global configuration (jupyter/), and private/ (database, cookie
secret, accounts and passwords, the log), root only.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..course import ROOT, var_dir

STARTUP_TIMEOUT = 180  # seconds for JupyterHub and its proxy to answer


def add_arguments(p):
    p.add_argument("--students", default="alice,bob,carol", metavar="NAMES",
                   help="comma-separated student accounts (default: alice,bob,carol)")
    p.add_argument("--instructor", metavar="NAME",
                   help="the instructor's account (default: the owner of the course folder, "
                        "or 'instructor' when that is root)")
    p.add_argument("--ip", default="127.0.0.1",
                   help="address browsers reach the hub on (default 127.0.0.1; 0.0.0.0 for a class)")
    p.add_argument("--port", type=int, default=8000, help="port browsers reach the hub on (default 8000)")
    p.add_argument("--dir", type=Path, metavar="FOLDER", help="the hub's state (default var/hub)")
    p.add_argument("--remove-accounts", action="store_true",
                   help="remove the accounts this hub created, with their homes (the instructor's "
                        "course copy and gradebook too), then exit")


def _default_instructor() -> str:
    import pwd

    owner = pwd.getpwuid(ROOT.stat().st_uid).pw_name
    return owner if owner != "root" else "instructor"


def run(args):
    from ..hub import accounts, prepare

    state = (args.dir or var_dir() / "hub").resolve()
    if args.remove_accounts:
        removed = accounts.remove(state / "private")
        print(f"removed {', '.join(removed)}" if removed else "no accounts to remove")
        return 0
    prepare.check_requirements()
    instructor = accounts.check_name(args.instructor or _default_instructor())
    students = [accounts.check_name(n.strip()) for n in args.students.split(",") if n.strip()]
    if not students or instructor in students:
        raise SystemExit("give at least one student, and not the instructor, with --students")
    prepare.check_port(args.ip, args.port)
    course_id, exchange = prepare.course_config()

    private = prepare.make_state(state)
    logins = accounts.ensure({instructor: "instructor", **{n: "student" for n in students}}, private)
    prepare.prepare_exchange(exchange, course_id, instructor)
    course = prepare.instructor_course(instructor, accounts.home(instructor), course_id)
    settings = prepare.Settings(
        state=str(state), ip=args.ip, port=args.port, instructor=instructor, students=students,
        course_id=course_id, exchange=str(exchange), instructor_course=str(course),
        hub_port=prepare.free_port(), proxy_api_port=prepare.free_port(),
        config_dirs=prepare.write_config_dirs(state, course_id, exchange, course))
    path = settings.save()

    log = private / "hub.log"
    env = dict(os.environ, DLCOURSE_HUB_SETTINGS=str(path))
    env["PATH"] = f"{settings.python_bin}{os.pathsep}{env.get('PATH', '')}"
    with open(log, "a") as out:
        hub = subprocess.Popen([str(Path(settings.python_bin) / "jupyterhub"), "-f",
                                str(prepare.JUPYTERHUB_CONFIG)], cwd=private, env=env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        _wait_until_up(settings.url, hub, log)
        print(_banner(settings, logins, log), flush=True)
        return hub.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(hub)


def _wait_until_up(url: str, hub: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{url}hub/api/", timeout=5):
                return
        except OSError:
            if hub.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"JupyterHub did not start (see {log}):\n{tail}")
            time.sleep(0.5)


def _stop(hub: subprocess.Popen) -> None:
    """SIGTERM once (JupyterHub then stops every user's server and its proxy), then wait."""
    if hub.poll() is None:
        print("stopping the hub and every user's server ...", flush=True)
        hub.terminate()
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()


def _banner(s, logins, log: Path) -> str:
    rows = [f"  {a.role:<11} {a.name:<14} {a.password or '(their own password)'}" for a in logins]
    return "\n".join([
        "",
        f"The class hub is running: {s.url}",
        "",
        "  role        login          password",
        *rows,
        "",
        f"Instructor: log in; in a Terminal (File > New > Terminal), in {s.instructor_course}:",
        "    python -m grader build 01-linear-regression      # records the chapter in your gradebook",
        "    python -m grader release 01-linear-regression",
        "  later: collect 01-linear-regression --exchange, autograde, feedback, release --feedback, export",
        f"  nbgrader's formgrader opens in a browser tab of its own: {s.url}user/{s.instructor}/formgrader",
        "Students: log in; Nbgrader > Assignment List: Fetch, work, Validate, Submit; later Fetch Feedback.",
        "",
        f"Exchange: {s.exchange} (course {s.course_id}). Log: {log}",
        "Ctrl-C stops the hub and every user's server; `python -m grader hub --remove-accounts`",
        "then removes the accounts it created.",
        "",
    ])
