"""The visible checks of chapters 4-8, and the hidden tests behind them, pass the solution
notebooks' own answers and reject the plausible wrong answers an audit found.

Reference answers are the exercise cells of ``solutions/NN-*/NN-*.ipynb`` run in a fresh
namespace; hidden tests are the same notebooks' ``### BEGIN HIDDEN TESTS`` blocks. No data set
and no full training run is needed, so each test takes a few seconds at most.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, NamedTuple

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse.checks import ch04, ch05, ch06, ch07, ch08
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
    """The test cell's hidden tests; "" where a judge (grader/judges/chNN.py) decides the verdict
    instead: its answer catalog, tests/grader/answers/chNN.py, proves it (tests/grader/test_verdicts.py)."""
    found = HIDDEN.search(cells(chapter)[grade_id].source)
    if found is None:
        return ""
    block = found.group(1)
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
    # the visible check says so; the judge rejects it too (tests/grader/answers/ch04.py)
    with pytest.raises(AssertionError, match="weigh each batch's mean loss by its size"):
        ch04.check_sgd_epoch(averaging_batch_means)


def edited(chapter: str, grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution cell ``grade_id`` with each (old, new) pair replaced once: a wrong answer
    that needs more than one edit."""
    source = MARKERS.sub("", cells(chapter)[grade_id].source)
    for old, new in pairs:
        assert source.count(old) == 1, f"{old!r} is not (once) in the solution any more"
        source = source.replace(old, new)
    return source


TSN = "ex7-train-simple-network"

TSN_OK = {
    # its own checkpoint dict (no dlcourse.metrics.save_checkpoint), the table kept as a dict of lists
    "own checkpoint, dict of lists": edited(
        "04", TSN,
        ("save_checkpoint(checkpoint_file, model, optimizer, epoch, pd.DataFrame(rows))",
         "torch.save({'epoch': epoch, 'model_state_dict': model.state_dict(), "
         "'optimizer_state_dict': optimizer.state_dict(), 'results': pd.DataFrame(rows), "
         "'rng_state': torch.get_rng_state()}, checkpoint_file)"),
        ("total += float(loss.detach()) * len(y)", "total += loss.item() * X.shape[0]")),
}

TSN_WRONG = [
    # (what, an (old, new) edit of the solution or a whole wrong answer, message of the visible check or None)
    ("argmax labels for the score functions",
     ("scores.append(y_hat.detach().cpu())", "scores.append(y_hat.detach().argmax(dim=1).cpu())"),
     "not argmax labels"),
    ("the checkpoint is never read",
     ("if checkpoint_file is not None and os.path.exists(checkpoint_file):", "if False:"),
     "resumed weights differ"),
    ("the optimizer's state not restored",
     ('optimizer.load_state_dict(checkpoint["optimizer_state_dict"])', "pass"), "resumed weights differ"),
    ("torch's random state not restored",
     ('torch.set_rng_state(checkpoint["rng_state"])', "pass"), "resumed weights differ"),
    ("epochs counted from the checkpoint on",
     ("range(len(rows) + 1, epochs + 1)", "range(len(rows) + 1, len(rows) + epochs + 1)"),
     "counts the whole run"),
    # a smaller last batch weighs as much as a full one: only the hidden tests' loader has one
    ("the mean of the batch means",
     edited("04", TSN, ("total += float(loss.detach()) * len(y)", "total += float(loss.detach())"),
            ("return total / len(y_true)", "return total / len(labels)")), None),
    # dropout stays on while testing: only the hidden tests' model has dropout
    ("no evaluation mode for the test pass", ("model.eval()", "pass"), None),
    # a crash loses every epoch: only the hidden tests crash a run
    ("a checkpoint only after the last epoch",
     ("if checkpoint_file is not None:\n", "if checkpoint_file is not None and epoch == epochs:\n"), None),
]


