"""The class report of one assignment, for the instructor.

``var/reports/<assignment>/`` gets:

- ``report.md`` (and the same as ``report.html``): the score summary, the pass
  rate of every exercise with its most common failure, the slowest test cells,
  and every submission that needed special handling, with the grader's notes;
- ``scores.png``: the histogram of the scores.

It reads the same records as the feedback pages (:func:`grader.feedback.sheet`):
the gradebook for points, the grader's results for statuses, messages, timings
and notes.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .course import var_dir
from .feedback import Sheet, graded_students, sheet
from .gradebook import open_gradebook

SLOWEST = 10


@dataclass
class ExerciseStats:
    name: str
    max_score: float
    attempts: int
    passed: int
    statuses: Counter
    common_failure: str          # the most frequent message among the failures ("" if none)
    median_seconds: float | None

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0


def sheets(assignment: str) -> list[Sheet]:
    """Every graded submission of the assignment."""
    with open_gradebook() as gb:
        found = [sheet(assignment, s, gb) for s in graded_students(assignment, gb)]
    return [s for s in found if s is not None]


def exercise_stats(all_sheets: list[Sheet]) -> list[ExerciseStats]:
    """Per exercise, in notebook order, over the graded submissions (rejected files and
    grader errors are in :func:`special_handling`): pass rate, statuses, commonest
    failure, median time."""
    by_name: dict[str, list] = {}
    for s in all_sheets:
        if s.status != "graded":
            continue
        for ex in s.exercises:
            by_name.setdefault(ex.grade_id, []).append(ex)
    stats = []
    for gid, exs in by_name.items():
        failures = Counter(ex.message for ex in exs if ex.status != "passed" and ex.message)
        times = [ex.seconds for ex in exs if ex.seconds is not None]
        stats.append(ExerciseStats(
            name=exs[0].name, max_score=max(ex.max_score for ex in exs), attempts=len(exs),
            passed=sum(ex.status == "passed" for ex in exs),
            statuses=Counter(ex.status for ex in exs),
            common_failure=failures.most_common(1)[0][0] if failures else "",
            median_seconds=statistics.median(times) if times else None))
    return stats


def slowest_cells(all_sheets: list[Sheet], n: int = SLOWEST) -> list[tuple[float, str, str, str]]:
    """The n slowest graded cells over all submissions: (seconds, student, exercise, status)."""
    timed = [(ex.seconds, s.student, ex.name, ex.status)
             for s in all_sheets for ex in s.exercises if ex.seconds is not None]
    return sorted(timed, reverse=True)[:n]


def special_handling(all_sheets: list[Sheet]) -> list[Sheet]:
    """Submissions the grader did not simply grade: rejected, errored, or with notes."""
    return [s for s in all_sheets if s.status != "graded" or s.notes]


def histogram(all_sheets: list[Sheet], dest: Path, title: str) -> Path:
    """Save the histogram of the final scores (one bar per point) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scores = [s.final_score for s in all_sheets if s.status == "graded"]
    top = max((s.max_score for s in all_sheets), default=1.0) or 1.0
    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bins = [x - 0.5 for x in range(int(top) + 2)]
    ax.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("submissions")
    ax.set_title(title)
    ax.set_xlim(-0.5, top + 0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest)
    return dest


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _cell(text: str, width: int = 120) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[:width] + " ..."


def markdown(assignment: str, all_sheets: list[Sheet], png_name: str) -> str:
    graded = [s for s in all_sheets if s.status == "graded"]
    scores = [s.final_score for s in graded]
    top = max((s.max_score for s in all_sheets), default=0.0)
    counts = Counter(s.status for s in all_sheets)
    out = [f"# Class report: {assignment}", ""]
    out.append(f"{len(all_sheets)} submission(s): " + ", ".join(
        f"{counts[k]} {k}" for k in ("graded", "rejected", "error") if counts[k]) + ".")
    if scores:
        full = sum(sc >= top for sc in scores)
        out.append(f"Scores of the graded ones, out of {_num(top)}: mean {_num(statistics.mean(scores))}, "
                   f"median {_num(statistics.median(scores))}, min {_num(min(scores))}, "
                   f"max {_num(max(scores))}; {full} with full marks, "
                   f"{sum(sc == 0 for sc in scores)} with 0.")
    out += ["", f"![Score histogram]({png_name})", ""]

    out += ["## Exercises", "", f"Over the {len(graded)} graded submission(s); a pass is full points.", "",
            "| exercise | points | pass rate | not passed (by result) | median s | most common failure |",
            "|---|---:|---:|---|---:|---|"]
    for st in exercise_stats(all_sheets):
        others = ", ".join(f"{n} {k}" for k, n in st.statuses.most_common() if k != "passed") or "-"
        secs = _num(st.median_seconds) if st.median_seconds is not None else "-"
        out.append(f"| {st.name} | {_num(st.max_score)} | {st.pass_rate:.0%} ({st.passed}/{st.attempts}) "
                   f"| {others} | {secs} | {_cell(st.common_failure) or '-'} |")

    out += ["", f"## Slowest test cells (top {SLOWEST})", ""]
    slow = slowest_cells(all_sheets)
    if slow:
        out += ["| seconds | student | exercise | result |", "|---:|---|---|---|"]
        out += [f"| {sec:.2f} | {stu} | {ex} | {status} |" for sec, stu, ex, status in slow]
    else:
        out.append("No timings recorded.")
    timed = [s for s in all_sheets if s.seconds]
    if timed:
        slowest = max(timed, key=lambda s: s.seconds)
        out += ["", f"Whole submissions: median {_num(statistics.median(s.seconds for s in timed))} s, "
                    f"slowest {_num(slowest.seconds)} s ({slowest.student})."]
        mem = [s for s in all_sheets if s.peak_memory_mb]
        if mem:
            big = max(mem, key=lambda s: s.peak_memory_mb)
            out[-1] += f" Peak memory up to {big.peak_memory_mb:.0f} MB ({big.student})."

    out += ["", "## Special handling", ""]
    special = special_handling(all_sheets)
    if special:
        out += ["| student | status | score | why |", "|---|---|---:|---|"]
        for s in special:
            why = "; ".join(s.notes) or "(no notes)"
            out.append(f"| {s.student} | {s.status} | {_num(s.final_score)} | {_cell(why, 300)} |")
    else:
        out.append("None: every submission was graded as handed in.")
    return "\n".join(out) + "\n"


def report_dir(assignment: str) -> Path:
    return var_dir() / "reports" / assignment


def write_report(assignment: str) -> dict[str, Path]:
    """Write report.md, report.html and scores.png; returns {"md", "html", "png"} paths."""
    import mistune

    all_sheets = sheets(assignment)
    if not all_sheets:
        raise SystemExit(f"no graded submissions of {assignment} in {var_dir()}; run autograde first")
    dest = report_dir(assignment)
    png = histogram(all_sheets, dest / "scores.png", f"{assignment}: {len(all_sheets)} submission(s)")
    md = markdown(assignment, all_sheets, png.name)
    (dest / "report.md").write_text(md)
    body = mistune.create_markdown(escape=True, plugins=["table"])(md)
    (dest / "report.html").write_text(
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Class report: {assignment}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;"
        "text-align:left}</style></head><body>\n" + body + "</body></html>\n")
    return {"md": dest / "report.md", "html": dest / "report.html", "png": png}
