"""Visible tests of chapter 2, softmax regression."""
import torch
import torch.nn.functional as F

from . import exercise


def _as_double(t, what):
    """A float answer as float64, so that float32 and float64 results compare alike."""
    assert t.is_floating_point(), f"{what} should be a floating-point tensor, got {t.dtype}"
    return t.double()


@exercise("2.1 one-hot labels",
          hint="Start from a float matrix of zeros, one row per label and one column per class, and set a "
               "single 1 in each row, in the column its label names (index the rows and the columns "
               "together).")
def check_one_hot(one_hot):
    y = torch.tensor([2, 0, 1, 2])
    Y = one_hot(y, 3)
    expected = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert tuple(Y.shape) == (4, 3), f"one_hot(y, 3) for 4 labels should have shape (4, 3), got {tuple(Y.shape)}"
    assert Y.dtype == torch.float32, f"the one-hot matrix should be float32, got {Y.dtype}"
    assert torch.equal(Y, expected), f"one_hot({y.tolist()}, 3) should be {expected.tolist()}, got {Y.tolist()}"


@exercise("2.2 stable softmax",
          hint="exp overflows for large logits. Softmax does not change when a whole row is shifted, so "
               "subtract each row's maximum before exponentiating, then divide each row by its own sum.")
def check_softmax(softmax):
    O = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    P = softmax(O)
    expected = torch.tensor([[0.0900, 0.2447, 0.6652], [1 / 3, 1 / 3, 1 / 3]], dtype=torch.float64)
    assert tuple(P.shape) == (2, 3), f"softmax keeps the shape (2, 3), got {tuple(P.shape)}"
    P = _as_double(P, "softmax(O)")     # float32 and float64 answers are both fine
    assert torch.allclose(P, expected, atol=1e-4), \
        f"softmax({O.tolist()}) should be about {expected.tolist()}, got {P.tolist()}"
    big = torch.tensor([[998.0, 999.0, 1000.0]])
    P = _as_double(softmax(big), "softmax(O)")
    assert torch.isfinite(P).all(), \
        f"softmax([[998, 999, 1000]]) gave {P.tolist()}: exp(1000) overflows; subtract the row maximum first"
    assert torch.allclose(P, expected[:1], atol=1e-4), \
        f"softmax([[998, 999, 1000]]) should equal softmax([[1, 2, 3]]) = {expected[0].tolist()}, got {P.tolist()}"


@exercise("2.3 cross-entropy",
          hint="For each example, look up the probability the model gives its true class and take minus its "
               "logarithm: one loss per example, no mean.")
def check_cross_entropy(cross_entropy):
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]])
    y = torch.tensor([2, 1])
    loss = cross_entropy(y_hat, y)
    expected = -torch.log(torch.tensor([0.6, 0.25], dtype=torch.float64))
    assert loss.numel() == 2, f"one loss per example (2 here), got {loss.numel()} value(s)"
    loss = _as_double(loss, "the loss")
    assert torch.allclose(loss.reshape(-1), expected, atol=1e-5), \
        f"cross_entropy should give {expected.tolist()} (= -log 0.6, -log 0.25), got {loss.reshape(-1).tolist()}"


@exercise("2.4 cross-entropy from logits (log-sum-exp)",
          hint="Never exponentiate the raw logits: the loss of a row is its log-sum-exp minus the logit of "
               "the true class, and the log-sum-exp stays finite when you take the row maximum out of the "
               "exponentials first.")
def check_stable_cross_entropy(stable_cross_entropy):
    O = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 1])
    loss = stable_cross_entropy(O, y)
    expected = F.cross_entropy(O.double(), y, reduction="none")
    assert loss.numel() == 2, f"one loss per example (2 here), got {loss.numel()} value(s)"
    loss = _as_double(loss, "the loss")
    assert torch.allclose(loss.reshape(-1), expected, atol=1e-5), \
        f"stable_cross_entropy should give {expected.tolist()}, got {loss.reshape(-1).tolist()}"
    big = torch.tensor([[1000.0, 0.0, -1000.0]])
    loss = _as_double(stable_cross_entropy(big, torch.tensor([1])), "the loss")
    assert torch.isfinite(loss).all() and abs(float(loss.reshape(-1)[0]) - 1000.0) < 1e-2, \
        f"for logits [1000, 0, -1000] and label 1 the loss is 1000; got {loss.reshape(-1).tolist()} " \
        "(exp(1000) overflows and softmax(...)[1] underflows to 0: use the log-sum-exp trick)"


@exercise("2.5 gradient of softmax cross-entropy",
          hint="The gradient of the mean loss with respect to O is (softmax − one-hot) / n: the predicted "
               "probabilities minus the one-hot labels, divided by the number of examples.")
def check_softmax_ce_grad(softmax_ce_grad):
    torch.manual_seed(0)
    O = torch.randn(4, 3)
    y = torch.tensor([0, 2, 1, 2])
    Ov = O.clone().requires_grad_(True)
    F.cross_entropy(Ov, y).backward()
    G = softmax_ce_grad(O, y)
    assert tuple(G.shape) == (4, 3), f"the gradient has the shape of O, (4, 3); got {tuple(G.shape)}"
    assert torch.allclose(_as_double(G, "the gradient"), Ov.grad.double(), atol=1e-5), \
        f"autograd gives {Ov.grad.tolist()}, your function {G.tolist()}"


@exercise("2.6 training on the blobs",
          hint="Start from zero weights and bias. Each epoch is one full-batch gradient step: the logits' "
               "gradient from exercise 2.5, carried to W through the features (a product with the transposed "
               "features) and to b by summing over the examples.")
def check_train_softmax_regression(train_softmax_regression):
    torch.manual_seed(1)
    centers = torch.tensor([[-3.0, 0.0], [3.0, 0.0]])
    X = torch.cat([torch.randn(50, 2) + c for c in centers])
    y = torch.arange(2).repeat_interleave(50)
    W, b = train_softmax_regression(X, y, 2, lr=0.5, num_epochs=20, X_test=X, y_test=y)
    assert tuple(W.shape) == (2, 2) and tuple(b.shape) == (2,), \
        f"W should have shape (2, 2) and b (2,), got {tuple(W.shape)} and {tuple(b.shape)}"
    acc = float(((X @ W.detach() + b.detach()).argmax(dim=1) == y).float().mean())
    assert acc > 0.95, f"two well separated blobs should be classified with accuracy > 0.95, got {acc:.2f}"
    W1, _ = train_softmax_regression(X, y, 2, lr=0.5, num_epochs=1, X_test=X, y_test=y)
    G = (torch.softmax(torch.zeros(100, 2), dim=1) - F.one_hot(y, 2)) / 100
    assert torch.allclose(W1.detach(), -0.5 * X.T @ G, atol=1e-5), \
        "after one epoch from W = 0 the weights should be -lr * X.T @ G with G the gradient of the mean loss"