def test_ch04_auc_further_exercise_works_with_train_simple_network():
    """Further exercise 3 of chapter 4: an AUC score function gets scores, so it ranks examples."""
    from sklearn.datasets import make_moons
    from sklearn.metrics import roc_auc_score

    ns = answers("04", "cell-002", TSN)
    X, y = make_moons(400, noise=0.2, random_state=0)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    cpu = torch.device("cpu")
    train_iter = TensorLoader(X[:300], y[:300], 20, shuffle=True, device=cpu)
    test_iter = TensorLoader(X[300:], y[300:], 100, device=cpu)

    def auc(y_true, y_scores):
        return roc_auc_score(y_true.numpy(), torch.softmax(y_scores, dim=1)[:, 1].numpy())

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    table = ns["train_simple_network"](net, nn.CrossEntropyLoss(), train_iter, test_iter, epochs=5, device=cpu,
                                       score_funcs={"AUC": auc, "acc": dlcourse.metrics.accuracy_score},
                                       optimizer=torch.optim.SGD(net.parameters(), lr=0.2))
    assert {"train AUC", "test AUC"} <= set(table.columns)
    assert 0.9 < table["test AUC"].iloc[-1] <= 1.0, table
    with torch.no_grad():
        want = roc_auc_score(y[300:].numpy(), torch.softmax(net(X[300:]), dim=1)[:, 1].numpy())
    assert abs(table["test AUC"].iloc[-1] - want) < 1e-9


# --------------------------------------------------------------------------- chapter 5

def test_ch05_train_poly_solution_passes():
    ns = answers("05", "cell-010", "ex2-train-poly")
    ch05.check_train_poly(ns["train_poly"])
    exec(hidden("05", "ex2-train-poly-tests"), ns)


def test_ch05_train_poly_dividing_by_batch_size_fails():
    ns = answers("05", "cell-010", "ex2-train-poly", edit=swap("lr / len(X)", "lr / batch_size"))
    with pytest.raises(AssertionError, match="Use len"):
        ch05.check_train_poly(ns["train_poly"])


STANDARDIZE_OK = {
    "population std": """
def standardize(X_train, X_valid):
    mean = X_train.mean(0)
    std = X_train.std(0, unbiased=False)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_valid - mean) / std
""",
    "numpy": """
import numpy as np
def standardize(X_train, X_valid):
    A, B = X_train.numpy(), X_valid.numpy()
    mean, std = A.mean(axis=0), A.std(axis=0)
    std[std == 0] = 1
    return torch.from_numpy((A - mean) / std), torch.from_numpy((B - mean) / std)
""",
}

STANDARDIZE_WRONG = [
    # (what, a whole wrong answer, message of the visible check or None)
    # statistics of both parts together: the validation fold leaks into the training
    ("pooled statistics", """
def standardize(X_train, X_valid):
    both = torch.cat([X_train, X_valid])
    mean, std = both.mean(0), both.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (X_train - mean) / std, (X_valid - mean) / std
""", "using the training statistics for both parts"),
    ("each part its own statistics", """
def standardize(X_train, X_valid):
    def own(X):
        std = X.std(0)
        return (X - X.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))
    return own(X_train), own(X_valid)
""", "using the training statistics for both parts"),
    ("statistics per row", """
def standardize(X_train, X_valid):
    mean, std = X_train.mean(1, keepdim=True), X_train.std(1, keepdim=True)
    return (X_train - mean) / std, (X_valid - X_valid.mean(1, keepdim=True)) / X_valid.std(1, keepdim=True)
""", None),
    ("no centring", """
def standardize(X_train, X_valid):
    std = X_train.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return X_train / std, X_valid / std
""", None),
    ("division by a zero std", """
def standardize(X_train, X_valid):
    mean, std = X_train.mean(0), X_train.std(0)
    return (X_train - mean) / std, (X_valid - mean) / std
""", "do not divide by 0"),
    # a tiny floor for the std: a validation value off a constant column explodes
    ("a clamped std", """
def standardize(X_train, X_valid):
    mean, std = X_train.mean(0), X_train.std(0).clamp_min(1e-12)
    return (X_train - mean) / std, (X_valid - mean) / std
""", "only centred"),
    ("in place", """
def standardize(X_train, X_valid):
    mean, std = X_train.mean(0), X_train.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    X_valid -= mean
    X_train -= mean
    return X_train / std, X_valid / std
""", "changed its inputs"),
]


