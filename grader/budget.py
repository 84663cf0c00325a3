"""Caps and a time budget for the grader's own work on a submission.

Everything the trusted grading process does with a submitted file before its
kernel starts (read it, parse the JSON, check its shape, repair it) is bounded:

* **Size**, checked before any parsing: the whole file at most
  ``max_notebook_mb``, each cell's source at most ``max_cell_mb``, JSON nested
  at most ``max_depth`` levels (a notebook needs about 10; Python's parsers
  recurse, and a deeper document would end in ``RecursionError``).
* **Time**: the whole of it runs under a budget of ``seconds``
  (:class:`Budget`). The grader's loops call :func:`checkpoint`, which raises
  :class:`OverBudget` once the deadline has passed; where the grading runs in
  a process's main thread (the local runner's workers), a ``SIGALRM`` timer
  also interrupts long steps inside library code (nbformat, difflib) between
  two Python bytecodes. Parsing is linear in the size of the file
  (:mod:`grader.hidden`, ``json``), so only a file near the caps comes close
  to the budget: a chapter's notebook takes well under a second.

The values are set as ``c.Submission.<name>`` in ``grader/nbgrader_config.py``;
:func:`submission_limits` reads them (defaults below).
"""
from __future__ import annotations

import contextvars
import signal
import threading
import time

from traitlets import Float, Int
from traitlets.config import Configurable




class Submission(Configurable):
    """Caps on a submitted notebook and the time the grader spends reading it."""

    max_notebook_mb = Float(20.0, help="Largest notebook file accepted, in MB (2**20 bytes).").tag(
        config=True)
    max_cell_mb = Float(1.0, help="Largest source of one cell, in MB (2**20 characters).").tag(
        config=True)
    max_depth = Int(64, help="Deepest nesting of JSON arrays and objects accepted.").tag(config=True)
    seconds = Float(10.0, help="Time budget, in seconds, to read, check and repair one "
                               "submission before its kernel starts.").tag(config=True)


_CACHE: dict[str, tuple[int, Submission]] = {}


def submission_limits() -> Submission:
    """The ``c.Submission`` settings of the course configuration (read again when it changes)."""
    from .config import course_config

    cfg = course_config()
    cached = _CACHE.get("limits")
    if cached is None or cached[0] is not cfg:
        _CACHE["limits"] = (cfg, Submission(config=cfg))
    return _CACHE["limits"][1]


class OverBudget(BaseException):
    """The time budget ran out. A ``BaseException``, like ``KeyboardInterrupt``, so that
    a library's ``except Exception`` in the middle of a step does not swallow it."""

    def __init__(self, seconds: float, step: str):
        super().__init__(f"{step}: over the time budget of {seconds:g} s")
        self.seconds, self.step = seconds, step


_CURRENT: contextvars.ContextVar["Budget | None"] = contextvars.ContextVar("budget", default=None)


class Budget:
    """A deadline for one submission's trusted steps; use as a context manager::

        with Budget(10.0) as budget:
            budget.step = "parsing the JSON"
            ...                 # loops call checkpoint()
    """

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.step = "reading the notebook"
        self.deadline = 0.0
        self._token = None
        self._armed = False
        self._old_handler = None

    def __enter__(self) -> "Budget":
        self.deadline = time.monotonic() + self.seconds
        self._token = _CURRENT.set(self)
        if threading.current_thread() is threading.main_thread() and \
                signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0):
            self._old_handler = signal.signal(signal.SIGALRM, self._alarm)
            self._armed = True
            # Fires at the deadline, then every 0.1 s until the step lets it through.
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.1)
        return self

    def __exit__(self, *exc) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler or signal.SIG_DFL)
            self._armed = False
        _CURRENT.reset(self._token)

    def _alarm(self, signum, frame) -> None:
        raise OverBudget(self.seconds, self.step)

    def check(self) -> None:
        """Raise :class:`OverBudget` when the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise OverBudget(self.seconds, self.step)


def checkpoint() -> None:
    """Inside a :class:`Budget`: raise :class:`OverBudget` past its deadline (else nothing)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.check()
