"""The visible checks of chapters 4-7, and the hidden tests behind them, pass the solution
notebooks' own answers and reject the plausible wrong answers an audit found.

Reference answers are the exercise cells of ``solutions/NN-*/NN-*.ipynb`` run in a fresh
namespace; hidden tests are the same notebooks' ``### BEGIN HIDDEN TESTS`` blocks. No data set
and no full training run is needed, so each test takes a few seconds at most.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse.checks import ch04, ch05, ch06, ch07
from dlcourse.data import TensorLoader

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n", re.M)


def cells(chapter: str) -> dict[str, nbformat.NotebookNode]:
    """The solution notebook's cells by grade_id (graded cells) and by cell id (all)."""
    folder = next((ROOT / "solutions").glob(f"{chapter}-*"))
    found = {}
    for cell in nbformat.read(folder / f"{folder.name}.ipynb", as_version=4).cells:
        found[cell.get("id")] = cell
        if "grade_id" in cell.metadata.get("nbgrader", {}):
            found[cell.metadata["nbgrader"]["grade_id"]] = cell
    return found


def answers(chapter: str, *names: str, edit=None) -> dict:
    """A namespace holding the solution's cells ``names`` (grade ids or cell ids), run in order;
    ``edit(source)`` may turn the last one's correct answer into a wrong one first."""
    ns = dict(math=math, torch=torch, nn=nn, F=F, dlcourse=dlcourse, TensorLoader=TensorLoader,
              device=torch.device("cpu"))
    found = cells(chapter)
    for i, name in enumerate(names):
        source = MARKERS.sub("", found[name].source)
        exec(edit(source) if edit and i == len(names) - 1 else source, ns)
    return ns


def hidden(chapter: str, grade_id: str, until: str | None = None) -> str:
    block = HIDDEN.search(cells(chapter)[grade_id].source).group(1)
    return block.split(until)[0] if until else block


def swap(old: str, new: str):
    def edit(source: str) -> str:
        assert source.count(old) == 1, f"{old!r} is not (once) in the solution any more"
        return source.replace(old, new)
    return edit


# --------------------------------------------------------------------------- chapter 4

def test_ch04_sgd_epoch_solution_passes():
    ns = answers("04", "ex4-sgd-epoch")
    ch04.check_sgd_epoch(ns["sgd_epoch"])
    exec(hidden("04", "ex4-sgd-epoch-tests"), ns)


def averaging_batch_means(net, params, train_iter, lr):
    """Wrong: the mean of the per-batch means, which weighs a small last batch too much."""
    losses, accuracies = [], []
    for X, y in train_iter:
        y_hat = net(X)
        l = F.cross_entropy(y_hat, y)
        l.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
        losses.append(float(l.detach()))
        accuracies.append(float((y_hat.argmax(dim=1) == y).float().mean()))
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


def test_ch04_sgd_epoch_averaging_batch_means_fails():
    with pytest.raises(AssertionError, match="weigh each batch's mean loss by its size"):
        ch04.check_sgd_epoch(averaging_batch_means)
    ns = answers("04", "ex4-sgd-epoch")
    ns["sgd_epoch"] = averaging_batch_means
    with pytest.raises(AssertionError):
        exec(hidden("04", "ex4-sgd-epoch-tests"), ns)


# --------------------------------------------------------------------------- chapter 5

def test_ch05_train_poly_solution_passes():
    ns = answers("05", "cell-010", "ex2-train-poly")
    ch05.check_train_poly(ns["train_poly"])
    exec(hidden("05", "ex2-train-poly-tests"), ns)


def test_ch05_train_poly_dividing_by_batch_size_fails():
    ns = answers("05", "cell-010", "ex2-train-poly", edit=swap("lr / len(X)", "lr / batch_size"))
    with pytest.raises(AssertionError, match="Use len"):
        ch05.check_train_poly(ns["train_poly"])
    with pytest.raises(AssertionError, match="divide its gradient by its own length"):
        exec(hidden("05", "ex2-train-poly-tests"), ns)


# --------------------------------------------------------------------------- chapter 6

