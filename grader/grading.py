"""Grading: one submission in a sandbox (:func:`grade_one`), then into the gradebook (:func:`merge`).

The pipeline for one notebook, each step one function or nbgrader preprocessor:

    load_submission (grader.sanitize: parse, upgrade, recover metadata, repair)
    -> ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata
       (nbgrader's sanitising preprocessors, against a private copy of the gradebook:
       locked test cells get their hidden tests back here)
    -> SandboxedExecute (nbgrader's Execute with the kernel in bubblewrap and its own
       cgroup, per-cell and per-notebook time limits, bounded output, the integrity
       guard restoring before every test cell and checked after every cell; a cell
       that kills the kernel, ignores the interrupt at its time limit or breaks the
       guard scores 0 and the notebook is run again, without it, in a fresh kernel)
    -> IgnorePattern, LimitOutput (nbgrader) -> scores (nbgrader's determine_grade),
       with each test cell's message cut to one line and withheld where it may carry
       hidden tests (see :func:`_shown`)

:func:`grade_one` never touches the shared gradebook: it returns a picklable
:class:`~grader.results.Result`, so it can run in a worker process or on a dask
worker. :func:`merge` then records it serially, as ``nbgrader autograde`` would
have (submission, grades, comments, late penalty, the autograded notebook), and
saves the result as ``var/results/<assignment>/<student>.json``; a merge that
fails (:func:`merge_safely`) is recorded on the result, and the batch goes on.
:func:`autograde_submissions` is the local parallel runner: persistent worker
processes (each imports nbgrader once and grades many notebooks), a progress bar
and serial merges in the parent.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from .course import CONFIG, ROOT, var_dir
from .results import CellResult, Result
from .sandbox import (KernelCgroup, Limits, MemoryMonitor, check_bwrap, describe_exit,
                      kernel_command, kernel_uid, prepare_scratch, reap_user)

# Per-process state of a grading worker: its private folder (gradebook snapshot,
# scratch folders) and the course configuration.
_WORKER = {"dir": None, "config": None}
_SNAPSHOT_MAX_AGE = 30.0  # seconds; a worker re-copies the gradebook when older
GUARD_TIMEOUT = 60.0      # seconds the kernel has to run the integrity guard
ANSWER_TIMEOUT = 10.0     # seconds an interrupted kernel has to answer again
JUDGE_BUDGET = 120.0      # seconds every judge of a notebook has together, at least
STUCK = "the cell ran past its time limit and ignored the interrupt, so the kernel was stopped"
INTERFERED = ("the cell replaced or bypassed the grader's integrity guard (which puts back "
              "what the tests rely on), so the kernel was stopped")


def _slot() -> int:
    """This process's id: as root, its kernels run as user ``uid_base + pid``, unique
    among the grading processes running at the same time, even of other runs."""
    return os.getpid()


def _workdir() -> Path:
    if _WORKER["dir"] is None or not Path(_WORKER["dir"]).is_dir():
        d = Path(tempfile.mkdtemp(prefix="dlgrader-"))
        d.chmod(0o711)  # the sandboxed kernel's user may traverse to its scratch folder only
        (d / "private").mkdir(mode=0o700)
        _WORKER["dir"] = str(d)
        # removed when the process ends, normally or as a multiprocessing worker
        import atexit
        from multiprocessing import util

        atexit.register(shutil.rmtree, d, True)
        util.Finalize(None, shutil.rmtree, args=(d, True), exitpriority=0)
    return Path(_WORKER["dir"])


def _config():
    if _WORKER["config"] is None:
        from traitlets.config.loader import PyFileConfigLoader

        _WORKER["config"] = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    return _WORKER["config"]


def _gradebook_snapshot(assignment: str) -> str:
    """A private, consistent copy of the gradebook (it holds the hidden tests), URL form."""
    src = var_dir() / "gradebook.db"
    if not src.is_file():
        raise RuntimeError(f"no gradebook at {src}: run `python -m grader build {assignment}` first")
    import hashlib

    key = hashlib.sha1(str(src.resolve()).encode()).hexdigest()[:12]
    dest = _workdir() / "private" / f"gradebook-{key}.db"
    if not dest.is_file() or time.time() - dest.stat().st_mtime > _SNAPSHOT_MAX_AGE:
        tmp = dest.with_suffix(".tmp")
        with sqlite3.connect(src) as a, sqlite3.connect(tmp) as b:
            a.backup(b)
        os.replace(tmp, dest)
    return f"sqlite:///{dest}"


def _guard_modules(assignment: str, with_d2l: bool = True) -> tuple[list[str], dict[str, str]]:
    """The modules the guard snapshots before the first cell, and the names it keeps bound
    to them. d2l (used by some tests as an oracle) costs a kernel about 2.5 s to import
    (torchvision), so it is guarded only where the instructor's cells use it."""
    chapter = "ch" + assignment[:2]
    modules = ["builtins", "math", "random", "operator", "torch", "torch.nn", "torch.nn.functional",
               "torch.testing", "numpy", "numpy.testing", "dlcourse", "dlcourse.checks",
               f"dlcourse.checks.{chapter}"]
    aliases = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "np": "numpy",
               "numpy": "numpy", "math": "math", "random": "random", "dlcourse": "dlcourse",
               chapter: f"dlcourse.checks.{chapter}"}
    if with_d2l:
        modules.append("d2l.torch")
        aliases["d2l"] = "d2l.torch"
    return modules, aliases


