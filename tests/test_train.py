"""Training helpers: metrics, both kinds of updater, device handling, utilities."""
from __future__ import annotations

import time

import pytest
import torch
from torch import nn

import dlcourse
from dlcourse.data import TensorLoader


def blobs(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    X = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return X, y


def loaders(batch_size=32):
    X, y = blobs()
    return (TensorLoader(X[:300], y[:300], batch_size, shuffle=True, device="cpu"),
            TensorLoader(X[300:], y[300:], batch_size, device="cpu"))


def test_accuracy_counts_argmax_and_labels():
    y = torch.tensor([0, 2, 1])
    assert dlcourse.accuracy(torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]), y) == 2
    assert dlcourse.accuracy(torch.tensor([0, 2, 2]), y) == 2


def test_train_with_an_optimizer():
    torch.manual_seed(0)
    train_iter, test_iter = loaders()
    net = nn.Sequential(nn.Linear(2, 3))
    history = dlcourse.train(net, train_iter, test_iter, nn.CrossEntropyLoss(reduction="none"), 5,
                             torch.optim.SGD(net.parameters(), lr=0.1), device=torch.device("cpu"))
    assert len(history.train_loss) == 5
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_acc[-1] > 0.95
    assert history.animator.Y[2] == history.test_acc  # the plot shows exactly the metrics
    assert "5 epochs" in repr(history)


def test_train_epoch_with_a_hand_written_updater():
    torch.manual_seed(0)
    train_iter, test_iter = loaders()
    W = torch.normal(0, 0.01, (2, 3), requires_grad=True)
    b = torch.zeros(3, requires_grad=True)

    def net(X):
        return X @ W + b

    def updater(batch_size):
        dlcourse.sgd([W, b], 0.1, batch_size)

    loss = nn.CrossEntropyLoss(reduction="none")
    first, _ = dlcourse.train_epoch(net, train_iter, loss, updater, device=torch.device("cpu"))
    for _ in range(4):
        last, acc = dlcourse.train_epoch(net, train_iter, loss, updater, device=torch.device("cpu"))
    assert last < first and acc > 0.9
    assert dlcourse.evaluate_accuracy(net, test_iter, torch.device("cpu")) > 0.9


def test_mean_reduced_loss_is_accounted_per_example():
    torch.manual_seed(0)
    train_iter, _ = loaders(batch_size=300)
    net = nn.Linear(2, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # no change: both losses must agree
    mean_loss, _ = dlcourse.train_epoch(net, train_iter, nn.CrossEntropyLoss(), opt, torch.device("cpu"))
    none_loss, _ = dlcourse.train_epoch(net, train_iter, nn.CrossEntropyLoss(reduction="none"), opt,
                                        torch.device("cpu"))
    assert mean_loss == pytest.approx(none_loss, rel=1e-5)


def test_evaluate_restores_training_mode():
    _, test_iter = loaders()
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    net.train()
    dlcourse.evaluate_accuracy(net, test_iter, torch.device("cpu"))
    assert net.training
    loss = dlcourse.evaluate_loss(net, test_iter, nn.CrossEntropyLoss(reduction="none"), torch.device("cpu"))
    assert loss > 0 and net.training


def test_device_selection_matches_torch():
    dev = dlcourse.try_gpu()
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert dlcourse.try_gpu(99) == torch.device("cpu")
    assert dlcourse.try_all_gpus()
    assert dev.type in dlcourse.describe_device()


def test_linear_regression_pieces_match_d2l():
    from d2l import torch as d2l
    torch.manual_seed(0)
    X, w, b = torch.randn(8, 3), torch.randn(3, 1), torch.randn(1)
    assert torch.allclose(dlcourse.linreg(X, w, b), d2l.linreg(X, w, b))
    y_hat, y = torch.randn(8, 1), torch.randn(8)
    assert torch.allclose(dlcourse.squared_loss(y_hat, y), d2l.squared_loss(y_hat, y))
    p = torch.randn(3, requires_grad=True)
    (p * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    before = p.detach().clone()
    dlcourse.sgd([p], 0.5, 2)
    assert torch.allclose(p.detach(), before - 0.25 * torch.tensor([1.0, 2.0, 3.0]))
    assert float(p.grad.abs().sum()) == 0


def test_accumulator_and_timer():
    acc = dlcourse.Accumulator(2)
    acc.add(1, 2)
    acc.add(3.5, torch.tensor(1.0))
    assert acc[0] == 4.5 and acc[1] == 3.0 and len(acc) == 2
    with pytest.raises(ValueError):
        acc.add(1)
    acc.reset()
    assert acc.data == [0.0, 0.0]
    timer = dlcourse.Timer()
    time.sleep(0.01)
    timer.stop()
    timer.start()
    timer.stop()
    assert timer.sum() >= 0.01 and len(timer.cumsum()) == 2 and timer.avg() > 0
