"""Judges of chapter 5, model selection, underfitting and overfitting (see grader.judge)."""
from grader.judge import Trial, _close, judge, plain
from grader.judges import RECORDER

ASSIGNMENT = "05-model-selection"

# the kernel's accelerator when it has one: results must stay on the device of their inputs
DEVICE = "dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"


@judge("ex1-poly-features-tests")
def poly_features(t: Trial):
    import torch

    code = ("x1 = x.reshape(-1).clone()\n"
            "x0, x10 = x.clone(), x1.clone()\n"
            "try:\n"
            "    flat = poly_features(x1, m)\n"
            "except Exception as e:\n"
            "    flat = type(e).__name__\n"
            "result = (poly_features(x, m), flat, torch.equal(x, x0) and torch.equal(x1, x10))")
    for n, m in [(t.size(3, 12), t.size(2, 6)), (1, 1), (t.size(21, 60), 20)]:
        x = t.randn(n, 1) * 2
        got, want = plain(t.both(code, x=x, m=m))
        for form, g in (("(n, 1)", got[0]), ("(n,)", got[1])):
            t.check(not isinstance(g, str), f"for x of shape {form} poly_features raised {g}: accept x of shape "
                                            "(n,) as well as (n, 1)")
            t.check(isinstance(g, torch.Tensor) and tuple(g.shape) == (n, m),
                    f"for x of shape {form} with {n} examples and max_degree {m} the features should have "
                    f"shape ({n}, {m}); got {tuple(g.shape) if isinstance(g, torch.Tensor) else 'no tensor'}")
            t.close(g, want[0], f"column i should hold x**i / i! for i = 0, ..., max_degree - 1 (column 0 all "
                                f"ones); for x of shape {form} and max_degree {m} some columns are wrong",
                    atol=1e-6, rtol=1e-4)
        t.check(got[2], "poly_features changed the caller's x: leave it as it is (reshape makes a new view)")
    x = t.randn(t.size(3, 9), 1, dtype=torch.float64)
    got, want = plain(t.both("result = poly_features(x, 6)", x=x))
    t.check(isinstance(got, torch.Tensor) and got.dtype == torch.float64,
            f"for a float64 x the features should be float64 too (the same dtype as x); got "
            f"{got.dtype if isinstance(got, torch.Tensor) else 'no tensor'}")
    t.close(got, want, "for a float64 x the values of the features are wrong", atol=1e-9, rtol=1e-7)
    out, dev = t.student(DEVICE + "result = (poly_features(x.to(dev), 6), dev.type)", x=x)
    t.check(getattr(out, "device", None) == dev, f"for x on the {dev} the features should be on the {dev} "
                                                 "too (the same device as x)")


