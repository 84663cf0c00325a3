"""grader.sandbox without a notebook: the command line, the limits, the refusal."""
from __future__ import annotations

import os
import subprocess
import time
import sys
from pathlib import Path

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


def _binds(cmd: list[str]) -> list[tuple[Path, Path]]:
    """(source, destination) of every bind mount of a bwrap command line."""
    return [(Path(cmd[i + 1]), Path(cmd[i + 2])) for i, arg in enumerate(cmd)
            if arg in ("--bind", "--ro-bind", "--dev-bind")]


def test_kernel_command_isolates(tmp_path):
    from grader.course import ROOT, var_dir

    cmd = kernel_command(["python", "-c", "pass"], tmp_path, Limits())
    text = " ".join(cmd)
    assert sandbox.BWRAP in cmd
    assert "--unshare-net" in cmd or "--unshare-all" in cmd
    assert "--die-with-parent" in cmd and "--clearenv" in cmd
    assert f"--bind {tmp_path} {tmp_path}" in text
    assert "--nproc=256" in text and "--as=" in text
    private = [ROOT, ROOT / "solutions", ROOT / "var", var_dir(), ROOT / "grader"]
    for src, _ in _binds(cmd):
        for path in private:  # neither bound itself nor inside a bound folder
            assert not path.resolve().is_relative_to(src.resolve()), (src, path)
    assert ["--size", str(512 << 20), "--tmpfs", "/tmp"] == cmd[cmd.index("--tmpfs") - 2:cmd.index("--tmpfs") + 2]
    assert "--setenv PYTHONSAFEPATH 1" in text


def test_sandbox_settings_are_declared_once(tmp_path, monkeypatch):
    """c.Sandbox is a traitlets Configurable; Limits has exactly its traits and defaults,
    and a wrongly typed or out-of-range setting in the configuration file is refused
    with the setting's name."""
    from traitlets.config import Configurable

    from grader import config
    from grader.sandbox import Sandbox

    assert issubclass(Sandbox, Configurable)
    traits = Sandbox.class_traits(config=True)
    assert set(Limits().as_dict()) == set(traits)
    assert all(getattr(Limits(), name) == trait.default_value for name, trait in traits.items())
    assert all(trait.help for trait in traits.values())

    own = tmp_path / "nbgrader_config.py"
    monkeypatch.setattr(config, "CONFIG", own)
    own.write_text("c = get_config()\nc.Sandbox.cell_timeout = 42\nc.Sandbox.sandbox = False\n")
    limits = Limits.from_config()
    assert (limits.cell_timeout, limits.sandbox, limits.nproc) == (42, False, 256)
    own.write_text("c = get_config()\nc.Sandbox.cell_timeout = 'soon'\n")
    with pytest.raises(ValueError, match=r"c.Sandbox in grader/nbgrader_config.py: .*'cell_timeout'"):
        Limits.from_config()
    own.write_text("c = get_config()\nc.Sandbox.cpu_weight = 0\n")
    with pytest.raises(ValueError, match=r"c.Sandbox.cpu_weight = 0: expected a whole number"):
        Limits.from_config()


def test_an_ordinary_user_cannot_make_user_namespaces_in_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cmd = kernel_command(["python"], tmp_path, Limits())
    if sandbox._bwrap_has("--disable-userns"):
        assert "--disable-userns" in cmd and "--unshare-user" in cmd
    assert "setpriv" not in cmd


def test_shipped_python_code_is_not_copied(tmp_path):
    from grader.sandbox import prepare_scratch

    sub = tmp_path / "sub"
    (sub / "pkg").mkdir(parents=True)
    for name in ("torch.py", "helper.cpython-311.pyc", "evil.pth", "fast.so", "libx.so.1",
                 "data.csv", "weights.pt", f"{A}.ipynb"):
        (sub / name).write_text("x")
    (sub / "pkg" / "__init__.py").write_text("x")
    left_out = prepare_scratch(tmp_path / "scratch", sub)
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == ["data.csv", "weights.pt"]
    said = " ".join(left_out)
    for name in ("torch.py", "evil.pth", "fast.so", "libx.so.1", "pkg/"):
        assert name in said, left_out


