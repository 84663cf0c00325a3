"""The grader's probe runtime, installed in the student's kernel before the first cell.

A judge (see :mod:`grader.judge`) asks the kernel to run a few lines of probe code,
for example ``result = linreg(X, w, b)``, on inputs the grader chose at grading time.
:func:`probe` runs them against the student's functions and sends back the *values*
(tensors as raw bytes, numbers, containers), never objects: the grader decodes them
into plain tensors and compares them with what the reference solution gives on the
same inputs. Nothing here decides a verdict, and nothing here is trusted: student
code can read or replace all of it, and can shape the reply. What it cannot do is
produce the right values for inputs it has never seen without doing the exercise.

While probe code runs, a profiler watches for calls to the functions a judge forbids
(the helper package's twin of the exercise, or a function a stated rule excludes);
seeing one, or finding the watch switched off, is reported, and the judge scores 0.

This file is sent to the kernel as source and must only use the standard library at
import time (torch and numpy are imported when first needed).
"""
import base64
import json
import math
import random
import sys

MAX_ITEMS = 100_000        # elements of one container the codec follows
MAX_DEPTH = 20


# --------------------------------------------------------------------------- the codec

def _tensor(kind, arr, extra):
    import numpy as np

    arr = np.array(arr, copy=True, order="C")   # (ascontiguousarray would make a 0-d array 1-d)
    return dict(extra, t=kind, dtype=str(arr.dtype), shape=list(arr.shape),
                data=base64.b64encode(arr.tobytes()).decode("ascii"))


