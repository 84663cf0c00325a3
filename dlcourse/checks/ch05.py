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
