"""The sandbox: every submission's kernel runs inside bubblewrap (``bwrap``).

Only the *kernel* (the process that runs student code) is sandboxed; the
grading process around it (nbgrader's preprocessors, the private copy of the
gradebook that holds the hidden tests) stays outside, and the kernel is given
the test cells one at a time over the Jupyter protocol, as in a normal
``nbgrader autograde``. The kernel talks to the grader over Unix sockets in its
scratch folder (``transport = "ipc"``), so it needs no network at all.

What is enforced, for each submission (limits from ``c.Sandbox`` in
``grader/nbgrader_config.py``; see :class:`Limits`):

* **Files.** The kernel sees a fresh root: ``/usr`` (and the ``/lib``, ``/bin``
  links into it), a few files of ``/etc`` (dynamic linker, fonts), the Python
  environment (the virtual environment; the grader's own ``dlcourse`` package
  at ``/opt/dlcourse``, first on ``PYTHONPATH``), the dataset (``data/``,
  ``/usr/share/datasets`` and the folder the grader found it in, as
  ``$FASHION_MNIST_DIR``), all read-only; its own
  scratch folder, read-write, holding a copy of its own submission folder; a
  private, empty ``/tmp``; a minimal ``/dev`` and its own ``/proc``. It
  cannot see ``solutions/``, ``var/`` (the gradebook, other submissions,
  feedback), the grader's copy of the gradebook or anyone's home folder, and
  cannot write anywhere but its scratch folder and ``/tmp`` (both thrown away).
* **Network.** None: a network namespace of its own (``--unshare-net``) with
  only a loopback device.
* **Processes.** Its own PID, IPC, UTS and user namespaces, no capabilities
  (``--cap-drop ALL``), a new session (no terminal injection), and it dies
  with the grader (``--die-with-parent``).
* **Resources** (``prlimit``): address space (``memory_mb``; data segment
  instead when a GPU is present, because CUDA reserves huge address ranges),
  CPU seconds (``cpu_seconds``), number of processes and threads (``nproc``:
  fork bombs stop there), size of any file written (``file_mb``), no core
  dumps. ``RLIMIT_NPROC`` is counted per user: when the grader runs as root
  the kernel runs as an unprivileged user of its own (``uid_base`` + the
  grading process's pid), so that one sandbox's fork bomb cannot starve another's threads;
  run as an ordinary user, the limit counts all of that user's processes.
* **Time**: ``cell_timeout`` seconds per cell (the kernel is interrupted and
  the next cell runs) and ``notebook_timeout`` seconds per notebook (the
  remaining cells are not run and score 0).
* **Output**: at most ``output_mb`` of output per cell is kept.
* **GPU**: ``/dev/nvidia*`` (and ``/dev/dri`` when present) are bound into the
  sandbox, so a grading machine with a GPU grades on it.

Where bubblewrap is missing, grading stops with :class:`SandboxUnavailable`;
``--no-sandbox`` (trusted submissions only) is the one explicit way around it.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .course import CONFIG, ROOT

BWRAP = "/usr/bin/bwrap"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; defaults come from ``c.Sandbox`` in the course configuration."""

    memory_mb: int = 8192          # address space of the kernel (torch alone maps ~3.3 GB)
    cpu_seconds: int = 900         # CPU time of the kernel, all threads together
    nproc: int = 256               # processes + threads of the kernel's user
    file_mb: int = 512             # largest file the kernel may write
    output_mb: float = 4.0         # output kept per cell
    cell_timeout: int = 180        # seconds per cell
    notebook_timeout: int = 600    # seconds per notebook, all cells together
    threads: int = 0               # torch/OpenMP threads in the kernel (0: cores / workers)
    uid_base: int = 3_000_000_000  # as root: kernels run as uid_base + worker pid (unused uids)
    sandbox: bool = True           # False only with --no-sandbox (trusted submissions)

    @classmethod
    def from_config(cls, **overrides) -> "Limits":
        """The limits set in ``grader/nbgrader_config.py`` (``c.Sandbox.<name>``), then ``overrides``."""
        from traitlets.config.loader import PyFileConfigLoader

        values = {}
        cfg = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
        section = cfg.get("Sandbox", {})
        for f in fields(cls):
            if f.name in section:
                values[f.name] = type(f.default)(section[f.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def as_dict(self) -> dict:
        return asdict(self)


def gpu_devices() -> list[str]:
    """The GPU device nodes of this machine (empty without a GPU)."""
    devs = sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    if Path("/dev/dri").is_dir():
        devs.append("/dev/dri")
    return devs


_BWRAP_OK: set[str] = set()


def check_bwrap() -> None:
    """Raise :class:`SandboxUnavailable` with what to do, unless bwrap works here."""
    import subprocess

    if BWRAP in _BWRAP_OK:
        return
    if not Path(BWRAP).is_file():
        raise SandboxUnavailable(
            f"bubblewrap is not installed ({BWRAP} is missing): student code would run "
            "unconfined, so grading stops here. Install it (`sudo apt-get install "
            "bubblewrap`), or pass --no-sandbox only for submissions you trust.")
    probe = subprocess.run([BWRAP, *_root_binds(), "--unshare-all", "--die-with-parent",
                            "--", "/bin/true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox on this machine: {probe.stderr.strip()}\n"
            "Unprivileged user namespaces may be disabled (sysctl "
            "kernel.unprivileged_userns_clone=1, or run the grader as root). "
            "Grading stops here; --no-sandbox exists only for submissions you trust.")
    _BWRAP_OK.add(BWRAP)


def _root_binds() -> list[str]:
    """The read-only system part of the sandbox's root."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), f"/{name}"]
        elif p.is_dir():
            args += ["--ro-bind", str(p), f"/{name}"]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts",
                 "localtime", "mime.types", "ssl/certs", "nsswitch.conf"):
        p = Path("/etc") / name
        if p.exists():
            args += ["--ro-bind", str(p), str(p)]
    return args


HELPERS_MOUNT = Path("/opt/dlcourse")  # where the kernel finds the grader's own dlcourse


def _helpers_dir() -> Path | None:
    """The ``dlcourse`` package the grader itself imports (an editable install or a copy of
    the course may point elsewhere than the environment's, so the kernel gets this one)."""
    try:
        import dlcourse
    except ImportError:
        return None
    return Path(dlcourse.__file__).resolve().parent


def dataset_dir() -> Path | None:
    """The Fashion-MNIST folder the grader finds (no download), shown to the kernel as
    ``$FASHION_MNIST_DIR``: the kernel's working folder is its scratch folder, so it would
    not find the course's ``data/`` by itself, and it has no network to fetch it."""
    try:
        from dlcourse.data import DatasetError, find_fashion_mnist
    except ImportError:
        return None
    try:
        return find_fashion_mnist(download=False).resolve()
    except DatasetError:
        return None


def _environment_paths(data: Path | None) -> list[Path]:
    """The Python environment the kernel needs, read-only: venv, base Python, the data."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), ROOT / "data"}
    if data is not None:
        paths.add(data)
    out = []
    for p in sorted(paths):
        if p.exists() and not str(p).startswith("/usr") and p != Path("/"):
            out.append(p)
    return out


def kernel_command(kernel_argv: list[str], scratch: Path, limits: Limits, slot: int = 0) -> list[str]:
    """The command that starts ``kernel_argv`` inside the sandbox (or as is, without one)."""
    env = {
        "HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8", "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "PYTHONNOUSERSITE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "DLCOURSE_PROGRESS": "0", "NBGRADER_EXECUTION": "autograde", "TMPDIR": "/tmp",
    }
    if limits.threads:
        env.update(OMP_NUM_THREADS=str(limits.threads), MKL_NUM_THREADS=str(limits.threads))
    if not limits.sandbox:
        return list(kernel_argv)
    data, helpers = dataset_dir(), _helpers_dir()
    if data is not None:
        env["FASHION_MNIST_DIR"] = str(data)
    if helpers is not None:
        env["PYTHONPATH"] = str(HELPERS_MOUNT)
    gpus = gpu_devices()
    mem = f"--data={limits.memory_mb << 20}" if gpus else f"--as={limits.memory_mb << 20}"
    limit = ["prlimit", mem, f"--cpu={limits.cpu_seconds}", f"--nproc={limits.nproc}",
             f"--fsize={limits.file_mb << 20}", "--core=0", "--"]
    cmd = [BWRAP, *_root_binds(), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    made: set[Path] = {Path("/"), Path("/tmp")}
    mounts = [(p, p) for p in _environment_paths(data)]
    if helpers is not None:
        mounts.append((helpers, HELPERS_MOUNT / "dlcourse"))
    for src, dest in [*mounts, (scratch, scratch)]:
        for parent in reversed(dest.parents):  # traversable even where the host's is not (/root)
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", str(parent)]
        if dest != scratch:
            cmd += ["--ro-bind", str(src), str(dest)]
    for d in gpus:
        cmd += ["--dev-bind", d, d]
    cmd += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch),
            "--die-with-parent", "--new-session", "--clearenv"]
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    uid = kernel_uid(limits, slot)
    if uid is None:
        # An ordinary user: bwrap makes an unprivileged user namespace and drops capabilities.
        cmd += ["--unshare-all", "--cap-drop", "ALL", "--", *limit]
    else:
        # Root: no user namespace (it would map the kernel back to root, whose process
        # count is unlimited); inside the sandbox the kernel becomes an unprivileged
        # user of its own, which also drops every capability.
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--", *limit]
    return [*cmd, *kernel_argv]


def kernel_uid(limits: Limits, slot: int) -> int | None:
    """The unprivileged user the kernel runs as when the grader is root (else None: as is)."""
    return limits.uid_base + slot if os.geteuid() == 0 and limits.sandbox else None


def prepare_scratch(scratch: Path, submission_dir: Path | None, owner: int | None = None) -> None:
    """A fresh scratch folder holding a copy of the submission folder (notebooks excluded)."""
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    if submission_dir is not None and submission_dir.is_dir():
        for p in submission_dir.iterdir():
            if p.suffix == ".ipynb" or p.name.startswith(".") or p.is_symlink():
                continue
            if p.is_file() and p.stat().st_size < 64 << 20:
                shutil.copy(p, scratch / p.name)
    if owner is not None:
        uid = owner
        for dirpath, dirnames, filenames in os.walk(scratch):
            os.chown(dirpath, uid, uid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), uid, uid)


def reap_user(uid: int, wait: float = 10.0) -> int:
    """Kill every process of the sandbox user ``uid`` (left over from the previous
    notebook, e.g. a fork bomb's children still exiting) and wait until none is left,
    so that its process limit starts from zero. Returns how many were killed."""
    import signal

    killed, deadline = 0, time.monotonic() + wait
    while True:
        pids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.stat(f"/proc/{d}").st_uid == uid:
                        pids.append(int(d))
                except OSError:
                    pass
        if not pids or time.monotonic() > deadline:
            return killed
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.1)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of the largest process (forked children share pages: no sum)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total = max(total, int(line.split()[1]))
                        break
        except OSError:
            pass
    return total / 1024


class MemoryMonitor:
    """Samples the resident memory of a process tree (the sandboxed kernel) in a thread."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak_mb, self.pid = interval, 0.0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            if self.pid:
                self.peak_mb = max(self.peak_mb, _rss_mb(_descendants(self.pid)))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def describe_exit(code: int | None) -> str:
    """Why a kernel process ended, from its exit status (bwrap passes the kernel's on)."""
    import signal

    if code is None:
        return "kernel died"
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    reasons = {signal.SIGSEGV: "segfault", signal.SIGXCPU: "CPU time limit",
               signal.SIGKILL: "killed, e.g. out of memory", signal.SIGABRT: "aborted",
               signal.SIGBUS: "bus error", signal.SIGXFSZ: "file size limit"}
    if sig in reasons:
        return f"kernel died ({reasons[sig]})"
    if sig:
        return f"kernel died (signal {sig})"
    return f"kernel exited with status {code} (os._exit or a crash)"


def wall(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
