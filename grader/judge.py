"""Judges: the verdict on each exercise, decided in the grading process.

A notebook's test cells hold only the visible checks, for the student. The verdict
on an exercise comes from its *judge*, a function in ``grader/judges/chNN.py``:

    @judge("ex3-linreg-tests", forbid=TWINS)
    def linreg(t: Trial):
        X, w, b = t.randn(t.size(5, 40), 4), t.randn(4, 1), t.randn(1)
        got, want = t.both("result = linreg(X, w, b)", X=X, w=w, b=b)
        t.close(got, want, "linreg(X, w, b) should be X @ w + b, of shape (n, 1)")

:meth:`Trial.both` runs the same probe code twice on the same inputs, chosen at
grading time from a secret seed (``var/grader-secret``, one stream per student and
exercise): once in the student's kernel, against the student's functions, and once
here, against the reference solution (the definitions of ``solutions/``, run in this
process; no student code runs here). The kernel sends back values only, decoded here
into plain tensors and numbers (:func:`decode`), so nothing the student's process
makes can compare equal to anything or change how a comparison runs. The student's
process could still shape its reply, but to pass it has to produce the right values
for inputs it has never seen, which is doing the exercise.

A mistake costs points once: a judge of a function that composes earlier exercises
injects the reference versions of those parts (``inject=("linreg", ...)``) while its
probe runs, so only its own logic is judged. Injected names must be exercises judged
earlier in the notebook (checked when the judges load), so no judge can hand a later
exercise its answer.

``forbid`` maps functions to the reason they may not be called while the probe runs:
the helper package's twin of the exercise, or what a stated rule excludes ("without
torch.logsumexp"). The kernel's watch (``grader/kernel/runtime.py``) reports such a
call and the exercise scores 0 with the rule named.
"""
from __future__ import annotations

import ast
import base64
import builtins
import copy
import dataclasses
import functools
import hashlib
import hmac
import importlib
import json
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .course import ROOT

# Exception names a verdict may quote (what the student's code raised): the built-in
# ones; any other name is the student's own text and is not shown.
SAFE_EXCEPTIONS = frozenset(n for n, v in vars(builtins).items()
                            if isinstance(v, type) and issubclass(v, BaseException))
_REFERENCE_LOCK = threading.RLock()
MAX_REPLY = 64 << 20          # bytes of one probe reply the grader reads
DEFAULT_TIMEOUT = 20.0        # seconds one probe may run in the kernel


class Fail(Exception):
    """The exercise's answer is wrong; the message says what was expected, in words."""


class ProbeError(Exception):
    """The student's code raised while a probe ran (the name is the exception's)."""


class ProbeTimeout(Exception):
    """A probe ran past its time limit. ``stuck``: the kernel did not come back after an
    interrupt either, so no later probe can run."""

    def __init__(self, message: str, stuck: bool = True):
        super().__init__(message)
        self.stuck = stuck


@dataclasses.dataclass
class Verdict:
    grade_id: str
    passed: bool
    status: str         # passed, failed, error, timeout
    message: str = ""
    seconds: float = 0.0


@dataclasses.dataclass
class Judge:
    grade_id: str
    fn: Callable
    forbid: dict[str, str]
    timeout: float
    inject: tuple[str, ...]


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, list[Judge]] = {}


def judge(grade_id: str, *, forbid: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
          inject: tuple[str, ...] = ()):
    """Register ``fn(trial)`` as the judge of the test cell ``grade_id`` of the calling
    module's chapter (its ``ASSIGNMENT``). ``inject``: the earlier exercises whose
    reference versions this judge's probes may inject."""
    def register(fn):
        module = importlib.import_module(fn.__module__)
        _REGISTRY.setdefault(module.ASSIGNMENT, []).append(
            Judge(grade_id, fn, dict(forbid or {}), timeout, tuple(inject)))
        return fn
    return register


