"""Training and evaluation loops shared by the chapters (d2l's chapter 3-4 names)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from .device import try_gpu
from .plot import Animator, _shell, show_images
from .utils import Accumulator

__all__ = [
    "History", "accuracy", "evaluate_accuracy", "evaluate_loss", "linreg", "predict",
    "progress", "sgd", "squared_loss", "train", "train_epoch",
]

Updater = torch.optim.Optimizer | Callable[[int], None]


# --------------------------------------------------------------------------- chapter 1 pieces

def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear model ``X @ w + b``: X (n, d), w (d, 1), b (1,) -> (n, 1)."""
    return X @ w + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example squared loss ``(y_hat - y)^2 / 2``, shaped like ``y_hat``."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One minibatch SGD step on summed-loss gradients, then zero the gradients."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


# --------------------------------------------------------------------------- progress

def progress(iterable, disable: bool = False, **kwargs):
    """A tqdm progress bar: a widget in a notebook, text on stderr in a terminal.

    ``DLCOURSE_PROGRESS=0`` in the environment turns it off.
    """
    disable = disable or os.environ.get("DLCOURSE_PROGRESS", "1") == "0"
    if _shell() is not None:
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it)
            from tqdm.notebook import tqdm
            return tqdm(iterable, disable=disable, **kwargs)
        except ImportError:
            from tqdm import tqdm
            return tqdm(iterable, disable=disable, file=sys.stdout, **kwargs)
    from tqdm import tqdm
    return tqdm(iterable, disable=disable, **kwargs)


# --------------------------------------------------------------------------- metrics

def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Number of correct predictions: y_hat (n, q) scores or (n,) labels, y (n,)."""
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return float((y_hat.type(y.dtype) == y).sum())


def _to_device(net, device: torch.device) -> None:
    if isinstance(net, nn.Module):
        net.to(device)


def evaluate_accuracy(net, data_iter, device: torch.device | None = None) -> float:
    """Fraction of correctly classified examples of ``data_iter`` (eval mode, no grad)."""
    device = device or try_gpu()
    _to_device(net, device)
    was_training = isinstance(net, nn.Module) and net.training
    if isinstance(net, nn.Module):
        net.eval()
    metric = Accumulator(2)  # correct predictions, examples
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    if was_training:
        net.train()
    return metric[0] / metric[1]


def evaluate_loss(net, data_iter, loss, device: torch.device | None = None) -> float:
    """Mean loss per example over ``data_iter`` (eval mode, no grad)."""
    device = device or try_gpu()
    _to_device(net, device)
    was_training = isinstance(net, nn.Module) and net.training
    if isinstance(net, nn.Module):
        net.eval()
    metric = Accumulator(2)  # summed loss, examples
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            l = loss(net(X), y)
            metric.add(float(l.sum()) if l.ndim else float(l) * len(y), len(y))
    if was_training:
        net.train()
    return metric[0] / metric[1]


# --------------------------------------------------------------------------- training

def train_epoch(net, train_iter, loss, updater: Updater, device: torch.device | None = None
                ) -> tuple[float, float]:
    """One pass over ``train_iter``; returns (mean training loss, training accuracy).

    ``updater`` is a ``torch.optim`` optimizer (the mean loss is minimised) or a
    hand-written ``updater(batch_size)`` that steps on the summed-loss gradients
    and zeroes them, like ``sgd``. ``loss`` may return per-example values
    (``reduction='none'``) or their mean.
    """
    device = device or try_gpu()
    _to_device(net, device)
    if isinstance(net, nn.Module):
        net.train()
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for X, y in train_iter:
        X, y = X.to(device), y.to(device)
        y_hat = net(X)
        l = loss(y_hat, y)
        n = y.numel()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            (l.sum() if l.ndim else l * n).backward()
            updater(n)
        with torch.no_grad():
            metric.add(float(l.sum()) if l.ndim else float(l) * n, accuracy(y_hat, y), n)
    return metric[0] / metric[2], metric[1] / metric[2]


@dataclass
class History:
    """Per-epoch metrics of a ``train`` run, and the Animator that showed them."""
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    animator: Animator | None = None

    def __repr__(self) -> str:
        if not self.train_loss:
            return "History(no epochs)"
        return (f"History({len(self.train_loss)} epochs: train loss {self.train_loss[-1]:.3f}, "
                f"train acc {self.train_acc[-1]:.3f}, test acc {self.test_acc[-1]:.3f})")


def train(net, train_iter, test_iter, loss, num_epochs: int, updater: Updater,
          device: torch.device | None = None, animate: bool = True) -> History:
    """Train a classifier for ``num_epochs`` (d2l's ``train_ch3``).

    Moves the model and each batch to ``device`` (default ``try_gpu()``), shows
    a progress bar over epochs and a live plot of train loss, train accuracy
    and test accuracy, and returns the per-epoch ``History``.
    """
    device = device or try_gpu()
    history = History()
    if animate:
        history.animator = Animator(xlabel="epoch", xlim=[1, num_epochs], ylim=[0.0, 1.0],
                                    legend=["train loss", "train acc", "test acc"])
    for epoch in progress(range(num_epochs), desc=f"training on {device.type}", unit="epoch"):
        train_loss, train_acc = train_epoch(net, train_iter, loss, updater, device)
        test_acc = evaluate_accuracy(net, test_iter, device)
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_acc.append(test_acc)
        if history.animator is not None:
            history.animator.add(epoch + 1, (train_loss, train_acc, test_acc))
    return history


def predict(net, test_iter, n: int = 6, device: torch.device | None = None) -> list[tuple[str, str]]:
    """Show the first ``n`` test images titled with true and predicted labels.

    Returns the ``(true, predicted)`` label pairs.
    """
    from .data import get_fashion_mnist_labels

    device = device or try_gpu()
    _to_device(net, device)
    X, y = next(iter(test_iter))
    X, y = X[:n].to(device), y[:n]
    if isinstance(net, nn.Module):
        net.eval()
    with torch.no_grad():
        preds = net(X).argmax(dim=1).cpu()
    trues = get_fashion_mnist_labels(y)
    guesses = get_fashion_mnist_labels(preds)
    titles = [f"{t}\n{p}" if t == p else f"{t}\n✗ {p}" for t, p in zip(trues, guesses)]
    show_images(X.reshape(n, 28, 28).cpu(), 1, n, titles=titles)
    return list(zip(trues, guesses))
