"""Visible tests of chapter 5, model selection, underfitting and overfitting."""
import math

import torch

from . import exercise


@exercise("5.1 polynomial features",
          hint="Column i holds x to the power i divided by i factorial, for i from 0 to max_degree − 1, so "
               "column 0 is all ones; accept x as (n,) or (n, 1).")
def check_poly_features(poly_features):
    x = torch.tensor([[0.0], [1.0], [2.0]])
    got = poly_features(x, 4)
    assert tuple(got.shape) == (3, 4), f"3 examples, max_degree=4 should give shape (3, 4), got {tuple(got.shape)}"
    expected = torch.tensor([[1.0, 0.0, 0.0, 0.0],
                             [1.0, 1.0, 1 / 2, 1 / 6],
                             [1.0, 2.0, 4 / 2, 8 / 6]])
    assert torch.allclose(got.float(), expected, atol=1e-6), \
        f"for x = [0, 1, 2] the rows should be {expected.tolist()}, got {got.tolist()}"
    big = poly_features(torch.tensor([3.0]), 20)
    assert tuple(big.shape) == (1, 20), f"a (n,) input should work too: expected shape (1, 20), got {tuple(big.shape)}"
    want = 3.0 ** 19 / math.factorial(19)
    assert math.isclose(float(big[0, 19]), want, rel_tol=1e-4), \
        f"column 19 for x = 3 should be 3**19 / 19! = {want:.3e}, got {float(big[0, 19]):.3e}"


@exercise("5.2 polynomial regression by minibatch SGD",
          hint="Per minibatch, one gradient step on the mean squared loss: the gradient is the transposed "
               "features times the residuals, divided by that batch's own length (the last batch may be "
               "shorter). Every 20th epoch, report the training and test losses to the animator.")
def check_train_poly(train_poly):
    X = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [-2.0, 1.0]])
    y = torch.tensor([[1.0], [0.0], [2.0], [-1.0]])
    w, train_l, test_l = train_poly(X, X, y, y, num_epochs=1, lr=0.1, batch_size=4)
    expected = 0.1 * X.T @ y / 4      # one full-batch step from w = 0
    assert tuple(w.shape) == (2, 1), f"w should have shape (2, 1), got {tuple(w.shape)}"
    assert torch.allclose(w.detach().cpu(), expected, atol=1e-5), \
        (f"one epoch with the whole batch from w = 0 should give lr * X^T y / n = "
         f"{expected.reshape(-1).tolist()}, got {w.reshape(-1).tolist()}")
    ref = float(((X @ expected - y) ** 2 / 2).mean())
    assert math.isclose(train_l, ref, rel_tol=1e-4), \
        f"the training loss is mean((X w - y)^2 / 2) = {ref:.5f}, got {train_l}"
    # 5 copies of one example in batches of 2, 2 and 1: in any order, three equal steps
    row = torch.tensor([[2.0, 1.0]])
    w, _, _ = train_poly(row.repeat(5, 1), row, torch.ones(5, 1), torch.ones(1, 1),
                         num_epochs=1, lr=0.1, batch_size=2)
    steps = torch.zeros(2, 1)
    for _ in range(3):
        steps -= 0.1 * row.T @ (row @ steps - 1.0)
    assert torch.allclose(w.detach().cpu(), steps, atol=1e-5), \
        (f"5 examples in batches of 2 end with a batch of 1; dividing each gradient by its own batch's "
         f"length gives w = {steps.reshape(-1).tolist()}, got {w.detach().reshape(-1).tolist()}. "
         "Use len(X), not batch_size")
    torch.manual_seed(0)
    X = torch.randn(60, 3)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.01 * torch.randn(60, 1)
    w, train_l, test_l = train_poly(X[:40], X[40:], y[:40], y[40:], num_epochs=60, lr=0.05, batch_size=10)
    err = float((w.detach().cpu().reshape(-1) - torch.tensor([1.0, -2.0, 0.5])).abs().max())
    assert err < 0.05, f"training should recover w = [1, -2, 0.5] within 0.05; the largest error is {err:.3f}"
    assert test_l < 0.01, f"the test loss should be near the noise floor, got {test_l:.4f}"


@exercise("5.3 K-fold split",
          hint="Cut the rows into k folds of n // k rows each, in order (the leftover rows are not used). "
               "Fold i is the validation data; the other folds, joined in order, are the training data.")
