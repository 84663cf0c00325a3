"""grader.collect: file names to student ids, from a zip or a folder; nothing guessed."""
from __future__ import annotations

import zipfile

import pytest

from grader.cli import main
from grader.collect import DEFAULT_PATTERNS, collect, match

A = "01-linear-regression"


@pytest.mark.parametrize("name, student", [
    (f"alice_{A}.ipynb", "alice"),
    (f"bob.smith_{A}.ipynb", "bob.smith"),
    (f"Lastname_12345_678901_{A}.ipynb", "12345"),
    (f"van-der-Berg_4711_99_late_{A}.ipynb", "4711"),
    (f"Lastname_12345_678901_{A} (1).ipynb", "12345"),
    (f"carol/{A}.ipynb", "carol"),
    (f"downloads/dave/{A}.ipynb", "dave"),
])
def test_names_map_to_students(name, student):
    assert match(name, DEFAULT_PATTERNS) == (student, A)


@pytest.mark.parametrize("name, why", [
    (f"{A}.ipynb", "matches no pattern"),
    (f"Copy of {A}.ipynb", "matches no pattern"),
    ("alice_99-no-such-chapter.ipynb", "unknown assignment"),
    ("alice_notes.ipynb", "matches no pattern"),
])
def test_unmatched_names_say_why(name, why):
    got = match(name, DEFAULT_PATTERNS)
    assert isinstance(got, str) and why in got


def test_other_assignment_is_not_taken():
    other = "02-softmax-regression"
    got = match(f"alice_{other}.ipynb", [r"^(?P<student>[a-z]+)_(?P<assignment>.+)\.ipynb$"], A)
    assert isinstance(got, str)


def test_custom_pattern_without_assignment_group():
    assert match("hw-u123.ipynb", [r"^hw-(?P<student>u\d+)\.ipynb$"], A) == ("u123", A)


def test_zip_and_folder(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    z = tmp_path / "lms.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr(f"Doe_111_222_{A}.ipynb", "{}")
        f.writestr(f"Roe_333_444_{A}.ipynb", "{}")
        f.writestr(f"Roe_333_555_{A}.ipynb", "{}")  # two files for student 333: not guessed
        f.writestr("readme.txt", "ignored")
        f.writestr(f"__MACOSX/._Doe_111_222_{A}.ipynb", "junk")
        f.writestr("mystery.ipynb", "{}")
    report = collect(z, A)
    assert [(s, a) for s, a, _ in report.collected] == [("111", A)]
    left = dict(report.unmatched)
    assert "mystery.ipynb" in left and "no pattern" in left["mystery.ipynb"]
    assert sum("2 files for 333" in why for why in left.values()) == 2
    assert (var / "submitted" / "111" / A / f"{A}.ipynb").read_text() == "{}"
    assert (var / "submitted" / "111" / A / "timestamp.txt").is_file()
    assert not (var / "submitted" / "333").exists()

    folder = tmp_path / "colab"
    (folder / "erin").mkdir(parents=True)
    (folder / "erin" / f"{A}.ipynb").write_text("{}")
    (folder / f"frank_{A}.ipynb").write_text("{}")
    report = collect(folder)
    assert sorted(s for s, _, _ in report.collected) == ["erin", "frank"]
    assert not report.unmatched


def test_cli_reports_and_fails_on_left_out_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"gina_{A}.ipynb").write_text("{}")
    (folder / f"Copy of {A}.ipynb").write_text("{}")
    assert main(["collect", A, str(folder)]) == 1
    out = capsys.readouterr().out
    assert "collected gina" in out and f"NOT COLLECTED Copy of {A}.ipynb" in out
    assert main(["collect", A, str(folder), "--pattern", r"^(?P<student>gina)_"]) == 1