def _tests_use_d2l(nb) -> bool:
    """Whether a locked (instructor's) cell of the sanitised notebook mentions d2l."""
    from nbgrader import utils

    return any("d2l" in c.source for c in nb.cells if c.cell_type == "code" and utils.is_locked(c))


class GuardInstallError(RuntimeError):
    """The grader could not set up its integrity guard in a fresh kernel (its own fault)."""


def _make_executor(config, *, scratch: Path, limits: Limits, slot: int, assignment: str,
                   student: str = "", cgroup: KernelCgroup | None = None, with_d2l: bool = True):
    """nbgrader's Execute preprocessor with the kernel in the sandbox (see grader.sandbox)."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import run_sync
    from nbformat.v4 import new_output
    from nbgrader import utils
    from nbgrader.preprocessors import Execute

    from .judge import ProbeTimeout, install_code, judges_for, probe_expression, reply_of, run_judges
    from .sanitize import guard_install_expression, guard_report, guard_restore_expression

    uid = kernel_uid(limits, slot)

    def clean_up():
        """Kill what is left of a dead kernel (a fork bomb's children) before the next one."""
        if uid is not None:
            reap_user(uid)
        if cgroup is not None:
            for pid in cgroup.pids():
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass

    class SandboxKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return kernel_command(super().format_kernel_cmd(extra_arguments), scratch, limits, slot,
                                  cgroup=cgroup)

        def write_connection_file(self, **kwargs):
            super().write_connection_file(**kwargs)
            if uid is not None:
                os.chown(self.connection_file, uid, uid)

    max_bytes = int(limits.output_mb * (1 << 20))
    modules, aliases = _guard_modules(assignment, with_d2l)
    judged = bool(judges_for(assignment))

    class SandboxedExecute(Execute):
        def create_kernel_manager(self):
            km = SandboxKernelManager(kernel_name="python3", config=self.config,
                                      transport="ipc", ip=str(scratch / "kernel"),
                                      connection_file=str(scratch / "kernel.json"))
            km.kernel_spec.interrupt_mode = "message"  # a signal would stop at bwrap
            self.km = km
            return km

        async def async_start_new_kernel(self, **kwargs):
            await super().async_start_new_kernel(cwd=str(scratch), stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL, **kwargs)
            self.kernel_process = self.km.provisioner.process
            self.monitor.pid = self.kernel_process.pid

        start_new_kernel = run_sync(async_start_new_kernel)

        def _get_timeout(self, cell):
            left = self.deadline - time.monotonic()
            return max(1, int(min(limits.cell_timeout, left) + 0.999))

        def output(self, outs, msg, display_id, cell_index):
            size = len(json.dumps(msg.get("content", {}), default=str))
            if msg["content"].get("name") == "stderr":
                self.stderr_bytes += size
            self.output_bytes[cell_index] = used = self.output_bytes.get(cell_index, 0) + size
            if used > max_bytes:
                if cell_index not in self.truncated:
                    self.truncated.add(cell_index)
                    outs.append(new_output("stream", name="stdout", text=(
                        f"\n[output truncated by the grader: more than {limits.output_mb:g} MB]\n")))
                return None
            return super().output(outs, msg, display_id, cell_index)

        def preprocess_cell(self, cell, resources, index):
            cell, resources = self._run_cell(cell, resources, index)
            if index == len(self.nb.cells) - 1 and judged:
                self._judge_all()
            return cell, resources

        def _run_cell(self, cell, resources, index):
            if cell.cell_type != "code":
                return cell, resources
            if time.monotonic() >= self.deadline:
                self.not_run.add(index)
                cell.outputs = [new_output("error", ename="NotebookTimeout", evalue=(
                    f"not run: the notebook used up its {limits.notebook_timeout} s"),
                    traceback=[])]
                return cell, resources
            self.current = index
            if not self.guard_installed:
                self.guard_installed = True
                self.guard_name = "_" + secrets.token_hex(8)
                self.guard_key = secrets.token_hex(16)
                self._install_runtime()
                self._install_guard()
            if utils.is_grade(cell):
                self._guard(index)
            t0 = time.monotonic()
            cell, resources = super().preprocess_cell(cell, resources, index)
            self.seconds[index] = time.monotonic() - t0
            if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError"
                   for o in cell.outputs) and not self.answers():
                # The interrupt was ignored (``except KeyboardInterrupt: pass`` in a loop):
                # every later cell would time out too. Stop the kernel, as if it had died.
                self._stop(STUCK)
            if self._check(full=False) is None:
                # This cell broke the guard: no later test could be trusted. Run the
                # notebook again without it, as after a cell that killed the kernel.
                self._stop(INTERFERED)
            return cell, resources

        def _stop(self, why):
            self.stop_reason = why
            self.kernel_process.kill()
            raise DeadKernelError(why)

        async def _async_request(self, msg_id, timeout):
            """The kernel's reply to the shell request ``msg_id``, or None after ``timeout`` s."""
            import queue

            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await self.kc.get_shell_msg(timeout=left)
                except queue.Empty:
                    return None
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg
            return None

        async def _async_answers(self):
            return await self._async_request(self.kc.kernel_info(), ANSWER_TIMEOUT) is not None

        answers = run_sync(_async_answers)

        async def _async_evaluate(self, expression):
            msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                     user_expressions={"guard": expression})
            reply = await self._async_request(msg_id, GUARD_TIMEOUT)
            return (reply or {}).get("content", {}).get("user_expressions", {}).get("guard")

        evaluate = run_sync(_async_evaluate)

        async def _async_run_code(self, code, timeout):
            msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
            return await self._async_request(msg_id, timeout)

        run_code = run_sync(_async_run_code)

        def _install_runtime(self):
            """The probe runtime (grader/kernel/runtime.py), as a module of its own."""
            if not judged:
                return
            self.runtime_name = "_" + secrets.token_hex(8)
            reply = self.run_code(install_code(self.runtime_name), GUARD_TIMEOUT)
            if (reply or {}).get("content", {}).get("status") != "ok":
                raise GuardInstallError("the grader's probe runtime could not be installed")

        async def _async_probe(self, request, timeout):
            msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                     user_expressions={"probe": probe_expression(self.runtime_name, request)})
            reply = await self._async_request(msg_id, timeout)
            if reply is None:  # interrupt it; a kernel that answers can go on with the next judge
                await self.km.interrupt_kernel()
                if await self._async_request(msg_id, ANSWER_TIMEOUT) is not None:
                    return {"interrupted": True}
            return reply

        def _probe(self, request, timeout):
            """One judge's probe in this kernel (see grader.judge.Trial.student)."""
            if self.kernel_process is not None and self.kernel_process.poll() is not None:
                raise ProbeTimeout("the kernel has died")
            return reply_of(run_sync(self._async_probe)(request, timeout), timeout)

        def _judge_all(self):
            """Every judge of the chapter, after the last cell: no student cell runs after
            a probe, so nothing a probe hands the kernel can reach the notebook's outputs."""
            present = {c.metadata.nbgrader["grade_id"] for c in self.nb.cells
                       if c.metadata.get("nbgrader", {}).get("grade")}
            if self._check(full=True) is None:
                self.verdict_note = "the notebook interferes with the kernel; judged as it is"
            left = max(JUDGE_BUDGET, self.deadline - time.monotonic())
            self.verdicts = run_judges(assignment, student, self._probe, present=present, budget=left)

        def _install_guard(self):
            """Install the guard before the first cell. No student code has run yet, so a
            failure here is the grader's own (status "error", graded again later), not
            something to blame on the notebook's first cell."""
            reply = self.evaluate(guard_install_expression(self.guard_name, self.guard_key,
                                                           modules, aliases))
            if (reply or {}).get("data", {}).get("text/plain") != "'installed'":
                detail = (f"{reply.get('ename')}: {reply.get('evalue')}" if reply
                          else f"no answer within {GUARD_TIMEOUT:g} s")
                raise GuardInstallError(f"the integrity guard could not be installed ({detail})")

        def _check(self, full):
            """Have the kernel run the integrity guard (``full``: restore, then check; else
            only check it is in place). What it restored, or None when its report is
            missing or forged, or says the guard was replaced or bypassed."""
            nonce = secrets.token_hex(8)
            reply = self.evaluate(guard_restore_expression(self.guard_name, nonce, full))
            return guard_report(reply, self.guard_key, nonce) if reply else None

        def _guard(self, index):
            """Restore before test cell ``index``; what was restored is noted; a failed
            check (see _check) makes the test cell score 0."""
            changed = self._check(full=True)
            if changed is None:
                self.tampered.add(index)
            else:
                self.restored.update(changed)

        def preprocess(self, nb, resources=None, km=None):
            """Run the notebook; a dead kernel is restarted and the notebook run again
            without the cell that killed it (which then scores 0)."""
            self.deadline = time.monotonic() + limits.notebook_timeout
            self.monitor = MemoryMonitor()
            self.dead: dict[int, str] = {}
            original = copy.deepcopy(nb)
            try:
                while True:
                    work = copy.deepcopy(original)
                    for i, why in self.dead.items():
                        work.cells[i].source = f"# not run by the grader: {why}"
                    self._reset_run_state()
                    try:
                        out, resources = super().preprocess(work, resources, km)
                        break
                    except DeadKernelError:
                        code = self.kernel_process.poll() if self.kernel_process else None
                        if code is None and self.kernel_process is not None:
                            try:
                                code = self.kernel_process.wait(timeout=5)
                            except Exception:
                                code = None
                        why = self.stop_reason or describe_exit(code)
                        clean_up()
                        if self.current is None or self.current in self.dead:
                            raise
                        self.dead[self.current] = why
                        if len(self.dead) > 3 or time.monotonic() >= self.deadline:
                            out = work
                            for i in range(self.current + 1, len(out.cells)):
                                if out.cells[i].cell_type == "code":
                                    self.not_run.add(i)
                                    out.cells[i].outputs = []
                            break
            finally:
                self.peak_mb = self.monitor.stop()
            for i, why in self.dead.items():
                out.cells[i].source = original.cells[i].source
                out.cells[i].outputs = [new_output("error", ename="KernelDied", evalue=(
                    f"{why} while running this cell; the notebook was run again without it"),
                    traceback=[])]
            for i in self.not_run:
                out.cells[i].outputs = [new_output("error", ename="NotebookTimeout", evalue=(
                    "not run: the notebook used up its time or its kernel kept dying"),
                    traceback=[])]
            for i in self.tampered:
                out.cells[i].outputs.append(new_output("error", ename="GraderIntegrityError", evalue=(
                    "the grader's check before this test could not run: the notebook "
                    "interferes with the kernel"), traceback=[]))
            return out, resources

        def _reset_run_state(self):
            self.current, self.kernel_process = None, None
            self.guard_installed, self.stop_reason = False, None
            self.seconds, self.output_bytes, self.stderr_bytes = {}, {}, 0
            self.truncated, self.not_run, self.tampered = set(), set(), set()
            self.restored: set[str] = set()
            self.verdicts, self.verdict_note = {}, ""

    config = copy.deepcopy(config)  # nbclient re-reads its settings from the config on each run
    config.Execute.timeout = limits.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.shutdown_kernel = "immediate"
    config.Execute.raise_on_iopub_timeout = False  # late output after an interrupt: keep going
    return SandboxedExecute(config=config)