def test_ch06_solutions_pass():
    ns = answers("06", "ex1-l2-penalty", "cell-009", "ex2-train-scratch", "ex3-sgd-decay")
    ch06.check_train_scratch(ns["train_scratch"])
    ch06.check_sgd_decay(ns["sgd_decay"])
    exec(hidden("06", "ex2-train-scratch-tests"), ns)
    exec(hidden("06", "ex3-sgd-decay-tests"), ns)


def test_ch06_decaying_the_bias_fails():
    ns = answers("06", "ex3-sgd-decay", edit=swap("w *= 1 - lr * lambd",
                                                   "w *= 1 - lr * lambd\n        b *= 1 - lr * lambd"))
    with pytest.raises(AssertionError, match="b is not decayed"):
        ch06.check_sgd_decay(ns["sgd_decay"])


# --------------------------------------------------------------------------- chapter 7

def test_ch07_dropout_layer_and_net_solutions_pass():
    ns = answers("07", "ex1-dropout-layer", "ex2-dropout-net")
    ch07.check_dropout_layer(ns["dropout_layer"])
    exec(hidden("07", "ex1-dropout-layer-tests"), ns)
    ch07.check_dropout_net(ns["Net"])
    exec(hidden("07", "ex2-dropout-net-tests"), ns)


def exact_count_dropout(X, dropout):
    """Wrong: keeps exactly round((1 - p) n) elements, so the kept count never varies."""
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    n = X.numel()
    keep = torch.zeros(n, dtype=torch.bool)
    keep[torch.randperm(n)[:round((1 - dropout) * n)]] = True
    return torch.where(keep.reshape(X.shape), X / (1 - dropout), torch.zeros_like(X))


def test_ch07_dropout_keeping_a_fixed_count_fails():
    with pytest.raises(AssertionError, match="Do not keep a fixed number"):
        ch07.check_dropout_layer(exact_count_dropout)
    with pytest.raises(AssertionError, match="the kept count must vary"):
        exec(hidden("07", "ex1-dropout-layer-tests"), {"torch": torch, "dropout_layer": exact_count_dropout})


def perfect_net_and_data():
    """A parameter-free 'net' that is always right on its test data (no training needed)."""
    return nn.Identity(), [(torch.eye(10), torch.arange(10))]


def chapter_history(test_acc):
    return dlcourse.History(train_loss=[0.4] * len(test_acc), train_acc=[0.85] * len(test_acc),
                            test_acc=list(test_acc))


def test_ch07_train_dropout_net_solution_passes():
    ns = answers("07", "ex3-train")
    net, test_iter = perfect_net_and_data()
    dips_at_the_end = [0.80, 0.83, 0.84, 0.85, 0.84, 0.86, 0.85, 0.865, 0.83, 0.845]
    ch07.check_train_dropout_net(ns["train_dropout_net"], net, chapter_history(dips_at_the_end), test_iter)
    exec(hidden("07", "ex3-train-tests", until="# the chapter's run"), ns)


@pytest.mark.parametrize("old, new, message", [
    ("lr=lr)", "lr=0.5)", "use the lr argument"),                       # the chapter's lr, not the argument
    ("lr=lr)", "lr=lr, momentum=0.9)", "no momentum"),
])
def test_ch07_train_dropout_net_wrong_optimizer_fails(old, new, message):
    ns = answers("07", "ex3-train", edit=swap(old, new))
    net, test_iter = perfect_net_and_data()
    with pytest.raises(AssertionError, match=message):
        ch07.check_train_dropout_net(ns["train_dropout_net"], net, chapter_history([0.85] * 10), test_iter)
    with pytest.raises(AssertionError):
        exec(hidden("07", "ex3-train-tests", until="# the chapter's run"), ns)


def test_ch07_chapter_run_below_the_floor_fails():
    ns = answers("07", "ex3-train")
    net, test_iter = perfect_net_and_data()
    with pytest.raises(AssertionError, match="best test accuracy of the last three epochs"):
        ch07.check_train_dropout_net(ns["train_dropout_net"], net, chapter_history([0.83] * 10), test_iter)
    with pytest.raises(AssertionError, match="10 epochs"):
        ch07.check_train_dropout_net(ns["train_dropout_net"], net, chapter_history([0.85] * 5), test_iter)