@judge("ex2-train-poly-tests")
def train_poly(t: Trial):
    import torch

    call = "train_poly(X, X_test, y, y_test, num_epochs=num_epochs, lr=lr, batch_size=batch_size{})"
    untouched = "all(torch.equal(a, b) for a, b in zip((X, X_test, y, y_test), inputs))"
    keep = "inputs = [v.clone() for v in (X, X_test, y, y_test)]\n"
    d = t.size(2, 5)

    def data(n):
        X = t.randn(n, d) * 0.7
        return X, X @ t.randn(d, 1) + 0.1 * t.randn(n, 1)

    # one batch holds every example (batch_size may exceed n): no order, no shuffle to match
    n, m = t.size(8, 20), t.size(3, 9)
    (X, y), (X_test, y_test) = data(n), data(m)
    num_epochs, lr = t.size(2, 4), 0.03 + 0.07 * float(t.rand(1))
    for batch_size in (n, n + t.size(1, 5)):
        got, want = plain(t.both(keep + "w, train_l, test_l = " + call.format("") +
                                 f"\nresult = (w, train_l, test_l, {untouched})",
                                 X=X, X_test=X_test, y=y, y_test=y_test, num_epochs=num_epochs, lr=lr,
                                 batch_size=batch_size))
        t.check(got[3], "train_poly changed the caller's features or labels: leave them as they are")
        t.check(isinstance(got[0], torch.Tensor) and tuple(got[0].shape) == (d, 1),
                f"w should have shape ({d}, 1) for {d} features")
        t.close(got[0], want[0], f"with one batch of all {n} examples each epoch is one gradient step "
                                 f"w -= lr / n * X^T (X w - y); after {num_epochs} epochs w is wrong: use lr, "
                                 "num_epochs and batch_size (through train_iter) as passed, and divide by the "
                                 "batch's own length",
                atol=1e-5, rtol=1e-4)
        t.close(got[1:3], want[1:3], "the returned training and test losses should be evaluate_poly of the "
                                     "trained w on each set", atol=1e-6, rtol=1e-4)
    w, dev = t.student(DEVICE + "X, X_test, y, y_test = (v.to(dev) for v in (X, X_test, y, y_test))\n"
                       "result = (" + call.format("") + "[0], dev.type)",
                       X=X, X_test=X_test, y=y, y_test=y_test, num_epochs=num_epochs, lr=lr, batch_size=n)
    t.check(getattr(w, "device", None) == dev, f"for features on the {dev}, w should be on the {dev} too")
    t.close(w, want[0], f"with features on the {dev} the trained w is wrong", atol=1e-5, rtol=1e-4)

    # copies of one example: every batch has the same mean gradient, whatever the order
    bs = t.size(3, 5)
    n = bs * t.size(2, 3) + t.size(1, bs - 1)
    row = t.randn(1, d) * 0.7
    X, y = row.repeat(n, 1), torch.full((n, 1), float(t.randn(1)))
    got, want = plain(t.both("result = " + call.format("") + "[0]", X=X, X_test=X[:2], y=y,
                             y_test=y[:2], num_epochs=1, lr=lr, batch_size=bs))
    t.close(got, want, f"{n} examples in batches of {bs} end with a batch of {n % bs}: each step should divide "
                       "the gradient by its own batch's length (len(X)), not by batch_size", atol=1e-5, rtol=1e-4)

    # minibatches in train_iter's order, a live plot, and a second run that must draw a new order
    n, m = t.size(23, 47), t.size(5, 15)
    batch_size = t.choice([b for b in (3, 4, 5, 6, 7) if n % b])
    (X, y), (X_test, y_test) = data(n), data(m)
    num_epochs = t.size(41, 67)
    code = RECORDER + keep + (
        "animator = Recorder()\n"
        "first = " + call.format(", animator=animator") + "\n"
        "second = " + call.format("") + "\n"
        f"result = (first, second, animator.calls, {untouched})")
    got, want = plain(t.both(code, X=X, X_test=X_test, y=y, y_test=y_test, num_epochs=num_epochs, lr=lr,
                             batch_size=batch_size))
    (first, second, calls, same), (first_ref, second_ref, calls_ref, _) = got, want
    t.check(same, "train_poly changed the caller's features or labels: leave them as they are")
    xs, xs_ref = [x for x, _ in calls], [x for x, _ in calls_ref]
    t.check(xs == xs_ref, f"the animator should get a point after every 20th epoch, at x = epoch + 1 "
                          f"({', '.join(f'{x:g}' for x in xs_ref)} for {num_epochs} epochs); it got x = "
                          f"{', '.join(f'{x:g}' for x in xs[:8])}{' ...' if len(xs) > 8 else ''}")
    t.check(not torch.equal(first[0], second[0]),
            "two runs gave exactly the same weights: train_iter should draw a new order every epoch "
            "(do not reseed the random generator)")
    t.close(first[0], first_ref[0], f"with {n} examples in minibatches of {batch_size}, w after {num_epochs} "
                                    "epochs differs from one SGD step per minibatch of train_iter, in its order "
                                    "(one pass per epoch, the gradient divided by the batch's own length)",
            atol=1e-4, rtol=1e-3)
    t.close(second[0], second_ref[0], "a second call of train_poly trains differently from the first: start "
                                      "from w = 0 each time and use only the arguments passed", atol=1e-4, rtol=1e-3)
    t.close([ys for _, ys in calls], [ys for _, ys in calls_ref],
            "the animator's y should be (training loss, test loss), both evaluate_poly of the current w on "
            "the whole training and the whole test set", atol=1e-6, rtol=1e-3)


