"""Sanitising a submission before it is graded, and the kernel guard used while it runs.

:func:`load_submission` turns whatever a student handed in into a notebook that
nbgrader's own sanitising preprocessors (``OverwriteCells`` and friends) can
grade fairly, or rejects it with a reason:

* not JSON, not a notebook, an empty file, another chapter's notebook (told by
  content, see below): rejected;
* not a notebook as Jupyter writes it: rejected with the field at fault and what to
  do (download it again), before anything trips over it: over a size cap (the file,
  checked before it is parsed, or one cell's source), not UTF-8, JSON nested too
  deep, a number no notebook holds (NaN, 1e400, beyond 64 bits), cells that are not
  a list of cells, a cell without a known ``cell_type``, a source that is not text,
  outputs that are not outputs, nbgrader metadata of the wrong type
  (``"grade_id": ["x"]``, ``"points": "ten"``, ``"nbgrader": 5``), or anything else
  that nbformat's schema refuses;
* the whole of it runs under a time budget (:mod:`grader.budget`, settings
  ``c.Submission``), and every parse is linear in the size of the file (the
  marker blocks by :mod:`grader.hidden`): a submission that still takes longer is
  rejected with the budget it exceeded;
* nbformat 4.0-4.4 (no cell ids) or a Colab notebook (its own metadata, stored
  outputs, no ``deletable``): upgraded to 4.5, outputs cleared later;
* nbgrader metadata stripped (nbgrader issue #1398, e.g. by Colab or by copying
  cells into a fresh notebook): recovered by matching cells against the release
  (cell id first, then the exact source of locked cells, then the most similar
  cell for solutions);
* graded cells deleted (put back from the release: a missing solution cell
  becomes the stub and scores 0), duplicated (the first copy is graded, the
  others run as ordinary cells) or reordered (put back in the release's order,
  each with the student's own cells that followed it);
* nbgrader metadata edited (points, locked, grade): replaced by the release's.

Every such repair adds a human-readable note to the result.

The chapter is decided first, by content: the share of each release's locked
test cells (hidden tests stripped) found unedited in the submission, across
every chapter of notebooks/ (cell ids ``cell-NNN`` and grade ids such as
``ex6-train-tests`` repeat across chapters, so ids alone cannot tell); a
notebook that clearly fits another chapter is rejected ("this is the notebook
of ..."). A cell matched by its release cell id must also be similar in source.

:func:`guard_install_expression` and :func:`guard_restore_expression` are the
kernel side of the integrity guard. Installed before the first cell, it
snapshots what the tests rely on: builtins such as ``AssertionError``,
functions of ``torch``/``numpy``/``math``/the course's check modules,
``torch.Tensor`` methods, the classes of the shell, the kernel, the compiler and
the input transformer manager, and *by value* (identity) the instance
attributes and traitlets of those four objects and the entries of the kernel's
``shell_handlers``/``control_handlers``; also IPython's input and AST
transformers, event hooks, exception handlers, trace functions and
``sys`` hooks and streams. Before every test cell it puts back whatever
notebook code changed and reports what it restored; after every code cell it
checks that it is still in place.

How the grader knows the report is genuine: the guard lives under a random
name of ``sys`` chosen per notebook, is compiled with globals of its own (a
private copy of the builtins, so neither patched builtins nor notebook globals
reach it), and is called through ``user_expressions`` of an empty execute
request, which IPython evaluates with ``eval``: the notebook's input and AST
transformers and its compiler are not in the way. It signs each report with a
per-notebook key (sent only in the install, which runs before any student code,
and not kept in ``linecache``) over a fresh nonce, and it refuses (reports
"replaced") unless it is still the function under its name and is called
directly by exactly the grader's expression from IPython's own
``user_expressions``. A missing, forged or refused report after a cell makes
the grader stop the kernel and run the notebook again without that cell (it
scores 0, like a cell that killed the kernel); before a test cell it makes that
test score 0.

What remains possible (it is a defence in depth, not a proof: code in the
kernel runs in the same interpreter as the guard): code that deliberately
walks the guard's closure (``f.__closure__``) can read its key and snapshots,
forge reports or corrupt what is restored; ctypes can rewrite any object in
memory; a background thread started by the notebook can patch again between
the restore and the test; an attribute the guard does not snapshot (a module
not in its list, an object other than the shell, kernel, compiler and
transformer manager) is not put back. What the sandbox guarantees regardless
is that the kernel cannot reach the gradebook, the solutions or other
submissions; such deliberate attacks are visible in the graded notebook.
"""
from __future__ import annotations