@pytest.mark.skipif(not os.path.exists(sandbox.BWRAP), reason="bubblewrap not installed")
def test_a_torch_py_in_the_kernels_folder_does_not_shadow_torch(tmp_path):
    from grader.sandbox import kernel_uid, prepare_scratch

    prepare_scratch(tmp_path / "s", None, owner=kernel_uid(Limits(), 99))
    os.chmod(tmp_path, 0o755)
    (tmp_path / "s" / "torch.py").write_text("raise SystemExit('shadowed')\n")
    probe = "import sys, torch; print(torch.__file__, '' in sys.path)"
    cmd = kernel_command([sys.executable, "-c", probe], tmp_path / "s", Limits(), slot=99)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == [sys.modules["torch"].__file__ if "torch" in sys.modules
                                  else out.stdout.split()[0], "False"], out
    assert "site-packages/torch/" in out.stdout, out


def test_no_sandbox_keeps_the_environment_and_the_limits(tmp_path):
    limits = Limits(sandbox=False, threads=2, memory_mb=4096)
    probe = ("import os, resource\n"
             "print(os.environ['OMP_NUM_THREADS'], os.environ['PYTHONSAFEPATH'], "
             "os.environ.get('FASHION_MNIST_DIR', '-'), resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)")
    cmd = kernel_command([sys.executable, "-c", probe], tmp_path, limits)
    assert sandbox.BWRAP not in cmd and not any(a.startswith("--nproc") for a in cmd)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path).stdout.split()
    data = sandbox.dataset_dir()
    assert out == ["2", "1", str(data) if data else "-", "4096"]


@pytest.mark.skipif(sandbox.cgroups_unavailable() is not None or not os.path.exists(sandbox.BWRAP),
                    reason="no cgroups here (needs root and cgroup-tools)")
def test_the_cgroup_limits_the_whole_sandbox(tmp_path):
    """Four children of 120 MB each fit their own 300 MB limit, not the sandbox's 300 MB."""
    from grader.sandbox import KernelCgroup, kernel_uid, prepare_scratch

    limits = Limits(memory_mb=300, nproc=40)
    cgroup = KernelCgroup.create(limits)
    assert cgroup is not None
    try:
        prepare_scratch(tmp_path / "s", None, owner=kernel_uid(limits, 98))
        os.chmod(tmp_path, 0o755)
        probe = ("import os, time\n"
                 "kids = []\n"
                 "for _ in range(4):\n"
                 "    pid = os.fork()\n"
                 "    if pid == 0:\n"
                 "        block = bytearray(120 << 20)\n"
                 "        block[::4096] = b'x' * len(block[::4096])\n"
                 "        time.sleep(3)\n"
                 "        os._exit(0)\n"
                 "    kids.append(pid)\n"
                 "print(sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids))\n")
        def run(cg):
            cmd = kernel_command([sys.executable, "-c", probe], tmp_path / "s", limits, slot=98,
                                 cgroup=cg)
            return cmd, subprocess.run(cmd, capture_output=True, text=True, timeout=120)

        _, alone = run(None)
        assert alone.stdout.strip() == "[0, 0, 0, 0]", alone  # per-process limits: all fit
        cmd, out = run(cgroup)
        assert cmd[0] == "cgexec"
        # out of memory in the cgroup: some child (or the parent itself) is killed
        assert "-9" in out.stdout or out.returncode in (-9, 137), out
    finally:
        cgroup.remove()
    assert not any(d.exists() for d in cgroup.dirs.values())


@pytest.mark.parametrize("layout, said", [
    ("cgexec is missing (apt-get install cgroup-tools)", "no cgroup per kernel (cgexec is missing"),
    (("v1", {"memory": Path("/m"), "pids": Path("/p")}),
     "no CPU share per kernel (no writable cgroup v1 cpu controller"),
    (("v2", {"memory": Path("/g"), "pids": Path("/g")}),
     "no CPU share per kernel (the cpu controller is not enabled for children of /g)"),
])
def test_without_cgroups_autograde_says_so_once(monkeypatch, tmp_path, capsys, layout, said):
    monkeypatch.setattr(sandbox, "_cgroup_layout", lambda: layout)
    monkeypatch.setenv("DLCOURSE_VAR", str(tmp_path / "var"))
    monkeypatch.setattr(sandbox, "check_bwrap", lambda: None)
    import grader.runner as runner

    monkeypatch.setattr(runner, "check_bwrap", lambda: None)
    assert main(["autograde", A, "-q"]) == 0
    out = capsys.readouterr().out
    assert out.count(said) == 1 and out.count("note: no") == 1, out


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


