"""The answer catalogs against the judges, in a real kernel (issue 14's proof, fast form).

Each chapter's catalog (``tests/grader/answers/chNN.py``) lists, per exercise, plausible
wrong answers and correct alternatives, each the whole source of the exercise's
solution cell. For each chapter one real kernel loads the reference definitions (what
the solution notebook defines), gets the grader's probe runtime, and then plays rounds:
round k swaps in the k-th wrong answer of *every* exercise at once and runs every judge
of the chapter. Each judge must fail exactly the exercises that hold a wrong answer in
that round, so a wrong answer loses points on its own exercise and moves no other
exercise's verdict. The rounds of correct alternatives must pass every judge.
``tests/grader/test_verdicts.py`` runs this for every chapter, and grades one round per
chapter through the whole grader as well.

    python tests/grader/verdicts.py 01 03 [--messages]   # chapters 1 and 3 (all when none given)
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.judge import (_solution_code, install_code, judges_for, probe_expression,  # noqa: E402
                          reply_of, run_judges, warm_up_code)

ANSWERS = Path(__file__).parent / "answers"


def catalog(chapter: str):
    """The catalog module of ``chapter`` ("01" or "01-linear-regression")."""
    path = ANSWERS / f"ch{chapter[:2]}.py"
    spec = importlib.util.spec_from_file_location(f"answers_ch{chapter[:2]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chapters() -> list[str]:
    return sorted(p.stem[2:] for p in ANSWERS.glob("ch[0-9][0-9].py"))


@dataclasses.dataclass
class Report:
    assignment: str
    counts: dict = dataclasses.field(default_factory=dict)   # grade_id -> [wrong caught, wrong, right ok, right]
    problems: list = dataclasses.field(default_factory=list)
    messages: list = dataclasses.field(default_factory=list)   # what each rejected answer is told
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"{self.assignment}: {self.seconds:.0f} s"]
        for gid, (caught, wrong, ok, right) in self.counts.items():
            out.append(f"  {gid:34s} wrong rejected {caught}/{wrong}   correct accepted {ok}/{right}")
        return out + [f"  PROBLEM {p}" for p in self.problems]


class Kernel:
    """A real IPython kernel with the reference definitions and the probe runtime."""

    def __init__(self, assignment: str):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.km.start_kernel(env=env, cwd=str(ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.name = "_" + secrets.token_hex(6)
        self.run("import torch\ntorch.set_num_threads(1)")
        self.run(_solution_code(assignment)[0])
        self.run(install_code(self.name))
        self.run(warm_up_code(assignment))

    def _reply(self, msg_id, timeout):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.kc.get_shell_msg(timeout=left)
            except Exception:  # queue.Empty
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def run(self, code: str, timeout: float = 300) -> None:
        reply = self._reply(self.kc.execute(code, silent=True, store_history=False), timeout)
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"kernel: {content.get('ename')}: {content.get('evalue')}\n{code[:300]}")

    def probe(self, request, timeout):
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"probe": probe_expression(self.name, request)})
        reply = self._reply(msg_id, timeout)
        if reply is None:
            self.km.interrupt_kernel()
            if self._reply(msg_id, 10) is not None:
                reply = {"interrupted": True}
        return reply_of(reply, timeout)

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _solution_cells(assignment: str) -> dict[str, str]:
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def check_chapter(chapter: str, secret: bytes | None = None) -> Report:
    """Every round of ``chapter``'s catalog (see the module doc)."""
    cat = catalog(chapter)
    a = cat.ASSIGNMENT
    report = Report(a)
    t0 = time.monotonic()
    secret = secret or secrets.token_bytes(16)
    solutions = _solution_cells(a)
    ids = [j.grade_id for j in judges_for(a)]
    for gid in ids:
        report.counts[gid] = [0, len(cat.WRONG.get(gid, (None, []))[1]), 0,
                              len(cat.RIGHT.get(gid, (None, []))[1])]
    for gid in list(cat.WRONG) + list(cat.RIGHT):
        if gid not in report.counts:
            report.problems.append(f"the catalog names {gid}, which has no judge")
    kernel = Kernel(a)
    try:
        base = run_judges(a, "verdicts", kernel.probe, secret=secret)
        for gid, v in base.items():
            if not v.passed:
                report.problems.append(f"the reference fails {gid}: {v.status}: {v.message}")
        for kind, table in (("wrong", cat.WRONG), ("right", cat.RIGHT)):
            rounds = max((len(answers) for _, answers in table.values()), default=0)
            for k in range(rounds):
                swapped = {gid: (cell, answers[k]) for gid, (cell, answers) in table.items()
                           if k < len(answers)}
                for gid, (cell, (_, source)) in swapped.items():
                    kernel.run(source)
                verdicts = run_judges(a, f"verdicts-{kind}-{k}", kernel.probe, secret=secret)
                for gid, v in verdicts.items():
                    if gid in swapped:
                        label = swapped[gid][1][0]
                        if kind == "wrong":
                            if v.passed:
                                report.problems.append(f"{gid}: wrong answer passes: {label}")
                            else:
                                report.counts[gid][0] += 1
                                report.messages.append(f"{gid}: {label}: {v.status}: {v.message}")
                                if not v.message:
                                    report.problems.append(f"{gid}: no message for: {label}")
                        elif v.passed:
                            report.counts[gid][2] += 1
                        else:
                            report.problems.append(f"{gid}: correct answer rejected: {label}: {v.message}")
                    elif not v.passed:
                        others = ", ".join(f"{g}: {s[1][0]}" for g, s in swapped.items())
                        report.problems.append(f"{gid} moved ({v.message}) in {kind} round {k} ({others})")
                for gid, (cell, _) in swapped.items():
                    kernel.run(solutions[cell])
    finally:
        kernel.close()
    report.seconds = time.monotonic() - t0
    return report


if __name__ == "__main__":
    show = "--messages" in sys.argv
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")] or chapters()
    bad = 0
    for ch in wanted:
        rep = check_chapter(ch)
        print("\n".join(rep.lines() + (["  " + m for m in rep.messages] if show else [])), flush=True)
        bad += len(rep.problems)
    sys.exit(1 if bad else 0)
