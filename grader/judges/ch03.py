"""Judges of chapter 3, Fashion-MNIST and softmax regression on images (see grader.judge).

No judge reads Fashion-MNIST: the probes use a few dozen synthetic 28 x 28 "images" (a bright
pattern per class plus noise, some labels flipped so that no model is perfect), drawn here from
the trial's secret generator. Training probes compare the student's numbers with the reference's
on the same inputs and seed, and inject the reference versions of the earlier exercises they
call, so a mistake in accuracy or train_epoch costs points in that exercise only.
"""
from grader.judge import SAFE_EXCEPTIONS, Trial, judge, plain
from grader.judges import twins

ASSIGNMENT = "03-fashion-mnist"

PRELUDE = "import torch\nfrom torch import nn\n"

# Runs f(*args); an exception comes back as ("raised", its name), so the judge can say when.
CALL = '''
def call(f, *args):
    try:
        return f(*args)
    except Exception as e:
        return ("raised", type(e).__name__)
'''

# A model that notes, on every call, whether it is in training mode and whether autograd is on.
PROBE_NET = '''
class ProbeNet(nn.Module):
    """Flatten + Linear with the given weights; notes (training, grad enabled, batch length)."""
    def __init__(self, W, b):
        super().__init__()
        self.flat, self.linear = nn.Flatten(), nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            self.linear.weight.copy_(W.T)
            self.linear.bias.copy_(b)
        self.calls = []
    def forward(self, X):
        self.calls.append((self.training, torch.is_grad_enabled(), len(X)))
        return self.linear(self.flat(X))
'''

CROSS_ENTROPY = '''
def cross_entropy(O, y):
    m = O.max(dim=1, keepdim=True).values
    return m.squeeze(1) + torch.log(torch.exp(O - m).sum(dim=1)) - O[torch.arange(len(O)), y]
'''


def _images(t: Trial, n: int, q: int, flip: float = 0.25):
    """``n`` synthetic images (n, 1, 28, 28) in [0, 1] of ``q`` classes, and their labels (n,)
    int64, a fraction ``flip`` of them replaced by random classes."""
    import torch

    patterns = (t.rand(q, 1, 28, 28) > 0.7).float()
    y = torch.randint(0, q, (n,), generator=t.gen)
    X = (0.5 * patterns[y] + 0.5 * t.rand(n, 1, 28, 28)).clamp(0, 1)
    noisy = t.rand(n) < flip
    y[noisy] = torch.randint(0, q, (int(noisy.sum()),), generator=t.gen)
    return X, y