def test_cpu_limits_are_checked_and_configurable():
    assert Limits.from_config(cpu_weight=200, cpu_cores=1.5).cpu_cores == 1.5
    with pytest.raises(ValueError, match=r"c.Sandbox.cpu_weight = 0: expected a whole number from 1 to 10000"):
        Limits(cpu_weight=0)
    with pytest.raises(ValueError, match=r"c.Sandbox.cpu_cores = -1: expected 0 \(no cap\)"):
        Limits(cpu_cores=-1)


def test_cpu_weight_and_quota_in_cgroup_v1_and_v2_terms():
    from grader.sandbox import _cpu_settings

    assert _cpu_settings("v1", Limits()) == [("cpu.shares", "1024")]
    assert _cpu_settings("v1", Limits(cpu_weight=50, cpu_cores=1.5)) == [
        ("cpu.shares", "512"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "150000")]
    assert _cpu_settings("v2", Limits()) == [("cpu.weight", "100"), ("cpu.max", "max 100000")]
    assert _cpu_settings("v2", Limits(cpu_weight=1, cpu_cores=0.5)) == [
        ("cpu.weight", "1"), ("cpu.max", "50000 100000")]


_NO_CPU_CGROUP = (not os.path.exists(sandbox.BWRAP) or sandbox.cgroup_cpu_unavailable() is not None)
_WHY_NO_CPU_CGROUP = f"no CPU cgroup per kernel here: {sandbox.cgroup_cpu_unavailable()}" \
    if os.path.exists(sandbox.BWRAP) else "bubblewrap not installed"

# A hog: 64 busy processes (the sandbox allows 256), then it waits to be killed. Each
# starts a session of its own: Linux's autogroup scheduling (sched_autogroup_enabled)
# would otherwise share the CPU between the two sandboxes' sessions and hide the hog.
HOG = ("import os, time\n"
       "for _ in range(64):\n"
       "    if os.fork() == 0:\n"
       "        os.setsid()\n"
       "        while True:\n"
       "            pass\n"
       "print('ready', flush=True)\n"
       "time.sleep(600)\n")
# A normal notebook's fixed CPU work in ten equal parts, timed inside the sandbox
# (interpreter start-up not counted); each line: parts done, seconds so far.
WORK = ("import time\n"
        "t0 = time.perf_counter()\n"
        "for part in range(1, 11):\n"
        "    x = 0\n"
        "    for i in range(600_000):\n"
        "        x += i * i\n"
        "    print(part, time.perf_counter() - t0, flush=True)\n")


def _start(probe: str, scratch: Path, limits: Limits, slot: int, cgroup=None) -> subprocess.Popen:
    from grader.sandbox import kernel_uid, prepare_scratch

    prepare_scratch(scratch, None, owner=kernel_uid(limits, slot))
    cmd = kernel_command([sys.executable, "-c", probe], scratch, limits, slot=slot, cgroup=cgroup)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _work_seconds(proc: subprocess.Popen, cap: float) -> tuple[float, str]:
    """Seconds the fixed work took, and how they were found: measured, or, past ``cap``
    seconds, extrapolated from the parts done by then."""
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    lines = [line.split() for line in out.splitlines()]
    assert lines, f"the work printed nothing in {cap} s: {err[-500:]}"
    parts, seconds = int(lines[-1][0]), float(lines[-1][1])
    if parts == 10:
        return seconds, "measured"
    return seconds * 10 / parts, f"extrapolated from {parts}/10 of the work in {cap:.0f} s"