import copy
import difflib
import json
import math
import os
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4.nbbase import random_cell_id

from . import hidden
from .budget import Budget, OverBudget, Submission, checkpoint, submission_limits
from .course import NOTEBOOKS, student_path


class Rejected(Exception):
    """The file cannot be graded at all; the message says why (shown to the student)."""


# What a student can do about a file that is not a notebook as Jupyter writes it.
AGAIN = ("download the notebook again from JupyterLab (File > Download) or Colab (File > "
         "Download .ipynb) and submit that file")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _norm(src: str) -> str:
    return "\n".join(line.rstrip() for line in src.strip().splitlines())


def _public(src: str) -> str:
    """A test cell's source without its hidden-test blocks (which a release never has,
    so the instructor's own solution notebook does not count as an edited one)."""
    return hidden.without_blocks(src)


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def release_cells(assignment: str) -> list:
    """The release (student) notebook's cells."""
    return nbformat.read(student_path(assignment), as_version=4).cells


# -- reading a file into a notebook dict: caps, JSON, shape -----------------------------

_MB = 1 << 20
_LARGEST_INT = 1 << 63  # JSON from Jupyter holds counts and ids, never a larger integer


def _over_cap(size: float, cap_mb: float, what: str, setting: str, fix: str) -> Rejected:
    return Rejected(f"{what} is {size / _MB:.1f} MB, over the cap of {cap_mb:g} MB "
                    f"(c.Submission.{setting}): {fix}, save, and submit the notebook again")


def _read_capped(path: Path, limits: Submission) -> bytes:
    cap = int(limits.max_notebook_mb * _MB)
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
            size = max(len(raw), os.fstat(f.fileno()).st_size)
    except OSError as e:
        raise Rejected(f"the file cannot be read: {e.strerror}") from None
    if len(raw) > cap:
        raise _over_cap(size, limits.max_notebook_mb, "the notebook file", "max_notebook_mb",
                        "clear the outputs (Edit > Clear Outputs of All Cells)")
    return raw


def _no_constant(name: str):
    raise Rejected(f"the file holds the number {name}, which is not JSON and which Jupyter "
                   f"never writes: {AGAIN}")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise Rejected(f"the file holds a number too large for a float ({text[:40]}): {AGAIN}")
    return value


def _decode(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if b"\x00" in raw[:4096] or raw.lstrip()[:1] not in (b"{", b"["):
            raise Rejected("not a notebook: the file is binary, not JSON text "
                           "(upload the .ipynb file itself, not a PDF, zip or screenshot)") from None
        raise Rejected(f"the file is not valid UTF-8 text (byte {e.start}: {e.reason}), which "
                       f"Jupyter always writes: it was changed by another program; {AGAIN}") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as e:
        raise Rejected(f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}): the "
                       "notebook file is truncated or corrupt; download it again from Jupyter "
                       "or Colab (File > Download .ipynb)") from None
    except RecursionError:
        raise Rejected(f"the JSON is nested too deeply to read (a notebook needs about 10 "
                       f"levels): {AGAIN}") from None
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        raise Rejected(f"the file holds a number of more than {sys.get_int_max_str_digits()} "
                       f"digits, too large to read: {AGAIN}") from None


def _check_json(data, limits: Submission) -> None:
    """Depth, integers and text of the whole document, in one iterative walk (no recursion)."""
    stack = [(data, 1)]
    visited = 0
    while stack:
        value, depth = stack.pop()
        visited += 1
        if visited % 4096 == 0:
            checkpoint()
        if isinstance(value, dict):
            items = value.values()
            for key in value:
                _check_text(key)
        elif isinstance(value, list):
            items = value
        elif isinstance(value, str):
            _check_text(value)
            continue
        elif isinstance(value, int) and not isinstance(value, bool) and \
                not -_LARGEST_INT <= value < _LARGEST_INT:
            raise Rejected(f"the file holds a number of {len(str(abs(value)))} digits, larger "
                           f"than any notebook field allows: {AGAIN}")
        else:
            continue
        if depth >= limits.max_depth:
            raise Rejected(f"the JSON is nested more than {limits.max_depth} levels deep "
                           f"(c.Submission.max_depth; a notebook needs about 10): {AGAIN}")
        stack.extend((item, depth + 1) for item in items)


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected(f"the file holds text that is not valid Unicode (an unpaired "
                           f"surrogate, \\u{ord(text[_surrogate(text)]):04x}): {AGAIN}") from None


