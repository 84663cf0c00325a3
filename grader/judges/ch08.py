"""Judges of chapter 8, forward and backward propagation, numerical stability and
initialisation (see grader.judge)."""
import math

from grader.judge import Fail, ProbeError, Tensor, Trial, judge, plain

ASSIGNMENT = "08-initialization"

AUTOGRAD = "the exercise says: compute the gradients by the chain rule yourself, without backward() or autograd"
NO_AUTOGRAD = {name: AUTOGRAD for name in (
    "torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.vjp",
    "torch.func.grad", "torch.func.vjp", "torch.func.jacrev")}
NN_INIT = "the exercise says: write the formula yourself, without torch.nn.init"
NO_NN_INIT = {f"torch.nn.init.{name}": NN_INIT for name in (
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
    "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "sparse_", "_calculate_fan_in_and_fan_out", "_calculate_correct_fan")}


def _labels(t: Trial, n: int, present: int):
    """n class indices in [0, present), every one of them at least once when n allows."""
    y = (t.rand(n) * present).long().clamp(max=present - 1)
    if n >= present:
        y[:present] = t.rand(present).argsort()
    return y


def _round_off(want) -> float:
    """An absolute tolerance for entries of ``want`` that are sums of large terms: float32
    round-off relative to the tensor's largest entry (a float64 answer must pass too)."""
    return 1e-5 * (1.0 + float(plain(want).abs().max()))


# --------------------------------------------------------------------------- 8.1 forward

FORWARD = '''
X0, y0, W10, W20 = X.clone(), y.clone(), W1.clone(), W2.clone()
W1r, W2r = W1.clone().requires_grad_(True), W2.clone().requires_grad_(True)
J, cache = forward(X, y, W1r, W2r, lambd)
untouched = (torch.equal(X, X0) and torch.equal(y, y0) and torch.equal(W1r.detach(), W10)
             and torch.equal(W2r.detach(), W20))
differentiable = isinstance(J, torch.Tensor) and J.requires_grad and J.numel() == 1
if differentiable:
    J.reshape(()).backward()
parts = {k: cache[k] for k in ("Z", "H", "O") if isinstance(cache, dict) and k in cache}
result = (J, parts, differentiable, W1r.grad, W2r.grad, untouched)
'''


@judge("ex1-forward-tests")
def forward(t: Trial):
    import torch

    d, h, q = t.size(3, 9), t.size(3, 9), t.size(3, 7)
    n = t.size(10, 40)
    cases = [  # (n, lambd, weight scale, dtype, what this case adds)
        (1, 0.0, 1.0, torch.float32, "for one example and lambd = 0"),
        (n, 0.0, 1.0, torch.float32, f"for a batch of {n} examples and lambd = 0 (no penalty)"),
        (n, 0.05 + float(t.rand(1)), 1.0, torch.float32, "with a penalty (lambd > 0)"),
        (n, 0.05 + 0.2 * float(t.rand(1)), 1.0, torch.float64, "for float64 inputs"),
        (n, 0.01, 40.0, torch.float32, "for large weights (logits in the thousands)"),
    ]
    for n_, lambd, scale, dtype, what in cases:
        X = t.randn(n_, d).to(dtype)
        y = _labels(t, n_, q)
        W1, W2 = (t.randn(d, h) * scale).to(dtype), (t.randn(h, q) * scale).to(dtype)
        got, want = t.both(FORWARD, X=X, y=y, W1=W1, W2=W2, lambd=lambd)
        J, parts, differentiable, dW1, dW2, untouched = got
        J_ref, parts_ref, _, dW1_ref, dW2_ref, _ = want
        t.check(untouched, "forward changed the caller's X, y, W1 or W2: leave its arguments as they are")
        t.check(set(parts) == {"Z", "H", "O"}, "the cache should be a dict with the keys 'Z', 'H' and 'O'")
        for key, meaning in [("Z", "X @ W1"), ("H", "relu(Z)"), ("O", "H @ W2")]:
            t.close(parts[key], parts_ref[key], f"{what}, cache['{key}'] should be {meaning}, of shape "
                                                f"{tuple(parts_ref[key].shape)} for this batch; yours differs",
                    atol=_round_off(parts_ref[key]))
        t.check(isinstance(J, (Tensor, torch.Tensor)) and plain(J).numel() == 1,
                "J should be a scalar tensor (one number), not a Python float or a tensor of several values")
        J_value = plain(J).reshape(())
        t.check(bool(torch.isfinite(J_value)), f"{what}, J is not finite: use a numerically stable "
                                               "cross-entropy (the exercise text names two ways)")
        t.close(J_value, plain(J_ref).reshape(()),
                f"{what}, J should be the mean cross-entropy over the batch"
                + (" plus lambd / 2 times the sum of the squared entries of W1 and W2" if lambd else "")
                + "; yours differs", rtol=1e-4, atol=1e-4)
        t.check(differentiable, "autograd cannot differentiate your J (8.2 compares backward with "
                                "J.backward()): compute it with torch operations on the weights, without "
                                ".item(), float() or detach()")
        t.close((dW1, dW2), (dW1_ref, dW2_ref),
                f"{what}, J.backward() does not give the gradients of the objective: J has the right value "
                "but part of it is cut off from autograd (computed from detached values or plain numbers)",
                rtol=1e-3, atol=max(1e-4, _round_off(dW1_ref), _round_off(dW2_ref)))


# --------------------------------------------------------------------------- 8.2 backward

BACKWARD = '''
X0, y0, W10, W20 = X.clone(), y.clone(), W1.clone(), W2.clone()
cache0 = {k: v.clone() for k, v in cache.items()}
space = getattr(backward, "__globals__", {})
real, calls = space.get("forward"), []

def spy(*args, **kwargs):
    calls.append(1)
    return real(*args, **kwargs)

def run(entries):
    space["forward"] = spy
    try:
        return backward(X, y, W1, W2, lambd, entries)
    finally:
        space["forward"] = real

own = False
try:
    grads = run(dict(cache))
except KeyError:  # it reads further entries of its own forward's cache: give it those too
    own = True
    full = dict(real(X, y, W1.clone(), W2.clone(), lambd)[1])
    full.update(cache)
    calls.clear()
    grads = run(full)
untouched = (torch.equal(X, X0) and torch.equal(y, y0) and torch.equal(W1, W10) and torch.equal(W2, W20)
             and all(torch.equal(cache[k], cache0[k]) for k in cache0))
result = (tuple(grads) if isinstance(grads, (tuple, list)) else grads, len(calls), untouched, own)
'''


@judge("ex2-backward-tests", forbid=NO_AUTOGRAD)
def backward(t: Trial):
    import torch

    d, h, q = t.size(3, 9), t.size(4, 10), t.size(4, 8)
    n = t.size(10, 40)
    cases = [  # (n, lambd, scale, classes present, dtype, what this case adds)
        (1, 0.0, 1.0, q, torch.float64, "for one example (a batch missing most classes) and lambd = 0"),
        (n, 0.0, 1.0, q, torch.float64, f"for a batch of {n} examples and lambd = 0 (no penalty)"),
        (n, 0.1 + float(t.rand(1)), 1.0, q, torch.float64, "with a penalty (lambd > 0)"),
        (n, 0.1 + float(t.rand(1)), 1.0, q, torch.float32, "for float32 inputs"),
        (n, 0.3, 1.0, q - 2, torch.float64, "when the last classes do not occur in the batch (take q "
                                            "from W2, not from y)"),
        (n, 0.05, 60.0, q, torch.float64, "for large weights (logits in the thousands: use a stable "
                                          "softmax)"),
    ]
    for n_, lambd, scale, present, dtype, what in cases:
        X = t.randn(n_, d).to(dtype)
        y = _labels(t, n_, present)
        W1, W2 = (t.randn(d, h) * scale).to(dtype), (t.randn(h, q) * scale).to(dtype)
        Z = X @ W1
        H = torch.relu(Z)
        O = H @ W2
        cache = {"Z": Z, "H": H, "O": O}
        try:
            got, want = t.both(BACKWARD, X=X, y=y, W1=W1, W2=W2, lambd=lambd, cache=cache)
        except ProbeError as e:
            if str(e) == "NotImplementedError":
                raise
            raise Fail(f"{what}, backward raised {e}: check the shapes (n comes from X, q from W2, since "
                       "a batch may miss some classes)") from None
        grads, calls, untouched, own = got
        own = (" (backward read entries of the cache other than Z, H and O, which came from your forward: "
               "check that exercise too)") if own else ""
        t.check(calls == 0, "the exercise says: use only the inputs and the cache; backward called forward "
                            "again")
        t.check(untouched, "backward changed its inputs (X, y, W1, W2 or the cache's tensors): leave them "
                           "as they are")
        t.check(isinstance(grads, tuple) and len(grads) == 2, "backward should return the pair (dW1, dW2)")
        for name, g, w, of in [("dW1", grads[0], want[0][0], "W1"), ("dW2", grads[1], want[0][1], "W2")]:
            g = plain(g)
            t.check(isinstance(g, torch.Tensor) and tuple(g.shape) == tuple(w.shape),
                    f"{name} should be a tensor of the shape of {of}, {tuple(w.shape)} here; got "
                    + (f"{tuple(g.shape)}" if isinstance(g, torch.Tensor) else type(g).__name__))
            tol = (1e-6, 1e-5) if dtype == torch.float64 and g.dtype == torch.float64 else (1e-4, 1e-3)
            t.close(g, w, f"{what}, {name} differs from dJ/d{of}" + (
                "" if lambd else " (no penalty here: check the 1/n of the mean, the softmax minus the "
                                 "one-hot labels, the ReLU mask and the transposes)")
                    + ("; with a penalty each weight also gets lambd times itself" if lambd and scale == 1
                       and present == q else "") + own, atol=tol[0], rtol=tol[1])


# --------------------------------------------------------------------------- 8.3, 8.4 initialisation

INIT = '''
draws = [[init(a, b) for _ in range(k)] for (a, b), k in shapes]
pair = (init(m, m + 1), init(m, m + 1))
result = (draws, pair)
'''


def _init(t: Trial, name: str, variance, formula: str):
    """Shapes with n_in != n_out both ways round (so each fan matters), about 40,000 entries
    drawn per shape; the pooled mean and variance, continuity, freshness and dtype."""
    import torch

    shapes = [(t.size(200, 400), t.size(20, 60)), (t.size(10, 30), t.size(300, 500)),
              (t.size(2, 4), t.size(900, 1100)), (t.size(60, 80), t.size(100, 140))]
    shapes = [((a, b), math.ceil(40_000 / (a * b))) for a, b in shapes]
    got = t.student(INIT.replace("init(", name + "("), shapes=shapes, m=t.size(30, 50))
    draws, pair = got
    first = draws[0][0]
    t.check(isinstance(first, Tensor), f"{name} should return a torch tensor; got "
                                       + ("a numpy array" if isinstance(first, torch.Tensor) else "something else"))
    t.check(first.dtype == torch.float32, f"{name} should return a float32 tensor (the docstring says so); "
                                          f"got {str(first.dtype).replace('torch.', '')}")
    for ((a, b), _), ws in zip(shapes, draws):
        t.check(all(isinstance(w, (Tensor, torch.Tensor)) and tuple(w.shape) == (a, b) for w in ws),
                f"{name}({a}, {b}) should return shape ({a}, {b}) = (n_in, n_out); got "
                f"{tuple(ws[0].shape) if hasattr(ws[0], 'shape') else type(ws[0]).__name__}")
    A, B = (plain(w) for w in pair)
    t.check(not torch.equal(A, B), f"two calls of {name} gave the same weights: draw new ones on every call "
                                   "(do not reseed the random generator)")
    for ((a, b), _), ws in zip(shapes, draws):
        W = torch.stack([plain(w).double() for w in ws])
        t.check(all(plain(w).unique().numel() > plain(w).numel() // 2 for w in ws),
                f"the entries of {name}({a}, {b}) repeat: each entry should be drawn independently from a "
                "continuous distribution (normal or uniform)")
        want = variance(a, b)
        mean, var = float(W.mean()), float(W.var())
        t.check(abs(mean) < 0.05 * want ** 0.5,
                f"the entries of {name}({a}, {b}) should have mean 0; theirs is {mean / want ** 0.5:+.2f} "
                "standard deviations away from it")
        t.check(abs(var / want - 1) < 0.06,
                f"for n_in = {a}, n_out = {b} the variance should be {formula} = {want:.3g}; yours is "
                f"{var:.3g} ({var / want:.2f} times that)")


@judge("ex3-xavier-tests", forbid=NO_NN_INIT)
def xavier_init(t: Trial):
    _init(t, "xavier_init", lambda a, b: 2 / (a + b), "2 / (n_in + n_out)")


@judge("ex4-kaiming-tests", forbid=NO_NN_INIT)
def kaiming_init(t: Trial):
    _init(t, "kaiming_init", lambda a, b: 2 / a, "2 / n_in")


# --------------------------------------------------------------------------- 8.5 depth scan

SCAN = '''
calls = []

def recorder(z):
    out = base(z)
    if isinstance(out, torch.Tensor) and out.requires_grad:
        out.retain_grad()
    calls.append((tuple(z.shape), out))
    return out

base = (lambda z: z) if kind == "linear" else getattr(torch, kind)
first = depth_scan(gains, depths, recorder, width=width, batch_size=batch_size)
shapes = [s for s, _ in calls]
grads = [out.grad for _, out in calls if out.grad is not None]
same_rows = [bool((g - g[:1]).abs().max() == 0) for g in grads]
calls.clear()
second = depth_scan(gains, depths, recorder, width=width, batch_size=batch_size)
result = (tuple(first), tuple(second), shapes, same_rows)
'''


@judge("ex5-depth-scan-tests")
def depth_scan(t: Trial):
    import torch

    width, batch_size = t.size(64, 96), t.size(100, 160)
    gains = t.choice([[0.5, 2.0], [0.6, 1.6], [0.7, 2.5], [1.7, 0.5]])
    depths = [1, t.size(3, 5)]
    got = t.student(SCAN, kind="linear", gains=gains, depths=depths, width=width, batch_size=batch_size)
    first, second, shapes, same_rows = got
    t.check(isinstance(first, tuple) and len(first) == 2, "depth_scan should return the pair (act, grad)")
    act, grad = (plain(x) for x in first)
    for label, x in [("act", act), ("grad", grad)]:
        t.check(isinstance(x, torch.Tensor) and tuple(x.shape) == (len(gains), len(depths)),
                f"{label} should be a tensor of shape (len(gains), len(depths)) = ({len(gains)}, {len(depths)})")
    expected = len(gains) * sum(depths)
    t.check(len(shapes) == expected,
            f"for {len(gains)} gains and depths {depths}, the activation should be applied {expected} times "
            f"(a fresh network of L layers for every gain and depth, one activation per layer); it was "
            f"applied {len(shapes)} times")
    t.check(all(s == (batch_size, width) for s in shapes),
            f"with width = {width} and batch_size = {batch_size} every layer should see a ({batch_size}, "
            f"{width}) batch; use the width and batch_size passed in")
    t.check(not any(same_rows), "the gradient reaching the layers is the same for every example in the "
                                "batch: J should weight H(L) with a random R of H(L)'s shape, drawn from N(0, 1)")
    t.check(not torch.equal(act, plain(second[0])), "two calls of depth_scan gave the same numbers: draw new "
                                                    "networks on every call (do not reseed the random generator)")
    # a linear layer with weights N(0, g^2 / width) multiplies the std of the signal, and of the
    # gradient on its way back, by g. Sampling noise: at most 0.022 (L = 1) and 0.075 (L = 5) in
    # 240 runs of the reference at these sizes; the tolerance is three to four times that.
    want = torch.tensor([[L * math.log10(g) for L in depths] for g in gains])
    tol = torch.tensor([[0.05 + 0.04 * L for L in depths] for _ in gains])
    for label, x, what in [("act", act, "the output H(L)"), ("grad", grad, "the input's gradient dJ/dH(0)")]:
        err = float((x.double() - want).abs().max())
        t.check(bool(((x.double() - want).abs() < tol).all()),
                f"with the identity as activation, {label} (log10 of the std of {what}) should be about "
                f"L * log10(g); yours is off by up to {err:.2f}. Check the weights' std g / sqrt(width), the "
                "base-10 logarithm, the standard deviation (not the variance) and which tensor's gradient "
                "you read")
    # tanh saturates: its output stays bounded while its gradient grows with a large gain, so act and
    # grad differ there by about 1.1 in log10. Reference against reference differs by at most 0.064
    # in 120 runs at these sizes.
    got, want = t.both(SCAN, kind="tanh", gains=[0.5, 3.0], depths=[8], width=2 * width, batch_size=batch_size)
    for k, label in [(0, "act"), (1, "grad")]:
        err = float((plain(got[0][k]).double() - plain(want[0][k]).double()).abs().max())
        t.check(err < 0.3, f"with tanh as activation, {label} is off by up to {err:.2f} in log10: apply the "
                           "activation after every matrix product, and read act from the output H(L) and "
                           "grad from the input H(0)")
