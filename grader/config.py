"""The course configuration (``grader/nbgrader_config.py``), loaded once per process.

The file sets values, next to nbgrader's own sections. The course's settings are
declared once each, with default, help and check, as traitlets ``Configurable``
classes (the way nbgrader's preprocessors declare theirs):

* ``c.Sandbox``: the limits of a grading kernel (grader.sandbox.Sandbox; the
  picklable value sent to the workers is grader.sandbox.Limits, made from its traits);
* ``c.Submission``: caps and time budget of reading a submission (grader.budget.Submission);
* ``c.Collect``: file names to students (grader.collect.Collect).

Each is built from :func:`course_config` (``Sandbox(config=course_config())``), so a
value of the wrong type or out of range is refused with the setting's name.
"""
from __future__ import annotations

from .course import CONFIG


_CACHE: dict = {}


def course_config():
    """The loaded configuration (a traitlets Config; callers copy it before changing it),
    read again when the file changes."""
    from traitlets.config.loader import PyFileConfigLoader

    key = (str(CONFIG), CONFIG.stat().st_mtime_ns)
    if _CACHE.get("key") != key:
        _CACHE["config"] = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
        _CACHE["key"] = key
    return _CACHE["config"]