def _surrogate(text: str) -> int:
    return next(i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF)


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


_CELL_TYPES = ("code", "markdown", "raw")
_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
_NBGRADER_TYPES = {"grade_id": (str,), "points": (int, float), "locked": (bool,),
                   "solution": (bool,), "grade": (bool,), "task": (bool,),
                   "schema_version": (int,)}


def _check_cells(cells, limits: Submission) -> None:
    """Reject, with the cell and the field, what the grader would otherwise trip over."""
    if not isinstance(cells, list):
        raise Rejected(f"the notebook's cells are {_kind(cells)}, not a list of cells: {AGAIN}")
    cap = limits.max_cell_mb * _MB
    for n, cell in enumerate(cells, 1):
        checkpoint()
        where = f"cell {n}"
        if not isinstance(cell, dict):
            raise Rejected(f"{where} is {_kind(cell)}, not a cell: {AGAIN}")
        kind = cell.get("cell_type")
        if kind not in _CELL_TYPES:
            what = "has no cell_type" if kind is None else f"has the cell_type {str(kind)[:40]!r}"
            raise Rejected(f"{where} {what} (code, markdown or raw expected): {AGAIN}")
        src = cell.get("source", "")
        if not (isinstance(src, str) or isinstance(src, list) and all(isinstance(s, str) for s in src)):
            raise Rejected(f"the source of {where} is {_kind(src)}, not text: {AGAIN}")
        size = len(src) if isinstance(src, str) else sum(map(len, src))
        if size > cap:
            raise _over_cap(size, limits.max_cell_mb, f"the source of {where}", "max_cell_mb",
                            "shorten it")
        meta = cell.get("metadata", {})
        if not isinstance(meta, dict):
            raise Rejected(f"the metadata of {where} is {_kind(meta)}, not an object: {AGAIN}")
        if "nbgrader" in meta:
            _check_nbgrader(meta["nbgrader"], where)
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(
                isinstance(o, dict) and o.get("output_type") in _OUTPUT_TYPES for o in outputs):
            raise Rejected(f"the outputs of {where} are not outputs as Jupyter writes them: {AGAIN}")


def _check_nbgrader(nbg, where: str) -> None:
    if not isinstance(nbg, dict):
        raise Rejected(f"the nbgrader metadata of {where} is {_kind(nbg)}, not an object: {AGAIN}")
    for key, types in _NBGRADER_TYPES.items():
        value = nbg.get(key)
        if key not in nbg or value is None and key != "grade_id":
            continue
        if not isinstance(value, types) or isinstance(value, bool) != (bool in types) or value == "":
            raise Rejected(f"the nbgrader metadata of {where} has {key} = {str(value)[:40]!r} "
                           f"({_kind(value)}), which nbgrader never writes: {AGAIN}")


def read_notebook_text(path: Path, limits: Submission | None = None) -> dict:
    """Parse a submission file into a notebook dict, or raise :class:`Rejected`: the file's
    size first (``c.Submission.max_notebook_mb``), then its text, its JSON (depth, numbers,
    Unicode) and the shape of its cells (``c.Submission.max_cell_mb`` per source)."""
    limits = limits or submission_limits()
    raw = _read_capped(path, limits)
    if not raw.strip():
        raise Rejected("the file is empty (0 bytes of notebook): was it saved before uploading?")
    data = _decode(raw)
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        what = f"{_kind(data)}, not a notebook" if not isinstance(data, dict) else "without notebook cells"
        raise Rejected(f"not a Jupyter notebook: valid JSON, but {what}; {AGAIN}")
    _check_json(data, limits)
    if not isinstance(data.get("metadata", {}), dict) or \
            not isinstance(data.get("nbformat", 4), int) or isinstance(data.get("nbformat"), bool):
        raise Rejected(f"the notebook's nbformat or metadata is not what Jupyter writes: {AGAIN}")
    if "cells" in data:
        _check_cells(data["cells"], limits)
    elif not isinstance(data["worksheets"], list) or not all(
            isinstance(w, dict) and isinstance(w.get("cells", []), list) for w in data["worksheets"]):
        raise Rejected(f"the notebook's worksheets are not a list of worksheets: {AGAIN}")
    return data