FIT_OK = {
    "autograd and torch.optim.SGD": """
def fit_standardized(X_train, y_train, X_valid, y_valid, log_target=False, num_steps=500, lr=0.1):
    X_train, X_valid = standardize(X_train, X_valid)
    t = y_train.log() if log_target else y_train
    net = nn.Linear(X_train.shape[1], 1)
    nn.init.zeros_(net.weight)
    nn.init.zeros_(net.bias)
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(num_steps):
        trainer.zero_grad()
        ((net(X_train) - t) ** 2 / 2).mean().backward()
        trainer.step()
    with torch.no_grad():
        p, q = net(X_train), net(X_valid)
    if log_target:
        p, q = p.exp(), q.exp()
    return float(((p - y_train) ** 2).mean() ** 0.5), float(((q - y_valid) ** 2).mean() ** 0.5)
""",
    "a column of ones for the bias": """
def fit_standardized(X_train, y_train, X_valid, y_valid, log_target=False, num_steps=500, lr=0.1):
    A, B = standardize(X_train, X_valid)
    A = torch.cat([A, torch.ones(len(A), 1)], 1)
    B = torch.cat([B, torch.ones(len(B), 1)], 1)
    t = torch.log(y_train) if log_target else y_train
    w = torch.zeros(A.shape[1], 1)
    for _ in range(num_steps):
        w -= lr * A.T @ (A @ w - t) / len(A)
    out = [A @ w, B @ w]
    if log_target:
        out = [o.exp() for o in out]
    return tuple(float(torch.sqrt(torch.mean((o - y) ** 2))) for o, y in zip(out, (y_train, y_valid)))
""",
}

FIT_WRONG = [
    # (what, (old, new): an edit of the solution, message of the visible check or None)
    ("no standardisation", ("X_train, X_valid = standardize(X_train, X_valid)",
      "pass"), "standardised"),
    ("the MSE, not its root", ("(pred_train - y_train).pow(2).mean().sqrt()",
      "(pred_train - y_train).pow(2).mean()"), "without the 1/2"),
    ("the summed gradient", ("w = w - lr / len(X_train) * (X_train.T @ r)",
      "w = w - lr * (X_train.T @ r)"), None),
    ("no exp for a log target", ("pred_train, pred_valid = pred_train.exp(), pred_valid.exp()",
      "pass"), "predict exp"),
    ("the log target ignored", ("t = torch.log(y_train) if log_target else y_train",
      "t = y_train"), "Fit log"),
    ("validation standardised with its own statistics", ("X_train, X_valid = standardize(X_train, X_valid)",
      "X_train, X_valid = standardize(X_train, X_train)[0], standardize(X_valid, X_valid)[0]"), None),
]


# --------------------------------------------------------------------------- chapter 6

def test_ch06_solutions_pass():
    ns = answers("06", "ex1-l2-penalty", "cell-009", "ex2-train-scratch", "ex3-sgd-decay")
    ch06.check_train_scratch(ns["train_scratch"])
    ch06.check_sgd_decay(ns["sgd_decay"])


def test_ch06_decaying_the_bias_fails():
    ns = answers("06", "ex3-sgd-decay", edit=swap("w *= 1 - lr * lambd",
                                                   "w *= 1 - lr * lambd\n        b *= 1 - lr * lambd"))
    with pytest.raises(AssertionError, match="b is not decayed"):
        ch06.check_sgd_decay(ns["sgd_decay"])


# --------------------------------------------------------------------------- chapter 7

def test_ch07_dropout_layer_and_net_solutions_pass():
    ns = answers("07", "ex1-dropout-layer", "ex2-dropout-net")
    ch07.check_dropout_layer(ns["dropout_layer"])
    ch07.check_dropout_net(ns["Net"])


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


MC_OK = {
    "torch.stack and mean": """
def mc_dropout_predict(net, X, num_samples):
    mode = net.training
    net.train()
    with torch.no_grad():
        out = torch.stack([F.softmax(net(X), dim=-1) for _ in range(num_samples)]).mean(dim=0)
    net.train(mode)
    return out
""",
    "dropout modules switched one by one": """
def mc_dropout_predict(net, X, num_samples):
    was = net.training
    net.train()
    total = 0
    for _ in range(num_samples):
        with torch.no_grad():
            total = total + net(X).softmax(dim=1)
    if not was:
        net.eval()
    return total / num_samples
""",
}

