"""The course configuration (``grader/nbgrader_config.py``), loaded once per process.

Every setting is declared there, next to nbgrader's own: ``c.Sandbox`` (the limits of
a grading kernel, grader.sandbox.Limits), ``c.Submission`` (caps and time budget of
reading a submission, grader.sanitize), ``c.Collect`` and nbgrader's sections.
"""
from __future__ import annotations

from .course import CONFIG


_CACHE: dict = {}


def course_config():
    """The loaded configuration (a traitlets Config; callers copy it before changing it),
    read again when the file changes."""
    from traitlets.config.loader import PyFileConfigLoader

    mtime = CONFIG.stat().st_mtime_ns
    if _CACHE.get("mtime") != mtime:
        _CACHE["config"] = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
        _CACHE["mtime"] = mtime
    return _CACHE["config"]


def section(name: str) -> dict:
    """One section of it (``c.<name>``), as a plain dict."""
    return dict(course_config().get(name, {}))