def load_submission(path: Path, assignment: str, limits: Submission | None = None
                    ) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read and repair a submitted notebook; returns (notebook, notes) or raises :class:`Rejected`.

    All of it runs under the time budget ``c.Submission.seconds`` (:mod:`grader.budget`)."""
    limits = limits or submission_limits()
    try:
        with Budget(limits.seconds) as budget:
            return _load(path, assignment, limits, budget)
    except OverBudget as e:
        raise Rejected(f"the grader stopped {e.step}: it took longer than the budget of "
                       f"{e.seconds:g} s (c.Submission.seconds), while a notebook saved by "
                       f"Jupyter takes well under a second; {AGAIN}") from None


def _load(path: Path, assignment: str, limits: Submission, budget: Budget
          ) -> tuple[nbformat.NotebookNode, list[str]]:
    budget.step = "reading the file"
    data = read_notebook_text(path, limits)
    notes: list[str] = []
    major, minor = data.get("nbformat"), data.get("nbformat_minor", 0)
    budget.step = "converting the notebook"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as e:  # nbformat raises a variety of errors on broken files
        raise Rejected(f"not a readable Jupyter notebook ({type(e).__name__}: {str(e)[:200]})") from None
    if "cells" not in data:  # converted from nbformat 3: check the cells it made
        _check_cells(nb.cells, limits)
    if major != 4 or minor < 5:
        notes.append(f"notebook format {major}.{minor} upgraded to 4.5 (cell ids added)")
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:
        if "id" not in cell or not cell.get("id"):
            cell["id"] = random_cell_id()
        cell.setdefault("metadata", {})
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    budget.step = "validating the notebook"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = "/".join(str(p) for p in list(e.absolute_path)[:6]) or "the notebook"
        raise Rejected(f"not a valid Jupyter notebook at {where}: {str(e.message)[:200]}; "
                       f"{AGAIN}") from None
    if "colab" in nb.metadata or any("colab" in c.metadata or "outputId" in c.metadata
                                     for c in nb.cells):
        notes.append("saved by Google Colab: Colab metadata and stored outputs ignored")
    budget.step = "matching the notebook against the release"
    release = release_cells(assignment)
    other = _other_chapter(nb.cells, assignment)
    if other is not None:
        raise Rejected(f"this is the notebook of {other}, not the notebook of {assignment} "
                       f"(its test cells are those of {other}). Submit the notebook of "
                       f"{assignment}.")
    budget.step = "repairing the notebook"
    nb.cells = _repair(nb.cells, release, assignment, notes)
    nbformat.validate(nb)
    return nb, notes


# -- which chapter a notebook is ---------------------------------------------------
# Cell ids (cell-NNN) and grade ids (ex6-train-tests) repeat across chapters, so
# the chapter is told by content: the locked test cells of each release, which
# students do not edit (and which stay when Colab or a copy strips the metadata).

CLEAR_FIT = 0.5  # another chapter must fit at least this well, and this much better
_TESTS_CACHE: dict[Path, tuple[int, list[str]]] = {}


def _release_tests(path: Path) -> list[str]:
    """The normalised sources of a release notebook's locked test cells (cached)."""
    mtime = path.stat().st_mtime_ns
    if path not in _TESTS_CACHE or _TESTS_CACHE[path][0] != mtime:
        cells = nbformat.read(path, as_version=4).cells
        _TESTS_CACHE[path] = (mtime, [_norm(_source(c)) for c in cells
                                      if _nbg(c).get("locked") and c.cell_type == "code"])
    return _TESTS_CACHE[path][1]


def chapter_fits(cells) -> dict[str, float]:
    """{assignment: share of its release's locked test cells found, unedited, among ``cells``}
    for every chapter of notebooks/."""
    have = {_norm(_public(_source(c))) for c in cells if c.get("cell_type") == "code"}
    fits = {}
    for path in sorted(NOTEBOOKS.glob("*/*.ipynb")):
        checkpoint()
        try:
            tests = _release_tests(path)
        except (OSError, ValueError):  # being rebuilt beside us: not a candidate
            continue
        if tests:
            fits[path.stem] = sum(t in have for t in tests) / len(tests)
    return fits


def _other_chapter(cells, assignment: str) -> str | None:
    """The chapter ``cells`` clearly belong to when it is not ``assignment`` (else None)."""
    fits = chapter_fits(cells)
    own = fits.pop(assignment, 0.0)
    if not fits:
        return None
    other, best = max(fits.items(), key=lambda kv: kv[1])
    return other if best >= CLEAR_FIT and best >= own + CLEAR_FIT else None


