"""The sandbox: every submission's kernel runs inside bubblewrap (``bwrap``).

Only the *kernel* (the process that runs student code) is sandboxed; the
grading process around it (nbgrader's preprocessors, the private copy of the
gradebook, the judges and the reference solutions of grader.judge) stays
outside, and the kernel is given the cells one at a time over the Jupyter
protocol, then the judges' probes, which send back values only. The kernel talks
to the grader over Unix sockets in its scratch folder (``transport = "ipc"``), so
it needs no network at all.

What is enforced, for each submission (limits from ``c.Sandbox`` in
``grader/nbgrader_config.py``; see :class:`Limits`):

* **Files.** The kernel sees a fresh root: ``/usr`` (and the ``/lib``, ``/bin``
  links into it), a few files of ``/etc`` (dynamic linker, fonts), the Python
  environment (the virtual environment; the grader's own ``dlcourse`` package
  at ``/opt/dlcourse``, first on ``PYTHONPATH``), the dataset (``data/``,
  ``/usr/share/datasets`` and the folder the grader found it in, as
  ``$FASHION_MNIST_DIR``), all read-only; its own
  scratch folder, read-write, holding a copy of its own submission folder's data
  files; a private, empty ``/tmp``; a minimal ``/dev`` and its own ``/proc``. It
  cannot see ``solutions/``, ``var/`` (the gradebook, other submissions,
  feedback), the grader's copy of the gradebook or anyone's home folder, and
  cannot write anywhere but its scratch folder and ``/tmp`` (both thrown away).
* **Network.** None: a network namespace of its own (``--unshare-net``) with
  only a loopback device.
* **Processes.** Its own PID, IPC, UTS and user namespaces, no capabilities
  (``--cap-drop ALL``), a new session (no terminal injection), and it dies
  with the grader (``--die-with-parent``).
* **Resources, per process** (``prlimit``): address space (``memory_mb``; data
  segment instead when a GPU is present, because CUDA reserves huge address
  ranges), CPU seconds (``cpu_seconds``), number of processes and threads
  (``nproc``: fork bombs stop there), size of any file written (``file_mb``),
  no core dumps. ``RLIMIT_NPROC`` is counted per user: when the grader runs as
  root the kernel runs as an unprivileged user of its own (``uid_base`` + the
  grading process's pid), so that one sandbox's fork bomb cannot starve another's
  threads; run as an ordinary user, the limit counts all of that user's processes.
* **Resources, whole sandbox** (a cgroup per kernel, :class:`KernelCgroup`):
  when the grader runs as root and cgroup v1 (memory and pids controllers) or
  v2 is there, with Debian's cgroup-tools (``cgcreate``/``cgexec``/``cgdelete``),
  the kernel and all it starts share ``memory_mb`` of memory (swap included
  where accounted) and ``nproc`` processes, so a fork bomb whose children each
  allocate memory cannot take ``nproc`` x ``memory_mb``. Where the cpu controller
  is there too (v1 ``cpu.shares``/``cpu.cfs_quota_us``, v2 ``cpu.weight``/``cpu.max``)
  the kernels share the CPU by ``cpu_weight`` (equal by default) and each may be
  capped at ``cpu_cores``, so one kernel's hundreds of busy threads do not push a
  neighbour's cells into their timeouts. The cgroup is a child
  of the grader's own, and is emptied and deleted when the notebook is done.
  Where cgroups are unavailable (not root, no cgroup-tools, no controllers),
  ``autograde`` says so once and only the per-process limits apply; where only
  the cpu controller is missing, it says that kernels do not share the CPU fairly.
* **Private /tmp**: in memory, at most ``tmp_mb`` (bwrap ``--size``).
* **No new user namespaces**: run as an ordinary user, the sandbox has a user
  namespace of its own and bwrap's ``--disable-userns`` (bubblewrap 0.8)
  forbids the kernel to make more. As root there is no such namespace to
  disable them in: the kernel is an unprivileged user without capabilities, and
  a user namespace it makes gives it no privilege over the host's files.
* **Shipped files**: the files next to the submitted notebook are copied into
  the scratch folder, except Python code (``.py``, ``.pyc``, ``.pth``,
  extension modules), folders (packages) and files of 64 MB or more; each left
  out is noted in the result. ``PYTHONSAFEPATH=1`` keeps the working folder off
  ``sys.path`` in any case, so nothing there can shadow ``torch`` or another
  module.
* **Time**: ``cell_timeout`` seconds per cell (the kernel is interrupted and
  the next cell runs) and ``notebook_timeout`` seconds per notebook (the
  remaining cells are not run and score 0).
* **Output**: at most ``output_mb`` of output per cell is kept, and at most
  ``notebook_output_mb`` for the whole notebook (so a graded copy stays small).
* **GPU**: ``/dev/nvidia*`` (and ``/dev/dri`` when present) are bound into the
  sandbox, with ``/sys`` read-only for the driver, so a grading machine with a
  GPU grades on it (not yet checked on a GPU machine).

Where bubblewrap is missing, grading stops with :class:`SandboxUnavailable`;
``--no-sandbox`` (trusted submissions only) is the one explicit way around it.
It drops bubblewrap, the separate user, the process limit and the cgroup, and
keeps the kernel environment (:func:`kernel_environment`) and the other
per-process limits.

What the sandbox does not need to stop: code in the kernel can read and change
everything in its own process, the grader's probe runtime included, and shape
what it sends back. No verdict depends on that: the judges choose secret inputs
and compare the returned values with the reference solution's in the grading
process (grader.judge), and no judge's code or reference solution is ever in the
kernel, except the reference versions of earlier exercises that a judge swaps in
while it probes a later one (after the last cell, so no student cell runs after
them). A chapter still graded by hidden tests keeps the older defence: only the
first line of a test cell's message, withheld when it quotes a hidden-test line
or holds a long encoded-looking run, and the feedback page redacts again.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, field, make_dataclass
from pathlib import Path

from traitlets import Bool, Float, Int, validate
from traitlets.config import Configurable

from .course import ROOT

BWRAP = "/usr/bin/bwrap"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


class Sandbox(Configurable):
    """Limits of every student kernel.

    Set as ``c.Sandbox.<name>`` in the course configuration. These traits are the
    one declaration of each setting, its default and its check; :class:`Limits` is
    the frozen, picklable value built from them that travels to the grading workers
    (local processes or Dask).
    """

    memory_mb = Int(8192, help="Address space of the kernel, in MB (torch alone maps ~3.3 GB); "
                               "with a cgroup, the memory of its whole sandbox.").tag(config=True)
    cpu_seconds = Int(900, help="CPU time of the kernel, all threads together, in seconds.").tag(
        config=True)
    nproc = Int(256, help="Processes and threads of the kernel's user (fork bombs stop here).").tag(
        config=True)
    file_mb = Int(512, help="Largest file the kernel may write, in MB.").tag(config=True)
    output_mb = Float(4.0, help="Output kept per cell, in MB.").tag(config=True)
    notebook_output_mb = Float(16.0, help="Output kept per notebook, all cells together, in MB.").tag(
        config=True)
    cell_timeout = Int(180, help="Seconds per cell; the kernel is interrupted and the next cell "
                                 "runs.").tag(config=True)
    notebook_timeout = Int(600, help="Seconds per notebook, all cells together; cells past it are "
                                     "not run.").tag(config=True)
    threads = Int(0, help="torch/OpenMP threads in the kernel (0: cores / workers).").tag(config=True)
    tmp_mb = Int(512, help="Size of the sandbox's private /tmp (in memory), in MB.").tag(config=True)
    uid_base = Int(3_000_000_000, help="As root: kernels run as uid_base + the worker's pid "
                                       "(unused uids).").tag(config=True)
    sandbox = Bool(True, help="False only with --no-sandbox (trusted submissions).").tag(config=True)
    cpu_weight = Int(100, help="The kernel's share of the CPU against other kernels (1-10000; "
                              "100: equal).").tag(config=True)
    cpu_cores = Float(0.0, help="At most this many cores per kernel, e.g. 1.5 (0: no cap).").tag(
        config=True)

    @validate("cpu_weight", "cpu_cores")
    def _check_cpu(self, proposal):
        cpu = {"cpu_weight": self.cpu_weight, "cpu_cores": self.cpu_cores,
               proposal["trait"].name: proposal["value"]}
        check_cpu(cpu["cpu_weight"], cpu["cpu_cores"])
        return proposal["value"]


def check_cpu(weight: int, cores: float) -> None:
    if not 1 <= weight <= 10_000:
        raise ValueError(f"c.Sandbox.cpu_weight = {weight}: expected a whole number "
                         "from 1 to 10000 (100 gives every kernel an equal share of the CPU)")
    if not (cores == 0 or 0.01 <= cores <= 4096):
        raise ValueError(f"c.Sandbox.cpu_cores = {cores}: expected 0 (no cap) or a "
                         "number of cores from 0.01 up, e.g. 2 or 1.5")


_TYPES = {Int: int, Float: float, Bool: bool}
_SETTINGS = Sandbox.class_traits(config=True)


def _limits_post_init(self) -> None:
    check_cpu(self.cpu_weight, self.cpu_cores)


def _from_config(cls, **overrides) -> "Limits":
    """The limits set in ``grader/nbgrader_config.py`` (``c.Sandbox.<name>``), then ``overrides``."""
    from traitlets import TraitError

    from .config import course_config

    try:
        configured = Sandbox(config=course_config())
    except TraitError as error:
        raise ValueError(f"c.Sandbox in grader/nbgrader_config.py: {error}") from None
    values = {name: getattr(configured, name) for name in _SETTINGS}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


def _as_dict(self) -> dict:
    return asdict(self)


# Per-submission limits: one field per trait of Sandbox, with its default.
Limits = make_dataclass(
    "Limits",
    [(name, _TYPES[type(trait)], field(default=trait.default_value)) for name, trait in _SETTINGS.items()],
    frozen=True,
    namespace={"__module__": __name__, "__doc__": "Per-submission limits (the traits of Sandbox).",
               "__post_init__": _limits_post_init, "from_config": classmethod(_from_config),
               "as_dict": _as_dict},
)


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


def kernel_environment(scratch: Path, limits: Limits, data: Path | None) -> dict[str, str]:
    """The kernel's environment variables (the whole environment inside the sandbox).

    ``PYTHONSAFEPATH`` keeps the working folder (the scratch folder, with the files
    shipped with the submission) off ``sys.path``: Python and IPython both honour it.
    """
    env = {
        "HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8", "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "DLCOURSE_PROGRESS": "0", "NBGRADER_EXECUTION": "autograde", "TMPDIR": "/tmp",
    }
    if limits.threads:
        env.update(OMP_NUM_THREADS=str(limits.threads), MKL_NUM_THREADS=str(limits.threads))
    if data is not None:
        env["FASHION_MNIST_DIR"] = str(data)
    return env


def _prlimit(limits: Limits, per_user_nproc: bool = True) -> list[str]:
    """``prlimit`` arguments of the per-process limits (empty where prlimit is missing)."""
    if shutil.which("prlimit") is None:
        return []
    mem = f"--data={limits.memory_mb << 20}" if gpu_devices() else f"--as={limits.memory_mb << 20}"
    args = ["prlimit", mem, f"--cpu={limits.cpu_seconds}", f"--fsize={limits.file_mb << 20}",
            "--core=0"]
    if per_user_nproc:
        args.append(f"--nproc={limits.nproc}")
    return [*args, "--"]


def kernel_command(kernel_argv: list[str], scratch: Path, limits: Limits, slot: int = 0,
                   cgroup: "KernelCgroup | None" = None) -> list[str]:
    """The command that starts ``kernel_argv`` inside the sandbox (in ``cgroup`` when given).

    Without the sandbox (``limits.sandbox`` False, ``--no-sandbox``) the kernel still gets
    the environment of :func:`kernel_environment` on top of the grader's own, and the
    per-process limits except the process count (``RLIMIT_NPROC`` counts all of the
    user's processes, not the kernel's); bubblewrap, the separate user and the cgroup
    are what is dropped.
    """
    data, helpers = dataset_dir(), _helpers_dir()
    env = kernel_environment(scratch, limits, data)
    if not limits.sandbox:
        return ["env", *(f"{k}={v}" for k, v in env.items()), *_prlimit(limits, False),
                *kernel_argv]
    if helpers is not None:
        env["PYTHONPATH"] = str(HELPERS_MOUNT)
    cmd = [BWRAP, *_root_binds(), "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
           "--proc", "/proc", "--dev", "/dev"]
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
    gpus = gpu_devices()
    for d in gpus:
        cmd += ["--dev-bind", d, d]
    if gpus:  # the CUDA driver reads the PCI topology from /sys (read-only here)
        cmd += ["--ro-bind", "/sys", "/sys"]
    cmd += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch),
            "--die-with-parent", "--new-session", "--clearenv"]
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    uid = kernel_uid(limits, slot)
    if uid is None:
        # An ordinary user: bwrap makes an unprivileged user namespace, drops capabilities
        # and, where it can, forbids the kernel to make user namespaces of its own.
        no_userns = ["--unshare-user", "--disable-userns"] if _bwrap_has("--disable-userns") else []
        cmd += ["--unshare-all", *no_userns, "--cap-drop", "ALL", "--", *_prlimit(limits)]
    else:
        # Root: no user namespace (it would map the kernel back to root, whose process
        # count is unlimited); inside the sandbox the kernel becomes an unprivileged
        # user of its own, which also drops every capability. (bwrap's --disable-userns
        # needs a user namespace of the sandbox's own, so it does not apply here.)
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--", *_prlimit(limits)]
    cmd = [*cmd, *kernel_argv]
    return cgroup.wrap(cmd) if cgroup is not None else cmd


_BWRAP_OPTIONS: dict[str, bool] = {}


def _bwrap_has(option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (``--disable-userns`` needs 0.8)."""
    import subprocess

    if option not in _BWRAP_OPTIONS:
        try:
            text = subprocess.run([BWRAP, "--help"], capture_output=True, text=True).stdout
        except OSError:
            text = ""
        _BWRAP_OPTIONS[option] = option in text.split()
    return _BWRAP_OPTIONS[option]


