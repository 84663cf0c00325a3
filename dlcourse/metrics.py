"""Training with metrics beyond the loss, and checkpoints (chapter 4).

``train_with_metrics`` is a richer ``dlcourse.train``: after each epoch it
scores the training predictions (collected while training) and the test set
with a dictionary of metrics (accuracy and macro F1 by default), and returns
one row per epoch as a pandas ``DataFrame``. With ``checkpoint_path`` it saves
the model, the optimizer, the epoch, the table and torch's random state after
every epoch, so that a run can be resumed where it stopped.

Metric functions take label tensors ``(y_true, y_pred)``, both ``(n,)`` int64.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Mapping

import pandas as pd
import torch
from torch import nn

from .device import try_gpu
from .plot import Animator

__all__ = ["accuracy_score", "confusion_matrix", "f1_macro", "load_checkpoint",
           "save_checkpoint", "train_with_metrics"]

Metric = Callable[[torch.Tensor, torch.Tensor], float]


def _labels(y_pred: torch.Tensor) -> torch.Tensor:
    """Class labels from scores (n, q) or labels (n,)."""
    return y_pred.argmax(dim=1) if y_pred.ndim > 1 else y_pred


def accuracy_score(y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
    """Fraction of equal labels: y_true (n,), y_pred (n,) labels or (n, q) scores."""
    y_pred = _labels(y_pred)
    return float((y_pred.reshape(-1).to(y_true.dtype) == y_true.reshape(-1)).float().mean())


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor,
                     num_classes: int | None = None) -> torch.Tensor:
    """Counts ``C[i, j]`` of examples of class i predicted as class j: (q, q) int64."""
    y_true = y_true.reshape(-1).long().cpu()
    y_pred = _labels(y_pred).reshape(-1).long().cpu()
    if num_classes is None:
        num_classes = int(max(y_true.max(), y_pred.max())) + 1 if len(y_true) else 0
    flat = y_true * num_classes + y_pred
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def f1_macro(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int | None = None) -> float:
    """Macro-averaged F1: the mean over classes of ``2 TP / (2 TP + FP + FN)``.

    y_true (n,) labels; y_pred (n,) labels or (n, q) scores. The average runs
    over ``num_classes`` classes (default: the labels seen in either tensor);
    a class that appears in neither counts as F1 = 0, a class that is never
    predicted has precision 0 (so F1 = 0), never NaN.
    """
    C = confusion_matrix(y_true, y_pred, num_classes).double()
    tp = C.diag()
    denom = 2 * tp + (C.sum(dim=0) - tp) + (C.sum(dim=1) - tp)  # 2TP + FP + FN
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp))
    if num_classes is None:  # only the classes that occur
        f1 = f1[denom > 0]
    return float(f1.mean()) if f1.numel() else 0.0


DEFAULT_METRICS: dict[str, Metric] = {"acc": accuracy_score, "f1": f1_macro}


def save_checkpoint(path: str | os.PathLike, net: nn.Module, optimizer: torch.optim.Optimizer,
                    epoch: int, results: pd.DataFrame) -> None:
    """Save what a resumed run needs, as one dict in ``path``.

    Keys: ``epoch`` (epochs completed), ``model_state_dict``,
    ``optimizer_state_dict``, ``results`` (the table so far) and ``rng_state``
    (torch's global random state, which decides the next shuffles).
    """
    torch.save({"epoch": epoch,
                "model_state_dict": net.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "results": results,
                "rng_state": torch.get_rng_state()}, path)


def load_checkpoint(path: str | os.PathLike, map_location=None) -> dict:
    """The dict written by ``save_checkpoint`` (it holds a DataFrame, so not weights-only)."""
    return torch.load(path, map_location=map_location, weights_only=False)


def _predict_all(net: nn.Module, data_iter, loss, device) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Mean loss, true labels and predicted labels over ``data_iter`` (eval mode, no grad)."""
    net.eval()
    total, trues, preds = 0.0, [], []
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            total += float(loss(y_hat, y).sum())
            trues.append(y.cpu())
            preds.append(_labels(y_hat).cpu())
    y_true, y_pred = torch.cat(trues), torch.cat(preds)
    return total / len(y_true), y_true, y_pred


def train_with_metrics(net: nn.Module, train_iter, test_iter, loss, num_epochs: int,
                       optimizer: torch.optim.Optimizer,
                       metrics: Mapping[str, Metric] | None = None,
                       device: torch.device | None = None,
                       checkpoint_path: str | os.PathLike | None = None,
                       results: pd.DataFrame | None = None,
                       animate: bool = True) -> pd.DataFrame:
    """Train ``net`` for ``num_epochs`` more epochs; return one row of metrics per epoch.

    ``loss`` is a per-example loss (``reduction='none'``); the optimizer
    minimises its mean. Columns: ``epoch``, ``time`` (training seconds so far),
    ``train loss`` and ``train <metric>`` (from the predictions made while
    training), ``test loss`` and ``test <metric>``, for each entry of
    ``metrics`` (default ``{"acc": accuracy_score, "f1": f1_macro}``).

    ``results``: the table of earlier epochs (e.g. from a checkpoint); the new
    rows continue its epoch numbers and are appended to it. With
    ``checkpoint_path`` a checkpoint (``save_checkpoint``) is written after
    every epoch. A live plot shows train loss, train acc and test acc.
    """
    device = device or try_gpu()
    net.to(device)
    metrics = dict(DEFAULT_METRICS if metrics is None else metrics)
    rows = [] if results is None else results.to_dict("records")
    done = len(rows)
    elapsed = rows[-1]["time"] if rows else 0.0
    animator = None
    if animate:
        animator = Animator(xlabel="epoch", xlim=[1, max(done + num_epochs, 2)], ylim=[0.0, 1.0],
                            legend=["train loss", "train acc", "test acc"])
        for row in rows:
            animator.add(row["epoch"], (row["train loss"], row.get("train acc"), row.get("test acc")))
    for epoch in range(done + 1, done + num_epochs + 1):
        net.train()
        start = time.perf_counter()
        total, trues, preds = 0.0, [], []
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            optimizer.zero_grad()
            l.mean().backward()
            optimizer.step()
            total += float(l.detach().sum())
            trues.append(y.cpu())
            preds.append(_labels(y_hat.detach()).cpu())
        elapsed += time.perf_counter() - start
        y_true, y_pred = torch.cat(trues), torch.cat(preds)
        row = {"epoch": epoch, "time": elapsed, "train loss": total / len(y_true)}
        row.update({f"train {name}": fn(y_true, y_pred) for name, fn in metrics.items()})
        test_loss, y_true, y_pred = _predict_all(net, test_iter, loss, device)
        row["test loss"] = test_loss
        row.update({f"test {name}": fn(y_true, y_pred) for name, fn in metrics.items()})
        rows.append(row)
        table = pd.DataFrame(rows)
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, net, optimizer, epoch, table)
        if animator is not None:
            animator.add(epoch, (row["train loss"], row.get("train acc"), row.get("test acc")))
    return pd.DataFrame(rows)