@judge("ex3-k-fold-split-tests")
def get_k_fold_data(t: Trial):
    import torch

    k = t.choice([3, 4, 6])
    cases = [(k, k * t.size(2, 6) + t.size(1, k - 1)), (2, 2 * t.size(3, 9) + 1), (None, t.size(4, 8))]
    code = ("X0, y0 = X.clone(), y.clone()\n"
            "result = ([get_k_fold_data(k, i, X, y) for i in range(k)], torch.equal(X, X0) and torch.equal(y, y0))")
    for k, n in cases:
        k = k or n
        X, y = t.randn(n, t.size(1, 4)), t.randn(n, 1)
        got, want = plain(t.both(code, X=X, y=y, k=k))
        (rounds, untouched), (rounds_ref, _) = got, want
        size = n // k
        for i, (g, w) in enumerate(zip(rounds, rounds_ref)):
            t.check(isinstance(g, (list, tuple)) and len(g) == 4
                    and all(isinstance(v, torch.Tensor) for v in g),
                    "return four tensors: X_train, y_train, X_valid, y_valid")
            t.check([tuple(v.shape) for v in g[2:]] == [tuple(v.shape) for v in w[2:]],
                    f"with {n} examples in {k} folds, fold_size = n // k = {size}: the validation data should "
                    f"have shapes {tuple(w[2].shape)} and {tuple(w[3].shape)}, got {tuple(g[2].shape)} and "
                    f"{tuple(g[3].shape)}")
            t.check(torch.equal(g[2], w[2]) and torch.equal(g[3], w[3]),
                    f"with {n} examples in {k} folds, round i should validate on fold i, rows i * {size} to "
                    f"(i + 1) * {size} - 1; round {i} validates on other rows")
            t.check([tuple(v.shape) for v in g[:2]] == [tuple(v.shape) for v in w[:2]],
                    f"with {n} examples in {k} folds the training data should be the other {k - 1} folds, "
                    f"{(k - 1) * size} rows (the {n - k * size} rows after k * fold_size are not used); got "
                    f"shapes {tuple(g[0].shape)} and {tuple(g[1].shape)}")
            t.check(torch.equal(g[0], w[0]) and torch.equal(g[1], w[1]),
                    f"the training data of round {i} should be the other folds, concatenated in their order "
                    "(features and labels of the same rows)")
        t.check(len(rounds) == k, "get_k_fold_data should return one split per call")
        t.check(untouched, "get_k_fold_data changed the caller's X or y: leave them as they are")


K_FOLD_FIT = '''
seen = []
def fit(X_train, y_train, X_valid, y_valid):
    seen.append((X_train.clone(), y_train.clone(), X_valid.clone(), y_valid.clone()))
    return float(a * X_train.sum() + y_train.sum() ** 2), float(X_valid[:, 0].sum() - b * y_valid.sum())
'''


@judge("ex4-k-fold-tests", inject=("get_k_fold_data",))
def k_fold(t: Trial):
    for k in (t.choice([2, 3, 4]), t.choice([6, 7])):
        n = k * t.size(3, 6) + t.size(0, k - 1)
        X, y = t.randn(n, t.size(1, 3)), t.randn(n, 1)
        a, b = 0.5 + float(t.rand(1)), 1.5 + float(t.rand(1))
        got, want = plain(t.both(K_FOLD_FIT + "result = (k_fold(k, X, y, fit), seen)", inject=("get_k_fold_data",),
                                 X=X, y=y, k=k, a=a, b=b))
        (out, seen), (out_ref, seen_ref) = got, want
        t.check(len(seen) == len(seen_ref), f"with k = {k}, fit should be called once per fold, {k} times; it "
                                            f"was called {len(seen)} times")
        for i, (s, r) in enumerate(zip(seen, seen_ref)):
            t.close(s, r, f"round {i} should call fit(X_train, y_train, X_valid, y_valid) with the split "
                          "get_k_fold_data(k, i, X, y), fold i as the validation data", atol=0, rtol=0)
        t.check(isinstance(out, (list, tuple)) and len(out) == 2,
                "return the pair (mean training loss, mean validation loss)")
        t.check(not _near(out[::-1], out_ref) or _near(out, out_ref),
                "the two losses are swapped: return (mean training loss, mean validation loss)")
        t.close(out, out_ref, f"k_fold should return the means over the {k} folds of fit's training and "
                              "validation losses (add up, then divide by k)", atol=1e-6, rtol=1e-5)


def _near(got, want) -> bool:
    return _close(got, want, 1e-6, 1e-5, False, True)


SELECT_FIT = '''
widths = []
def fit(X_train, y_train, X_valid, y_valid):
    widths.append(X_train.shape[1])
    return float(y_train.sum()), table.get(X_train.shape[1], 50.0) + c * float(y_valid.sum())
'''


