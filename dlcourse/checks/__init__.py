"""Visible exercise checks and the students' self-check.

Each chapter has a module here (``ch01`` ... ``ch08``) whose ``check_*``
functions are the *visible* tests of that chapter's exercises: the notebook's
test cells call them, and ``selfcheck`` runs all of them at the end of the
notebook with a friendly summary. Hidden tests are not here: they live only in
the instructor's solution notebooks and come back at grading time.

A check takes the student's objects as arguments and raises ``AssertionError``
with a message that says what was expected and what came back.
"""
from __future__ import annotations

import importlib
import inspect
import os
import traceback
from dataclasses import dataclass
from typing import Callable

__all__ = ["Exercise", "exercise", "selfcheck"]


@dataclass
class Exercise:
    name: str
    check: Callable
    hint: str
    chapter: str

    @property
    def needs(self) -> list[str]:
        """Names the check takes from the notebook, from its signature."""
        return list(inspect.signature(self.check).parameters)


_REGISTRY: dict[str, list[Exercise]] = {}


def exercise(name: str, hint: str):
    """Register a ``check_*`` function as the visible test of exercise ``name``."""
    def wrap(fn: Callable) -> Callable:
        chapter = fn.__module__.rsplit(".", 1)[-1]
        _REGISTRY.setdefault(chapter, []).append(Exercise(name, fn, hint, chapter))
        return fn
    return wrap


def _where(err: BaseException) -> str:
    """Where an error came from: the innermost frame in the notebook's own code if any."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename.startswith(("<ipython-input", "<cell")) or "ipykernel_" in f.filename]
    frame = (mine or frames)[-1] if frames else None
    return f" (in {frame.name}, line {frame.lineno})" if frame else ""


def _outcome(ex: Exercise, namespace: dict) -> tuple[str, str]:
    missing = [n for n in ex.needs if n not in namespace]
    if missing:
        return "not run", f"`{', '.join(missing)}` is not defined yet: run the exercise cell first."
    try:
        ex.check(*(namespace[n] for n in ex.needs))
    except NotImplementedError as err:
        frames = traceback.extract_tb(err.__traceback__)
        stub = frames[-1].name if frames else ""
        if stub and stub not in ex.needs and stub != "<module>":
            return "todo", f"it calls `{stub}`, which is still the stub: finish that exercise first."
        return "todo", "still the stub: replace `raise NotImplementedError()` with your code."
    except AssertionError as err:
        return "failed", str(err) or "a check failed (no message)"
    except Exception as err:  # the student's code raised: say what, where
        return "error", f"{type(err).__name__}: {err}{_where(err)}"
    return "passed", ""


def _chapters() -> list[str]:
    from pathlib import Path
    return sorted(p.stem for p in Path(__file__).parent.glob("ch[0-9][0-9].py"))


def selfcheck(namespace: dict, chapter: str) -> dict[str, str]:
    """Run every visible check of ``chapter`` (e.g. ``"ch01"``) and print a summary.

    ``namespace`` is the notebook's ``globals()``. Returns ``{exercise: status}``.
    Needs neither nbgrader nor the hidden tests, so it works in Colab too.

    While nbgrader runs the notebook (autograde or validate: it sets
    ``NBGRADER_EXECUTION``) it only says so: the graded test cells have just run the
    same checks and more, and running them again would only cost grading time.
    """
    running = os.environ.get("NBGRADER_EXECUTION")
    if running:
        print(f"Self-check skipped: nbgrader is running this notebook ({running}); "
              "the scores come from its test cells.")
        return {}
    try:
        importlib.import_module(f"{__name__}.{chapter}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{chapter}":
            raise
        print(f"Self-check: no checks for {chapter!r}; the chapters are "
              f"{', '.join(_chapters()) or 'not installed'}.")
        return {}
    exercises = _REGISTRY.get(chapter, [])
    # plain symbols that every monospace font has (emoji fonts are often missing on Linux)
    marks = {"passed": "✓", "failed": "✗", "error": "✗", "todo": "…", "not run": "–"}
    results, lines = {}, []
    for ex in exercises:
        status, detail = _outcome(ex, namespace)
        results[ex.name] = status
        lines.append(f"{marks[status]} {ex.name}: {status}")
        if status != "passed":
            lines.append("     " + "\n     ".join(detail.splitlines()))
        if status in ("failed", "error"):  # never before the student has tried
            lines.append(f"     hint: {ex.hint}")
    passed = sum(s == "passed" for s in results.values())
    print(f"Self-check, {chapter}: {passed} of {len(exercises)} exercises pass their visible tests.")
    print("\n".join(lines))
    if exercises and passed == len(exercises):
        print("All visible tests pass. Hidden tests run when your notebook is graded, "
              "so also test your own edge cases.")
    return results