MC_WRONG = [
    # (what, (old, new): an edit of the solution, message of the visible check or None)
    ("averaging the logits", ("probs = sum(torch.softmax(net(X), dim=1) for _ in range(num_samples))",
      "probs = torch.softmax(sum(net(X) for _ in range(num_samples)) / num_samples, dim=1) * num_samples"), "not the logits"),
    ("averaging the votes", ("probs = sum(torch.softmax(net(X), dim=1) for _ in range(num_samples))",
      "probs = sum(F.one_hot(net(X).argmax(dim=1), net(X).shape[1]).float() for _ in range(num_samples))"), None),
    ("dropout left off", ("net.train()                                   # dropout on",
      "pass"), "switch dropout on"),
    ("the mode not restored", ("net.train(was_training)                   # back to the mode we found",
      "pass"), "put it back in eval mode"),
    ("always back to eval mode", ("net.train(was_training)                   # back to the mode we found",
      "net.eval()"), "leave it in training mode"),
    ("gradients recorded", ("with torch.no_grad():",
      "if True:"), "should not require grad"),
    ("softmax over the batch", ("torch.softmax(net(X), dim=1)",
      "torch.softmax(net(X), dim=0)"), None),
    ("the sum, not the mean", ("return probs / num_samples",
      "return probs"), None),
]


# --------------------------------------------------------------------------- chapter 8

SCAN_OK = {
    "one pass per gain, recording every depth on the way": """
def depth_scan(gains, depths, activation, width=128, batch_size=256):
    act, grad = torch.empty(len(gains), len(depths)), torch.empty(len(gains), len(depths))
    for i, g in enumerate(gains):
        for j, L in enumerate(depths):
            X = torch.randn(batch_size, width).requires_grad_()
            Ws = [torch.randn(width, width) * (g / width ** 0.5) for _ in range(L)]
            H = X
            for W in Ws:
                H = activation(H @ W)
            grad_X, = torch.autograd.grad((H * torch.randn_like(H)).sum(), X)
            act[i, j] = torch.log10(H.detach().std())
            grad[i, j] = torch.log10(grad_X.std())
    return act, grad
""",
    "float64 and the population std": """
def depth_scan(gains, depths, activation, width=128, batch_size=256):
    rows_a, rows_g = [], []
    for g in gains:
        ra, rg = [], []
        for L in depths:
            H0 = torch.randn(batch_size, width, dtype=torch.float64, requires_grad=True)
            H = H0
            for _ in range(L):
                H = activation(H @ torch.normal(0.0, g / math.sqrt(width), (width, width), dtype=torch.float64))
            (H * torch.randn_like(H)).sum().backward()
            ra.append(math.log10(float(H.detach().std(correction=0))))
            rg.append(math.log10(float(H0.grad.std(correction=0))))
        rows_a.append(ra)
        rows_g.append(rg)
    return torch.tensor(rows_a), torch.tensor(rows_g)
""",
}

SCAN_WRONG = [
    # (what, (old, new): an edit of the solution, message of the visible check or None)
    ("the weight std g / width", ("* g / math.sqrt(width)",
      "* g / width"), r"g / sqrt\(width\)"),
    ("the gain as a variance", ("* g / math.sqrt(width)",
      "* math.sqrt(g / width)"), r"L \* log10\(g\)"),
    ("the natural logarithm", ("act[i, j] = H.detach().std().log10()\n            grad[i, j] = H0.grad.std().log10()",
      "act[i, j] = H.detach().std().log()\n            grad[i, j] = H0.grad.std().log()"), "log base 10"),
    ("the gradient at the output", ("(H * torch.randn_like(H)).sum().backward()",
      "H.retain_grad()\n            (H * torch.randn_like(H)).sum().backward()\n            H0 = H"), r"input H\(0\)"),
    ("the activation before the product", ("H = activation(H @ (torch.randn(width, width) * g / math.sqrt(width)))",
      "H = activation(H) @ (torch.randn(width, width) * g / math.sqrt(width))"), "after the matrix product"),
    ("the activation ignored", ("H = activation(H @ (torch.randn(width, width) * g / math.sqrt(width)))",
      "H = torch.relu(H @ (torch.randn(width, width) * g / math.sqrt(width)))"), None),
]