@pytest.mark.skipif(_NO_CPU_CGROUP, reason=_WHY_NO_CPU_CGROUP)
def test_a_busy_kernel_does_not_slow_its_neighbour_into_timeouts(tmp_path):
    """Fixed work next to a kernel with 64 busy processes: alone, with the hog's CPU
    unlimited (no cgroups, as before), and with each kernel in its CPU cgroup."""
    from grader.sandbox import KernelCgroup, kernel_uid, reap_user

    limits = Limits()
    os.chmod(tmp_path, 0o755)
    hog_slot, work_slot = 97, 96
    load_before = os.getloadavg()

    def beside_hog(use_cgroups: bool) -> tuple[float, str]:
        groups = [KernelCgroup.create(limits), KernelCgroup.create(limits)] if use_cgroups else [None, None]
        assert all(g is not None for g in groups) or not use_cgroups
        hog = _start(HOG, tmp_path / "hog", limits, hog_slot, groups[0])
        try:
            assert hog.stdout.readline().strip() == "ready", hog.stderr.read()[-500:]
            time.sleep(0.5)  # every hog process spinning
            return _work_seconds(_start(WORK, tmp_path / "work", limits, work_slot, groups[1]), cap=15)
        finally:
            hog.kill()
            hog.wait()
            reap_user(kernel_uid(limits, hog_slot))
            for g in groups:
                if g is not None:
                    g.remove()

    solo, _ = _work_seconds(_start(WORK, tmp_path / "work", limits, work_slot), cap=30)
    unlimited, how = beside_hog(use_cgroups=False)
    limited, _ = beside_hog(use_cgroups=True)
    report = (f"fixed work alone {solo:.2f} s; beside 64 busy processes, no CPU cgroup "
              f"{unlimited:.2f} s ({how}, {unlimited / solo:.1f}x); each kernel in its CPU cgroup "
              f"{limited:.2f} s ({limited / solo:.1f}x); load average before "
              f"{', '.join(f'{x:.1f}' for x in load_before)}, {os.cpu_count()} cores")
    print(report)
    assert limited < 4 * solo, report


@pytest.mark.skipif(_NO_CPU_CGROUP, reason=_WHY_NO_CPU_CGROUP)
def test_cpu_cores_caps_a_kernel(tmp_path):
    """Two busy processes for 2 s under a quota of a quarter of a core use about 0.5 s of CPU."""
    from grader.sandbox import KernelCgroup

    limits = Limits(cpu_cores=0.25)
    os.chmod(tmp_path, 0o755)
    probe = ("import os, resource, signal, time\n"
             "kids = []\n"
             "for _ in range(2):\n"
             "    pid = os.fork()\n"
             "    if pid == 0:\n"
             "        while True:\n"
             "            pass\n"
             "    kids.append(pid)\n"
             "time.sleep(2)\n"
             "for pid in kids:\n"
             "    os.kill(pid, signal.SIGKILL)\n"
             "    os.waitpid(pid, 0)\n"
             "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
             "print(use.ru_utime + use.ru_stime)\n")
    cgroup = KernelCgroup.create(limits)
    assert cgroup is not None
    try:
        out, err = _start(probe, tmp_path / "s", limits, 95, cgroup).communicate(timeout=60)
        stat = dict(line.split() for line in (cgroup.dirs["cpu"] / "cpu.stat").read_text().splitlines())
    finally:
        cgroup.remove()
    assert out.strip(), err[-500:]
    cpu = float(out)
    print(f"2 busy processes for 2 s at cpu_cores=0.25: {cpu:.2f} s of CPU, "
          f"throttled {stat['nr_throttled']} times; load average {os.getloadavg()[0]:.1f}")
    assert int(stat["nr_throttled"]) > 0 and cpu < 0.8, (cpu, stat)


@pytest.mark.skipif(_NO_CPU_CGROUP, reason=_WHY_NO_CPU_CGROUP)
def test_refused_cpu_settings_keep_the_memory_and_process_limits(monkeypatch):
    from grader.sandbox import KernelCgroup

    monkeypatch.setattr(sandbox, "_cpu_settings", lambda version, limits: [("cpu.shares", "-5")])
    cgroup = KernelCgroup.create(Limits(nproc=40))
    assert cgroup is not None and "cpu" not in cgroup.dirs
    try:
        assert (cgroup.dirs["pids"] / "pids.max").read_text().strip() == "40"
    finally:
        cgroup.remove()
    assert not any(d.exists() for d in cgroup.dirs.values())
    cpu_parent = sandbox._cgroup_layout()[1]["cpu"]  # the refused attempt left nothing either
    assert not list(cpu_parent.glob(f"dlgrader-{os.getpid()}-*"))
