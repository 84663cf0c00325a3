"""grader.cli: an unknown assignment id is a usage error (exit status 2) in every verb,
and the message names the real ids."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from grader.cli import build_parser, main
from grader.course import ROOT, assignments, tool_env

A = "01-linear-regression"
TYPO = "01-linear"
# A call of every verb that takes assignment ids, with the typo in each place an id goes.
CALLS = {
    "build": ["build", TYPO],
    "validate": ["validate", TYPO],
    "demo": ["demo", TYPO],
    "release": ["release", TYPO],
    "release --feedback": ["release", TYPO, "--feedback"],
    "collect FOLDER": ["collect", TYPO, "{tmp}"],
    "collect --exchange": ["collect", TYPO, "--exchange"],
    "collect (no source)": ["collect", TYPO],
    "autograde": ["autograde", TYPO],
    "autograde (second id)": ["autograde", A, TYPO],
    "feedback": ["feedback", TYPO],
    "export": ["export", TYPO],
    "report": ["report", TYPO],
}


def test_every_verb_that_takes_assignment_ids_is_tested():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    takes_ids = {verb for verb, p in sub.choices.items() if any(
        a.dest.startswith("assignment") and not a.option_strings for a in p._actions)}
    assert takes_ids == {argv[0] for argv in CALLS.values()}


@pytest.mark.parametrize("name", CALLS)
def test_unknown_assignment_is_a_usage_error(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    with pytest.raises(SystemExit) as exit_:
        main([arg.format(tmp=tmp_path) for arg in CALLS[name]])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert f"unknown assignment '{TYPO}' (did you mean {A}?)" in err
    assert ", ".join(assignments()) in err
    assert "nothing to grade" not in out and not (tmp_path / "var" / "submitted").exists()


def test_collect_message_says_when_the_name_is_no_folder_either(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["collect", str(tmp_path / "no-such-folder")])
    assert "nor is it a file or folder to collect from" in capsys.readouterr().err


def test_a_folder_in_place_of_the_assignment_is_collected(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"gina_{A}.ipynb").write_text("{}")
    assert main(["collect", str(tmp_path / "in")]) == 0
    assert (tmp_path / "var" / "submitted" / "gina" / A / f"{A}.ipynb").is_file()


def test_known_ids_still_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    assert main(["feedback", A]) == 0
    assert f"{A}: 0 feedback page(s)" in capsys.readouterr().out


def test_exit_status_of_the_command_line(tmp_path):
    """`python -m grader autograde 01-linear` as an instructor types it: status 2, no grading."""
    env = dict(tool_env(), DLCOURSE_VAR=str(tmp_path / "var"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", TYPO], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"did you mean {A}?" in proc.stderr and "nothing to grade" not in proc.stdout


def test_settings_lists_every_course_setting_and_refuses_a_bad_one(tmp_path, monkeypatch, capsys):
    """`python -m grader settings`: every trait of the course's Configurables, its value
    from the configuration file marked "(set)", and a wrongly typed value reported
    with its name (exit 2)."""
    from grader import config
    from grader.verbs.settings import configurables

    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    for cls in configurables():
        assert f"\nc.{cls.__name__}: " in out
        for name in cls.class_traits(config=True):
            assert f"\n  {name} = " in out, (cls.__name__, name)
    assert "  cell_timeout = 180  (set)" in out and "  uid_base = 3000000000\n" in out

    own = tmp_path / "nbgrader_config.py"
    own.write_text("c = get_config()\nc.Sandbox.nproc = 'many'\nc.Submission.seconds = 3\n")
    monkeypatch.setattr(config, "CONFIG", own)
    assert main(["settings", "sandbox", "Submission"]) == 2
    out = capsys.readouterr().out
    assert "  seconds = 3.0  (set)" in out and "c.Collect" not in out
    assert "NOT USABLE: c.Sandbox: " in out and "'nproc'" in out
    with pytest.raises(SystemExit) as stop:
        main(["settings", "Sandboxes"])
    assert stop.value.code == 2 and "the sections are Collect, Submission, Sandbox" in capsys.readouterr().err
