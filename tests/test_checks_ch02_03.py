"""The visible checks of chapters 2 and 3 pass correct answers and reject common wrong ones.

The hidden tests live in the solution notebooks; these tests only cover
``dlcourse/checks/ch02.py`` and ``ch03.py``, so they need no data set and run in seconds.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse.checks import ch02, ch03, selfcheck


# --------------------------------------------------------------------------- chapter 2

def one_hot(y, num_classes):
    return F.one_hot(y, num_classes).float()


def softmax(O):
    E = torch.exp(O - O.max(dim=1, keepdim=True).values)
    return E / E.sum(dim=1, keepdim=True)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[torch.arange(len(y)), y])


def stable_cross_entropy(O, y):
    m = O.max(dim=1, keepdim=True).values
    return m.squeeze(1) + torch.log(torch.exp(O - m).sum(dim=1)) - O[torch.arange(len(O)), y]


def softmax_ce_grad(O, y):
    return (softmax(O) - one_hot(y, O.shape[1])) / len(O)


def train_softmax_regression(X, y, num_classes, lr, num_epochs, X_test, y_test, animator=None):
    W, b = torch.zeros(X.shape[1], num_classes), torch.zeros(num_classes)
    for _ in range(num_epochs):
        G = softmax_ce_grad(X @ W + b, y)
        W, b = W - lr * X.T @ G, b - lr * G.sum(dim=0)
    return W, b


CH02 = dict(one_hot=one_hot, softmax=softmax, cross_entropy=cross_entropy,
            stable_cross_entropy=stable_cross_entropy, softmax_ce_grad=softmax_ce_grad,
            train_softmax_regression=train_softmax_regression)


def test_ch02_reference_answers_pass(capsys):
    results = selfcheck(dict(CH02), "ch02")
    assert set(results.values()) == {"passed"}, results
    assert "6 of 6" in capsys.readouterr().out


def naive_softmax(O):
    return torch.exp(O) / torch.exp(O).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("check, wrong, message", [
    (ch02.check_one_hot, lambda y, q: F.one_hot(y, q), "float32"),
    (ch02.check_softmax, naive_softmax, "overflows"),
    (ch02.check_cross_entropy, lambda p, y: -p[torch.arange(len(y)), y], "-log 0.6"),
    (ch02.check_cross_entropy, lambda p, y: torch.log(p[torch.arange(len(y)), y]), "-log 0.6"),
    (ch02.check_stable_cross_entropy, lambda O, y: cross_entropy(softmax(O), y), "log-sum-exp"),
    (ch02.check_softmax_ce_grad, lambda O, y: softmax(O) - one_hot(y, O.shape[1]), "autograd gives"),
])
def test_ch02_wrong_answers_fail_with_a_message(check, wrong, message):
    with pytest.raises(AssertionError, match=message):
        check(wrong)


def test_ch02_float64_answers_pass():
    """Computing in double precision is correct: the checks compare values, not dtypes."""
    ch02.check_softmax(lambda O: softmax(O.double()))
    ch02.check_cross_entropy(lambda p, y: cross_entropy(p.double(), y))
    ch02.check_stable_cross_entropy(lambda O, y: stable_cross_entropy(O.double(), y))
    ch02.check_softmax_ce_grad(lambda O, y: softmax_ce_grad(O.double(), y))


def test_ch02_softmax_returning_integers_fails_with_a_message():
    with pytest.raises(AssertionError, match="floating-point"):
        ch02.check_softmax(lambda O: softmax(O).round().long())


def test_ch02_training_check_rejects_a_summed_gradient():
    def summed(X, y, q, lr, num_epochs, X_test, y_test, animator=None):
        W, b = torch.zeros(X.shape[1], q), torch.zeros(q)
        for _ in range(num_epochs):
            G = softmax_ce_grad(X @ W + b, y) * len(y)
            W, b = W - lr * X.T @ G, b - lr * G.sum(dim=0)
        return W, b
    with pytest.raises(AssertionError, match="mean loss"):
        ch02.check_train_softmax_regression(summed)


# --------------------------------------------------------------------------- chapter 3

def softmax_regression(X, W, b):
    return X.reshape(-1, W.shape[0]) @ W + b


def evaluate_accuracy(net, data_iter):
    return dlcourse.evaluate_accuracy(net, data_iter, torch.device("cpu"))


def train_epoch(net, train_iter, loss, updater):
    return dlcourse.train_epoch(net, train_iter, loss, updater, torch.device("cpu"))


def train(net, train_iter, test_iter, loss, num_epochs, updater, animate=True):
    return dlcourse.train(net, train_iter, test_iter, loss, num_epochs, updater,
                          torch.device("cpu"), animate=animate)


def scratch_history(final_test_acc=0.834, epochs=10):
    return dlcourse.History(train_loss=[0.5] * epochs, train_acc=[0.85] * epochs,
                            test_acc=[0.8] * (epochs - 1) + [final_test_acc])


def test_ch03_reference_answers_pass(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_PROGRESS", "0")
    ns = dict(softmax_regression=softmax_regression, accuracy=dlcourse.accuracy,
              evaluate_accuracy=evaluate_accuracy, train_epoch=train_epoch, train=train,
              history_scratch=scratch_history())
    results = selfcheck(ns, "ch03")
    assert set(results.values()) == {"passed"}, results


def test_ch03_accuracy_comparing_probabilities_fails():
    def wrong(y_hat, y):
        return float((y_hat == y.reshape(-1, 1)).sum())
    with pytest.raises(AssertionError, match="3 of the 4 rows"):
        ch03.check_accuracy(wrong)


def test_ch03_batch_averaged_accuracy_fails():
    def wrong(net, data_iter):
        accs = [dlcourse.accuracy(net(X), y) / len(y) for X, y in data_iter]
        return sum(accs) / len(accs)
    with pytest.raises(AssertionError, match="not over batches"):
        ch03.check_evaluate_accuracy(wrong)


def test_ch03_train_epoch_without_zero_grad_fails():
    def wrong(net, train_iter, loss, updater):
        metric = dlcourse.Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            if isinstance(updater, torch.optim.Optimizer):
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(len(y))
            metric.add(float(l.detach().sum()), dlcourse.accuracy(y_hat, y), len(y))
        return metric[0] / metric[2], metric[1] / metric[2]
    with pytest.raises(AssertionError):
        ch03.check_train_epoch(wrong)


def test_ch03_train_check_needs_the_accuracy_floor(monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROGRESS", "0")
    with pytest.raises(AssertionError, match="0.82"):
        ch03.check_train(train, scratch_history(final_test_acc=0.81))
    with pytest.raises(AssertionError, match="10 epochs"):
        ch03.check_train(train, scratch_history(epochs=5))
