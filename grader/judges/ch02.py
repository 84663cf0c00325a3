"""Judges of chapter 2, softmax regression (see grader.judge)."""
from grader.judge import Fail, ProbeError, Trial, judge, plain
from grader.judges import RECORDER, twins

ASSIGNMENT = "02-softmax-regression"

# The rules the notebook states, and the built-ins each one excludes.
SOFTMAX_RULE = ("the exercise says: write softmax yourself from torch.exp, not with a built-in softmax "
                "(torch.softmax, F.softmax, log_softmax)")
BUILTIN_SOFTMAX = ("torch.softmax", "torch._softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax",
                   "torch.special.softmax", "torch.log_softmax", "torch._log_softmax", "torch.Tensor.log_softmax",
                   "torch.nn.functional.log_softmax", "torch.special.log_softmax")
LSE_RULE = ("the exercise says: use the log-sum-exp trick yourself, without torch.logsumexp, "
            "F.log_softmax or F.cross_entropy")
BUILTIN_LSE = ("torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp", "torch.log_softmax",
               "torch._log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax",
               "torch.special.log_softmax", "torch.nn.functional.cross_entropy", "torch._C._nn.cross_entropy_loss")
AUTOGRAD_RULE = ("the exercise says: compute the gradient from the formula, without autograd "
                 "(no backward, no grad)")
AUTOGRAD = ("torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad")


# The kernel's watch knows built-in functions by identity, and a tensor method is a new bound
# object at every call (O.softmax(1)), which it does not see. The probes below watch those
# themselves: a profile function that notes calls of the named methods of a tensor and hands
# every event on to the grader's watch, which is back in place when the probe ends.
METHOD_WATCH = '''
def watched(call, names):
    import sys as _sys, torch as _torch
    seen, before = [], _sys.getprofile()
    def _profile(frame, event, arg):
        if (event == "c_call" and getattr(arg, "__name__", None) in names
                and isinstance(getattr(arg, "__self__", None), _torch.Tensor)):
            seen.append(arg.__name__)
        if before is not None:
            before(frame, event, arg)
    _sys.setprofile(_profile)
    try:
        value = call()
    finally:
        _sys.setprofile(before)
    return value, sorted(set(seen))
'''


# The probes of the exercises whose docstrings name a device put their inputs on the GPU
# when the kernel has one, and report which device that was.
ON_DEVICE = "dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"