@judge("ex5-select-degree-tests", inject=("get_k_fold_data", "k_fold"))
def select_degree(t: Trial):
    import torch

    D = t.size(8, 12)
    n = t.size(24, 40)
    features, labels = t.randn(n, D), t.randn(n, 1)
    code = SELECT_FIT + ("best, losses = select_degree(features, labels, degrees, k, fit)\n"
                         "result = (best, losses, sorted(set(widths)), len(widths))")
    order = torch.randperm(D, generator=t.gen).tolist()
    # a distinct fake validation loss per width; 0.01 * the fold's labels makes each fold count
    values = (torch.randperm(D, generator=t.gen).double() + 1).tolist()
    table = {w: v for w, v in zip(range(1, D + 1), values)}
    for degrees, k in [(order[:t.size(4, 6)], t.choice([3, 4, 6])), (order[-t.size(3, 5):], 2)]:
        got, want = plain(t.both(code, inject=("get_k_fold_data", "k_fold"), features=features, labels=labels,
                                 degrees=degrees, k=k, table=table, c=0.01))
        best, losses, widths, calls = got
        t.check(widths == want[2], "a polynomial of degree p uses the first p + 1 feature columns (x^0 to "
                                   "x^p): cross-validate features[:, :p + 1] for each degree")
        t.check(calls == want[3], f"each degree should be cross-validated with k = {k} folds, {k} fits per degree")
        t.check(isinstance(losses, dict) and set(losses) == set(want[1]),
                "losses should be a dict with one entry per degree in `degrees`, keyed by the degree")
        t.close(losses, want[1], "losses[p] should be the mean validation loss (the second value of k_fold) "
                                 "of degree p", atol=1e-6, rtol=1e-5)
        t.check(type(best) is int and best == want[0],
                "best should be the degree (an entry of `degrees`) with the smallest validation loss")
    # a tie: the first in `degrees` wins, even when it is the larger degree
    hi, lo = sorted(order[:2], reverse=True)
    rest = order[2:5]
    table = {w: 2.0 for w in range(1, D + 1)}
    table[hi + 1] = table[lo + 1] = 1.0
    degrees = [rest[0], hi, rest[1], lo, rest[2]]
    got, want = plain(t.both(code, inject=("get_k_fold_data", "k_fold"), features=features, labels=labels,
                             degrees=degrees, k=3, table=table, c=0.0))
    t.check(type(got[0]) is int and got[0] == want[0],
            "when several degrees share the smallest validation loss, best should be the first of them in "
            "`degrees`, whatever its size")


@judge("ex6-standardize-tests")
def standardize(t: Trial):
    import torch

    code = ("Xt0, Xv0 = X_train.clone(), X_valid.clone()\n"
            "result = (standardize(X_train, X_valid), torch.equal(X_train, Xt0) and torch.equal(X_valid, Xv0))")
    for n, m, d in [(t.size(20, 60), t.size(5, 15), t.size(3, 6)), (t.size(3, 6), t.size(2, 8), t.size(2, 3))]:
        scales = t.rand(d) * 20 + 0.5
        X_train = t.randn(n, d) * scales + t.randn(d) * 50
        X_valid = t.randn(m, d) * scales * 3 + t.randn(d) * 50 + 200
        const = t.size(0, d - 1)
        X_train[:, const] = float(t.size(-9, 9))
        out, untouched = plain(t.student(code, X_train=X_train, X_valid=X_valid))
        t.check(untouched, "standardize changed X_train or X_valid: compute new tensors instead")
        t.check(isinstance(out, (list, tuple)) and len(out) == 2 and all(isinstance(v, torch.Tensor) for v in out),
                "return the pair (X_train_std, X_valid_std)")
        St, Sv = out
        t.check(tuple(St.shape) == (n, d) and tuple(Sv.shape) == (m, d),
                f"the shapes should stay ({n}, {d}) and ({m}, {d}); got {tuple(St.shape)} and {tuple(Sv.shape)}")
        t.check(bool(torch.isfinite(St).all() and torch.isfinite(Sv).all()),
                "some values are not finite: a column that is constant in X_train (standard deviation 0) "
                "should only be centred, not divided by 0")
        mean = X_train.double().mean(dim=0)
        wants = []
        for correction in (1, 0):
            std = X_train.double().std(dim=0, correction=correction)
            std = torch.where(std > 0, std, torch.ones_like(std))
            wants.append(((X_train - mean) / std, (X_valid - mean) / std))
        other = [c for c in range(d) if c != const]

        def matches(a, b):
            return bool(torch.allclose(a.double(), b, rtol=1e-4, atol=1e-4))

        t.check(any(matches(St[:, other], w[0][:, other]) for w in wants),
                "each column of X_train should become (x - mean) / std with that column's mean and standard "
                "deviation over the rows of X_train")
        t.check(any(matches(St[:, other], w[0][:, other]) and matches(Sv[:, other], w[1][:, other]) for w in wants),
                "X_valid should be shifted and scaled with the training part's column means and standard "
                "deviations, not with statistics of its own or of both parts")
        t.check(matches(St[:, const], wants[0][0][:, const]) and matches(Sv[:, const], wants[0][1][:, const]),
                "a column that is constant in X_train should only be centred: zeros in the training part, "
                "and the validation values minus that constant")