MAX_MESSAGE = 200
SECRET_LINE = 20   # a hidden-test line this long in a message withholds it
_ENCODED = re.compile(r"[A-Za-z0-9+=_\-]{40,}")  # base64 / hex without spaces: maybe encoded


def _shown(text: str, hidden: set[str]) -> str:
    """A student-controlled message as the student may see it: its first line, at most
    MAX_MESSAGE characters, withheld when it quotes a hidden test or carries what looks
    like encoded data (code in the kernel can read the running test cell's source)."""
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    flat = " ".join(text.split())
    if any(h in flat or h in text for h in hidden if len(h) >= SECRET_LINE):
        return "(message withheld: it quotes the hidden tests)"
    if _ENCODED.search(text):
        return "(message withheld: it contains a long encoded-looking string)"
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 3] + "..."


def _message(cell, hidden: set[str] = frozenset()) -> tuple[str, str]:
    """(status, short message) of an executed test cell: from its error output, or from
    what it wrote to stderr when it raised nothing. ``hidden``: the hidden-test lines."""
    outputs = cell.get("outputs", [])
    errors = [o for o in outputs if o.output_type == "error"]
    if errors:
        out = errors[0]
        ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
        status = {"CellTimeoutError": "timeout", "NotebookTimeout": "timeout"}.get(ename)
        if status is None:
            status = "failed" if ename == "AssertionError" else "error"
        if ename == "CellTimeoutError":
            return status, "CellTimeoutError: the cell ran past its time limit"
        return status, f"{ename}: {_shown(evalue, hidden)}" if evalue.strip() else ename
    for out in outputs:
        if out.output_type == "stream" and out.get("name") == "stderr":
            return "failed", "the test cell wrote to stderr: " + _shown(out.get("text", ""), hidden)
    return "passed", ""



