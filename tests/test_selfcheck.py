"""The students' self-check (dlcourse.checks.selfcheck) and the visible/hidden split.

- the last code cell of every student notebook calls selfcheck for its own chapter,
  and selfcheck covers every check the notebook's test cells call;
- it reports passed / failed / todo per exercise with the message, never a bare
  AssertionError or a traceback, and it works without nbgrader installed;
- hints teach: one is printed only for a failed or erroring exercise, and no hint holds a
  line of its solution or most of one line's tokens;
- hidden tests stay hidden: no hidden-test line in notebooks/ or in dlcourse/checks.
"""
from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader.course import assignments

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "dlcourse" / "checks"
CHAPTERS = [a for a in assignments() if (CHECKS / f"ch{a[:2]}.py").is_file()
            and (ROOT / "notebooks" / a / f"{a}.ipynb").is_file()]
CHECK_CALL = re.compile(r"\b(ch\d\d)\.(check_\w+)\(")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def read(kind: str, chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / kind / chapter / f"{chapter}.ipynb", as_version=4)


def run_without_nbgrader(code: str, setup: str = "") -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python where ``import nbgrader`` fails, as in Colab."""
    prelude = "import sys\nsys.modules['nbgrader'] = None  # blocks `import nbgrader`\n"
    return subprocess.run([sys.executable, "-c", prelude + setup + textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


NAMESPACE = """\
import json, math, random, sys
import nbformat, torch
import torch.nn.functional as F
from torch import nn
import dlcourse
from dlcourse.checks import selfcheck

def namespace(path, skip=()):
    ns = dict(math=math, random=random, torch=torch, nn=nn, F=F, dlcourse=dlcourse,
              device=torch.device("cpu"))
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") not in skip:
            try:
                exec(cell.source, ns)
            except Exception:
                pass  # a stub that raises at the top level, or a name from an uncopied cell
    return ns
