"""The one parser of nbgrader's marker blocks in a cell's source: hidden tests
(``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) and solutions
(``### BEGIN SOLUTION`` ... ``### END SOLUTION``).

The rule, the same everywhere the grader reads such blocks (sanitising a
submission, scoring, redacting feedback):

* a marker line is a line whose text, stripped, starts with the marker
  (``### BEGIN HIDDEN TESTS (slow)`` opens a block too);
* a block runs from its BEGIN line to the first END line after it, or, when no
  END line follows, to the end of the source: an unclosed block is still a block
  (hidden-test lines are secret whether or not the instructor closed them, and a
  submission cannot hide text from the parser by dropping the END line);
* a BEGIN line inside a block is part of that block (blocks do not nest).

One pass over the lines, no regular expression that backtracks: the time is
linear in the length of the source, whatever a submission puts in it (a cell of
70,000 BEGIN lines and no END takes milliseconds).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Markers:
    """The BEGIN and END marker of one kind of block."""

    begin: str
    end: str


HIDDEN_TESTS = Markers("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION = Markers("### BEGIN SOLUTION", "### END SOLUTION")


def split(source: str, markers: Markers = HIDDEN_TESTS) -> tuple[str, list[str]]:
    """``(outside, inside)``: the source without its blocks (marker lines included),
    and the lines inside the blocks (marker lines excluded), each as written."""
    outside: list[str] = []
    inside: list[str] = []
    in_block = False
    for line in source.splitlines(keepends=True):
        text = line.strip()
        if in_block:
            if text.startswith(markers.end):
                in_block = False
            else:
                inside.append(line.rstrip("\r\n"))
        elif text.startswith(markers.begin):
            in_block = True
        else:
            outside.append(line)
    return "".join(outside), inside


def without_blocks(source: str, markers: Markers = HIDDEN_TESTS) -> str:
    """The source as a release has it: every block, marker lines included, removed."""
    return split(source, markers)[0]


def block_lines(source: str, markers: Markers = HIDDEN_TESTS) -> set[str]:
    """The non-blank lines (stripped) inside the blocks of ``source``."""
    return {text for text in (line.strip() for line in split(source, markers)[1]) if text}