def grade_one(assignment: str, student: str, submission: Path, *,
              limits: Limits | None = None) -> Result:
    """Grade one submitted notebook in a sandbox; the shared gradebook is not touched.

    ``submission`` is the notebook file (or the folder holding ``<assignment>.ipynb``).
    Returns a :class:`Result` with the graded notebook attached (``result.notebook``)
    for :func:`merge`. Never raises for a bad submission: a file that cannot be graded
    gives ``status="rejected"``, a failure of the grader itself ``status="error"``.
    """
    import nbformat

    from .sanitize import Rejected, load_submission

    limits = limits or Limits.from_config()
    submission = Path(submission)
    if submission.is_dir():
        submission = submission / f"{assignment}.ipynb"
    t0 = time.perf_counter()
    result = Result(assignment=assignment, student=student, status="graded")
    try:
        nb, notes = load_submission(submission, assignment)
    except Rejected as e:
        result.status, result.notes = "rejected", [f"not graded: {e}"]
        _zero_cells(result, assignment)
        result.seconds = round(time.perf_counter() - t0, 3)
        return result
    result.notes += notes
    scratch = _workdir() / f"scratch-{student}"
    cgroup = uid = None
    try:
        if limits.sandbox:
            check_bwrap()
        config = _config()
        slot = _slot()
        uid = kernel_uid(limits, slot)
        if uid is not None:
            reap_user(uid)
            cgroup = KernelCgroup.create(limits)
        left_out = prepare_scratch(
            scratch, submission.parent if submission.parent.name == assignment else None, owner=uid)
        result.notes += [f"not given to the notebook: {what}" for what in left_out]
        resources = {"nbgrader": {"notebook": assignment, "assignment": assignment,
                                  "student": student, "db_url": _gradebook_snapshot(assignment)},
                     "metadata": {"path": str(scratch)}}
        nb = _sanitize(nb, resources, config)
        make_executor = functools.partial(_make_executor, config, scratch=scratch, limits=limits,
                                          slot=slot, assignment=assignment, student=student,
                                          cgroup=cgroup,
                                          with_d2l=_tests_use_d2l(nb))
        executor = make_executor()
        try:
            nb, resources = executor.preprocess(copy.deepcopy(nb), resources)
        except RuntimeError as e:  # the kernel did not start (e.g. a loaded machine): once more
            if "before replying to kernel_info" not in str(e):
                raise
            if uid is not None:
                reap_user(uid)
            executor = make_executor()
            nb, resources = executor.preprocess(nb, resources)
        nb = _postprocess(nb, resources, config)
        _collect_notes(result, executor, nb, limits)
        _score(result, nb, executor)
        result.peak_memory_mb = round(executor.peak_mb, 1)
        result.notebook = nbformat.writes(nb)
    except Exception as e:  # the grader's own failure: report, never crash the batch
        import traceback

        result.status = "error"
        result.notes.append(f"grader error: {type(e).__name__}: {e}")
        result.notes.append(traceback.format_exc(limit=6)[-1500:])
        _zero_cells(result, assignment)
    finally:
        if uid is not None:
            reap_user(uid)
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _sanitize(nb, resources, config):
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                        OverwriteCells, OverwriteKernelspec)

    for cls in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = cls(config=config).preprocess(nb, resources)
    return nb


