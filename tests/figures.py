"""Figures the notebooks' text states in words, checked against what their cells compute.

A chapter's test lists :class:`Figure` rows. Each names the words of a markdown
cell that state a figure ("the weights come out near [4.99, 1.22, -3.41, 5.56]")
and a regular expression that finds the same numbers in what the chapter's cells
print when the solution notebook runs. :func:`check` asserts that the words are
still in the text (so text and test cannot drift apart silently) and that every
number the text states is within the row's tolerance of the computed one.

The executed notebooks come from the ``graded_demo`` fixture (tests/conftest.py):
the grader runs every solution notebook once per test session anyway, and its
autograded copy keeps every output.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

NUMBER = r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"


@dataclass(frozen=True)
class Figure:
    """One figure that the text states.

    words: text as it stands in a markdown cell, holding the stated number(s);
        ``{}`` marks each number, e.g. ``"test accuracy of about {}"``.
    output: a regular expression searched in the printed output (text/plain and
        streams) of the code cells; one group per ``{}`` of ``words``, in order.
    tol: absolute tolerance, or relative when ``relative`` is set.
    """

    words: str
    output: str
    tol: float
    relative: bool = False


def executed_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The solution of ``chapter`` as the grader ran it in ``course`` (graded_demo)."""
    path = course / "var" / "autograded" / "demo-solution" / chapter / f"{chapter}.ipynb"
    return nbformat.read(path, as_version=4)


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def printed_text(nb: nbformat.NotebookNode) -> str:
    """Everything the code cells printed or displayed as plain text, in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out and "text/plain" in out.data:
                parts.append(out.data["text/plain"])
    return "\n".join(parts)


def markdown_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def check(nb: nbformat.NotebookNode, fig: Figure) -> None:
    """Assert that the text states ``fig`` and that the cells compute it within ``fig.tol``."""
    pattern = re.escape(fig.words).replace(r"\{\}", f"({NUMBER})")
    stated = re.search(pattern, " ".join(markdown_text(nb).split()))
    assert stated, f"the text no longer says {fig.words!r}: update the row or the text"
    computed = re.search(fig.output, printed_text(nb))
    assert computed, f"no output matches {fig.output!r}: the cell that computes it did not print it"
    said = [_number(g) for g in stated.groups()]
    got = [_number(g) for g in computed.groups()]
    assert len(said) == len(got), f"{fig.words!r} states {len(said)} numbers, the output has {len(got)}"
    for s, g in zip(said, got):
        limit = fig.tol * abs(g) if fig.relative else fig.tol
        assert abs(s - g) <= limit, (f"the text says {s:g} ({fig.words!r}), the cells compute {g:g}; "
                                     f"allowed difference {limit:g}")