def _raised(value) -> str | None:
    """The name of the exception a CALL reported (a generic phrase for the student's own), or None."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "raised":
        return value[1] if value[1] in SAFE_EXCEPTIONS else "an exception of its own"
    return None


def _check_no_error(t: Trial, value, what: str, hint: str = "") -> None:
    """Fail with a message when a CALL reported an exception: ``what`` says which call, ``hint``
    what to look at (left out when the function is still the notebook's stub)."""
    error = _raised(value)
    if error == "NotImplementedError":
        t.check(False, f"{what} raised NotImplementedError: the exercise is not done yet")
    t.check(error is None, f"{what} raised {error}" + (f": {hint}" if hint else ""))


def _batch_size(t: Trial, n: int, options=(6, 7, 9, 11, 13)) -> int:
    """A secret batch size that leaves a smaller last batch."""
    return t.choice([b for b in options if n % b])


# The first probe of a kernel resolves the forbidden twins, which imports d2l.torch there (about 10 s on
# a busy 2-core machine), so the first judge gets more time than the default.
@judge("ex1-model-tests", forbid=twins("softmax_regression"), timeout=60)
def softmax_regression(t: Trial):
    import torch

    code = PRELUDE + CALL + (
        "X0, W0, b0 = X.clone(), W.clone(), b.clone()\n"
        "Wg, bg = W.clone().requires_grad_(True), b.clone().requires_grad_(True)\n"
        "O = call(softmax_regression, X, Wg, bg)\n"
        "try:\n"
        "    grads = list(torch.autograd.grad((O * R).sum(), (Wg, bg)))\n"
        "except (RuntimeError, TypeError, AttributeError):\n"
        "    grads = None\n"
        "unchanged = torch.equal(X, X0) and torch.equal(W, W0) and torch.equal(b, b0)\n"
        "result = (O.detach() if isinstance(O, torch.Tensor) else O, grads, unchanged)")
    c, h, w = t.size(1, 3), t.size(2, 5), t.size(2, 5)
    cases = [((t.size(2, 9), 1, 28, 28), 784, 10), ((t.size(2, 9), 784), 784, 10),
             ((t.size(2, 9), c, h, w), c * h * w, t.size(2, 7)), ((1, c * h * w), c * h * w, t.size(2, 7))]
    for shape, d, q in cases:
        X, W, b = t.rand(*shape), t.randn(d, q) * 0.1, t.randn(q)
        R = t.randn(shape[0], q)
        got, want = t.both(code, X=X, W=W, b=b, R=R)
        (O, grads, unchanged), (O_ref, grads_ref, _) = plain(got), plain(want)
        what = "images of 28 x 28 pixels" if d == 784 else f"examples of {d} numbers each and {q} classes"
        hint = "flatten each example into a row of W.shape[0] numbers" + ("" if d == 784 else
                                                                          " (do not hard-code 784)")
        _check_no_error(t, O, f"softmax_regression, for a batch of {shape[0]} {what},", hint)
        t.check(isinstance(O, torch.Tensor) and tuple(O.shape) == tuple(O_ref.shape),
                f"for a batch of {shape[0]} {what}, the logits should have shape ({shape[0]}, {q}); got "
                f"{tuple(O.shape) if isinstance(O, torch.Tensor) else type(O).__name__}: {hint}")
        t.close(O, O_ref, f"for a batch of {what}, the logits should be each example flattened into a "
                          "row, times W, plus b (no softmax: the loss applies it); the values differ",
                atol=1e-4, rtol=1e-4)
        t.check(unchanged, "softmax_regression changed the caller's X, W or b: leave its arguments as they are")
        t.check(grads is not None, "the logits should stay connected to W and b so that backward() reaches "
                                   "them: compute them with torch operations on W and b, without detaching")
        t.close(grads, grads_ref, "the gradients that reach W and b through your logits are not those of "
                                  "X W + b", atol=1e-4, rtol=1e-4)


@judge("ex2-accuracy-tests", forbid=twins("accuracy"))
def accuracy(t: Trial):
    import torch

    code = PRELUDE + CALL + (
        "y_hat0, y0 = y_hat.clone(), y.clone()\n"
        "counts = [call(accuracy, y_hat, y), call(accuracy, torch.softmax(y_hat, dim=1), y), "
        "call(accuracy, y_hat.argmax(dim=1), y)]\n"
        "result = (counts, torch.equal(y_hat, y_hat0) and torch.equal(y, y0))")
    for n, q in [(1, t.size(3, 10)), (t.size(2, 9), 2), (t.size(100, 300), t.size(3, 12))]:
        y_hat = t.randn(n, q)
        y = torch.randint(0, q, (n,), generator=t.gen)
        right = t.rand(n) < 0.5                         # about half right, the rest at random,
        right[0] = True                                 # and at least one right
        y[right] = y_hat.argmax(dim=1)[right]
        got, want = t.both(code, y_hat=y_hat, y=y)
        (counts, unchanged), (counts_ref, _) = got, want
        what = f"a batch of {n} example{'s' if n > 1 else ''} and {q} classes"
        kinds = ["scores (logits)", "probabilities", "predicted class indices (a 1-D y_hat)"]
        for kind, c, c_ref in zip(kinds, counts, counts_ref):
            _check_no_error(t, c, f"accuracy, for {what} given {kind},")
            t.check(type(c) is float, f"accuracy should return a Python float (a count such as 3.0); for "
                                      f"{kind} it returned {type(c).__name__}")
            t.close(c, c_ref, f"for {what}, given {kind}, accuracy should return how many predictions equal "
                              f"the label (a count, not a fraction); it returned {c:g}, expected {c_ref:g}",
                    atol=1e-6, rtol=0)
        t.check(unchanged, "accuracy changed the caller's y_hat or y: leave its arguments as they are")


@judge("ex3-evaluate-accuracy-tests", forbid=twins("evaluate_accuracy"), inject=("accuracy",))
def evaluate_accuracy(t: Trial):
    q, n = t.size(3, 10), t.size(40, 90)
    bs = _batch_size(t, n)
    X, y = _images(t, n, q)
    W, b = t.randn(784, q) * 0.2, t.randn(q) * 0.1
    # The model is right on about half the examples, on all of the smaller last batch and not on the
    # first example: then a mean of per-batch accuracies can never equal the true one by chance.
    right = t.rand(n) < 0.5
    right[n - n % bs:], right[0] = True, False
    predicted = (X.reshape(n, -1) @ W + b).argmax(dim=1)
    y[right] = predicted[right]
    y[0] = (predicted[0] + 1) % q
    code = PRELUDE + CALL + PROBE_NET + (
        "calls = []\n"
        "def scratch(X):\n"
        "    calls.append((None, torch.is_grad_enabled(), len(X)))\n"
        "    return X.reshape(len(X), -1) @ Wg + bg\n"
        "Wg, bg = W.clone().requires_grad_(True), b.clone().requires_grad_(True)\n"
        "module = ProbeNet(W, b)\n"
        "module.train()\n"
        "batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X), bs)]\n"
        "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=bs)\n"
        "X0 = X.clone()\n"
        "values = [call(evaluate_accuracy, scratch, batches), call(evaluate_accuracy, module, loader)]\n"
        "result = (values, calls, module.calls, torch.equal(X, X0))")
    got, want = t.both(code, inject=("accuracy",), X=X, y=y, W=W, b=b, bs=bs)
    (values, calls, module_calls, unchanged), (values_ref, _, _, _) = got, want
    for v, net in zip(values, ("a plain function and a list of batches", "an nn.Module and a DataLoader")):
        _check_no_error(t, v, f"evaluate_accuracy, for {net},", "net may be a plain function, data_iter any "
                                                               "iterable of (X, y) batches")
        t.check(type(v) is float, f"evaluate_accuracy should return a Python float; it returned {type(v).__name__}")
    t.check(all(not grad for _, grad, _ in calls + module_calls),
            "evaluate_accuracy ran the model with gradient tracking on: run the loop under torch.no_grad()")
    t.check(all(not training for training, _, _ in module_calls),
            "evaluate_accuracy ran an nn.Module in training mode: call net.eval() first")
    t.check([k for _, _, k in calls] == [len(yb) for yb in y.split(bs)],
            "evaluate_accuracy should run the model once on every batch of data_iter, in one pass")
    t.close(values[0], values_ref[0], f"with {n} examples in batches of {bs} (the last one smaller), the "
                                      f"accuracy should be {values_ref[0]:.4f}, the correct predictions of all "
                                      f"batches over all examples; got {values[0]:.4f}", atol=1e-6, rtol=0)
    t.close(values[1], values_ref[1], "for an nn.Module and a DataLoader the accuracy is wrong: count the "
                                      "examples of each batch, divide once at the end", atol=1e-6, rtol=0)
    t.check(unchanged, "evaluate_accuracy changed the caller's tensors: leave the batches as they are")


# The first optimizer step in a kernel imports torch's compiler stack (seconds on a busy machine).
@judge("ex4-train-epoch-tests", forbid={**twins("train_epoch"), **twins("train_epoch_ch3")},
       inject=("accuracy",), timeout=60)
def train_epoch(t: Trial):
    q, n = t.size(3, 10), t.size(30, 70)
    bs = _batch_size(t, n)
    X, y = _images(t, n, q)
    W, b = t.randn(784, q) * 0.01, t.randn(q) * 0.01
    lr, momentum = t.choice([0.01, 0.02, 0.03]), t.choice([0.0, 0.5, 0.9])
    optimizer_code = PRELUDE + PROBE_NET + (
        "net = ProbeNet(W, b)\n"
        "net.eval()\n"
        "trainer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)\n"
        "batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X), bs)]\n"
        "X0 = X.clone()\n"
        "out = [train_epoch(net, batches, nn.CrossEntropyLoss(reduction='none'), trainer) for _ in range(2)]\n"
        "result = (out, [net.linear.weight.detach(), net.linear.bias.detach()], net.calls, torch.equal(X, X0), "
        "torch.rand(4))")
    got, want = t.both(optimizer_code, inject=("accuracy",), X=X, y=y, W=W, b=b, bs=bs, lr=lr,
                       momentum=momentum)
    (out, params, calls, unchanged, after), (out_ref, params_ref, calls_ref, _, after_ref) = plain(got), plain(want)
    t.check(unchanged, "train_epoch changed the caller's batches: leave the data as it is")
    t.check(all(training for training, _, _ in calls), "train_epoch should put an nn.Module into training "
                                                       "mode (net.train()) before the pass")
    t.check([k for _, _, k in calls] == [k for _, _, k in calls_ref],
            "train_epoch should call the model once on every batch, in one pass over train_iter, and count the "
            "correct predictions from that call's output")
    t.close(params, params_ref, "with a torch.optim optimizer the weights after the epoch differ from one "
                                "zero_grad(), backward() of the mean batch loss and step() per batch",
            atol=1e-5, rtol=1e-4)
    _close_epochs(t, out, out_ref, "a torch.optim optimizer")
    t.close(after, after_ref, "train_epoch changed the global random generator (do not reseed it)")

    updater_code = PRELUDE + CROSS_ENTROPY + (
        "Wg, bg = W.clone().requires_grad_(True), b.clone().requires_grad_(True)\n"
        "sizes = []\n"
        "def updater(batch_size):\n"
        "    sizes.append(batch_size)\n"
        "    with torch.no_grad():\n"
        "        for p in (Wg, bg):\n"
        "            p -= lr * p.grad / batch_size\n"
        "            p.grad.zero_()\n"
        "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=bs)\n"
        "out = train_epoch(lambda X: X.reshape(len(X), -1) @ Wg + bg, loader, cross_entropy, updater)\n"
        "result = (out, [Wg.detach(), bg.detach()], sizes)")
    got, want = t.both(updater_code, inject=("accuracy",), X=X, y=y, W=W, b=b, bs=bs, lr=lr * 2)
    (out, params, sizes), (out_ref, params_ref, sizes_ref) = plain(got), plain(want)
    t.check(list(sizes) == list(sizes_ref),
            f"a hand-written updater should be called once per batch with that batch's own size: with {n} "
            f"examples in batches of {bs} it should get {sizes_ref}; it got {list(sizes)[:12]}")
    t.close(params, params_ref, "with a hand-written updater the weights after the epoch differ: backpropagate "
                                "the summed loss of each batch, then call updater(len(y))", atol=1e-5, rtol=1e-4)
    _close_epochs(t, [out], [out_ref], "a hand-written updater")


def _close_epochs(t: Trial, out, out_ref, how: str) -> None:
    t.check(isinstance(out[0], tuple) and len(out[0]) == 2 and all(type(v) is float for v in out[0]),
            "train_epoch should return a tuple of two Python floats, (train_loss, train_acc)")
    t.close([o[0] for o in out], [o[0] for o in out_ref],
            f"with {how}, the returned loss should be the mean loss per example over the whole epoch, as "
            "computed during the pass (sum the per-example losses of every batch, divide by all examples)",
            atol=1e-5, rtol=1e-4)
    t.close([o[1] for o in out], [o[1] for o in out_ref],
            f"with {how}, the returned accuracy should be the fraction of correct predictions over all "
            "examples of the epoch, from the predictions made during the pass", atol=1e-6, rtol=0)


METRICS = [("train_loss should hold the mean training loss that train_epoch returned for that epoch (one "
            "pass over train_iter per epoch, with the loss and the updater passed in)", 1e-5),
           ("train_acc should hold the training accuracy that train_epoch returned for that epoch", 1e-6),
           ("test_acc should hold the accuracy on test_iter measured after that epoch's training", 1e-6)]


@judge("ex5-train-tests", forbid={**twins("train"), **twins("train_ch3")},
       inject=("accuracy", "evaluate_accuracy", "train_epoch"))
def train(t: Trial):
    q, n, n_test = t.size(3, 10), t.size(40, 80), t.size(20, 40)
    bs = _batch_size(t, n)
    X, y = _images(t, n + n_test, q)
    W, b = t.randn(784, q) * 0.01, t.randn(q) * 0.01
    lr, num_epochs = t.choice([0.01, 0.02, 0.03]), t.size(2, 4)
    code = PRELUDE + CALL + PROBE_NET + CROSS_ENTROPY + (
        "import dlcourse.plot\n"
        "from dlcourse.data import TensorLoader\n"
        "shell, dlcourse.plot._shell = dlcourse.plot._shell, lambda: None   # no figure drawn in the probe\n"
        "train_iter = TensorLoader(X[:n], y[:n], bs, shuffle=True, device='cpu')\n"
        "test_iter = TensorLoader(X[n:], y[n:], bs, device='cpu')\n"
        "net = ProbeNet(W, b)\n"
        "trainer = torch.optim.SGD(net.parameters(), lr=lr)\n"
        "try:\n"
        "    h = train(net, train_iter, test_iter, nn.CrossEntropyLoss(reduction='none'), num_epochs, trainer)\n"
        "finally:\n"
        "    dlcourse.plot._shell = shell\n"
        "a = h.animator\n"
        "plot = (getattr(a, 'X', None), getattr(a, 'Y', None)) if a is not None else None\n"
        "Wg, bg = W.clone().requires_grad_(True), b.clone().requires_grad_(True)\n"
        "def updater(batch_size):\n"
        "    with torch.no_grad():\n"
        "        for p in (Wg, bg):\n"
        "            p -= lr * p.grad / batch_size\n"
        "            p.grad.zero_()\n"
        "h2 = call(train, lambda X: X.reshape(len(X), -1) @ Wg + bg, train_iter, test_iter, cross_entropy,\n"
        "          num_epochs + 1, updater, False)\n"
        "if isinstance(h2, tuple):\n"
        "    result = h2\n"
        "else:\n"
        "    histories = [(list(g.train_loss), list(g.train_acc), list(g.test_acc)) for g in (h, h2)]\n"
        "    result = (histories, plot, [isinstance(g, dlcourse.History) for g in (h, h2)], h2.animator is None,\n"
        "              [net.linear.weight.detach(), Wg.detach()], torch.rand(4))")
    got, want = t.both(code, inject=("accuracy", "evaluate_accuracy", "train_epoch"), X=X, y=y, W=W, b=b,
                       n=n, bs=bs, lr=lr, num_epochs=num_epochs)
    _check_no_error(t, got, "train, with animate=False,", "then the History has no animator")
    (hists, plot, kinds, no_plot, params, after), (hists_ref, plot_ref, _, _, params_ref, after_ref) = \
        plain(got), plain(want)
    t.check(all(kinds), "train should return the dlcourse.History it filled")
    t.check(no_plot, "with animate=False, train should return a History whose animator is None")
    for (hist, hist_ref, epochs) in zip(hists, hists_ref, (num_epochs, num_epochs + 1)):
        lengths = [len(v) for v in hist]
        t.check(lengths == [epochs] * 3,
                f"after {epochs} epochs the History should hold {epochs} values in each of train_loss, "
                f"train_acc and test_acc; it holds {lengths}. Use num_epochs as passed")
        for epoch in range(epochs):          # the first epoch and the first list that differ
            for i, (what, atol) in enumerate(METRICS):
                t.close(hist[i][epoch], hist_ref[i][epoch], f"from epoch {epoch + 1} on, {what}", atol=atol,
                        rtol=1e-4)
    t.close(params, params_ref, "the trained weights differ from num_epochs passes of train_epoch with the "
                                "updater passed in", atol=1e-5, rtol=1e-4)
    t.check(plot is not None and plot[0] is not None,
            "with animate=True the animator should get one point per epoch (animator.add)")
    xs, ys = plot
    xs_ref, ys_ref = plot_ref
    t.check(len(xs) == 3 and [list(x) for x in xs] == [list(x) for x in xs_ref],
            f"the live plot should show 3 curves with x = 1, 2, ..., num_epochs; for {num_epochs} epochs its "
            f"x values are {[list(x)[:6] for x in xs][:3]}")
    t.close(ys, ys_ref, "the live plot should show train loss, train accuracy and test accuracy, in that "
                        "order, the same values as the History", atol=1e-5, rtol=1e-4)
    t.close(after, after_ref, "train changed the global random generator (do not reseed it)")