def _postprocess(nb, resources, config):
    from nbgrader.preprocessors import IgnorePattern, LimitOutput

    for cls in (IgnorePattern, LimitOutput):
        pp = cls(config=config)
        if getattr(pp, "enabled", True):
            nb, resources = pp.preprocess(nb, resources)
    return nb


def _collect_notes(result: Result, ex, nb, limits: Limits) -> None:
    for i, why in sorted(ex.dead.items()):
        gid = nb.cells[i].metadata.get("nbgrader", {}).get("grade_id")
        where = f"cell {gid}" if gid else f"cell {i + 1}"
        result.notes.append(f"{why} in {where}: that cell scores 0 and the notebook was run "
                            "again without it")
    if ex.not_run:
        result.notes.append(f"notebook timed out after {limits.notebook_timeout} s: "
                            f"{len(ex.not_run)} cell(s) were not run")
    timeouts = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
        o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in c.outputs)]
    for i in timeouts:
        result.notes.append(f"cell {i + 1} timed out after {limits.cell_timeout} s and was interrupted")
    for cell in nb.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.output_type == "error" and out.get("ename") not in (
                        "NotImplementedError", "KernelDied", "NotebookTimeout", "CellTimeoutError"):
                    # the name only: the message is the student's text (see _message)
                    name = _shown(str(out.get("ename", "an exception")), set())[:80]
                    result.notes.append(f"solution cell {nbg['grade_id']} raised {name}")
    if ex.stderr_bytes > 64 << 10:
        result.notes.append(f"the notebook wrote {ex.stderr_bytes / 2**20:.1f} MB to stderr "
                            "(only a test cell's own stderr costs points)")
    if ex.truncated:
        result.notes.append(f"output of {len(ex.truncated)} cell(s) truncated at "
                            f"{limits.output_mb:g} MB")
    if ex.restored:
        shown = ", ".join(sorted(ex.restored)[:8]) + (" ..." if len(ex.restored) > 8 else "")
        result.notes.append(f"the notebook patched what the tests rely on ({shown}): "
                            "restored before each test cell")
    if ex.tampered:
        result.notes.append("the notebook interferes with the kernel so that the grader's "
                            "integrity check could not run: the affected test cells score 0")