def judges_for(assignment: str) -> list[Judge]:
    """The judges of ``assignment``, in notebook order ([] when it has none)."""
    name = "ch" + assignment[:2]
    try:
        importlib.import_module(f"grader.judges.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"grader.judges.{name}":
            raise
    return list(_REGISTRY.get(assignment, []))


def warm_up_code(assignment: str) -> str:
    """Code that imports, before any probe is timed, what the chapter's judges watch (the
    helper packages holding the forbidden twins) and what a first training step loads."""
    modules = {"torch", "torch.optim"}
    for j in judges_for(assignment):
        for dotted in j.forbid:
            parts = dotted.split(".")
            modules.add("d2l.torch" if parts[0] == "d2l" else parts[0])
    # import_module binds no name in the student's namespace
    return "".join(f"try:\n    __import__('importlib').import_module({m!r})\nexcept Exception:\n    pass\n"
                   for m in sorted(modules))


def check_order(assignment: str, test_ids: list[str], solution_names: dict[str, str]) -> list[str]:
    """Problems with the judges of ``assignment`` against its notebook: judges for cells
    that do not exist, and injections of exercises not judged before (see module doc).
    ``test_ids``: graded test cells in notebook order; ``solution_names``: function name
    -> the test cell that judges it."""
    problems, judged = [], set()
    order = {gid: i for i, gid in enumerate(test_ids)}
    for j in sorted(judges_for(assignment), key=lambda j: order.get(j.grade_id, -1)):
        if j.grade_id not in order:
            problems.append(f"{assignment}: a judge for {j.grade_id}, which is not a graded test cell")
        for name in j.inject:
            if solution_names.get(name) not in judged:
                problems.append(f"{assignment}: {j.grade_id} injects {name}, which is not an exercise "
                                "judged before it")
        judged.add(j.grade_id)
    return problems


def problems(assignment: str) -> list[str]:
    """What is wrong with a chapter's judges against its solution notebook (empty when
    nothing, or when the chapter has no judges): every graded test cell needs a judge,
    none may keep hidden tests, and injections follow the notebook's order."""
    import nbformat

    if not judges_for(assignment):
        return []
    nb = nbformat.read(_solution_path(assignment), as_version=4)
    tests, names, pending, out = [], {}, [], []
    for cell in nb.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and cell.cell_type == "code":
            pending += [node.name for node in _definitions(cell.source)
                        if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        if nbg.get("grade") and cell.cell_type == "code":
            tests.append(nbg["grade_id"])
            names.update({n: nbg["grade_id"] for n in pending})
            pending = []
            if "BEGIN HIDDEN TESTS" in cell.source:
                out.append(f"{assignment}: {nbg['grade_id']} has a judge and still holds hidden tests")
    judged = {j.grade_id for j in judges_for(assignment)}
    out += [f"{assignment}: {gid} has no judge" for gid in tests if gid not in judged]
    return out + check_order(assignment, tests, names)


# --------------------------------------------------------------------------- secret seeds

def course_secret() -> bytes:
    """The course's secret (``var/grader-secret``, made on first use, readable by its owner
    only): every probe's inputs derive from it, so no student can know them in advance."""
    from .course import var_dir

    path = var_dir() / "grader-secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
        except FileExistsError:
            pass
    return bytes.fromhex(path.read_text().strip())


def seed_for(secret: bytes, assignment: str, student: str, grade_id: str) -> int:
    msg = f"{assignment}\0{student}\0{grade_id}".encode()
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:6], "big")


# --------------------------------------------------------------------------- the reference

def _solution_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def _definitions(source: str) -> list[ast.stmt]:
    """The top-level imports and definitions of a cell (what the reference needs), without
    running anything else: no training, no plots, no downloads."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    out = []
    for node in tree.body:
        if isinstance(node, keep):
            out.append(node)
        elif isinstance(node, ast.Assign) and _literal(node.value):
            out.append(node)
    return out


def _literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


@functools.lru_cache(maxsize=None)
def _solution_code(assignment: str) -> tuple[str, dict[str, str]]:
    """(all definitions of the solution notebook as one module's source, name -> the source
    of that top-level function or class)."""
    import nbformat

    nb = nbformat.read(_solution_path(assignment), as_version=4)
    parts, named = [], {}
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        for node in _definitions(cell.source):
            text = ast.unparse(node)
            parts.append(text)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                named[node.name] = text
    return "\n".join(parts), named


def _imports(assignment: str) -> str:
    code, _ = _solution_code(assignment)
    return "\n".join(ln for ln in code.splitlines() if ln.startswith(("import ", "from ")))


@functools.lru_cache(maxsize=None)
def _reference_namespace(assignment: str) -> dict:
    import torch

    torch.set_num_threads(1)
    code, _ = _solution_code(assignment)
    ns: dict[str, Any] = {"__name__": f"reference_{assignment[:2]}"}
    for node in ast.parse(code).body:
        try:
            exec(compile(ast.Module([node], []), f"<reference {assignment}>", "exec"), ns)
        except Exception:  # noqa: BLE001  (a constant that needs what was not run: not needed)
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                raise
    return ns


def reference_sources(assignment: str, names: tuple[str, ...]) -> str:
    """The chapter's imports and the reference definitions of ``names``, as one source."""
    _, named = _solution_code(assignment)
    return "\n\n".join([_imports(assignment)] + [named[n] for n in names])