def check_get_k_fold_data(get_k_fold_data):
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10.0).reshape(10, 1)
    got = get_k_fold_data(5, 1, X, y)
    assert len(got) == 4, "return four tensors: X_train, y_train, X_valid, y_valid"
    X_train, y_train, X_valid, y_valid = got
    assert y_valid.reshape(-1).tolist() == [2.0, 3.0], \
        f"with k = 5 and i = 1 the validation labels are rows 2 and 3: [2, 3], got {y_valid.reshape(-1).tolist()}"
    assert y_train.reshape(-1).tolist() == [0.0, 1.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], \
        f"the training labels are all other rows, in order; got {y_train.reshape(-1).tolist()}"
    assert torch.equal(X_train, X[[0, 1, 4, 5, 6, 7, 8, 9]]) and torch.equal(X_valid, X[[2, 3]]), \
        "X_train / X_valid must hold the rows that go with y_train / y_valid"
    X_train, y_train, X_valid, y_valid = get_k_fold_data(3, 2, X, y)
    assert y_valid.reshape(-1).tolist() == [6.0, 7.0, 8.0] and len(y_train) == 6, \
        (f"10 examples in 3 folds: fold_size = 3, fold 2 is rows 6, 7, 8 and row 9 is not used; "
         f"got validation labels {y_valid.reshape(-1).tolist()} and {len(y_train)} training examples")


@exercise("5.4 K-fold cross-validation",
          hint="Use each fold once as the validation data and the rest for training (your get_k_fold_data), "
               "fit on each split, and return the mean training loss and the mean validation loss over the k "
               "folds.")
def check_k_fold(k_fold):
    X = torch.arange(12.0).reshape(6, 2)
    y = torch.arange(6.0).reshape(6, 1)
    calls = []

    def fit(X_train, y_train, X_valid, y_valid):
        calls.append(y_valid.reshape(-1).tolist())
        return float(y_train.sum()), float(y_valid.sum())

    got = k_fold(3, X, y, fit)
    assert calls == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], \
        f"fit should be called once per fold with folds 0, 1, 2 as validation data; it saw {calls}"
    assert len(got) == 2, "return (mean training loss, mean validation loss)"
    train_l, valid_l = got
    assert math.isclose(valid_l, 5.0) and math.isclose(train_l, 10.0), \
        (f"with these fake losses the means over the 3 folds are (10.0, 5.0); got ({train_l}, {valid_l}). "
         "Average, do not sum.")


@exercise("5.5 choosing the degree",
          hint="A polynomial of degree d uses the first d + 1 feature columns (powers 0 to d). Cross- "
               "validate each degree on its columns, keep its mean validation loss, and return the degree "
               "with the lowest one together with all the losses.")
def check_select_degree(select_degree):
    torch.manual_seed(0)
    features = torch.randn(30, 6)
    labels = torch.randn(30, 1)
    widths = {}

    def fit(X_train, y_train, X_valid, y_valid):
        d = X_train.shape[1]
        widths.setdefault(d, 0)
        widths[d] += 1
        return 0.0, float(abs(d - 3) + 1)      # fake validation loss: best with 3 columns

    best, losses = select_degree(features, labels, [0, 1, 2, 3, 4], 5, fit)
    assert sorted(widths) == [1, 2, 3, 4, 5], \
        f"degrees 0 .. 4 use 1 .. 5 feature columns; fit saw widths {sorted(widths)}"
    assert all(v == 5 for v in widths.values()), f"each degree needs k = 5 fits, got {widths}"
    assert sorted(losses) == [0, 1, 2, 3, 4], f"losses should map each degree to its loss, got {losses}"
    assert math.isclose(losses[2], 1.0) and math.isclose(losses[0], 3.0), \
        f"losses[d] is the mean validation loss of degree d; got {losses}"
    assert best == 2, f"degree 2 (3 columns) has the smallest validation loss here, got {best}"


@exercise("5.6 standardising with the training part",
          hint="Both sets are shifted and scaled with the training fold's own column means and standard "
               "deviations (the validation fold must not leak into them); a constant column would "
               "divide by 0, so leave it unscaled.")
