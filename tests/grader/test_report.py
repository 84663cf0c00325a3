"""The class report of a real graded class."""
from classroom import CHAPTER
from grader.cli import main
from grader.report import exercise_stats, sheets, slowest_cells, special_handling, write_report


def test_report_files(class_var):
    paths = write_report(CHAPTER)
    assert paths["md"].parent == class_var / "reports" / CHAPTER
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    md = paths["md"].read_text()
    assert "![Score histogram](scores.png)" in md
    assert "<img src=\"scores.png\"" in paths["html"].read_text()
    for section in ("## Exercises", "## Slowest test cells", "## Special handling"):
        assert section in md


def test_pass_rates(class_var, graded_class):
    stats = {st.name: st for st in exercise_stats(sheets(CHAPTER))}
    assert len(stats) == 6
    # over the graded submissions (not the rejected one): full passes everything,
    # partial ex1 and ex3, untouched nothing
    assert stats["ex1-synthetic-data"].passed == 2 and stats["ex3-linreg"].passed == 2
    assert stats["ex2-data-iter"].passed == 1 and stats["ex6-train"].passed == 1
    assert all(st.attempts == 3 for st in stats.values())
    assert stats["ex1-synthetic-data"].pass_rate == 2 / 3
    assert stats["ex4-squared-loss"].common_failure.startswith(("squared_loss should return", "not answered yet"))


def test_slowest_cells_are_sorted(class_var):
    slow = slowest_cells(sheets(CHAPTER))
    assert slow and [s[0] for s in slow] == sorted((s[0] for s in slow), reverse=True)


def test_special_handling_lists_the_rejected_file(class_var):
    special = {s.student: s for s in special_handling(sheets(CHAPTER))}
    assert "garbage" in special and special["garbage"].status == "rejected"
    md = write_report(CHAPTER)["md"].read_text()
    assert "| garbage | rejected |" in md


def test_report_verb(class_var, capsys):
    assert main(["report"]) == 0
    assert "report.html" in capsys.readouterr().out