@judge("ex7-fit-standardized-tests", inject=("standardize",))
def fit_standardized(t: Trial):
    import torch

    n, m, d = t.size(20, 50), t.size(5, 15), t.size(2, 4)
    scales = t.rand(d) * 100 + 1
    X_train = t.randn(n, d) * scales + t.randn(d) * 100
    X_valid = t.randn(m, d) * scales + t.randn(d) * 100
    w_true = t.randn(d, 1) / scales.reshape(-1, 1)
    y_train = (X_train @ w_true + 0.5 * t.randn(n, 1)).abs() + 1
    y_valid = (X_valid @ w_true + 0.5 * t.randn(m, 1)).abs() + 1
    code = ("before = [v.clone() for v in (X_train, y_train, X_valid, y_valid)]\n"
            "out = fit_standardized(X_train, y_train, X_valid, y_valid{})\n"
            "result = (out, all(torch.equal(a, b) for a, b in zip((X_train, y_train, X_valid, y_valid), before)))")
    steps, lr = t.size(3, 30), 0.02 + 0.15 * float(t.rand(1))
    cases = [(", num_steps=steps, lr=lr", "with num_steps and lr as passed, the RMSEs differ from the reference: "
              "standardise both parts with standardize(X_train, X_valid), take num_steps steps of "
              "w -= lr / n * X^T r, b -= lr / n * sum(r) from w = 0, b = 0, and report "
              "sqrt(mean((prediction - y)^2)) on each part"),
             (", log_target=True, num_steps=steps, lr=lr", "with log_target=True, fit t = log(y) and report the "
              "RMSE of the predictions exp(X w + b) against y, in the units of y"),
             ("", "with the default num_steps=500 and lr=0.1 the RMSEs differ from the reference fit"),
             (", log_target=True", "with log_target=True and the default num_steps and lr the RMSEs differ from "
              "the reference fit of log(y)")]
    for args, message in cases:
        got, want = plain(t.both(code.format(args), inject=("standardize",), X_train=X_train, y_train=y_train,
                                 X_valid=X_valid, y_valid=y_valid, steps=steps, lr=lr))
        out, untouched = got
        t.check(untouched, "fit_standardized changed the caller's tensors (features or labels): compute new "
                           "ones instead of changing them in place")
        t.check(isinstance(out, (list, tuple)) and len(out) == 2
                and all(isinstance(v, (int, float, torch.Tensor)) for v in out),
                "return the pair (train_rmse, valid_rmse) of floats")
        if not _close(out, want[0], 1e-5, 1e-3, False, True):
            pairs = [(float(g), w) for g, w in zip(out, want[0])
                     if w and (not isinstance(g, torch.Tensor) or g.numel() == 1)]
            t.check(not pairs or not all(abs(g * 2 ** 0.5 - w) <= 1e-3 * w for g, w in pairs),
                    "the RMSEs are 1/sqrt(2) of what they should be: report sqrt(mean((prediction - y)^2)), "
                    "without the 1/2 of the loss")
            t.check(not pairs or not all(abs(g - w * w) <= 1e-3 * w * w for g, w in pairs),
                    "these are mean squared errors: report their square roots, in the units of y")
        t.close(out, want[0], message, atol=1e-5, rtol=1e-3)