"""


# --------------------------------------------------------------------------- coverage

@pytest.mark.parametrize("chapter", CHAPTERS)
def test_last_code_cell_runs_the_selfcheck_of_every_exercise(chapter):
    nb = read("notebooks", chapter)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tag = f"ch{chapter[:2]}"
    assert re.search(rf'selfcheck\(globals\(\), "{tag}"\)', code[-1].source), \
        f"{chapter}: the last code cell should be `selfcheck(globals(), \"{tag}\")`"
    called = {m.group(2) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              for m in CHECK_CALL.finditer(c.source) if m.group(1) == tag}
    assert called, f"{chapter}: no test cell calls {tag}.check_*"
    importlib.import_module(f"dlcourse.checks.{tag}")
    from dlcourse.checks import _REGISTRY
    registered = {ex.check.__name__ for ex in _REGISTRY.get(tag, [])}
    assert called <= registered, f"{chapter}: checks without @exercise, so not in the self-check: " \
                                 f"{sorted(called - registered)}"
    assert registered <= called, f"{chapter}: registered checks no test cell calls: {sorted(registered - called)}"


# --------------------------------------------------------------------------- behaviour

def test_selfcheck_passes_the_chapter_1_solution_without_nbgrader():
    out = run_without_nbgrader(setup=NAMESPACE, code="""
        results = selfcheck(namespace("solutions/01-linear-regression/01-linear-regression.ipynb"), "ch01")
        assert sys.modules["nbgrader"] is None, "something imported nbgrader"
        print("RESULTS", json.dumps(results))
    """)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout.split("RESULTS", 1)[1])
    assert len(results) == 6 and set(results.values()) == {"passed"}, out.stdout
    assert "Self-check, ch01: 6 of 6 exercises pass their visible tests." in out.stdout
    assert "All visible tests pass" in out.stdout


def test_selfcheck_steps_aside_while_nbgrader_runs_the_notebook():
    out = run_without_nbgrader(setup=NAMESPACE + "import os\nos.environ['NBGRADER_EXECUTION'] = 'autograde'\n",
                               code="""
        results = selfcheck(namespace("solutions/01-linear-regression/01-linear-regression.ipynb"), "ch01")
        print("RESULTS", json.dumps(results))
    """)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.split("RESULTS", 1)[1]) == {}
    assert "Self-check skipped: nbgrader is running this notebook (autograde)" in out.stdout
    assert "pass their visible tests" not in out.stdout


def test_failures_come_with_the_message_and_a_hint():
    out = run_without_nbgrader(setup=NAMESPACE, code="""
        path = "solutions/01-linear-regression/01-linear-regression.ipynb"
        ns = namespace(path, skip={"ex1-synthetic-data", "ex3-linreg", "ex4-squared-loss"})
        def synthetic_data(w, b, num_examples):          # forgets the noise
            X = torch.normal(0, 1, (num_examples, len(w)))
            return X, (X @ w + b).reshape(-1, 1)
        def linreg(X, w, b):                             # crashes on the shapes
            return X @ w.reshape(7) + b
        ns.update(synthetic_data=synthetic_data, linreg=linreg)  # squared_loss: cell not run
        print("RESULTS", json.dumps(selfcheck(ns, "ch01")))
        ns = namespace(path, skip={"ex5-sgd"})
        def sgd(params, lr, batch_size):                 # the untouched stub
            raise NotImplementedError()
        ns["sgd"] = sgd
        print("RESULTS", json.dumps(selfcheck(ns, "ch01")))
    """)
    assert out.returncode == 0, out.stderr
    first, results1, second, results2 = re.split(r"RESULTS (.*)\n", out.stdout)[:4]
    assert json.loads(results1) == {
        "1.1 synthetic data": "failed", "1.2 minibatch iterator": "passed",
        "1.3 linear model": "error", "1.4 squared loss": "not run", "1.5 SGD step": "passed",
        "1.6 training recovers w and b": "error"}
    assert "Self-check, ch01: 2 of 6 exercises pass their visible tests." in first
    assert "y should include Gaussian noise with std 0.01, but it has none" in first
    assert "RuntimeError: shape '[7]' is invalid" in first and "(in linreg, line" in first
    assert "`squared_loss` is not defined yet: run the exercise cell first." in first
    assert first.count("hint: ") == 3   # failed and error only: not for "not run"
    assert "`squared_loss` is not defined yet: run the exercise cell first.\n     hint" not in first
    assert "hint: " not in second         # todo only
    assert json.loads(results2)["1.5 SGD step"] == "todo"
    assert json.loads(results2)["1.6 training recovers w and b"] == "todo"
    assert "still the stub: replace `raise NotImplementedError()` with your code." in second
    assert "it calls `sgd`, which is still the stub: finish that exercise first." in second
    for report in (first, second):
        assert "AssertionError" not in report and "Traceback" not in report
        assert "All visible tests pass" not in report


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_notebook_gets_a_summary_not_a_traceback(chapter):
    tag = f"ch{chapter[:2]}"
    out = run_without_nbgrader(setup=NAMESPACE, code=f"""
        results = selfcheck(namespace("notebooks/{chapter}/{chapter}.ipynb"), "{tag}")
        print("RESULTS", json.dumps(results))
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    report, results = out.stdout.split("RESULTS", 1)
    results = json.loads(results)
    assert results and "passed" not in results.values(), report
    assert f"Self-check, {tag}: 0 of {len(results)} exercises pass" in report
    assert "Traceback" not in report and "AssertionError" not in report
    if set(results.values()) <= {"todo", "not run"}:
        assert "hint:" not in report, report


def test_an_unknown_chapter_is_explained():
    out = run_without_nbgrader("""
        from dlcourse.checks import selfcheck
        assert selfcheck({}, "ch42") == {}
    """)
    assert out.returncode == 0, out.stderr
    assert "no checks for 'ch42'" in out.stdout and "ch01" in out.stdout


# --------------------------------------------------------------------------- hints teach

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\*\*|//|[-+*/@%<>=!]=?")


def common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    row = [0] * (len(b) + 1)
    for x in a:
        diag = 0
        for j, y in enumerate(b):
            diag, row[j + 1] = row[j + 1], diag + 1 if x == y else max(row[j + 1], row[j])
    return row[-1]


def hint_leaks(hint: str, solution: str) -> list[str]:
    """Solution lines that ``hint`` gives away: the whole line, or most of its tokens in order."""
    flat, hint_tokens, found = " ".join(hint.split()), TOKEN.findall(hint), []
    for line in solution.splitlines():
        code = " ".join(line.split("  #")[0].split())
        tokens = TOKEN.findall(code)
        if (len(code) >= 8 and code in flat) or (len(tokens) >= 4 and 2 * common_run(hint_tokens, tokens) > len(tokens)):
            found.append(code)
    return found