def _score(result: Result, nb, ex) -> None:
    from nbgrader import utils

    from .hidden import block_lines
    from .judge import judges_for

    judged_ids = {j.grade_id for j in judges_for(result.assignment)}
    if ex.verdict_note:
        result.notes.append(ex.verdict_note)

    hidden = {line for cell in nb.cells if utils.is_grade(cell) and cell.cell_type == "code"
              for line in block_lines(cell.source)}
    for i, cell in enumerate(nb.cells):
        if not utils.is_grade(cell):
            continue
        score, max_score = utils.determine_grade(cell)
        gid = cell.metadata.nbgrader["grade_id"]
        verdict = ex.verdicts.get(gid)
        if verdict is not None:
            # the judge's verdict, never the cell's output (see grader.judge)
            result.cells.append(CellResult(
                grade_id=gid, score=float(max_score) if verdict.passed else 0.0,
                max_score=float(max_score), status=verdict.status, message=verdict.message,
                seconds=round(ex.seconds.get(i, 0.0) + verdict.seconds, 3), judged=True))
            continue
        if gid in judged_ids:
            result.cells.append(CellResult(grade_id=gid, score=0.0, max_score=float(max_score),
                                           status="timeout" if i in ex.not_run else "error",
                                           message="not judged: the notebook did not run to its end",
                                           judged=True))
            continue
        status, message = _message(cell, hidden)
        if i in ex.not_run:
            status = "timeout"
        elif i in ex.dead:
            status = "error"
        result.cells.append(CellResult(
            grade_id=gid, score=float(score or 0),
            max_score=float(max_score), status=status if score == max_score or status != "passed"
            else "failed", message=message, seconds=round(ex.seconds.get(i, 0.0), 3)))
    result.score = sum(c.score for c in result.cells)
    result.max_score = sum(c.max_score for c in result.cells)


