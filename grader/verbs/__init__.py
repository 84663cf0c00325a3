"""The verbs of ``python -m grader``, one module each (``add_arguments`` and ``run``),
and the argument type they share: an assignment id that must name a chapter."""
from __future__ import annotations

import argparse
import difflib

from ..course import assignments


def unknown_assignment(value: str) -> str:
    """Why ``value`` is not an assignment id: the nearest id, then every real one."""
    known = assignments()
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
    near = near or [a for a in known if a.startswith(value)][:1]
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"unknown assignment {value!r}{hint}; the assignments are {', '.join(known)}"


def assignment_id(value: str) -> str:
    """argparse type: a known assignment id, else a usage error (exit status 2)."""
    if value not in assignments():
        raise argparse.ArgumentTypeError(unknown_assignment(value))
    return value