def check_standardize(standardize):
    X_train = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])    # column 1 is constant
    X_valid = torch.tensor([[7.0, 12.0]])
    before = X_train.clone(), X_valid.clone()
    out = standardize(X_train, X_valid)
    assert isinstance(out, tuple) and len(out) == 2, "return the pair (X_train_std, X_valid_std)"
    train, valid = out
    assert torch.equal(X_train, before[0]) and torch.equal(X_valid, before[1]), \
        "standardize changed its inputs: compute new tensors instead of subtracting in place"
    assert tuple(train.shape) == (3, 2) and tuple(valid.shape) == (1, 2), \
        f"the shapes should stay (3, 2) and (1, 2), got {tuple(train.shape)} and {tuple(valid.shape)}"
    assert torch.isfinite(train).all() and torch.isfinite(valid).all(), \
        f"column 1 is constant in X_train (std 0): only centre it, do not divide by 0; got {train.tolist()}"
    # column 0 of X_train has mean 3 and std 2 (torch's default) or 1.633 (population std)
    choices = {"the std over the rows of X_train": 2.0, "the population std over the rows of X_train": (8 / 3) ** 0.5}
    ok = [name for name, s in choices.items()
          if torch.allclose(train[:, 0], torch.tensor([-2.0, 0.0, 2.0]) / s, atol=1e-4)
          and abs(float(valid[0, 0]) - 4.0 / s) < 1e-4]
    assert ok, (f"column 0 of X_train is [1, 3, 5]: mean 3, std 2. Its standardised values are "
                f"[-1, 0, 1] and the validation value 7 becomes (7 - 3) / 2 = 2, using the training "
                f"statistics for both parts; got {train[:, 0].tolist()} and {float(valid[0, 0]):.4f}")
    assert torch.allclose(train[:, 1], torch.zeros(3)) and abs(float(valid[0, 1]) - 2.0) < 1e-5, \
        (f"a constant column is only centred: [10, 10, 10] becomes [0, 0, 0] and the validation "
         f"value 12 becomes 2; got {train[:, 1].tolist()} and {float(valid[0, 1]):.4f}")


@exercise("5.7 linear regression on standardised features",
          hint="Standardise with your function first; with a log target, fit the logarithm of y and undo "
               "it before you measure. Full-batch gradient descent on the mean squared error from zero "
               "weights, and the error in the units of y (the root of the mean squared difference).")
def check_fit_standardized(fit_standardized):
    # the least-squares line through (0, 1), (1, 1), (2, 3), (3, 3) is 0.8 + 0.8 x:
    # residuals 0.2, -0.6, 0.6, -0.2, so the training RMSE is sqrt(0.2) = 0.4472; at x = 4 it is exact
    X = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    y = torch.tensor([[1.0], [1.0], [3.0], [3.0]])
    out = fit_standardized(X, y, torch.tensor([[4.0]]), torch.tensor([[4.0]]))
    assert isinstance(out, tuple) and len(out) == 2, "return the pair (train_rmse, valid_rmse)"
    train_rmse, valid_rmse = map(float, out)
    assert abs(train_rmse - 0.2 ** 0.5) < 1e-3 and valid_rmse < 1e-3, \
        (f"500 steps at lr 0.1 reach the least-squares line 0.8 + 0.8 x: training RMSE "
         f"sqrt(0.2) = 0.4472, validation RMSE 0 at x = 4; got {train_rmse:.4f} and {valid_rmse:.4f}. "
         "Report the root of the mean squared error, without the 1/2")
    X = torch.tensor([[100.0, 1.0], [250.0, 2.0], [400.0, 2.0], [900.0, 1.0]])
    y = 2 + 0.01 * X[:, :1] + X[:, 1:]
    train_rmse, _ = fit_standardized(X, y, X[:1], y[:1])
    assert math.isfinite(train_rmse) and train_rmse < 1e-2, \
        (f"on features of size 100-900 the fit should still converge (y is linear in x, so the RMSE "
         f"is 0), got {train_rmse}: are the features standardised before the gradient steps?")
    X = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    y = torch.exp(X)
    train_rmse, valid_rmse = fit_standardized(X, y, torch.tensor([[4.0]]), torch.exp(torch.tensor([[4.0]])),
                                              log_target=True)
    assert train_rmse < 0.05 and valid_rmse < 0.5, \
        (f"with log_target=True, y = exp(x) is fitted exactly (log y = x), so both RMSEs should be near 0 "
         f"in the units of y; got {train_rmse:.4f} and {valid_rmse:.4f}. Fit log(y), predict exp(X w + b)")
