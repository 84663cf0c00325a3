"""Visible tests of chapter 1, linear regression."""
import torch

from . import exercise


@exercise("1.1 synthetic data",
          hint="Draw the features from a standard normal distribution, one row per example and one column "
               "per weight; the labels are the linear function of the features plus Gaussian noise of "
               "standard deviation 0.01, returned as a column (one row per example).")
def check_synthetic_data(synthetic_data):
    torch.manual_seed(0)
    w, b = torch.tensor([2.0, -3.4]), 4.2
    X, y = synthetic_data(w, b, 1000)
    assert tuple(X.shape) == (1000, 2), f"X should have shape (1000, 2), got {tuple(X.shape)}"
    assert tuple(y.shape) == (1000, 1), f"y should have shape (1000, 1), got {tuple(y.shape)}"
    assert abs(float(X.mean())) < 0.1 and abs(float(X.std()) - 1) < 0.1, \
        f"X should be drawn from N(0, 1); its mean is {float(X.mean()):.3f} and std {float(X.std()):.3f}"
    noise = y.reshape(-1) - (X @ w + b)
    assert float(noise.std()) < 0.05, \
        f"y should be X @ w + b plus small noise (std 0.01); the residual std is {float(noise.std()):.3f}"
    assert float(noise.std()) > 0.001, "y should include Gaussian noise with std 0.01, but it has none"


@exercise("1.2 minibatch iterator",
          hint="Shuffle the example indices once per pass, then walk through them batch_size at a "
               "time and hand out the examples at those indices, features with their labels; the "
               "final one may hold fewer.")
def check_data_iter(data_iter):
    features = torch.arange(25, dtype=torch.float32).reshape(25, 1)
    labels = torch.arange(25, dtype=torch.float32).reshape(25, 1) * 10
    batches = list(data_iter(10, features, labels))
    sizes = [len(X) for X, _ in batches]
    assert sizes == [10, 10, 5], f"batches of 10 over 25 examples should have sizes [10, 10, 5], got {sizes}"
    seen = torch.cat([X for X, _ in batches]).reshape(-1)
    assert sorted(seen.tolist()) == list(range(25)), "every example must appear exactly once per epoch"
    for X, y in batches:
        assert torch.equal(y, X * 10), "each label must stay with its own features"
    assert not torch.equal(seen, torch.arange(25.0)), "the examples should be shuffled, not read in order"


@exercise("1.3 linear model",
          hint="Each prediction is the dot product of an example's features with the weights, plus the bias: "
               "one matrix product for the whole batch, with the bias broadcast over the rows.")
def check_linreg(linreg):
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    w = torch.tensor([[0.5], [-1.0]])
    b = torch.tensor([2.0])
    out = linreg(X, w, b)
    expected = torch.tensor([[0.5], [-0.5]])
    assert tuple(out.shape) == (2, 1), f"linreg should return shape (2, 1), got {tuple(out.shape)}"
    assert torch.allclose(out, expected), f"linreg(X, w, b) should be {expected.tolist()}, got {out.tolist()}"


@exercise("1.4 squared loss",
          hint="Half the squared difference between prediction and label, for each example on its own (no "
               "average); the labels may come as a row, so give them the predictions' shape first.")
def check_squared_loss(squared_loss):
    y_hat = torch.tensor([[1.0], [2.0], [4.0]])
    y = torch.tensor([1.0, 0.0, 1.0])
    loss = squared_loss(y_hat, y)
    expected = torch.tensor([[0.0], [2.0], [4.5]])
    assert loss.numel() == 3, f"the loss is per example (3 values here), got {loss.numel()} value(s)"
    assert torch.allclose(loss.reshape(3, 1), expected), \
        f"squared_loss should give {expected.reshape(-1).tolist()}, got {loss.reshape(-1).tolist()}"


@exercise("1.5 SGD step",
          hint="Update the parameters in place with gradient tracking off: step against the gradient, scaled "
               "by the learning rate and divided by the batch size (the loss was summed over the batch). "
               "Then clear the gradients, or the next batch adds to them.")
def check_sgd(sgd):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * torch.tensor([3.0, 4.0])).sum().backward()
    sgd([w], lr=0.5, batch_size=2)
    expected = torch.tensor([1.0 - 0.5 * 3 / 2, 2.0 - 0.5 * 4 / 2])
    assert torch.allclose(w.detach(), expected), \
        f"after one step w should be {expected.tolist()}, got {w.detach().tolist()}"
    assert w.grad is not None and torch.count_nonzero(w.grad) == 0, \
        "sgd must zero the gradients after the step, or they accumulate into the next one"


@exercise("1.6 training recovers w and b",
          hint="Per epoch and minibatch: predict with your model, compute the per-example loss, "
               "backpropagate its sum, and let your SGD step update both the weights and the bias.")
def check_train_linreg(train_linreg):
    torch.manual_seed(42)
    true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
    X = torch.normal(0, 1, (1000, 2))
    y = (X @ true_w + true_b + torch.normal(0, 0.01, (1000,))).reshape(-1, 1)
    w, b = train_linreg(X, y, lr=0.03, num_epochs=3, batch_size=10)
    w, b = w.detach(), b.detach()
    err_w = float((w.reshape(-1) - true_w).abs().max())
    err_b = float((b.reshape(-1) - true_b).abs().max())
    assert err_w < 0.01 and err_b < 0.01, \
        f"after 3 epochs w and b should be within 0.01 of [2, -3.4] and 4.2; the errors are {err_w:.4f} and {err_b:.4f}"