def solutions_for(chapter: str, names: list[str]) -> str:
    """The solution blocks of the cells of ``chapter`` that define any of ``names``."""
    blocks = []
    for cell in read("solutions", chapter).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and any(
                re.search(rf"^\s*(def |class )?{re.escape(n)}\b", cell.source, re.M) for n in names):
            blocks += SOLUTION.findall(cell.source)
    return "\n".join(blocks)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_hint_gives_away_its_solution(chapter):
    tag = f"ch{chapter[:2]}"
    importlib.import_module(f"dlcourse.checks.{tag}")
    from dlcourse.checks import _REGISTRY
    leaked = {}
    for ex in _REGISTRY[tag]:
        solution = solutions_for(chapter, ex.needs)
        assert solution.strip(), f"{ex.name}: no solution cell defines {ex.needs}"
        assert ex.hint.strip(), f"{ex.name} has no hint"
        if hint_leaks(ex.hint, solution):
            leaked[ex.name] = hint_leaks(ex.hint, solution)
    assert not leaked, f"{chapter}: hints that give the solution away (say the idea, not the code): {leaked}"


@pytest.mark.parametrize("hint", [
    "dO = (softmax(O) - one_hot(y, q)) / n; dW2 = H.T @ dO + lambd * W2; dH = dO @ W2.T",  # an old one
    "Use dW1 = X.T @ dZ + lambd * W1 for the first layer.",
])
def test_a_hint_that_spells_out_the_code_is_caught(hint):
    assert hint_leaks(hint, solutions_for("08-initialization", ["backward"]))


# --------------------------------------------------------------------------- hidden stays hidden

def hidden_lines(chapter: str, min_len: int) -> set[str]:
    """Lines of the chapter's hidden tests that appear nowhere else in its solution."""
    source = read("solutions", chapter)
    hidden, public = set(), set()
    for cell in source.cells:
        for block in HIDDEN.findall(cell.source):
            hidden.update(l.strip() for l in block.splitlines())
        public.update(l.strip() for l in HIDDEN.sub("", cell.source).splitlines())
    return {l for l in hidden - public if len(l) >= min_len and not l.startswith("#")}


@pytest.mark.parametrize("chapter", [a for a in assignments()
                                     if (ROOT / "notebooks" / a / f"{a}.ipynb").is_file()])
def test_hidden_tests_are_not_in_the_student_notebook(chapter):
    secrets = hidden_lines(chapter, 8)
    raw = (ROOT / "notebooks" / chapter / f"{chapter}.ipynb").read_text()
    assert "HIDDEN TESTS" not in raw
    student = {l.strip() for c in read("notebooks", chapter).cells for l in c.source.splitlines()}
    assert not secrets & student, f"{chapter}: hidden-test lines in notebooks/: {sorted(secrets & student)[:5]}"


def windows(lines: list[str], n: int = 3) -> set[tuple[str, ...]]:
    lines = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
    return {tuple(lines[i:i + n]) for i in range(len(lines) - n + 1)}


def test_hidden_tests_are_not_in_the_visible_checks():
    """No run of three hidden-test or judge lines in dlcourse/checks (a single shared idiom
    such as `for _ in range(3):` is a coincidence, three lines in a row are a copy; a single
    line of a reference solution is a leak: tests/test_release.py)."""
    visible = {}
    for path in CHECKS.glob("*.py"):
        text = path.read_text()
        assert "HIDDEN TESTS" not in text, f"{path.name} mentions hidden tests"
        visible.update({w: path.name for w in windows(text.splitlines())})
    leaks = {}
    for chapter in assignments():
        for cell in read("solutions", chapter).cells:
            for block in HIDDEN.findall(cell.source):
                for w in windows(block.splitlines()) & visible.keys():
                    leaks[" / ".join(w)] = f"{chapter} -> {visible[w]}"
    judges = ROOT / "grader" / "judges"
    for path in sorted(judges.glob("*.py")) if judges.is_dir() else []:
        for w in windows(path.read_text().splitlines()) & visible.keys():
            leaks[" / ".join(w)] = f"{path.name} -> {visible[w]}"
    assert not leaks, f"hidden-test or judge lines copied into dlcourse/checks: {leaks}"
