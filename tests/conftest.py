"""Shared fixtures. Every test that grades or builds gets its own gradebook
(DLCOURSE_VAR) so tests never touch var/ or each other."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# nbgrader shells out to `jupyter` and `alembic`: the environment's bin comes first.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("DLCOURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


@pytest.fixture
def private_var(tmp_path, monkeypatch):
    """A private var/ (gradebook, submissions) for one test."""
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    return var