def _zero_cells(result: Result, assignment: str) -> None:
    """Every graded cell of the release at 0 points, status "missing"."""
    from .sanitize import release_cells

    try:
        cells = release_cells(assignment)
    except Exception:
        return
    result.cells = [CellResult(grade_id=c.metadata.nbgrader["grade_id"], score=0.0,
                               max_score=float(c.metadata.nbgrader.get("points", 0)),
                               status="missing", message=result.notes[0][:300] if result.notes else "")
                    for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    result.max_score = sum(c.max_score for c in result.cells)
    result.score = 0.0


def submission_file(assignment: str, student: str) -> Path:
    """Where nbgrader keeps a collected submission: var/submitted/<student>/<a>/<a>.ipynb."""
    return var_dir() / "submitted" / student / assignment / f"{assignment}.ipynb"


def autograded_file(assignment: str, student: str) -> Path:
    return var_dir() / "autograded" / student / assignment / f"{assignment}.ipynb"


def merge(result: Result, config=None) -> None:
    """Record a result in the gradebook as ``nbgrader autograde`` would, serially.

    Creates the student and the submission (timestamp from ``timestamp.txt``
    when the submission has one), sets every graded cell's auto score and the
    solution cells' "No response." comments (nbgrader's SaveAutoGrades, run on
    the graded notebook), assigns the late penalty (nbgrader's AssignLatePenalties,
    with ``c.LateSubmissionPlugin`` of ``config``, the course configuration by
    default), writes the autograded notebook to
    ``var/autograded/<student>/<assignment>/`` and saves the JSON result.
    Grades a grader set by hand are kept, as nbgrader keeps them.
    """
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own; plain autograde shows them too
    config = config if config is not None else _config()
    a, s = result.assignment, result.student
    db_url = f"sqlite:///{var_dir() / 'gradebook.db'}"
    dest_dir = autograded_file(a, s).parent
    stamp = submission_file(a, s).parent / "timestamp.txt"
    resources = {"nbgrader": {"notebook": a, "assignment": a, "student": s, "db_url": db_url}}
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(s)
        if stamp.is_file() and stamp.read_text().strip():
            gb.update_or_create_submission(a, s, timestamp=stamp.read_text().strip())
        else:
            gb.update_or_create_submission(a, s)
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    if result.notebook is not None:
        nb = nbformat.reads(result.notebook, as_version=4)
        SaveAutoGrades(config=config).preprocess(nb, resources)
        dest_dir.mkdir(parents=True)
        sub_dir = submission_file(a, s).parent
        if sub_dir.is_dir():
            for p in sub_dir.iterdir():
                if p.is_file() and p.suffix != ".ipynb":
                    shutil.copy(p, dest_dir / p.name)
        nbformat.write(nb, dest_dir / f"{a}.ipynb")
        result.autograded_path = str(dest_dir / f"{a}.ipynb")
        verdicts = {c.grade_id: c.score for c in result.cells if c.judged}
        if verdicts:  # the judges' scores over what SaveAutoGrades read from the outputs
            with Gradebook(db_url) as gb:
                for grade in gb.find_submission_notebook(a, a, s).grades:
                    if grade.name in verdicts:
                        _save_auto_score(grade, verdicts[grade.name])
                gb.db.commit()
    else:
        nb = nbformat.v4.new_notebook()
        with Gradebook(db_url) as gb:
            for grade in gb.find_submission_notebook(a, a, s).grades:
                _save_auto_score(grade, 0.0)
            gb.db.commit()
        result.autograded_path = ""
    AssignLatePenalties(config=config).preprocess(nb, resources)
    result.save()


def _save_auto_score(grade, auto_score: float) -> None:
    """Set an automatic score as nbgrader's SaveAutoGrades does: a grade with a manual
    score (kept, it wins) or without any score needs a look from a human."""
    grade.auto_score = auto_score
    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None


def merge_safely(result: Result, merge_one=None) -> bool:
    """:func:`merge` (or ``merge_one``), but a failure (a locked gradebook, a full disk)
    is recorded on the result (``merge_error``) instead of raised, and the JSON result
    is still saved. Returns whether the merge worked."""
    try:
        (merge_one or merge)(result)
        return True
    except Exception as e:  # noqa: BLE001  (any failure: keep the batch going)
        result.merge_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        try:
            result.save()
        except OSError:
            pass
        return False


# --- the local parallel runner -------------------------------------------------

def _init_worker(env: dict) -> None:
    os.environ.update(env)
    import nbgrader.preprocessors  # noqa: F401  (import once per worker, not per notebook)
    import nbclient  # noqa: F401


def _work(assignment: str, student: str, submission: str, limits: Limits) -> Result:
    return grade_one(assignment, student, Path(submission), limits=limits)


def submitted_students(assignment: str) -> list[str]:
    """Students with a collected submission of ``assignment`` in var/submitted/."""
    root = var_dir() / "submitted"
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def unknown_students(assignments: list[str], students: list[str] | None) -> list[tuple[str, str]]:
    """The (assignment, student) pairs of ``students`` without a collected submission."""
    return [(a, s) for a in assignments for s in (students or [])
            if not submission_file(a, s).is_file()]


def autograde_submissions(assignments: list[str], students: list[str] | None = None,
                          workers: int | None = None, *, limits: Limits | None = None,
                          progress: bool = True) -> list[Result]:
    """Grade every (assignment, student) submission in parallel and merge each result.

    ``workers`` persistent processes (default: the number of cores) each grade many
    notebooks; the parent merges results into the gradebook one at a time as they
    arrive, and a progress bar shows done / failed / time left. Returns the results.
    A student of ``students`` without a submission (see :func:`unknown_students`) is
    skipped, never written into the gradebook. A merge that fails is recorded on its
    result (``merge_error``) and the others go on.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    limits = limits or Limits.from_config()
    if limits.sandbox:
        check_bwrap()
    jobs = []
    for a in assignments:
        for s in (students or submitted_students(a)):
            if submission_file(a, s).is_file():
                jobs.append((a, s, str(submission_file(a, s))))
    if not jobs:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if not limits.threads:
        limits = Limits(**{**limits.as_dict(), "threads": max(1, (os.cpu_count() or 1) // workers)})
    ctx = mp.get_context("spawn")
    env = {"DLCOURSE_VAR": str(var_dir()), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    results, failed = [], 0
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(env,)) as pool:
        futures = {pool.submit(_work, a, s, sub, limits): (a, s) for a, s, sub in jobs}
        with tqdm(total=len(jobs), desc=f"autograding ({workers} workers)", unit="notebook",
                 disable=not progress) as pbar:
            for fut in as_completed(futures):
                a, s = futures[fut]
                try:
                    result = fut.result()
                except Exception as e:  # a worker died: record it, keep going
                    result = Result(assignment=a, student=s, status="error",
                                    notes=[f"grader error: worker failed: {type(e).__name__}: {e}"])
                    _zero_cells(result, a)
                merge_safely(result)
                results.append(result)
                failed += result.status != "graded" or bool(result.merge_error)
                pbar.set_postfix(failed=failed, refresh=False)
                pbar.update()
    return results
