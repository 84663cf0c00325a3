"""Notebooks the browser test opens, made from the course's own notebooks."""
from __future__ import annotations

import builtins
import re
import symtable
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def solution(chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)


def answers(chapter: str) -> dict[str, str]:
    """{grade id: the solution code, as a student would type it} for each exercise."""
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in solution(chapter).cells if c.metadata.get("nbgrader", {}).get("solution")}


def fill_in(nb: nbformat.NotebookNode, chapter: str, skip: set[str]) -> nbformat.NotebookNode:
    """The student notebook ``nb`` with every exercise but those in ``skip`` answered."""
    solved = answers(chapter)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solved and gid not in skip:
            cell.source = solved[gid]
    return nb


def _names(source: str) -> tuple[set[str], set[str]]:
    """(global names a cell binds, global names it reads), from Python's symbol tables."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:  # IPython magics and the like: keep nothing from the cell
        return set(), set()
    defined = {s.get_name() for s in top.get_symbols()
               if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used, tables = set(), [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is top or sym.is_global()):
                used.add(sym.get_name())
    return defined, used - defined - set(dir(builtins))


def explorer_notebook(chapter: str) -> nbformat.NotebookNode | None:
    """The chapter's first explorer cell (solution version) and only the earlier code cells
    it needs, found by name: a quick notebook that shows the chapter's own explorer."""
    cells = [c for c in solution(chapter).cells
             if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")]
    target = next((i for i, c in enumerate(cells) if re.search(r"^explorer\(", c.source, re.M)), None)
    if target is None:
        return None
    keep, needed = [target], _names(cells[target].source)[1]
    for i in range(target - 1, -1, -1):
        defined, used = _names(cells[i].source)
        if i == 0 or "setup" in cells[i].metadata.get("tags", []) or defined & needed:
            keep.append(i)
            needed = (needed - defined) | used
    nb = nbformat.v4.new_notebook(metadata=solution(chapter).metadata)
    nb.cells = [nbformat.v4.new_code_cell(SOLUTION_MARKERS.sub("", cells[i].source)) for i in sorted(keep)]
    return nb