def _shape(x):
    """The shape of a returned tensor, in words when it is not one (a single number comes
    back from the kernel as shape (1,))."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return f"a {type(x).__name__}"
    return "a single value" if tuple(shape) == (1,) else tuple(shape)


def _rule(names, why):
    return {name: why for name in names}


def _logits(t: Trial, n: int, q: int, scale: float):
    """(n, q) logits whose rows live at very different scales (some around +-1000) and
    spread differently (in some rows the logits lie hundreds apart)."""
    import torch

    shift = torch.tensor([0.0, 1000.0, -1000.0, 300.0, -60.0, 95.0])[torch.arange(n) % 6]
    spread = torch.tensor([scale, 300.0, scale])[torch.arange(n) % 3]
    shift, spread = (v[torch.randperm(n, generator=t.gen)].reshape(n, 1) for v in (shift, spread))
    return t.randn(n, q) * spread + shift


def _labels(t: Trial, n: int, q: int, *, skip_last: bool = False):
    """(n,) int64 labels in 0 .. q - 1 (q - 2 with ``skip_last``: the widest class absent)."""
    import torch

    return torch.randint(0, q - 1 if skip_last else q, (n,), generator=t.gen)


@judge("ex1-one-hot-tests", forbid=twins("one_hot"))
def one_hot(t: Trial):
    import torch

    code = ON_DEVICE + "y = y.to(dev)\ny0 = y.clone()\nY = one_hot(y, q)\nresult = (Y, torch.equal(y, y0), dev.type)"
    for n, q, skip in [(1, 1, False), (t.size(5, 30), t.size(3, 9), True), (t.size(31, 60), t.size(2, 12), False)]:
        y = _labels(t, n, q, skip_last=skip)
        got, want = t.both(code, y=y, q=q)
        (Y, untouched, dev), (Y_ref, _, _) = plain(got), plain(want)
        device = getattr(got[0], "device", None)
        t.check(isinstance(Y, torch.Tensor) and tuple(Y.shape) == (n, q),
                f"for {n} labels and num_classes={q} the answer should have shape ({n}, {q}); got "
                f"{_shape(Y)}"
                + (" (the width is num_classes, even when the largest class is absent from y)" if skip else ""))
        t.check(Y.dtype == torch.float32, f"the one-hot matrix should be float32, as the docstring says; got {Y.dtype}")
        t.check(device == dev, f"the one-hot matrix should be on y's device ({dev} here); got {device}")
        t.close(Y, Y_ref, "each row should hold a single 1, in the column its label names, and zeros elsewhere")
        t.check(untouched, "one_hot changed the caller's labels: leave y as it is")


@judge("ex2-softmax-tests", forbid={**twins("softmax"), **_rule(BUILTIN_SOFTMAX, SOFTMAX_RULE)})
def softmax(t: Trial):
    import torch

    code = METHOD_WATCH + ("O0 = O.clone()\nP, used = watched(lambda: softmax(O), ('softmax', 'log_softmax'))\n"
                           "result = (P, torch.equal(O, O0), used)")
    q = t.size(3, 8)
    cases = [(1, t.size(2, 6), 5.0, False), (q, q, 3.0, False), (t.size(9, 40), t.size(2, 10), 3.0, True)]
    for n, q, scale, huge in cases:
        O = _logits(t, n, q, scale) if huge else t.randn(n, q) * scale
        got, want = t.both(code, O=O)
        (P, untouched, used), (P_ref, _, _) = plain(got), plain(want)
        t.check(not used, SOFTMAX_RULE)
        t.check(isinstance(P, torch.Tensor) and tuple(P.shape) == (n, q),
                f"softmax of ({n}, {q}) logits should have shape ({n}, {q}); got "
                f"{_shape(P)}")
        t.check(P.is_floating_point(), f"softmax should return floating-point probabilities; got {P.dtype}")
        t.check(untouched, "softmax changed the caller's logits: do not modify O in place")
        t.check(bool(torch.isfinite(P).all()),
                "softmax gave nan or inf" + (" for rows of logits around +-1000: subtract each row's own "
                                             "maximum" if huge else ""))
        t.close(P, P_ref, "each row of softmax(O) should be exp(O[i]) / exp(O[i]).sum(), summing to 1 along "
                          "the row" + (", also when rows live at very different scales (subtract each row's "
                                       "own maximum, not the batch's)" if huge else ""), atol=1e-6, rtol=1e-4)


@judge("ex3-cross-entropy-tests", forbid=twins("cross_entropy"), inject=("one_hot",))
def cross_entropy(t: Trial):
    import torch

    code = "P0 = y_hat.clone()\nresult = (cross_entropy(y_hat, y), torch.equal(y_hat, P0))"
    for n, q in [(1, t.size(2, 5)), (t.size(6, 40), t.size(2, 10))]:
        y_hat = torch.softmax(t.randn(n, q) * 2, dim=1)
        y = _labels(t, n, q)
        got, want = t.both(code, inject=("one_hot",), y_hat=y_hat, y=y)
        (loss, untouched), (loss_ref, _) = plain(got), plain(want)
        t.check(isinstance(loss, torch.Tensor) and tuple(loss.shape) == (n,),
                f"for {n} examples the answer should be one loss per example, of shape ({n},); got "
                f"{_shape(loss)}")
        t.check(loss.is_floating_point(), f"the losses should be floating-point numbers; got {loss.dtype}")
        t.check(untouched, "cross_entropy changed the caller's y_hat: leave it as it is")
        t.close(loss, loss_ref, "each example's loss should be -log of the probability it gives its own true "
                                "class (natural log, no mean, no sum)", atol=1e-5, rtol=1e-4)


@judge("ex4-stable-cross-entropy-tests", forbid={**twins("stable_cross_entropy"), **_rule(BUILTIN_LSE, LSE_RULE)},
       inject=("one_hot",))
def stable_cross_entropy(t: Trial):
    import torch

    code = METHOD_WATCH + ("O0 = O.clone()\n"
                           "loss, used = watched(lambda: stable_cross_entropy(O, y), ('logsumexp', 'log_softmax'))\n"
                           "result = (loss, torch.equal(O, O0), used)")
    cases = [(1, t.size(2, 5), 1.0, False), (t.size(6, 20), t.size(2, 10), 0.01, False),
             (t.size(21, 48), t.size(3, 10), 3.0, True)]
    for n, q, scale, huge in cases:
        O = _logits(t, n, q, scale) if huge else t.randn(n, q) * scale
        y = _labels(t, n, q)
        got, want = t.both(code, inject=("one_hot",), O=O, y=y)
        (loss, untouched, used), (loss_ref, _, _) = plain(got), plain(want)
        t.check(not used, LSE_RULE)
        t.check(isinstance(loss, torch.Tensor) and tuple(loss.shape) == (n,),
                f"for {n} examples the answer should be one loss per example, of shape ({n},); got "
                f"{_shape(loss)}")
        t.check(loss.is_floating_point(), f"the losses should be floating-point numbers; got {loss.dtype}")
        t.check(untouched, "stable_cross_entropy changed the caller's logits: do not modify O in place")
        t.check(bool(torch.isfinite(loss).all()),
                "the loss should stay finite for logits around +-1000: take each row's own maximum out of "
                "the exponentials (and never form the probability)")
        t.close(loss, loss_ref, "each example's loss should be the log-sum-exp of its row of logits minus the "
                                "logit of its true class"
                + (", also when rows live at very different scales (each row's own maximum)" if huge else ""),
                atol=1e-3, rtol=1e-4)


@judge("ex5-softmax-ce-grad-tests", forbid={**twins("softmax_ce_grad"), **_rule(AUTOGRAD, AUTOGRAD_RULE)},
       inject=("one_hot", "softmax"))
def softmax_ce_grad(t: Trial):
    import torch

    code = "O0 = O.clone()\nG = softmax_ce_grad(O, y)\nresult = (G, torch.equal(O, O0) and not O.requires_grad)"
    cases = [(1, t.size(2, 4), 1.0, False), (t.size(6, 30), t.size(3, 10), 3.0, False),
             (t.size(31, 60), t.size(3, 10), 3.0, True)]
    for i, (n, q, scale, huge) in enumerate(cases):
        O = _logits(t, n, q, scale) if huge else t.randn(n, q) * scale
        y = _labels(t, n, q, skip_last=i == 1)
        try:
            got, want = t.both(code, inject=("one_hot", "softmax"), O=O, y=y)
        except ProbeError as e:
            if i != 1:
                raise
            raise Fail(f"softmax_ce_grad raised {e} when the labels leave the last class out: the number of "
                       "classes is the number of columns of O, not the largest label + 1") from None
        (G, untouched), (G_ref, _) = plain(got), plain(want)
        t.check(isinstance(G, torch.Tensor) and tuple(G.shape) == (n, q),
                f"for ({n}, {q}) logits the gradient should have their shape, ({n}, {q}); got "
                f"{_shape(G)}"
                + (" (q is the number of columns of O, even when a class is absent from y)" if i == 1 else ""))
        t.check(G.is_floating_point(), f"the gradient should be a floating-point tensor; got {G.dtype}")
        t.check(untouched, "softmax_ce_grad changed the caller's logits (values or requires_grad): leave O as it is")
        t.check(bool(torch.isfinite(G).all()), "the gradient should stay finite for logits around +-1000")
        t.close(G, G_ref, "the gradient of the mean loss should be (softmax(O) - one-hot labels) / n, with n "
                          "the number of examples", atol=1e-6, rtol=1e-4)


def _blobs(t: Trial, n: int, d: int, q: int):
    """Overlapping Gaussian blobs: n points in d dimensions, labels 0 .. q - 1."""
    centers = t.randn(q, d) * 1.5
    y = _labels(t, n, q)
    return centers[y] + t.randn(n, d), y


@judge("ex6-train-tests", inject=("one_hot", "softmax", "cross_entropy", "stable_cross_entropy", "softmax_ce_grad"))
def train_softmax_regression(t: Trial):
    d, q = t.size(2, 4), t.size(3, 5)
    X, y = _blobs(t, t.size(40, 90), d, q)
    X_test, y_test = _blobs(t, t.size(30, 60), d, q)
    num_classes = q + 1                     # the widest class is absent from the data
    lr, num_epochs = 0.05 + 0.45 * float(t.rand(1)), t.choice([4, 6, 7, 9])
    code = RECORDER + ON_DEVICE + (
        "X, y, X_test, y_test = (v.to(dev) for v in (X, y, X_test, y_test))\n"
        "saved = [v.clone() for v in (X, y, X_test, y_test)]\n"
        "animator = Recorder()\n"
        "W, b = train_softmax_regression(X, y, num_classes, lr, num_epochs, X_test, y_test, animator)\n"
        "W2, b2 = train_softmax_regression(X, y, num_classes, lr, num_epochs, X_test, y_test)\n"
        "untouched = all(torch.equal(a, s) for a, s in zip((X, y, X_test, y_test), saved))\n"
        "result = (W.detach(), b.detach(), W2.detach(), b2.detach(), animator.calls, untouched,\n"
        "          torch.rand(4), dev.type)")
    inject = ("one_hot", "softmax", "cross_entropy", "stable_cross_entropy", "softmax_ce_grad")
    got, want = t.both(code, inject=inject, X=X, y=y, X_test=X_test, y_test=y_test, num_classes=num_classes,
                       lr=lr, num_epochs=num_epochs)
    W, b, W2, b2, calls, untouched, draw, dev = got
    W_ref, b_ref, _, _, calls_ref, _, draw_ref, _ = plain(want)
    t.check(untouched, "train_softmax_regression changed the caller's data: leave X, y, X_test and y_test as they are")
    t.check(tuple(getattr(W, "shape", ())) == (d, num_classes) and tuple(getattr(b, "shape", ())) == (num_classes,),
            f"for {d} features and num_classes={num_classes}, W should have shape ({d}, {num_classes}) and b "
            f"({num_classes},); got {_shape(W)} and {_shape(b)}")
    t.check(W.device == b.device == dev, f"W and b should be on X's device ({dev} here); got {W.device} and "
                                         f"{b.device}")
    t.close((W, b), (W_ref, b_ref), "the trained W and b differ from num_epochs full-batch gradient steps from "
                                    "zero with the lr passed in: one step per epoch, W <- W - lr * X.T @ G and "
                                    "b <- b - lr * G.sum(0), with G the gradient of the mean loss",
            atol=1e-5, rtol=1e-4)
    t.close((W2, b2), (W_ref, b_ref), "without an animator the training should give the same W and b",
            atol=1e-5, rtol=1e-4)
    xs = [x for x, _ in calls]
    t.check(xs == [x for x, _ in calls_ref],
            f"the animator should get one point per epoch, at x = 1, 2, ..., num_epochs; for {num_epochs} "
            f"epochs it got {len(xs)} point(s), at x = {xs[:8]}")
    t.check(all(len(ys) == 3 for _, ys in calls),
            "each animator point should hold three values: (training loss, training accuracy, test accuracy)")
    for k, what in enumerate(["the mean training cross-entropy", "the training accuracy", "the test accuracy"]):
        t.close([ys[k] for _, ys in calls], [ys[k] for _, ys in calls_ref],
                f"the animator's value {k + 1} should be {what} of the weights after each step",
                atol=1e-5, rtol=1e-4)
    t.close(draw, draw_ref, "train_softmax_regression should not reseed the random generator (or draw from it)",
            atol=0, rtol=0)
