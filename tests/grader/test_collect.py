"""grader.collect: file names to student ids, from a zip or a folder; nothing guessed;
copies downloaded again resolved to the newest; symbolic links never followed."""
from __future__ import annotations

import os
import stat
import zipfile

import pytest

from grader.cli import main
from grader.collect import DEFAULT_PATTERNS, collect, match, split_copy
from grader.course import solution_path

A = "01-linear-regression"


@pytest.mark.parametrize("name, student", [
    (f"alice_{A}.ipynb", "alice"),
    (f"bob.smith_{A}.ipynb", "bob.smith"),
    (f"Lastname_12345_678901_{A}.ipynb", "12345"),
    (f"van-der-Berg_4711_99_late_{A}.ipynb", "4711"),
    (f"Lastname_12345_678901_{A} (1).ipynb", "12345"),
    (f"carol/{A}.ipynb", "carol"),
    (f"downloads/dave/{A}.ipynb", "dave"),
    (f"bob_{A} (1).ipynb", "bob"),
    (f"bob_{A}(2).ipynb", "bob"),
    (f"bob_{A} (12).ipynb", "bob"),
    (f"carol/{A} (1).ipynb", "carol"),
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


def test_split_copy():
    assert split_copy(f"bob_{A} (3).ipynb") == (f"bob_{A}.ipynb", 3)
    assert split_copy(f"bob_{A}(2).ipynb") == (f"bob_{A}.ipynb", 2)
    assert split_copy(f"bob_{A}.ipynb") == (f"bob_{A}.ipynb", 0)
    assert split_copy("bob (1)/x.txt") == ("bob (1)/x.txt", 0)


def _notebook(path, text, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_copies_downloaded_again_keep_the_newest(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    folder, t = tmp_path / "downloads", 1_700_000_000
    _notebook(folder / f"bob_{A}.ipynb", "first", t)
    _notebook(folder / f"bob_{A} (1).ipynb", "newest", t + 60)
    _notebook(folder / f"bob_{A}(2).ipynb", "second", t + 30)
    _notebook(folder / f"carol_{A} (1).ipynb", "carol-1", t)   # equal times: the highest N
    _notebook(folder / f"carol_{A} (2).ipynb", "carol-2", t)
    _notebook(folder / f"dave_{A} (1).ipynb", "only copy", t)  # a copy alone is collected
    assert main(["collect", A, str(folder)]) == 0  # skipped copies are not an error
    submitted = var / "submitted"
    assert (submitted / "bob" / A / f"{A}.ipynb").read_text() == "newest"
    assert (submitted / "carol" / A / f"{A}.ipynb").read_text() == "carol-2"
    assert (submitted / "dave" / A / f"{A}.ipynb").read_text() == "only copy"
    out = capsys.readouterr().out
    assert f"collected bob / {A}  <- bob_{A} (1).ipynb" in out
    for older in (f"bob_{A}.ipynb", f"bob_{A}(2).ipynb", f"carol_{A} (1).ipynb"):
        assert f"skipped {older}: an older download of" in out
    assert "3 collected, 3 older copies skipped, 0 left out" in out


def test_copies_of_different_names_are_not_guessed(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    folder = tmp_path / "downloads"
    _notebook(folder / f"bob_{A} (1).ipynb", "a", 1_700_000_000)
    _notebook(folder / "bob" / f"{A}.ipynb", "b", 1_700_000_100)
    report = collect(folder, A)
    assert not report.collected and not report.skipped
    assert all("2 files for bob" in why for _, why in report.unmatched)


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """A downloads folder whose links point at the solution (a file and its folder)."""
    var = tmp_path / "var"
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    solution = solution_path(A)
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / f"mallory_{A}.ipynb").symlink_to(solution)             # a file link
    (folder / "trudy").symlink_to(solution.parent)                   # a folder link
    (folder / "eve").mkdir()
    (folder / "eve" / f"{A}.ipynb").symlink_to(solution)             # a link inside a folder
    (folder / f"oscar_{A} (1).ipynb").symlink_to(solution)           # a link as a newer copy
    _notebook(folder / f"oscar_{A}.ipynb", "oscar's own", 1_700_000_000)
    os.mkfifo(folder / f"walter_{A}.ipynb")                          # would block a plain read
    real = tmp_path / "elsewhere.ipynb"
    real.write_text("henry's work")
    os.link(real, folder / f"henry_{A}.ipynb")                       # a hard link: a real file
    return folder, var


def _no_solution_in(var):
    solution = solution_path(A).read_bytes()
    for f in (var / "submitted").rglob("*"):
        assert not f.is_symlink(), f
        if f.is_file():
            data = f.read_bytes()
            assert data != solution and b"BEGIN HIDDEN TESTS" not in data, f


def test_symbolic_links_are_never_followed(hostile, capsys):
    folder, var = hostile
    assert main(["collect", A, str(folder)]) == 1
    out = capsys.readouterr().out
    for name in (f"mallory_{A}.ipynb", "trudy", f"eve/{A}.ipynb", f"oscar_{A} (1).ipynb"):
        line = f"NOT COLLECTED {name}: skipped: a symbolic link (to {solution_path(A).parent}"
        assert line in out, name
    assert f"NOT COLLECTED walter_{A}.ipynb: skipped: not a regular file" in out
    submitted = var / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["henry", "oscar"]
    assert (submitted / "henry" / A / f"{A}.ipynb").read_text() == "henry's work"
    assert (submitted / "oscar" / A / f"{A}.ipynb").read_text() == "oscar's own"
    _no_solution_in(var)


def test_a_notebook_given_alone_is_not_followed_either(hostile, capsys):
    folder, var = hostile
    assert main(["collect", A, str(folder / f"mallory_{A}.ipynb")]) == 1
    assert "skipped: a symbolic link" in capsys.readouterr().out
    assert not (var / "submitted").exists()


def test_links_stored_in_a_zip_are_left_out(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    z = tmp_path / "lms.zip"
    with zipfile.ZipFile(z, "w") as f:
        link = zipfile.ZipInfo(f"mallory_{A}.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        f.writestr(link, str(solution_path(A)))
        f.writestr(f"gina_{A}.ipynb", "{}")
    report = collect(z, A)
    assert [s for s, _, _ in report.collected] == ["gina"]
    assert report.unmatched == [(f"mallory_{A}.ipynb", report.unmatched[0][1])]
    assert report.unmatched[0][1].startswith("skipped: a symbolic link")
    assert not (var / "submitted" / "mallory").exists()


def test_exchange_collect_never_follows_links(tmp_path, monkeypatch, capsys):
    """`collect --exchange` through nbgrader's real collect (grader/exchange_collect.py):
    submission folders written straight into inbound/, as any student can."""
    var, exchange = tmp_path / "var", tmp_path / "exchange"
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    monkeypatch.setenv("DLCOURSE_EXCHANGE", str(exchange))
    inbound = exchange / "dl-linear-mlp" / "inbound"
    inbound.mkdir(parents=True)
    exchange.chmod(0o777)
    solution = solution_path(A)

    def submission(student):
        folder = inbound / f"{student}+{A}+2024-05-01 10:00:00.000000 UTC"
        folder.mkdir()
        (folder / "timestamp.txt").write_text("2024-05-01 10:00:00.000000 UTC")
        return folder

    real = tmp_path / "alice-work.ipynb"
    real.write_text("alice's work")
    alice = submission("alice")
    os.link(real, alice / f"{A}.ipynb")                               # a hard link: copied
    (alice / "notes.ipynb").symlink_to(solution)                      # a link beside it
    (submission("mallory") / f"{A}.ipynb").symlink_to(solution)       # the notebook a link
    (submission("eve") / "data").symlink_to(solution.parent)          # a folder link inside
    (inbound / f"trudy+{A}+2024-05-01 10:00:00.000000 UTC").symlink_to(solution.parent)
    assert main(["collect", A, "--exchange"]) == 1
    out = capsys.readouterr().out
    for shown in ("notes.ipynb", f"mallory+{A}", "eve+", "trudy+"):
        assert any(shown in line and "skipped: a symbolic link" in line
                   for line in out.splitlines()), f"{shown} not reported in:\n{out}"
    assert "4 symbolic link(s) skipped" in out
    submitted = var / "submitted"
    assert (submitted / "alice" / A / f"{A}.ipynb").read_text() == "alice's work"
    assert not (submitted / "mallory" / A / f"{A}.ipynb").exists()
    assert not (submitted / "eve" / A / "data").exists()
    assert not (submitted / "trudy").exists()
    _no_solution_in(var)


def test_patterns_are_a_configurable_and_checked(tmp_path, monkeypatch, capsys):
    """c.Collect is a traitlets Configurable; an unusable pattern, in the configuration
    file or on the command line, stops collect with what is wrong (exit 2), before
    anything is copied."""
    from traitlets.config import Configurable

    from grader import config
    from grader.collect import Collect, configured_patterns

    assert issubclass(Collect, Configurable) and Collect().patterns == DEFAULT_PATTERNS
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"alice_{A}.ipynb").write_text("{}")
    own = tmp_path / "nbgrader_config.py"
    monkeypatch.setattr(config, "CONFIG", own)
    own.write_text("c = get_config()\nc.Collect.patterns = [r'^(?P<student>[a-z]+)-x\\.ipynb$']\n")
    assert configured_patterns() == [r"^(?P<student>[a-z]+)-x\.ipynb$"]
    own.write_text("c = get_config()\nc.Collect.patterns = [r'^(?P<who>[a-z]+)']\n")
    with pytest.raises(SystemExit) as stop:
        main(["collect", A, str(tmp_path / "in")])
    assert stop.value.code == 2
    assert "c.Collect.patterns: '^(?P<who>[a-z]+)' has no named group (?P<student>...)" in \
        capsys.readouterr().err
    for bad, why in [("(", "is not a regular expression"), ("abc", "has no named group")]:
        with pytest.raises(SystemExit) as stop:
            main(["collect", A, str(tmp_path / "in"), "--pattern", bad])
        assert stop.value.code == 2 and f"--pattern: {bad!r} {why}" in capsys.readouterr().err
    assert not (tmp_path / "var" / "submitted").exists()