# -------------------------------------------------- the new exercises of chapters 4, 5, 7 and 8

class NewExercise(NamedTuple):
    chapter: str
    cells: tuple[str, ...]          # solution cells to run first; the last is the exercise
    tests: str                      # grade id of its test cell
    check: Callable                 # its visible check
    name: str                       # the function the check takes
    correct: dict[str, str]         # other correct answers: {what: source}
    wrong: list[tuple]              # (what, source or (old, new) edit of the solution, message or None)


NEW = {
    "4.7 train_simple_network": NewExercise("04", ("cell-002", TSN), "ex7-train-simple-network-tests",
                                            ch04.check_train_simple_network, "train_simple_network", TSN_OK,
                                            TSN_WRONG),
    "5.6 standardize": NewExercise("05", ("ex6-standardize",), "ex6-standardize-tests", ch05.check_standardize,
                                   "standardize", STANDARDIZE_OK, STANDARDIZE_WRONG),
    "5.7 fit_standardized": NewExercise("05", ("ex6-standardize", "ex7-fit-standardized"),
                                        "ex7-fit-standardized-tests", ch05.check_fit_standardized,
                                        "fit_standardized", FIT_OK, FIT_WRONG),
    "7.3 mc_dropout_predict": NewExercise("07", ("ex3-mc-dropout",), "ex3-mc-dropout-tests",
                                          ch07.check_mc_dropout_predict, "mc_dropout_predict", MC_OK, MC_WRONG),
    "8.5 depth_scan": NewExercise("08", ("ex5-depth-scan",), "ex5-depth-scan-tests", ch08.check_depth_scan,
                                  "depth_scan", SCAN_OK, SCAN_WRONG),
}


def namespace(ex: NewExercise, answer: str | tuple[str, str] | None = None) -> dict:
    """The exercise's cells run in a fresh namespace, its own answer being the solution (None),
    an (old, new) edit of the solution, or another whole answer (a source)."""
    if answer is None:
        return answers(ex.chapter, *ex.cells)
    if isinstance(answer, tuple):
        return answers(ex.chapter, *ex.cells, edit=swap(*answer))
    ns = answers(ex.chapter, *ex.cells[:-1])
    exec(answer, ns)
    return ns


def run_checks(ex: NewExercise, ns: dict) -> None:
    ex.check(ns[ex.name])
    exec(hidden(ex.chapter, ex.tests), ns)   # "" where a judge decides


RIGHT = [(key, what) for key, ex in NEW.items() for what in [None, *sorted(ex.correct)]]
# a judged chapter's wrong answers are proven by its answer catalog; here only the visible messages
WRONG = [(key, i) for key, ex in NEW.items() for i in range(len(ex.wrong))
         if ex.wrong[i][2] or hidden(ex.chapter, ex.tests)]


@pytest.mark.parametrize("key, what", RIGHT, ids=[f"{k}: {w or 'the solution'}" for k, w in RIGHT])
def test_new_exercises_pass_correct_answers(key, what):
    ex = NEW[key]
    run_checks(ex, namespace(ex, ex.correct[what] if what else None))


# A wrong standardize that takes the statistics of a one-row part makes torch warn; the
# warning is the wrong answer's, not the check's.
@pytest.mark.filterwarnings(r"ignore:std\(\). degrees of freedom:UserWarning")
@pytest.mark.parametrize("key, i", WRONG, ids=[f"{k}: {NEW[k].wrong[i][0]}" for k, i in WRONG])
def test_new_exercises_reject_wrong_answers(key, i):
    ex = NEW[key]
    _, answer, message = ex.wrong[i]
    ns = namespace(ex, answer)
    if hidden(ex.chapter, ex.tests):
        with pytest.raises(AssertionError):
            exec(hidden(ex.chapter, ex.tests), ns)
    if message:
        with pytest.raises(AssertionError, match=message):
            ex.check(ns[ex.name])