def kernel_uid(limits: Limits, slot: int) -> int | None:
    """The unprivileged user the kernel runs as when the grader is root (else None: as is)."""
    return limits.uid_base + slot if os.geteuid() == 0 and limits.sandbox else None


# Shipped files that Python could import or run instead of the real modules (a torch.py
# next to the notebook would shadow torch): never copied into the kernel's folder.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".pyi", ".pth", ".so", ".pyd", ".egg", ".whl")
MAX_SHIPPED_FILE = 64 << 20


def _is_code(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(CODE_SUFFIXES) or ".so." in lower


def prepare_scratch(scratch: Path, submission_dir: Path | None, owner: int | None = None) -> list[str]:
    """A fresh scratch folder holding a copy of the submission folder's data files.

    Notebooks, hidden files and links are not copied, nor are Python code (``.py``,
    ``.pyc``, ``.pth``, extension modules), folders (packages among them) and files of
    64 MB or more. Returns a line for the student about each file left out that a
    notebook might have meant to use.
    """
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    left_out: list[str] = []
    if submission_dir is not None and submission_dir.is_dir():
        for p in sorted(submission_dir.iterdir()):
            if p.suffix == ".ipynb" or p.name.startswith(".") or p.is_symlink():
                continue
            if p.is_dir():
                left_out.append(f"folder {p.name}/ (only files next to the notebook are copied)")
            elif _is_code(p.name):
                left_out.append(f"{p.name} (Python code: the graded notebook must not import "
                                "files shipped with it)")
            elif p.is_file() and p.stat().st_size >= MAX_SHIPPED_FILE:
                left_out.append(f"{p.name} (larger than {MAX_SHIPPED_FILE >> 20} MB)")
            elif p.is_file():
                shutil.copy(p, scratch / p.name)
    if owner is not None:
        uid = owner
        for dirpath, dirnames, filenames in os.walk(scratch):
            os.chown(dirpath, uid, uid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), uid, uid)
    return left_out


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


