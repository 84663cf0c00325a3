"""Execution: nbgrader's Execute preprocessor with the kernel in the sandbox.

:func:`make_executor` builds a :class:`SandboxedExecute` for one submission (a
:class:`Job`: its scratch folder, limits, worker slot, cgroup). It runs the notebook
cell by cell in a kernel inside bubblewrap (see grader.sandbox) with per-cell and
per-notebook time limits and bounded output per cell and per notebook; installs the
probe runtime and the integrity guard before the first cell; restores before every
test cell and checks after every cell; a cell that kills the kernel, ignores the
interrupt at its time limit or breaks the guard is noted and the notebook is run
again without it, in a fresh kernel. After the last cell it runs the chapter's judges
(grader.judge), whose verdicts become the scores (grader.score).
"""
from __future__ import annotations

import copy
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute

from .judge import (ProbeTimeout, install_code, judges_for, probe_expression, reply_of, run_judges,
                    warm_up_code)
from .sandbox import (KernelCgroup, Limits, MemoryMonitor, describe_exit, kernel_command, kernel_uid,
                      reap_user)
from .sanitize import guard_install_expression, guard_report, guard_restore_expression

GUARD_TIMEOUT = 60.0      # seconds the kernel has to run the integrity guard
ANSWER_TIMEOUT = 10.0     # seconds an interrupted kernel has to answer again
JUDGE_BUDGET = 120.0      # seconds every judge of a notebook has together, at least
STUCK = "the cell ran past its time limit and ignored the interrupt, so the kernel was stopped"
INTERFERED = ("the cell replaced or bypassed the grader's integrity guard (which puts back "
              "what the tests rely on), so the kernel was stopped")


class GuardInstallError(RuntimeError):
    """The grader could not set up its integrity guard in a fresh kernel (its own fault)."""


def guard_modules(assignment: str, with_d2l: bool = True) -> tuple[list[str], dict[str, str]]:
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


def tests_use_d2l(nb) -> bool:
    """Whether a locked (instructor's) cell of the sanitised notebook mentions d2l."""
    return any("d2l" in c.source for c in nb.cells if c.cell_type == "code" and utils.is_locked(c))


@dataclass
class Job:
    """One submission's run: where its kernel works and under which limits."""

    scratch: Path
    limits: Limits
    slot: int
    assignment: str
    student: str = ""
    cgroup: KernelCgroup | None = None
    with_d2l: bool = True
    prepare: Callable[[], object] | None = None   # makes the scratch folder anew
    uid: int | None = field(init=False)
    max_bytes: int = field(init=False)
    max_notebook_bytes: int = field(init=False)
    modules: list = field(init=False)
    aliases: dict = field(init=False)
    judged: bool = field(init=False)

    def __post_init__(self):
        self.uid = kernel_uid(self.limits, self.slot)
        self.max_bytes = int(self.limits.output_mb * (1 << 20))
        self.max_notebook_bytes = int(self.limits.notebook_output_mb * (1 << 20))
        self.modules, self.aliases = guard_modules(self.assignment, self.with_d2l)
        self.judged = bool(judges_for(self.assignment))

    def clean_up(self):
        """Kill what is left of a dead kernel (a fork bomb's children) before the next one."""
        if self.uid is not None:
            reap_user(self.uid)
        if self.cgroup is not None:
            for pid in self.cgroup.pids():
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel inside the sandbox (``job`` is set by SandboxedExecute)."""

    job: Job

    def format_kernel_cmd(self, extra_arguments=None):
        job = self.job
        return kernel_command(super().format_kernel_cmd(extra_arguments), job.scratch, job.limits, job.slot,
                              cgroup=job.cgroup)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.job.uid is not None:
            os.chown(self.connection_file, self.job.uid, self.job.uid)


class SandboxedExecute(Execute):
    """nbgrader's Execute for one :class:`Job` (see the module doc)."""

    job: Job

    def create_kernel_manager(self):
        km = SandboxKernelManager(kernel_name="python3", config=self.config,
                                  transport="ipc", ip=str(self.job.scratch / "kernel"),
                                  connection_file=str(self.job.scratch / "kernel.json"))
        km.kernel_spec.interrupt_mode = "message"  # a signal would stop at bwrap
        km.job = self.job
        self.km = km
        return km

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(cwd=str(self.job.scratch), stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, **kwargs)
        self.kernel_process = self.km.provisioner.process
        self.monitor.pid = self.kernel_process.pid

    start_new_kernel = run_sync(async_start_new_kernel)

    def _get_timeout(self, cell):
        left = self.deadline - time.monotonic()
        return max(1, int(min(self.job.limits.cell_timeout, left) + 0.999))

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        if msg["content"].get("name") == "stderr":
            self.stderr_bytes += size
        self.output_bytes[cell_index] = used = self.output_bytes.get(cell_index, 0) + size
        self.notebook_bytes += size
        if used > self.job.max_bytes or self.notebook_bytes > self.job.max_notebook_bytes:
            if cell_index not in self.truncated:
                self.truncated.add(cell_index)
                what = (f"{self.job.limits.output_mb:g} MB in this cell" if used > self.job.max_bytes
                        else f"{self.job.limits.notebook_output_mb:g} MB in the notebook")
                outs.append(new_output("stream", name="stdout", text=(
                    f"\n[output truncated by the grader: more than {what}]\n")))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = self._run_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1 and self.job.judged:
            self._judge_all()
        return cell, resources

    def _run_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if time.monotonic() >= self.deadline:
            self.not_run.add(index)
            cell.outputs = [new_output("error", ename="NotebookTimeout", evalue=(
                f"not run: the notebook used up its {self.job.limits.notebook_timeout} s"),
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
        if not self.job.judged:
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
        self.run_code(warm_up_code(self.job.assignment), GUARD_TIMEOUT)
        left = max(JUDGE_BUDGET, self.deadline - time.monotonic())
        self.verdicts = run_judges(self.job.assignment, self.job.student, self._probe, present=present,
                                   budget=left)

    def _install_guard(self):
        """Install the guard before the first cell. No student code has run yet, so a
        failure here is the grader's own (status "error", graded again later), not
        something to blame on the notebook's first cell."""
        reply = self.evaluate(guard_install_expression(self.guard_name, self.guard_key,
                                                       self.job.modules, self.job.aliases))
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
        self.deadline = time.monotonic() + self.job.limits.notebook_timeout
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
                    self.job.clean_up()
                    if self.job.prepare is not None:
                        # a fresh folder (and home) for the next kernel: nothing the dead
                        # one wrote (a startup file, a patched package) carries over
                        self.job.prepare()
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
        self.notebook_bytes = 0
        self.truncated, self.not_run, self.tampered = set(), set(), set()
        self.restored: set[str] = set()
        self.verdicts, self.verdict_note = {}, ""


def make_executor(config, job: Job) -> SandboxedExecute:
    """A :class:`SandboxedExecute` for ``job``, with the time limits of its Limits."""
    limits = job.limits
    config = copy.deepcopy(config)  # nbclient re-reads its settings from the config on each run
    config.Execute.timeout = limits.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.shutdown_kernel = "immediate"
    config.Execute.raise_on_iopub_timeout = False  # late output after an interrupt: keep going
    executor = SandboxedExecute(config=config)
    executor.job = job
    return executor