def encode(value, depth=0):
    """A JSON-able description of ``value`` (see :func:`grader.judge.decode`)."""
    if depth > MAX_DEPTH:
        return {"t": "other", "type": "too deep"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 53 else {"t": "float", "v": repr(float(value))}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    mod = type(value).__module__ or ""
    if mod.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            x = value.detach().to("cpu")
            if x.dtype in (torch.bfloat16, torch.float16):
                x = x.float()
            return _tensor("tensor", x.resolve_conj().numpy(), {
                "requires_grad": bool(value.requires_grad), "device": str(value.device.type),
                "leaf": bool(value.is_leaf), "torch_dtype": str(value.dtype)})
        if isinstance(value, torch.nn.Module):
            return {"t": "module", "class": type(value).__name__, "training": bool(value.training),
                    "state": encode(dict(value.state_dict()), depth + 1),
                    "devices": sorted({p.device.type for p in value.parameters()})}
        if isinstance(value, torch.Size):
            return {"t": "tuple", "v": [int(v) for v in value]}
        if isinstance(value, (torch.dtype, torch.device)):
            return {"t": "str", "v": str(value)}
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return _tensor("ndarray", value, {})
        if isinstance(value, np.generic):
            return encode(value.item(), depth)
    if mod.startswith("pandas") and type(value).__name__ == "DataFrame":
        return {"t": "frame", "columns": [str(c) for c in value.columns],
                "data": {str(c): encode(value[c].tolist(), depth + 1) for c in value.columns}}
    if isinstance(value, (list, tuple)):
        items = list(value)[:MAX_ITEMS]
        return {"t": "tuple" if isinstance(value, tuple) else "list",
                "v": [encode(v, depth + 1) for v in items]}
    if isinstance(value, dict):
        return {"t": "dict", "items": [[encode(k, depth + 1), encode(v, depth + 1)]
                                       for k, v in list(value.items())[:MAX_ITEMS]]}
    if isinstance(value, (set, frozenset)):
        return {"t": "set", "v": [encode(v, depth + 1) for v in list(value)[:MAX_ITEMS]]}
    return {"t": "other", "type": type(value).__name__[:60]}


def decode(obj):
    """Inputs sent by the grader: tensors, numbers, containers (what :func:`encode` writes)."""
    if not isinstance(obj, dict):
        return [decode(v) for v in obj] if isinstance(obj, list) else obj
    kind = obj.get("t")
    if kind in ("tensor", "ndarray"):
        import numpy as np

        arr = np.frombuffer(base64.b64decode(obj["data"]), dtype=obj["dtype"]).reshape(obj["shape"]).copy()
        if kind == "ndarray":
            return arr
        import torch

        x = torch.from_numpy(arr)
        return x.requires_grad_(True) if obj.get("requires_grad") else x
    if kind == "float":
        return float(obj["v"])
    if kind == "list":
        return [decode(v) for v in obj["v"]]
    if kind == "tuple":
        return tuple(decode(v) for v in obj["v"])
    if kind == "dict":
        return {decode(k): decode(v) for k, v in obj["items"]}
    if kind == "code":          # a value built in the kernel, e.g. nn.Linear(3, 1)
        ns = {}
        exec(obj["source"], ns)
        return ns[obj["name"]]
    raise ValueError(f"cannot decode {kind!r}")


# --------------------------------------------------------------------------- the watch

def _resolve(dotted):
    """The object named ``dotted`` ("d2l.torch.linreg", "torch.Tensor.logsumexp"), or None."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
            return obj
        except AttributeError:
            return None
    return None


def _signature(code):
    return (code.co_code, repr(code.co_consts)[:2000], code.co_names)


class Watch:
    """Notes calls to forbidden functions while probe code runs (``sys.setprofile``).

    Python functions are matched by their code object, and by their bytecode, so a
    copy made with ``exec`` of the same source is caught too; built-in functions and
    methods by identity."""

    def __init__(self, forbidden):
        self.codes, self.signatures, self.builtins, self.methods = {}, {}, {}, {}
        for dotted, why in forbidden.items():
            obj = _resolve(dotted)
            obj = getattr(obj, "__func__", obj)
            code = getattr(obj, "__code__", None)
            if code is not None:
                self.codes[code] = why
                self.signatures[_signature(code)] = why
            elif obj is not None:
                self.builtins[id(obj)] = (obj, why)
                if type(obj).__name__ in ("method_descriptor", "wrapper_descriptor"):
                    # O.logsumexp(1) calls a new bound method each time: match its name and owner
                    self.methods[obj.__name__] = (obj.__objclass__, why)
        self.seen = []

    def _profile(self, frame, event, arg):
        if event == "call":
            why = self.codes.get(frame.f_code) or self.signatures.get(_signature(frame.f_code))
        elif event == "c_call":
            hit = self.builtins.get(id(arg))
            why = hit[1] if hit and hit[0] is arg else None
            if why is None and self.methods:
                owner, reason = self.methods.get(getattr(arg, "__name__", None), (None, None))
                if owner is not None and isinstance(getattr(arg, "__self__", None), owner):
                    why = reason
        else:
            return
        if why and why not in self.seen:
            self.seen.append(why)

    def __enter__(self):
        self.before = sys.getprofile()
        if self.codes or self.builtins or self.methods:
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if (self.codes or self.builtins or self.methods) and sys.getprofile() != self._profile:
            self.seen.append("the grader's watch on forbidden functions was switched off")
        sys.setprofile(self.before)
        return False


# --------------------------------------------------------------------------- probes

def _seed(seed):
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2 ** 32)
    except ImportError:
        pass
    import torch

    torch.manual_seed(seed)


def _namespace():
    import __main__

    return __main__.__dict__


def probe(request_b64):
    """Run one probe; the reply is base64 JSON: {"ok": value} or {"error": name}, and
    "watch": the forbidden calls seen."""
    req = json.loads(base64.b64decode(request_b64))
    user = _namespace()
    ns = dict(user)
    ns.update({k: decode(v) for k, v in req.get("inputs", {}).items()})
    saved, reference = {}, {}
    for source in req.get("inject_sources", []):
        exec(source, reference)
    for name in req.get("inject", []):
        saved[name] = user.get(name, _MISSING)
        user[name] = reference[name]
    watch = Watch(req.get("forbidden", {}))
    out = {}
    try:
        _seed(int(req.get("seed", 0)))
        with watch:
            exec(req["code"], ns)
        out["ok"] = encode(ns.get("result"))
    except BaseException as e:  # noqa: BLE001  (the student's error, reported by name)
        out = {"error": type(e).__name__[:80]}
    finally:
        for name, old in saved.items():
            if old is _MISSING:
                user.pop(name, None)
            else:
                user[name] = old
    out["watch"] = watch.seen
    return base64.b64encode(json.dumps(out).encode()).decode("ascii")


_MISSING = object()
