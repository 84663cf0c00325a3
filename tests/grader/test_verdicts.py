"""Issue 14's proof: every catalogued wrong answer loses points on its own exercise and
nowhere else; every catalogued correct alternative gets full marks.

Two layers, both with the real judges:
- every answer of every chapter's catalog (tests/grader/answers/chNN.py), in rounds in a
  real kernel (tests/grader/verdicts.py), two chapters at a time;
- one submission per chapter through the whole grader (``python -m grader autograde``,
  sandbox, nbgrader, the gradebook), in one parallel batch in the graded demo's course:
  the first wrong answer of every other exercise and the first correct alternative of
  the rest, so each exercise's score must be 0 or full as its answer deserves.
The counts per exercise are printed at the end of the test run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import verdicts  # noqa: E402

CHAPTERS = verdicts.chapters()
REPORTS: dict[str, verdicts.Report] = {}


@pytest.fixture(scope="module")
def reports():
    with ThreadPoolExecutor(max_workers=2) as pool:
        for rep in pool.map(verdicts.check_chapter, CHAPTERS):
            REPORTS[rep.assignment] = rep
    return REPORTS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_catalog(reports, chapter):
    rep = next(r for r in reports.values() if r.assignment.startswith(chapter))
    assert rep.counts, f"{rep.assignment}: no judged exercises"
    for gid, (caught, wrong, ok, right) in rep.counts.items():
        assert wrong >= 4 and right >= 2, f"{gid}: the catalog needs 4 wrong answers and 2 correct ones"
    assert not rep.problems, "\n".join(rep.problems)


def _submission(chapter: str) -> tuple[dict, dict[str, bool]]:
    """The correct student notebook of ``chapter`` with wrong answers in every other exercise
    and correct alternatives in the rest; which exercises should pass."""
    from fixtures.submissions import cell, correct_notebook

    cat = verdicts.catalog(chapter)
    nb = correct_notebook(cat.ASSIGNMENT)
    expect, used = {}, []
    for i, gid in enumerate(j.grade_id for j in verdicts.judges_for(cat.ASSIGNMENT)):
        table = cat.WRONG if i % 2 == 0 else cat.RIGHT
        taken = {table_cell for table_cell, _ in used}
        if gid in table and table[gid][1] and table[gid][0] in taken:
            continue   # its solution cell was answered for an earlier exercise: not judged here
        if gid in table and table[gid][1]:
            solution_cell, answers = table[gid]
            used.append((solution_cell, gid))
            cell(nb, solution_cell)["source"] = answers[0][1]
            expect[gid] = table is cat.RIGHT
        else:
            expect[gid] = True
    return nb, expect


def test_one_round_per_chapter_through_the_grader(graded_demo):
    course, demo, env = graded_demo
    assert demo.returncode == 0, demo.stdout[-2000:]
    expected = {}
    for chapter in CHAPTERS:
        nb, expect = _submission(chapter)
        a = verdicts.catalog(chapter).ASSIGNMENT
        folder = course / "var" / "submitted" / "verdicts" / a
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{a}.ipynb").write_text(json.dumps(nb))
        expected[a] = expect
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", *expected, "-s", "verdicts", "-j", "2",
                           "-q"], cwd=course, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for a, expect in expected.items():
        result = json.loads((course / "var" / "results" / a / "verdicts.json").read_text())
        got = {c["grade_id"]: c for c in result["cells"]}
        for gid, passes in expect.items():
            c = got[gid]
            assert c["score"] == (c["max_score"] if passes else 0.0), (a, gid, c)
            assert c["judged"], (a, gid)


def summary_lines() -> list[str]:
    """Per-exercise counts of the catalogs graded in this run (tests/conftest.py prints them)."""
    lines = []
    for rep in REPORTS.values():
        lines += rep.lines()
    if lines:
        wrong = sum(c[1] for r in REPORTS.values() for c in r.counts.values())
        caught = sum(c[0] for r in REPORTS.values() for c in r.counts.values())
        right = sum(c[3] for r in REPORTS.values() for c in r.counts.values())
        ok = sum(c[2] for r in REPORTS.values() for c in r.counts.values())
        lines.append(f"all chapters: wrong answers rejected {caught}/{wrong}, correct alternatives "
                     f"accepted {ok}/{right}")
    return lines