# --- cgroups: limits on the whole sandbox ------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")
_CGROUP_COUNTER = [0]


def _own_cgroups() -> dict[str, str]:
    """{controller: this process's cgroup path} from /proc/self/cgroup ("" for v2)."""
    out = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _cgroup_layout() -> tuple[str, dict[str, Path]] | str:
    """("v1" or "v2", {controller: the folder this process's children go in}), or why not."""
    if os.geteuid() != 0:
        return "the grader does not run as root"
    for tool in ("cgcreate", "cgset", "cgexec", "cgdelete"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install cgroup-tools)"
    own = _own_cgroups()
    if (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
        dirs = {c: CGROUP_ROOT / c / own.get(c, "/").lstrip("/") for c in ("memory", "pids", "cpu")}
        if not ((dirs["cpu"] / "cpu.shares").is_file() and os.access(dirs["cpu"], os.W_OK)):
            del dirs["cpu"]  # no v1 cpu controller here (memory and pids still apply)
        return "v1", dirs
    if (CGROUP_ROOT / "cgroup.controllers").is_file():
        base = CGROUP_ROOT / own.get("", "/").lstrip("/")
        enabled = (base / "cgroup.subtree_control").read_text().split() \
            if (base / "cgroup.subtree_control").is_file() else []
        if not {"memory", "pids"} <= set(enabled):
            return f"the memory and pids controllers are not enabled for children of {base}"
        return "v2", {c: base for c in ("memory", "pids", "cpu") if c in enabled}
    return "no cgroup v1 memory and pids controllers or cgroup v2 hierarchy is mounted"


def cgroups_unavailable() -> str | None:
    """Why kernels cannot get a cgroup of their own here (None: they can)."""
    layout = _cgroup_layout()
    return layout if isinstance(layout, str) else None


def cgroup_cpu_unavailable() -> str | None:
    """Why kernels' cgroups cannot share out the CPU here (None: they can)."""
    layout = _cgroup_layout()
    if isinstance(layout, str):
        return layout
    version, dirs = layout
    if "cpu" in dirs:
        return None
    if version == "v1":
        return "no writable cgroup v1 cpu controller (/sys/fs/cgroup/cpu)"
    return f"the cpu controller is not enabled for children of {dirs['memory']}"


CPU_PERIOD_US = 100_000  # the scheduler period over which a quota of cores is counted


def _cpu_settings(version: str, limits: Limits) -> list[tuple[str, str]]:
    """The cgroup files that give a kernel ``limits.cpu_weight`` and ``limits.cpu_cores``.

    The weight is cgroup v2's ``cpu.weight`` (default 100); v1's ``cpu.shares`` is the
    same ratio on a base of 1024. A quota lets the kernel run ``cpu_cores`` x the period
    per period, whatever the other kernels do; without one (0) an idle machine's cores
    are all the kernel's, and only the weight applies when kernels compete.
    """
    quota = round(limits.cpu_cores * CPU_PERIOD_US)
    if version == "v1":
        out = [("cpu.shares", str(max(2, round(limits.cpu_weight * 1024 / 100))))]
        if quota:
            out += [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", str(quota))]
        return out
    return [("cpu.weight", str(limits.cpu_weight)),
            ("cpu.max", f"{quota} {CPU_PERIOD_US}" if quota else f"max {CPU_PERIOD_US}")]


class KernelCgroup:
    """A cgroup for one sandboxed kernel and everything it starts: memory (``memory_mb``,
    swap included where the kernel accounts it) and process (``nproc``) limits on the
    sandbox as a whole, which per-process limits cannot give (a fork bomb whose
    children each allocate memory), and, where the cpu controller is there, a share of
    the CPU (``cpu_weight``, optionally at most ``cpu_cores``): the scheduler shares
    the CPU between kernels, not between threads, so a kernel's 256 busy threads get
    what one kernel gets and its neighbour keeps its own share. Made with Debian's
    cgroup-tools, as a child of the grader's own cgroup (so the grader's own limits
    still hold); :meth:`remove` kills what is left in it and deletes it."""

    def __init__(self, version: str, dirs: dict[str, Path], name: str):
        self.version, self.name = version, name
        self.dirs = {c: d / name for c, d in dirs.items()}

    @classmethod
    def create(cls, limits: Limits) -> "KernelCgroup | None":
        """A new cgroup with the limits, or None where cgroups are unavailable. Where the
        cpu settings are refused (e.g. ``cpu_cores`` above a quota on the grader's own
        cgroup), the cgroup is made without the cpu controller: memory and processes
        stay bounded."""
        layout = _cgroup_layout()
        if isinstance(layout, str):
            return None
        version, dirs = layout
        cg = cls._made(version, dirs, limits)
        if cg is None and "cpu" in dirs:
            cg = cls._made(version, {c: d for c, d in dirs.items() if c != "cpu"}, limits)
        return cg

    @classmethod
    def _made(cls, version: str, dirs: dict[str, Path], limits: Limits) -> "KernelCgroup | None":
        import subprocess

        _CGROUP_COUNTER[0] += 1
        cg = cls(version, dirs, f"dlgrader-{os.getpid()}-{_CGROUP_COUNTER[0]}")
        memory = str(limits.memory_mb << 20)
        if version == "v1":
            settings = {"memory": [("memory.limit_in_bytes", memory)], "pids": [("pids.max", str(limits.nproc))]}
            if (dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
                settings["memory"].append(("memory.memsw.limit_in_bytes", memory))
        else:
            settings = {"memory": [("memory.max", memory), ("memory.swap.max", "0")],
                        "pids": [("pids.max", str(limits.nproc))]}
        if "cpu" in dirs:
            settings["cpu"] = _cpu_settings(version, limits)
        try:
            subprocess.run(["cgcreate", *cg._groups()], check=True, capture_output=True, text=True)
            for controller, values in settings.items():
                for key, value in values:
                    if (cg.dirs[controller] / key).exists():
                        subprocess.run(["cgset", "-r", f"{key}={value}", cg._path(controller)],
                                       check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError):
            cg.remove()
            return None
        return cg

    def _path(self, controller: str) -> str:
        return "/" + str(self.dirs[controller].relative_to(
            CGROUP_ROOT / controller if self.version == "v1" else CGROUP_ROOT))

    def _groups(self) -> list[str]:
        if self.version == "v2":
            return ["-g", f"{','.join(self.dirs)}:{self._path('memory')}"]
        return [arg for c in self.dirs for arg in ("-g", f"{c}:{self._path(c)}")]

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started inside this cgroup."""
        return ["cgexec", *self._groups(), *cmd]

    def pids(self) -> list[int]:
        out = set()
        for d in self.dirs.values():
            try:
                out |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(out)

    def remove(self, wait: float = 10.0) -> None:
        """Kill every process left in the cgroup, then delete it."""
        import signal
        import subprocess

        deadline = time.monotonic() + wait
        while (pids := self.pids()) and time.monotonic() < deadline:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        for controller, d in self.dirs.items():  # one at a time: cgdelete 2.0 given several
            if d.exists():                         # controllers at one path deletes only one
                subprocess.run(["cgdelete", "-g", f"{controller}:{self._path(controller)}"],
                               capture_output=True)