def _which_chapter(cells) -> str | None:
    """The chapter whose test cells ``cells`` share most (None: none at all)."""
    fits = chapter_fits(cells)
    best = max(fits.items(), key=lambda kv: kv[1], default=(None, 0.0))
    return best[0] if best[1] > 0 else None


def _repair(cells: list, release: list, assignment: str, notes: list[str]) -> list:
    graded = [c for c in release if _nbg(c).get("grade_id")]
    by_id = {_nbg(c)["grade_id"]: c for c in graded}
    release_ids = {c.get("id"): _nbg(c)["grade_id"] for c in graded}

    # 1. Cells claiming a grade id: unknown ids lose it, duplicates keep only the first.
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        checkpoint()
        gid = _nbg(cell).get("grade_id")
        if gid is None:
            continue
        if gid not in by_id:
            del cell.metadata["nbgrader"]
            continue
        if gid in seen:
            notes.append(f"cell {gid} appears more than once: the first copy is graded, "
                         "the others run as ordinary cells")
            del cell.metadata["nbgrader"]
        else:
            seen[gid] = i
    if not seen and graded:
        # 2. No nbgrader metadata at all: recover it (nbgrader issue #1398) or reject.
        recovered = _recover(cells, graded, release_ids)
        tests = [_nbg(c)["grade_id"] for c in graded if _nbg(c).get("locked")]
        if sum(gid in recovered for gid in tests) < max(1, len(tests) // 2):
            other = _which_chapter(cells)
            where = f": it is {other}" if other and other != assignment else ""
            raise Rejected(f"this is not the notebook of {assignment}{where}; none of its "
                           "exercises were found. Submit the notebook of this chapter.")
        notes.append(f"cell metadata recovered by matching against the release "
                     f"({len(recovered)} of {len(graded)} graded cells found)")
        seen = recovered

    # 3. Authoritative metadata; edited test cells are noted (OverwriteCells restores them).
    for gid, i in seen.items():
        cell, ref = cells[i], by_id[gid]
        if cell.cell_type != ref.cell_type:
            notes.append(f"cell {gid} was changed to {cell.cell_type}; graded as {ref.cell_type}")
            cells[i] = cell = _as_type(cell, ref.cell_type)
        edited = sorted(k for k in ("points", "locked", "grade", "solution")
                        if k in _nbg(cell) and _nbg(cell).get(k) != _nbg(ref).get(k))
        if edited:
            notes.append(f"nbgrader metadata of cell {gid} was edited ({', '.join(edited)}): "
                         "the release's was used")
        cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
        for key in ("editable", "deletable"):
            if key in ref.metadata:
                cell.metadata[key] = ref.metadata[key]
        if _nbg(ref).get("locked") and _norm(_public(_source(cell))) != _norm(_source(ref)):
            notes.append(f"test cell {gid} was edited: the original was restored before grading")

    # 4. Release order, missing cells put back.
    order = [_nbg(c)["grade_id"] for c in graded]
    present = [gid for gid in order if gid in seen]
    if [g for g in sorted(seen, key=seen.get)] != present:
        notes.append("graded cells were out of order: put back in the release's order")
    missing = [gid for gid in order if gid not in seen]
    for gid in missing:
        kind = "solution" if _nbg(by_id[gid]).get("solution") else "test"
        what = "the stub was put back (0 points)" if kind == "solution" else "it was put back"
        notes.append(f"{kind} cell {gid} was missing: {what}")
    return _reassemble(cells, seen, order, by_id)


def _as_type(cell, cell_type: str):
    new = copy.deepcopy(cell)
    new.cell_type = cell_type
    if cell_type == "code":
        new.setdefault("outputs", [])
        new.setdefault("execution_count", None)
    else:
        new.pop("outputs", None)
        new.pop("execution_count", None)
    return new


def _reassemble(cells: list, seen: dict[str, int], order: list[str], by_id: dict) -> list:
    """Graded cells in the release's order, each followed by the student's cells that
    followed it; missing graded cells come from the release."""
    anchored: dict[str | None, list] = {None: []}
    anchor = None
    for i, cell in enumerate(cells):
        gid = _nbg(cell).get("grade_id")
        if gid is not None and seen.get(gid) == i:
            anchor = gid
            anchored[gid] = []
            continue
        anchored[anchor].append(cell)
    out = list(anchored[None])
    for gid in order:
        if gid in seen:
            out.append(cells[seen[gid]])
        else:
            ref = copy.deepcopy(by_id[gid])
            ref["id"] = random_cell_id()
            out.append(ref)
        out += anchored.get(gid, [])
    return out


def _similar(cell, ref) -> bool:
    """Whether ``cell`` can be the student's version of the release cell ``ref``: a test
    cell unedited or nearly so, a solution cell starting as the stub does or close to it."""
    src, want = _norm(_public(_source(cell))), _norm(_source(ref))
    if _nbg(ref).get("locked"):
        return src == want or _ratio(src, want, 0.8) >= 0.8
    head = want.splitlines()[:1]
    return (bool(head) and src.splitlines()[:1] == head) or _ratio(src, want, 0.35) >= 0.35


def _ratio(a: str, b: str, needed: float) -> float:
    """difflib's similarity of ``a`` and ``b``, or 0.0 when it cannot reach ``needed``:
    sources of very different lengths are told apart from their lengths alone, so a
    huge cell is never compared character by character (that costs len(a) x len(b))."""
    checkpoint()
    matcher = difflib.SequenceMatcher(None, a, b)
    return matcher.ratio() if matcher.real_quick_ratio() >= needed else 0.0


def _recover(cells: list, graded: list, release_ids: dict) -> dict[str, int]:
    """Find the release's graded cells in a notebook without nbgrader metadata."""
    found: dict[str, int] = {}
    taken: set[int] = set()
    refs = {_nbg(c)["grade_id"]: c for c in graded}
    # By cell id (Jupyter keeps ids; Colab keeps them when it keeps the file's cells),
    # confirmed by the source: every chapter numbers its cells cell-001, cell-002, ...
    for i, cell in enumerate(cells):
        checkpoint()
        gid = release_ids.get(cell.get("id"))
        if gid and gid not in found and cell.cell_type == "code" and _similar(cell, refs[gid]):
            found[gid], _ = i, taken.add(i)
    # Locked cells by exact source.
    for ref in graded:
        gid = _nbg(ref)["grade_id"]
        if gid in found or not _nbg(ref).get("locked"):
            continue
        for i, cell in enumerate(cells):
            checkpoint()
            if i not in taken and _norm(_public(_source(cell))) == _norm(_source(ref)):
                found[gid], _ = i, taken.add(i)
                break
    # Solution cells: the most similar unclaimed code cell before their test cell.
    for k, ref in enumerate(graded):
        gid = _nbg(ref)["grade_id"]
        if gid in found or _nbg(ref).get("locked"):
            continue
        nxt = graded[k + 1] if k + 1 < len(graded) else None
        limit = found.get(_nbg(nxt)["grade_id"], len(cells)) if nxt is not None else len(cells)
        best, best_ratio = None, 0.35
        head = _source(ref).strip().splitlines()[:1]
        for i in range(limit):
            cell = cells[i]
            if i in taken or cell.cell_type != "code":
                continue
            bonus = 0.5 if head and _source(cell).strip().splitlines()[:1] == head else 0.0
            ratio = _ratio(_source(cell), _source(ref), best_ratio - bonus) + bonus
            if ratio > best_ratio:
                best, best_ratio = i, ratio
        if best is not None:
            found[gid], _ = best, taken.add(best)
    return found


# --- the kernel side of the integrity guard (see the module docstring) ----------------

# Compiled in the kernel with globals of its own (a private copy of the builtins, so
# neither a patched builtin nor a global of the notebook shadows what it calls) and
# a file name that does not look like notebook code.
_RESTORE = "__import__('sys').__dict__[%r](%r, %r)"
_GUARD_SOURCE = r'''
RESTORE = __RESTORE__
def install(name, key, modules, aliases, ip):
    import builtins, hashlib, importlib, sys, threading
    sha256, getframe, sysdict = hashlib.sha256, sys._getframe, vars(sys)
    kernel = getattr(ip, "kernel", None)
    evaluator = type(ip).user_expressions.__code__
    mods = {}
    for m in modules:
        try:
            mods[m] = importlib.import_module(m)
        except Exception:
            pass
    def attrs(obj):
        try:
            return dict(vars(obj))
        except TypeError:
            return {}
    itm, compiler = ip.input_transformer_manager, ip.compile
    snap_mod = {n: attrs(m) for n, m in mods.items()}
    classes = {c for obj in (ip, kernel, compiler, itm, sys.stdout, sys.stderr) if obj is not None
               for c in type(obj).__mro__ if c is not object}
    if "torch" in mods:
        classes.add(mods["torch"].Tensor)
    snap_cls = {c: attrs(c) for c in classes}
    snap_builtins = dict(vars(builtins))
    # Dicts whose entries are snapshotted by value (identity): instance attributes of
    # the shell, the kernel, the compiler and the input transformer manager, their
    # traitlets, and the kernel's message handlers.
    dicts = []
    for label, obj in (("shell", ip), ("kernel", kernel), ("shell.compile", compiler),
                       ("shell.input_transformer_manager", itm)):
        if obj is not None:
            dicts.append((label, vars(obj)))
            if isinstance(getattr(obj, "_trait_values", None), dict):
                dicts.append((label, obj._trait_values))
    for attr in ("shell_handlers", "control_handlers"):
        if isinstance(getattr(kernel, attr, None), dict):
            dicts.append(("kernel." + attr, getattr(kernel, attr)))
    snap_dicts = [(label, d, dict(d)) for label, d in dicts]
    lists = {label: (lst, list(lst)) for label, lst in (
        ("ast_transformers", ip.ast_transformers), ("input_transformers_post", ip.input_transformers_post),
        ("input_transformers_cleanup", ip.input_transformers_cleanup),
        ("line_transforms", getattr(itm, "line_transforms", [])),
        ("token_transformers", getattr(itm, "token_transformers", [])))}
    hooks = (sys.excepthook, sys.displayhook, sys.stdout, sys.stderr)
    trusted = ("ipykernel", "IPython", "matplotlib", "matplotlib_inline", "dlcourse", "torch",
               "numpy", "comm", "jupyter_client", "tqdm", "traitlets", "d2l")
    def module_of(f):
        return getattr(f, "__module__", None) or getattr(type(f), "__module__", "") or ""
    def user_made(f):
        """Defined by notebook code (a cell, exec'd text, a class of the notebook)."""
        f = getattr(f, "func", f)  # functools.partial
        code = getattr(getattr(f, "__func__", f), "__code__", None)
        return module_of(f) == "__main__" or (code is not None and (
            not code.co_filename.startswith("/") or "ipykernel_" in code.co_filename))
    def foreign(new):
        """Notebook code, or a callable that neither the libraries nor the kernel made."""
        mod = module_of(new)
        return user_made(new) or (callable(new) and not (isinstance(mod, str)
                                                          and mod.startswith(trusted)))
    def patched(old, new):
        """Changed by notebook code (not by the libraries themselves, e.g. ipykernel's input)."""
        if new is old:
            return False
        mod = module_of(new)
        return user_made(new) or not isinstance(mod, str) or not mod.startswith(trusted)
    def expected(code, nonce, full):
        """The code object calling the guard is the grader's own expression."""
        ref = compile(RESTORE % (name, nonce, full), "<dlgrader>", "eval", dont_inherit=True)
        return (code.co_code, code.co_consts, code.co_names) == (ref.co_code, ref.co_consts,
                                                                 ref.co_names)
    def restore(nonce, full):
        changed, intact = [], True
        try:
            if full:
                put_back(changed)
            caller = getframe(1)
            intact = (sysdict.get(name) is restore and caller.f_back is not None
                      and caller.f_back.f_code is evaluator and expected(caller.f_code, nonce, full))
        except BaseException:
            intact = False
        body = "\x1f".join(sorted(set(changed)))
        flag = "ok" if intact else "replaced"
        mac = sha256((key + nonce + flag + body).encode()).hexdigest()
        return "%s %s %s %s" % (nonce, mac, flag, body)
    def put_back(changed):
        """Restore what notebook code patched, appending a name for each to ``changed``."""
        b = vars(builtins)
        for k, v in snap_builtins.items():
            if patched(v, b.get(k)):
                b[k] = v
                changed.append("builtins." + k)
        for n, m in mods.items():
            if sys.modules.get(n) is not m:
                sys.modules[n] = m
                changed.append("sys.modules[%r]" % n)
            d = vars(m)
            for k, v in snap_mod[n].items():
                if patched(v, d.get(k)):
                    try:
                        setattr(m, k, v)
                    except Exception:
                        d[k] = v
                    changed.append(n + "." + k)
        for c, s in snap_cls.items():
            for k, v in s.items():
                if patched(v, c.__dict__.get(k)):
                    try:
                        setattr(c, k, v)
                        changed.append(c.__name__ + "." + k)
                    except Exception:
                        pass
            for k in [k for k, v in c.__dict__.items() if k not in s and user_made(v)]:
                try:
                    delattr(c, k)
                    changed.append(c.__name__ + "." + k)
                except Exception:
                    pass
        for label, d, s in snap_dicts:
            for k, v in s.items():
                new = d.get(k, v)
                if new is not v and foreign(new):
                    d[k] = v
                    changed.append("%s.%s" % (label, k))
            for k in [k for k, v in d.items() if k not in s and foreign(v)]:
                del d[k]
                changed.append("%s.%s" % (label, k))
        for label, (lst, s) in lists.items():
            bad = [t for t in lst if not any(t is o for o in s) and (
                foreign(t) or user_made(getattr(t, "visit", None)))]
            for t in bad:
                lst.remove(t)
                changed.append("an IPython input/AST transformer")
        for event, cbs in ip.events.callbacks.items():
            for f in [f for f in cbs if foreign(f)]:
                cbs.remove(f)
                changed.append("an IPython %s hook" % event)
        if ip.custom_exceptions:
            ip.set_custom_exc((), None)
            changed.append("a custom exception handler")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            changed.append("a trace function")
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        if (sys.excepthook, sys.displayhook, sys.stdout, sys.stderr) != hooks:
            sys.excepthook, sys.displayhook, sys.stdout, sys.stderr = hooks
            changed.append("sys.excepthook")
        ns = ip.user_ns
        for alias, mod in aliases.items():
            if alias in ns and mod in mods and ns[alias] is not mods[mod]:
                ns[alias] = mods[mod]
                changed.append("the name " + alias)
    return restore
'''

_BOOT = r'''
import builtins, sys
from IPython import get_ipython
g = {"__builtins__": dict(vars(builtins)), "__name__": "dlgrader_guard"}
exec(compile(__SOURCE__, "/dlgrader/guard.py", "exec", dont_inherit=True), g)
vars(sys)[__NAME__] = g["install"](__NAME__, __KEY__, __MODULES__, __ALIASES__, get_ipython())
status = "installed"
'''


def guard_install_expression(name: str, key: str, modules: list[str], aliases: dict[str, str]) -> str:
    """The expression that installs the guard under the name ``name`` of ``sys`` with the
    report key ``key`` (both per notebook), evaluated before the notebook's first cell
    as a ``user_expressions`` entry, like every check after it (so the install sees
    the kernel in the state the checks will: outside a cell's builtin and input traps).
    It evaluates to "installed"."""
    source = _GUARD_SOURCE.replace("__RESTORE__", repr(_RESTORE))
    values = {"__SOURCE__": repr(source), "__NAME__": repr(name), "__KEY__": repr(key),
              "__MODULES__": repr(modules), "__ALIASES__": repr(aliases)}
    boot = re.sub("|".join(values), lambda m: values[m.group(0)], _BOOT)
    return f"[__import__('builtins').exec({boot!r}, g := {{}}), g.get('status')][1]"


def guard_restore_expression(name: str, nonce: str, full: bool = True) -> str:
    """The expression the grader has the kernel evaluate before each test cell (``full``:
    restore, then check) and after every code cell (only check that the guard is still
    in place and called as it should be), as a ``user_expressions`` entry of an empty
    execute request: evaluated by IPython with ``eval``, it bypasses the input and AST
    transformers and the compiler that the notebook may have replaced (the guard checks
    that it is called from exactly this expression)."""
    return _RESTORE % (name, nonce, bool(full))


def guard_report(reply: dict, key: str, nonce: str) -> list[str] | None:
    """What the guard restored, from the ``user_expressions`` entry of the kernel's reply;
    None when the report is missing, forged, or says the guard was replaced or bypassed."""
    import ast
    import hashlib
    import hmac

    try:
        line = ast.literal_eval(reply["data"]["text/plain"])
        got_nonce, mac, flag, body = line.split(" ", 3)
    except (KeyError, TypeError, ValueError, SyntaxError, AttributeError):
        return None
    want = hashlib.sha256((key + nonce + flag + body).encode()).hexdigest()
    if got_nonce != nonce or flag != "ok" or not hmac.compare_digest(mac.encode(), want.encode()):
        return None
    return [c for c in body.split("\x1f") if c]
