"""Local accounts for the class hub: an instructor and students as system users.

JupyterHub's LocalProcessSpawner starts each user's server as that user, so every
hub user is a local account. The hub creates the missing ones, each with a home
only its owner can enter (students cannot read each other's work or the secrets
nbgrader keeps in their homes) and a generated password (PAM checks it at the
login page).
Accounts that already exist keep their own password and are never removed.
What it created is recorded in ``accounts.json`` of the hub's private folder, so that
``python -m grader hub --remove-accounts`` removes exactly those.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")  # a portable login name (and nbgrader student id)


@dataclass
class Account:
    """One hub user: ``role`` is "instructor" or "student"; ``password`` is set only
    for an account the hub created (existing accounts log in with their own)."""
    name: str
    role: str
    created: bool
    password: str | None = None


def check_name(name: str) -> str:
    """``name`` if it can be a login name and an nbgrader student id, else SystemExit."""
    if name == "root":
        raise SystemExit("the hub runs no one's server as root: choose another account name")
    if not NAME.match(name):
        raise SystemExit(f"{name!r} cannot be a local account name: use lowercase letters, digits, "
                         "'-' or '_' (at most 31 characters, starting with a letter)")
    return name


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def _run(*cmd: str, stdin: str | None = None) -> None:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:2])} ... failed (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()}")


def ensure(names: dict[str, str], folder: Path) -> list[Account]:
    """Create the missing accounts of ``names`` ({name: role}); return all of them.

    A created account gets a home of mode 0700 and a random password; existing
    accounts are left as they are, except that a student's home is made private too
    (an existing instructor's home may hold the course, which everyone must read).
    """
    record = load(folder)
    accounts = []
    for name, role in names.items():
        check_name(name)
        if name in record:
            account = record[name]
            account.role = role
            if not exists(name):  # removed by hand since: make it again
                _create(account)
        elif exists(name):
            account = Account(name, role, created=False)
        else:
            account = Account(name, role, created=True, password=_password())
            _create(account)
        if account.created or role == "student":
            home(name).chmod(0o700)
        accounts.append(account)
    _save(folder, {**record, **{a.name: a for a in accounts if a.created}})
    return accounts


def _password() -> str:
    return secrets.token_urlsafe(9)


def _create(account: Account) -> None:
    _run("useradd", "--create-home", "--shell", "/bin/bash",
         "--comment", f"dl-course hub {account.role}", account.name)
    _run("chpasswd", stdin=f"{account.name}:{account.password}\n")


def load(folder: Path) -> dict[str, Account]:
    """The accounts this hub created: {name: Account}."""
    path = folder / "accounts.json"
    if not path.is_file():
        return {}
    return {name: Account(**a) for name, a in json.loads(path.read_text()).items()}


def _save(folder: Path, record: dict[str, Account]) -> None:
    path = folder / "accounts.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({name: asdict(a) for name, a in record.items()}, f, indent=1)


def processes_of(name: str) -> list[int]:
    """The ids of the processes running as the account ``name``."""
    import psutil

    uid = pwd.getpwnam(name).pw_uid
    return [p.pid for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]


def remove(folder: Path) -> list[str]:
    """Remove the accounts this hub created, with their homes; return their names.

    Fails, removing nothing more, while one of them still runs a process (a hub that
    is still up): stop the hub first."""
    record = load(folder)
    removed = []
    for name in list(record):
        if exists(name):
            busy = processes_of(name)
            if busy:
                _save(folder, record)
                raise SystemExit(f"{name} still runs process(es) {', '.join(map(str, busy))}: stop the hub "
                                 "(Ctrl-C) first, then run this again")
            _run("userdel", "--remove", name)
        del record[name]
        removed.append(name)
    _save(folder, record)
    return removed
