"""Visible tests of chapter 3, Fashion-MNIST and softmax regression on it."""
import torch
from torch import nn

from . import exercise


def _toy_problem(seed: int = 0, n: int = 200):
    """Two well separated Gaussian blobs in 2-D: X (n, 2) float32, y (n,) int64."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(2).repeat_interleave(n // 2)[torch.randperm(n, generator=g)]
    X = torch.randn(n, 2, generator=g) + torch.tensor([[-3.0, 0.0], [3.0, 0.0]])[y]
    return X, y


@exercise("3.1 softmax regression model",
          hint="Flatten each image into one row of pixel values (as many as W has rows); the logits are an "
               "affine function of those rows. No softmax here: the loss applies it.")
def check_softmax_regression(softmax_regression):
    torch.manual_seed(0)
    X = torch.rand(5, 1, 28, 28)
    W, b = torch.randn(784, 10), torch.randn(10)
    O = softmax_regression(X, W, b)
    assert tuple(O.shape) == (5, 10), f"5 images and 10 classes give logits of shape (5, 10), got {tuple(O.shape)}"
    expected = X.reshape(5, 784) @ W + b
    assert torch.allclose(O, expected, atol=1e-4), \
        ("the logits should be each image flattened into a row of W.shape[0] pixel values, times W, plus b "
         "(no softmax: the loss applies it)")


@exercise("3.2 accuracy",
          hint="Turn scores into predicted classes (the index of each row's largest score) unless y_hat "
               "already holds classes, compare them with the labels in a common dtype, and return how many "
               "match, as a Python float.")
def check_accuracy(accuracy):
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])
    y = torch.tensor([2, 1, 1, 0])
    got = accuracy(y_hat, y)
    assert isinstance(got, float), f"accuracy should return a Python float, got {type(got).__name__}"
    assert got == 3.0, (f"3 of the 4 rows have their largest score on the true class, so accuracy "
                        f"should return 3.0 (a count, not a fraction); got {got}")
    labels = torch.tensor([2, 0, 1, 1])
    got = accuracy(labels, y)
    assert got == 2.0, f"y_hat may already hold class indices (n,); 2 of 4 match here, got {got}"


@exercise("3.3 evaluate_accuracy",
          hint="Put a module in evaluation mode and switch gradient tracking off; then add up the correct "
               "predictions and the examples over all batches and divide once at the end, so that each "
               "example weighs the same whatever its batch's size.")
def check_evaluate_accuracy(evaluate_accuracy):
    X = torch.eye(3).repeat(3, 1)[:7]          # rows e0, e1, e2, e0, e1, e2, e0
    y = torch.tensor([0, 1, 2, 0, 1, 2, 1])    # the last example is misclassified by the identity
    batches = [(X[:4], y[:4]), (X[4:6], y[4:6]), (X[6:], y[6:])]
    got = evaluate_accuracy(lambda X: X, batches)
    assert abs(got - 6 / 7) < 1e-6, (f"6 of the 7 examples are right, so the accuracy is {6 / 7:.4f}; got {got}. "
                                     "Average over examples, not over batches (the batches differ in size).")


@exercise("3.4 train_epoch",
          hint="Per batch: predict, one loss per example. A torch optimizer steps on the mean loss (clear "
               "its gradients first); a hand-written updater gets the summed loss's gradients and the batch "
               "size. Accumulate the summed loss, the correct predictions and the number of examples.")
def check_train_epoch(train_epoch):
    X, y = _toy_problem(0)
    batches = [(X[i:i + 50], y[i:i + 50]) for i in range(0, len(X), 50)]
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    nn.init.zeros_(net.weight)
    nn.init.zeros_(net.bias)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    reference = nn.Linear(2, 2)
    nn.init.zeros_(reference.weight)
    nn.init.zeros_(reference.bias)
    for Xb, yb in batches:
        grads = torch.autograd.grad(loss(reference(Xb), yb).mean(), list(reference.parameters()))
        with torch.no_grad():
            for p, g in zip(reference.parameters(), grads):
                p -= 0.1 * g
    l0, acc0 = train_epoch(net, batches, loss, trainer)
    assert torch.allclose(net.weight.detach(), reference.weight.detach(), atol=1e-5), \
        ("after one epoch with an optimizer the weights differ from one zero_grad(), mean-loss "
         "backward() and step() per batch; did you forget updater.zero_grad()?")
    assert 0.0 < l0 < 0.7, \
        f"the mean loss of the first epoch should lie between 0 and log 2 = 0.69, got {l0}"
    assert 0.0 <= acc0 <= 1.0, f"the accuracy is a fraction in [0, 1], got {acc0}"
    for _ in range(3):
        l1, acc1 = train_epoch(net, batches, loss, trainer)
    assert l1 < l0, f"the training loss should fall from epoch to epoch: {l0:.4f} then {l1:.4f}"
    assert acc1 > 0.95, f"two separated blobs should be learnt within a few epochs; training accuracy {acc1:.3f}"

    W = torch.zeros(2, 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    sizes = []

    def updater(batch_size):
        sizes.append(batch_size)
        with torch.no_grad():
            for p in (W, b):
                p -= 0.1 * p.grad / batch_size
                p.grad = None

    train_epoch(lambda X: X @ W + b, batches, loss, updater)
    assert sizes == [50, 50, 50, 50], \
        f"a hand-written updater is called once per batch with the batch size; it got {sizes}"
    assert float(W.detach().abs().sum()) > 0, "the hand-written updater did not change the weights"


@exercise("3.5 training loop and the trained model",
          hint="Each epoch trains once over the data with your train_epoch and then measures the test "
               "accuracy; record the three numbers in the History (and on the animator) before the next "
               "epoch.")
def check_train(train, history_scratch):
    from ..data import TensorLoader
    from ..train import History

    X, y = _toy_problem(1)
    torch.manual_seed(0)
    it = TensorLoader(X, y, 25, shuffle=True, device="cpu")
    net = nn.Linear(2, 2)
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    h = train(net, it, it, nn.CrossEntropyLoss(reduction="none"), 3, trainer, animate=False)
    assert isinstance(h, History), f"train should return a dlcourse.History, got {type(h).__name__}"
    assert len(h.train_loss) == len(h.train_acc) == len(h.test_acc) == 3, \
        "after 3 epochs the History should hold 3 values in each of train_loss, train_acc, test_acc"
    assert h.test_acc[-1] > 0.95, f"two separated blobs should be learnt; test accuracy {h.test_acc[-1]:.3f}"
    assert len(history_scratch.test_acc) == 10, \
        f"the scratch model should be trained for 10 epochs; the History has {len(history_scratch.test_acc)}"
    assert history_scratch.test_acc[-1] >= 0.82, \
        f"softmax regression should reach test accuracy 0.82 after 10 epochs; got {history_scratch.test_acc[-1]:.3f}"
