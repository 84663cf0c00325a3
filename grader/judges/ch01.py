"""Judges of chapter 1, linear regression (see grader.judge)."""
from grader.judge import Trial, judge, plain
from grader.judges import RECORDER, twins

ASSIGNMENT = "01-linear-regression"



@judge("ex1-synthetic-data-tests", forbid=twins("synthetic_data"))
def synthetic_data(t: Trial):
    import torch

    d, n = t.size(1, 6), t.size(3000, 5000)
    w, b = t.randn(d) * 3, float(t.randn(1)) * 2
    got = plain(t.student("w0 = w.clone()\nfirst = synthetic_data(w, b, n)\nsecond = synthetic_data(w, b, n)\n"
                          "result = (first, second, torch.equal(w, w0))", w=w, b=b, n=n))
    (X, y), (X2, _), untouched = got
    t.check(tuple(X.shape) == (n, d) and tuple(y.shape) == (n, 1),
            f"for w of length {d} and {n} examples, X should be ({n}, {d}) and y ({n}, 1); got "
            f"{tuple(X.shape)} and {tuple(y.shape)}")
    t.check(X.dtype == torch.float32 and y.dtype == torch.float32, "X and y should be float32 tensors")
    t.check(untouched, "synthetic_data changed the caller's w: leave its arguments as they are")
    t.check(not torch.equal(X, X2), "two calls gave the same features: draw new ones on every call "
                                    "(do not reseed the random generator)")
    t.check(abs(float(X.mean())) < 0.1 and abs(float(X.std()) - 1) < 0.05,
            "the features should be drawn from a standard normal distribution (mean 0, std 1)")
    A = torch.cat([X.double(), torch.ones(n, 1, dtype=torch.float64)], dim=1)
    sol = torch.linalg.lstsq(A, y.double()).solution.reshape(-1)
    t.check(float((sol[:d] - w.double()).abs().max()) < 0.005 and abs(float(sol[d]) - b) < 0.005,
            "the labels should be X @ w + b plus small noise: a least-squares fit to your data does not "
            "give back w and b")
    resid = y.double().reshape(-1) - X.double() @ w.double() - b
    t.check(0.0085 < float(resid.std()) < 0.0115,
            f"the noise should have standard deviation 0.01; yours has {float(resid.std()):.3g}")


@judge("ex2-data-iter-tests", forbid=twins("load_array"))
def data_iter(t: Trial):
    import torch

    n = t.size(23, 61)
    bs = t.choice([b for b in (4, 5, 7, 8, 9) if n % b])
    F = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2) + 0.5
    L = torch.arange(n, dtype=torch.float32)
    got = plain(t.student("F0, L0 = F.clone(), L.clone()\n"
                          "epochs = [[(X, y) for X, y in data_iter(bs, F, L)] for _ in range(3)]\n"
                          "column = [(X, y) for X, y in data_iter(bs, F, L.reshape(-1, 1))]\n"
                          "result = (epochs, column, torch.equal(F, F0) and torch.equal(L, L0))",
                          F=F, L=L, bs=bs))
    epochs, column, untouched = got
    sizes = [min(bs, n - i) for i in range(0, n, bs)]
    for batches in epochs + [column]:
        t.check([len(X) for X, _ in batches] == sizes,
                f"with {n} examples and batch_size {bs}, the batches should hold {sizes[0]} examples each, "
                f"the last one {sizes[-1]}; got sizes {[len(X) for X, _ in batches][:12]}")
        X_all, y_all = torch.cat([X for X, _ in batches]), torch.cat([y for _, y in batches])
        t.check(y_all.dim() == (1 if batches is not column else 2),
                "each batch of labels should keep the labels' own shape: (batch,) for labels of shape "
                "(n,), (batch, 1) for labels of shape (n, 1)")
        t.check(sorted(y_all.reshape(-1).tolist()) == list(range(n)),
                "one pass should yield every example exactly once")
        t.check(torch.equal((X_all[:, 0] - 0.5) / 2, y_all.reshape(-1)),
                "the features and labels of a batch should come from the same examples")
    orders = {tuple(torch.cat([y.reshape(-1) for _, y in b]).tolist()) for b in epochs}
    t.check(len(orders) == 3, "each pass should draw a new random order (do not reseed the generator)")
    t.check(any(list(o) != sorted(o) for o in orders), "the examples should come in a random order")
    t.check(untouched, "data_iter changed the caller's tensors: leave them as they are")


