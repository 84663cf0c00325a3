"""grader.sandbox without a notebook: the command line, the limits, the refusal."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grader import sandbox
from grader.cli import main
from grader.sandbox import Limits, SandboxUnavailable, check_bwrap, kernel_command

A = "01-linear-regression"


def test_limits_come_from_the_course_configuration():
    limits = Limits.from_config()
    assert limits.cell_timeout == 180 and limits.notebook_timeout == 600
    assert Limits.from_config(cell_timeout=7).cell_timeout == 7


def test_missing_bubblewrap_refuses_loudly(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sandbox, "BWRAP", str(tmp_path / "no-bwrap"))
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        check_bwrap()
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    assert main(["autograde", A, "-q"]) == 2
    assert "bubblewrap is not installed" in capsys.readouterr().out


def test_kernel_command_isolates(tmp_path):
    cmd = kernel_command(["python", "-c", "pass"], tmp_path, Limits())
    text = " ".join(cmd)
    assert cmd[0] == sandbox.BWRAP
    assert "--unshare-net" in cmd or "--unshare-all" in cmd
    assert "--die-with-parent" in cmd and "--clearenv" in cmd
    assert f"--bind {tmp_path} {tmp_path}" in text
    assert "/solutions" not in text and "/var" not in text.replace("/var/", "")
    assert "--nproc=256" in text and "--as=" in text


@pytest.mark.skipif(not os.path.exists(sandbox.BWRAP), reason="bubblewrap not installed")
def test_sandboxed_process_sees_no_network_and_no_course(tmp_path):
    from grader.course import ROOT
    from grader.sandbox import kernel_uid, prepare_scratch

    prepare_scratch(tmp_path / "s", None, owner=kernel_uid(Limits(), 99))
    os.chmod(tmp_path, 0o755)
    probe = ("import os, socket\n"
             f"print(os.path.exists({str(ROOT / 'solutions')!r}), os.path.exists({str(ROOT / 'var')!r}))\n"
             "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); print('net')\n"
             "except OSError:\n    print('no net')\n"
             "open('ok.txt', 'w').write('x'); print('scratch writable')\n")
    cmd = kernel_command([sys.executable, "-c", probe], tmp_path / "s", Limits(), slot=99)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines() == ["False False", "no net", "scratch writable"]