# --------------------------------------------------------------------------- values

@dataclasses.dataclass
class Module:
    """What the kernel reports of an nn.Module: its class name, mode and state."""
    cls: str
    training: bool
    state: dict
    devices: list


@dataclasses.dataclass
class Other:
    """A value of a type the probe does not transfer (only its type name)."""
    type: str


_DTYPES = {"float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
           "complex64", "complex128"}


def decode(obj, depth: int = 0):
    """The grader's reading of a probe reply: plain tensors, numbers, strings, lists,
    tuples, dicts, :class:`Module` and :class:`Other`. Raises ValueError on anything else."""
    import numpy as np
    import torch

    if depth > 25:
        raise ValueError("nested too deep")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        raise ValueError("a bare list")
    if not isinstance(obj, dict):
        raise ValueError(f"unexpected {type(obj).__name__}")
    kind = obj.get("t")
    if kind in ("tensor", "ndarray"):
        dtype = str(obj.get("dtype"))
        if dtype not in _DTYPES:
            raise ValueError(f"dtype {dtype}")
        shape = [int(s) for s in obj["shape"]]
        arr = np.frombuffer(base64.b64decode(obj["data"], validate=True), dtype=dtype)
        if arr.size != math.prod(shape):
            raise ValueError("size")
        x = torch.from_numpy(arr.reshape(shape).copy())
        if kind == "tensor":
            x = Tensor(x, bool(obj.get("requires_grad")), str(obj.get("device", "cpu")),
                       bool(obj.get("leaf", True)))
        return x
    if kind == "float":
        return float(obj["v"])
    if kind == "str":
        return str(obj["v"])
    if kind in ("list", "tuple", "set"):
        items = [decode(v, depth + 1) for v in obj["v"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {_key(decode(k, depth + 1)): decode(v, depth + 1) for k, v in obj["items"]}
    if kind == "module":
        return Module(str(obj["class"])[:60], bool(obj["training"]), decode(obj["state"], depth + 1),
                      [str(d) for d in obj.get("devices", [])])
    if kind == "frame":
        return {str(c): decode(obj["data"][c], depth + 1) for c in obj["columns"]}
    if kind == "other":
        return Other(str(obj.get("type"))[:60])
    raise ValueError(f"unknown kind {kind!r}")


def _key(k):
    if isinstance(k, (list, dict)):
        raise ValueError("unhashable key")
    return k


class Tensor:
    """A tensor the student's code returned: ``.data`` (a plain CPU tensor made here
    from its bytes) and what the kernel said of it (requires_grad, device, is_leaf)."""

    def __init__(self, data, requires_grad: bool, device: str, leaf: bool):
        self.data, self.requires_grad, self.device, self.is_leaf = data, requires_grad, device, leaf

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    def __repr__(self):
        return f"Tensor(shape={self.shape}, dtype={self.dtype})"


def plain(value):
    """``value`` with every :class:`Tensor` replaced by its plain tensor."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- a trial

class Trial:
    """One judge's run: secret inputs, probes in the kernel and in the reference."""

    def __init__(self, assignment: str, grade_id: str, seed: int, probe: Callable, judge: Judge):
        import torch

        self.assignment, self.grade_id, self.judge = assignment, grade_id, judge
        self._probe = probe
        self.gen = torch.Generator().manual_seed(seed)
        self._seed = seed

    # inputs -----------------------------------------------------------------
    def seed(self) -> int:
        """A fresh secret seed (for the global generators while a probe runs)."""
        import torch

        return int(torch.randint(0, 2 ** 31 - 1, (1,), generator=self.gen))

    def size(self, low: int, high: int) -> int:
        """A secret integer in [low, high]."""
        import torch

        return int(torch.randint(low, high + 1, (1,), generator=self.gen))

    def randn(self, *shape, dtype=None):
        import torch

        return torch.randn(*shape, generator=self.gen, dtype=dtype or torch.float32)

    def rand(self, *shape):
        import torch

        return torch.rand(*shape, generator=self.gen)

    def choice(self, options):
        return options[self.size(0, len(options) - 1)]

    # probes -----------------------------------------------------------------
    def student(self, code: str, *, seed: int | None = None, inject: tuple[str, ...] = (), **inputs):
        """Run ``code`` in the student's kernel with ``inputs`` bound; the value it leaves
        in ``result``, decoded. Raises ProbeError / ProbeTimeout / Fail (forbidden call)."""
        from .kernel.runtime import encode

        undeclared = set(inject) - set(self.judge.inject)
        if undeclared:
            raise RuntimeError(f"{self.grade_id}: inject {sorted(undeclared)} is not declared")
        request = {"code": code, "seed": self.seed() if seed is None else seed,
                   "inputs": {k: encode(v) for k, v in inputs.items()},
                   "forbidden": self.judge.forbid, "inject": list(inject),
                   "inject_sources": [reference_sources(self.assignment, tuple(inject))] if inject else []}
        reply = self._probe(request, self.judge.timeout)
        watch = reply.get("watch") if isinstance(reply, dict) else None
        if not isinstance(watch, list) or not all(isinstance(w, str) for w in watch):
            raise Fail("the grader's probe got no readable answer from the notebook's kernel")
        known = set(self.judge.forbid.values()) | {"the grader's watch on forbidden functions was switched off"}
        for why in watch:
            raise Fail(why if why in known else "a forbidden function was called")
        if "error" in reply:
            name = str(reply["error"])
            raise ProbeError(name if name in SAFE_EXCEPTIONS else "an exception of its own")
        try:
            return decode(reply["ok"])
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            raise Fail(f"the answer could not be read as values ({type(e).__name__})") from None

    def reference(self, code: str, *, seed: int, **inputs):
        """Run ``code`` against the reference solution, in this process, on a copy of ``inputs``."""
        from .kernel.runtime import _seed, encode

        with _REFERENCE_LOCK:  # the global generators are the process's: one reference at a time
            ns = dict(_reference_namespace(self.assignment))
            ns.update(copy.deepcopy(inputs))
            _seed(seed)
            exec(compile(code, f"<probe {self.grade_id}>", "exec"), ns)
            return decode(json.loads(json.dumps(encode(ns.get("result")))))

    def both(self, code: str, *, inject: tuple[str, ...] = (), **inputs):
        """(student's value, reference's value) of ``code`` on the same inputs and seed."""
        seed = self.seed()
        got = self.student(code, seed=seed, inject=inject, **inputs)
        want = self.reference(code, seed=seed, **inputs)
        return got, want

    # verdicts ---------------------------------------------------------------
    @staticmethod
    def check(condition, message: str) -> None:
        if not condition:
            raise Fail(message)

    def close(self, got, want, message: str, *, atol: float = 1e-5, rtol: float = 1e-4,
              dtype: bool = False, shape: bool = True) -> None:
        """``got`` matches ``want`` (nested tensors and numbers) within tolerances; shapes
        must agree (unless ``shape=False``), dtypes only when ``dtype``."""
        if not _close(got, want, atol, rtol, dtype, shape):
            raise Fail(message)


def _close(got, want, atol, rtol, dtype, shape) -> bool:
    import torch

    got, want = plain(got), plain(want)
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return False
        if dtype and got.dtype != want.dtype:
            return False
        if shape and got.shape != want.shape:
            return False
        if not shape and got.numel() != want.numel():
            return False
        if got.dtype == torch.bool or want.dtype == torch.bool:
            return torch.equal(got.reshape(want.shape), want)
        g, w = got.double().reshape(want.shape), want.double()
        return bool(torch.allclose(g, w, atol=atol, rtol=rtol, equal_nan=True))
    if isinstance(want, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(want)
                and all(_close(g, w, atol, rtol, dtype, shape) for g, w in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(got) == set(want)
                and all(_close(got[k], want[k], atol, rtol, dtype, shape) for k in want))
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return got == want and type(got) is type(want)
    if isinstance(want, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = float(got)
        return (isinstance(got, (int, float)) and not isinstance(got, bool)
                and math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol))
    if isinstance(want, Module):
        return (isinstance(got, Module) and got.training == want.training
                and _close(got.state, want.state, atol, rtol, dtype, shape))
    return got == want


# --------------------------------------------------------------------------- running them

def run_judges(assignment: str, student: str, probe: Callable, *, present: set[str] | None = None,
               secret: bytes | None = None, budget: float | None = None) -> dict[str, Verdict]:
    """Every judge of ``assignment`` in notebook order, against the student's kernel
    (``probe(request, timeout) -> reply``). ``present``: graded cells the notebook holds
    (others are not judged). A probe that times out leaves the kernel unusable, so the
    judges after it are not run (status "timeout")."""
    secret = course_secret() if secret is None else secret
    verdicts: dict[str, Verdict] = {}
    stuck = None
    deadline = None if budget is None else time.monotonic() + budget
    for j in judges_for(assignment):
        if present is not None and j.grade_id not in present:
            continue
        t0 = time.monotonic()
        if stuck or (deadline is not None and t0 > deadline):
            verdicts[j.grade_id] = Verdict(j.grade_id, False, "timeout", stuck or
                                           "not judged: the notebook used up its time")
            continue
        trial = Trial(assignment, j.grade_id, seed_for(secret, assignment, student, j.grade_id), probe, j)
        try:
            j.fn(trial)
            v = Verdict(j.grade_id, True, "passed")
        except Fail as e:
            v = Verdict(j.grade_id, False, "failed", str(e))
        except ProbeError as e:
            v = Verdict(j.grade_id, False, "error", "not answered yet: the function still raises "
                        "NotImplementedError" if str(e) == "NotImplementedError"
                        else f"the grader's test call raised {e}")
        except (ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
            # the judge could not take the answer apart: it is not of the form asked for
            v = Verdict(j.grade_id, False, "failed", "the answer does not have the form the exercise asks "
                                                     f"for (the grader's check met a {type(e).__name__})")
        except ProbeTimeout as e:
            if e.stuck:
                stuck = f"not judged: an earlier exercise's test call got stuck ({e})"
            v = Verdict(j.grade_id, False, "timeout", f"the grader's test call ran past {j.timeout:g} s "
                                                      "(an endless loop, or far too slow?)")
        v.seconds = round(time.monotonic() - t0, 3)
        verdicts[j.grade_id] = v
    return verdicts


RUNTIME = Path(__file__).parent / "kernel" / "runtime.py"


def install_code(name: str) -> str:
    """Code that installs the probe runtime in a kernel as the module ``name``."""
    return (f"import sys as _s, types as _t\n_m = _t.ModuleType({name!r})\n"
            f"exec(compile({RUNTIME.read_text()!r}, '<grader runtime>', 'exec'), _m.__dict__)\n"
            f"_s.modules[{name!r}] = _m\ndel _s, _t, _m")


def probe_expression(name: str, request: dict) -> str:
    """The user expression that runs ``request`` with the runtime ``name``."""
    b64 = base64.b64encode(json.dumps(request).encode()).decode("ascii")
    return f"__import__('sys').modules[{name!r}].probe({b64!r})"


def reply_of(shell_reply: dict | None, timeout: float) -> dict:
    """The probe's reply in a kernel's execute reply (None: no answer in time)."""
    if shell_reply is None:
        raise ProbeTimeout(f"no answer within {timeout:g} s")
    if shell_reply.get("interrupted"):
        raise ProbeTimeout(f"no answer within {timeout:g} s; interrupted", stuck=False)
    expr = shell_reply.get("content", {}).get("user_expressions", {}).get("probe")
    if not isinstance(expr, dict) or expr.get("status") != "ok":
        raise Fail("the grader's probe got no readable answer from the notebook's kernel")
    return read_reply(str(expr.get("data", {}).get("text/plain", "")))


_B64_REPLY = re.compile(r"'([A-Za-z0-9+/=]*)'")


def read_reply(text: str) -> dict:
    """A probe's reply as the kernel printed it (the repr of a base64 string)."""
    if len(text) > MAX_REPLY:
        raise Fail("the notebook's answer to the grader's test call was too large")
    m = _B64_REPLY.fullmatch(text.strip())
    if not m:
        raise Fail("the grader's probe got no readable answer from the notebook's kernel")
    try:
        reply = json.loads(base64.b64decode(m.group(1)))
    except (ValueError, RecursionError):
        raise Fail("the grader's probe got no readable answer from the notebook's kernel") from None
    if not isinstance(reply, dict):
        raise Fail("the grader's probe got no readable answer from the notebook's kernel")
    return reply