@judge("ex3-linreg-tests", forbid=twins("linreg"))
def linreg(t: Trial):
    for n, d in [(1, 1), (t.size(2, 40), t.size(2, 9))]:
        X, w, b = t.randn(n, d), t.randn(d, 1), t.randn(1)
        got, want = t.both("result = linreg(X, w, b)", X=X, w=w, b=b)
        t.close(got, want, f"linreg(X, w, b) should be X @ w + b, of shape (n, 1); for X of shape "
                           f"({n}, {d}) the answer is wrong or has the wrong shape")


@judge("ex4-squared-loss-tests", forbid=twins("squared_loss"))
def squared_loss(t: Trial):
    n = t.size(2, 50)
    for shape in [(n,), (n, 1)]:
        y_hat, y = t.randn(n, 1), t.randn(*shape)
        got, want = t.both("result = squared_loss(y_hat, y)", y_hat=y_hat, y=y)
        t.close(got, want, f"squared_loss should return (y_hat - y)^2 / 2 per example, of shape (n, 1), "
                           f"for labels shaped {'(n,)' if len(shape) == 1 else '(n, 1)'}; "
                           "no mean and no sum")


@judge("ex5-sgd-tests", forbid=twins("sgd"))
def sgd(t: Trial):
    import torch

    code = ("params = [p.clone().requires_grad_(True) for p in values]\n"
            "for p, g in zip(params, grads):\n"
            "    p.grad = g.clone()\n"
            "ids = [id(p) for p in params]\n"
            "sgd(params, lr, batch_size)\n"
            "result = ([p.detach() for p in params], [p.grad for p in params],\n"
            "          [p.requires_grad and p.is_leaf for p in params], [id(p) for p in params] == ids)")
    for _ in range(2):
        values, grads = [t.randn(3, 2), t.randn(4)], [t.randn(3, 2), t.randn(4)]
        lr, batch_size = 0.01 + 0.5 * float(t.rand(1)), t.size(2, 12)
        got, want = t.both(code, values=values, grads=grads, lr=lr, batch_size=batch_size)
        got, want = plain(got), plain(want)
        t.close(got[0], want[0], "each parameter should move by -lr * grad / batch_size, in place")
        t.check(all(g is None or (isinstance(g, torch.Tensor) and not g.abs().sum()) for g in got[1]),
                "after the step each parameter's gradient should be zeroed (param.grad.zero_())")
        t.check(all(got[2]) and got[3], "update the parameters in place, under torch.no_grad(): they "
                                        "should stay the same leaf tensors that require grad")


@judge("ex6-train-tests", inject=("data_iter", "linreg", "squared_loss", "sgd"))
def train_linreg(t: Trial):
    d, n = t.size(2, 4), t.size(300, 500)
    batch_size = t.choice([b for b in (7, 9, 11, 13) if n % b])
    w_true, b_true = t.randn(d) * 2, float(t.randn(1))
    X = t.randn(n, d)
    y = (X @ w_true + b_true + 0.01 * t.randn(n)).reshape(-1, 1)
    lr, num_epochs = 0.02 + 0.03 * float(t.rand(1)), t.choice([2, 4, 5])
    code = RECORDER + (
        "X0, y0 = X.clone(), y.clone()\n"
        "animator = Recorder()\n"
        "w, b = train_linreg(X, y, lr, num_epochs, batch_size, animator=animator)\n"
        "result = (w.detach(), b.detach(), animator.calls, torch.equal(X, X0) and torch.equal(y, y0))")
    got, want = t.both(code, inject=("data_iter", "linreg", "squared_loss", "sgd"),
                       X=X, y=y, lr=lr, num_epochs=num_epochs, batch_size=batch_size)
    (w, b, calls, untouched), (w_ref, b_ref, calls_ref, _) = plain(got), plain(want)
    t.check(untouched, "train_linreg changed the caller's features or labels: leave them as they are")
    xs = [x for x, _ in calls]
    t.check(xs == [x for x, _ in calls_ref],
            f"the animator should get one point per epoch, at x = 1, 2, ..., num_epochs; for "
            f"{num_epochs} epochs it got x = {xs[:8]}")
    t.check(tuple(w.shape) == (d, 1) and tuple(b.shape) == (1,), "return w of shape (d, 1) and b of shape (1,)")
    t.close((w, b), (w_ref, b_ref), "the trained w and b differ from what minibatch SGD with these "
                                    "arguments gives: use lr, num_epochs and batch_size as passed, one pass "
                                    "over the data per epoch, and the size of each batch (the last one "
                                    "may be smaller)", atol=1e-4, rtol=1e-3)
    t.close([ys for _, ys in calls], [ys for _, ys in calls_ref],
            "the animator's y should be the mean squared loss over all examples after each epoch",
            atol=1e-5, rtol=1e-3)
