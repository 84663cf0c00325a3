"""The results table: one ``Row`` per figure, rendered as Markdown (printed and saved)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Row", "verdict", "from_dict", "render", "ratio", "seconds"]

MET, NOT_MET = "met", "**not met**"


@dataclass
class Row:
    """One line of the table.

    ``row``: its number in the issue ("1", "2 ch3" ...); ``what``: what is measured;
    ``course`` and ``reference``: the two sides' figures (the reference is the
    peer measured in the same run); ``result``: the ratio or share; ``goal``;
    ``status``: met / not met / missing / not measured / n/a; ``notes``.
    """
    row: str
    what: str
    course: str = ""
    reference: str = ""
    result: str = ""
    goal: str = ""
    status: str = ""
    notes: str = ""


COLUMNS = {"row": "#", "what": "Benchmark", "course": "Course", "reference": "Reference (same run)",
           "result": "Result", "goal": "Goal", "status": "Status", "notes": "Notes"}


def verdict(ok: bool | None) -> str:
    """``met`` / ``not met`` / ``n/a`` (no goal to meet)."""
    return "n/a" if ok is None else (MET if ok else NOT_MET)


def ratio(reference: float, course: float) -> str:
    """``12.3x faster`` (or ``2.0x slower``) from two times."""
    if course <= 0:
        return "n/a"
    r = reference / course
    return f"{r:.1f}x faster" if r >= 1 else f"{1 / r:.1f}x slower"


def seconds(t: float) -> str:
    """A duration for the table: 3 significant digits, ms below a second."""
    return f"{t * 1000:.3g} ms" if t < 1 else f"{t:.3g} s"


def from_dict(d: dict[str, Any]) -> Row:
    """A row from another module's dict (bench.grading.rows()): known keys map to
    columns, any other key is appended to the notes as ``key: value``."""
    names = {f.name for f in fields(Row)}
    known = {k: str(v) for k, v in d.items() if k in names and v is not None}
    extra = [f"{k}: {v}" for k, v in d.items() if k not in names]
    if extra:
        known["notes"] = "; ".join(filter(None, [known.get("notes", ""), *extra]))
    known.setdefault("row", "4")
    known.setdefault("what", "autograding")
    return Row(**known)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row], header: dict[str, str] | None = None, title: str | None = None,
           notes: list[str] | None = None) -> str:
    """The Markdown text: an optional title, a bullet list of ``header`` facts, the table, notes."""
    out: list[str] = []
    if title:
        out += [f"### {title}", ""]
    if header:
        out += [f"- {k}: {v}" for k, v in header.items()] + [""]
    out.append("| " + " | ".join(COLUMNS.values()) + " |")
    out.append("|" + "|".join("---" for _ in COLUMNS) + "|")
    for r in rows:
        d = asdict(r)
        out.append("| " + " | ".join(_cell(d[k]) for k in COLUMNS) + " |")
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"
