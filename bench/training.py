"""Row 2: each chapter's headline training run, the course's code against d2l's pipeline.

Both sides train the same model from the same seed (same initial weights, same
data for the synthetic problems) with the outline's hyper-parameters:

- course:    ``dlcourse`` loader (in memory, on the device ``try_gpu()`` picks) and
             ``dlcourse.train`` / ``train_epoch`` / ``evaluate_loss``;
- reference: ``d2l.load_data_fashion_mnist`` / ``d2l.load_array`` and the book's
             chapter-3 loop (``bench/reference.py``), on the CPU as the book runs it.

The wall time of a run includes building its loaders (the course side also
re-reads and checks the dataset files, as a fresh notebook does) and excludes
drawing (no Animator on either side). Chapters 2 and 8 have no d2l training run
to compare with; their time is in row 3.

Each run also gets its *compute floor*: the same optimisation steps on batches
already in memory, with no loader, metrics or evaluation. Where the arithmetic
itself dominates (the MLPs on a CPU), ``reference / floor`` is the largest
speed-up any pipeline could show, and ``course / floor`` says how much the
course's loop costs above the bare arithmetic.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, replace
from typing import Callable

import dlcourse
import dlcourse.data
import numpy as np
import torch
from torch import nn

from . import reference
from .d2l_data import D2LData
from .table import Row, ratio, seconds, verdict
from .timing import paired, sync

BATCH_SIZE = 256
TIME_GOAL = 10.0
ACC_GOAL = 0.01  # the course's test accuracy may trail the reference's by at most 1 point
SEED = 0


@dataclass
class Outcome:
    """What a run ends with: a figure for the table, and a number to compare."""
    text: str
    score: float          # higher is better (test accuracy, or minus a test loss)


@dataclass
class Run:
    row: str
    what: str
    reference: Callable[[], Outcome]
    course: Callable[[], Outcome]
    heavy: bool                     # 10 Fashion-MNIST epochs: fewer repeats by default
    check: Callable[[Outcome, Outcome], bool]
    goal: str
    floor: Callable[[], float]      # seconds of the bare arithmetic of the run (see _floor)


def _floor(step: Callable[[torch.Tensor, torch.Tensor], None], batches: list, num_epochs: int,
           repeats: int = 3) -> float:
    """The compute floor of a run: its optimisation steps on batches already in memory (no
    loader, no metrics, no evaluation), median of ``repeats`` epochs, times ``num_epochs``.
    No data pipeline can make the run faster than this, so ``reference / floor`` bounds
    the speed-up any course code could show on this machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for X, y in batches:
            step(X, y)
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * num_epochs


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.01)


# --------------------------------------------------------------------------- Fashion-MNIST

def _softmax() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def _dropout() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))


def _classifier(row: str, what: str, build: Callable[[], nn.Module], lr: float,
                num_epochs: int, d2l_data: D2LData) -> Run:
    def outcome(train_loss: float, train_acc: float, test_acc: float) -> Outcome:
        return Outcome(f"test acc {test_acc:.3f} (train loss {train_loss:.3f})", test_acc)

    def ref() -> Outcome:
        torch.manual_seed(SEED)
        net = build()
        net.apply(_init_weights)
        train_iter, test_iter = d2l_data.load(BATCH_SIZE)
        loss = nn.CrossEntropyLoss(reduction="none")
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        return outcome(*reference.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer))

    def ours() -> Outcome:
        torch.manual_seed(SEED)
        net = build()
        net.apply(_init_weights)
        dlcourse.data._read_cached.cache_clear()  # read and check the files, as a notebook does
        train_iter, test_iter = dlcourse.load_data_fashion_mnist(BATCH_SIZE)
        loss = nn.CrossEntropyLoss(reduction="none")
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        h = dlcourse.train(net, train_iter, test_iter, loss, num_epochs, trainer, animate=False)
        return outcome(h.train_loss[-1], h.train_acc[-1], h.test_acc[-1])

    def floor() -> float:
        torch.manual_seed(SEED)
        net = build()
        net.apply(_init_weights)
        train_iter, _ = dlcourse.load_data_fashion_mnist(BATCH_SIZE)
        net.to(train_iter.device)
        batches = [(X.clone(), y.clone()) for X, y in train_iter]
        loss = nn.CrossEntropyLoss()
        trainer = torch.optim.SGD(net.parameters(), lr=lr)

        def step(X, y):
            trainer.zero_grad()
            loss(net(X), y).backward()
            trainer.step()
        return _floor(step, batches, num_epochs)

    return Run(row, f"{what}, lr {lr}, {num_epochs} epochs, batch {BATCH_SIZE}", ref, ours,
               heavy=True, check=lambda r, c: c.score >= r.score - ACC_GOAL,
               goal=f">= {TIME_GOAL:.0f}x faster; test acc within 1 pt", floor=floor)


# --------------------------------------------------------------------------- synthetic data

def _linear_regression(num_epochs: int) -> Run:
    """Chapter 1, concise (d2l 3.3): nn.Linear(2, 1), MSELoss, SGD lr 0.03, batch 10."""
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    torch.manual_seed(SEED)
    features, labels = dlcourse.synthetic_data(true_w, true_b, 1000)

    def fit(data_iter, device) -> Outcome:
        net = nn.Sequential(nn.Linear(2, 1)).to(device)
        net[0].weight.data.normal_(0, 0.01)
        net[0].bias.data.fill_(0)
        loss = nn.MSELoss()
        trainer = torch.optim.SGD(net.parameters(), lr=0.03)
        for epoch in range(num_epochs):
            for X, y in data_iter:
                l = loss(net(X), y)
                trainer.zero_grad()
                l.backward()
                trainer.step()
        err = max((net[0].weight.data.cpu().reshape(-1) - true_w).abs().max().item(),
                  abs(net[0].bias.data.item() - true_b))
        return Outcome(f"max error of w, b {err:.1e}", -err)

    def ref() -> Outcome:
        from d2l import torch as d2l
        torch.manual_seed(SEED + 1)
        return fit(d2l.load_array((features, labels), 10), torch.device("cpu"))

    def ours() -> Outcome:
        torch.manual_seed(SEED + 1)
        data_iter = dlcourse.data.TensorLoader(features, labels, 10, shuffle=True)
        return fit(data_iter, data_iter.device)

    def floor() -> float:
        data_iter = dlcourse.data.TensorLoader(features, labels, 10, shuffle=True)
        net = nn.Sequential(nn.Linear(2, 1)).to(data_iter.device)
        loss, trainer = nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=0.03)

        def step(X, y):
            trainer.zero_grad()
            loss(net(X), y).backward()
            trainer.step()
        return _floor(step, list(data_iter), num_epochs)

    return Run("2 ch1", f"linear regression 2->1, lr 0.03, {num_epochs} epochs, batch 10, "
               "1000 examples", ref, ours, heavy=False,
               check=lambda r, c: -c.score <= 2e-3, goal=f">= {TIME_GOAL:.0f}x faster; w, b within 2e-3",
               floor=floor)


def _polynomial(num_epochs: int) -> Run:
    """Chapter 5 (d2l 4.4): third-order polynomial, 4 features, SGD lr 0.01, batch 10."""
    max_degree, n_train, n_test = 20, 100, 100
    rng = np.random.default_rng(SEED)
    true_w = np.zeros(max_degree)
    true_w[0:4] = np.array([5, 1.2, -3.4, 5.6])
    features = rng.normal(size=(n_train + n_test, 1))
    poly = np.power(features, np.arange(max_degree).reshape(1, -1))
    for i in range(max_degree):
        poly[:, i] /= math.gamma(i + 1)
    labels = poly @ true_w + rng.normal(scale=0.1, size=n_train + n_test)
    poly, labels = (torch.tensor(a, dtype=torch.float32) for a in (poly[:, :4], labels))
    train = poly[:n_train], labels[:n_train].reshape(-1, 1)
    test = poly[n_train:], labels[n_train:].reshape(-1, 1)

    def outcome(net: nn.Module, test_loss: float) -> Outcome:
        w = ", ".join(f"{v:.2f}" for v in net[0].weight.data.cpu().reshape(-1).tolist())
        return Outcome(f"test loss {test_loss:.4f}, w [{w}]", -test_loss)

    def ref() -> Outcome:
        from d2l import torch as d2l
        torch.manual_seed(SEED)
        net = nn.Sequential(nn.Linear(4, 1, bias=False))
        loss = nn.MSELoss(reduction="none")
        train_iter = d2l.load_array(train, 10)
        test_iter = d2l.load_array(test, 10, is_train=False)
        trainer = torch.optim.SGD(net.parameters(), lr=0.01)
        for epoch in range(num_epochs):
            reference.train_epoch_ch3(net, train_iter, loss, trainer)
            if epoch == 0 or (epoch + 1) % 20 == 0:
                reference.evaluate_loss(net, train_iter, loss)
                test_loss = reference.evaluate_loss(net, test_iter, loss)
        return outcome(net, test_loss)

    def ours() -> Outcome:
        torch.manual_seed(SEED)
        net = nn.Sequential(nn.Linear(4, 1, bias=False))
        loss = nn.MSELoss(reduction="none")
        train_iter = dlcourse.data.TensorLoader(*train, 10, shuffle=True)
        test_iter = dlcourse.data.TensorLoader(*test, 10)
        trainer = torch.optim.SGD(net.parameters(), lr=0.01)
        for epoch in range(num_epochs):
            dlcourse.train_epoch(net, train_iter, loss, trainer)
            if epoch == 0 or (epoch + 1) % 20 == 0:
                dlcourse.evaluate_loss(net, train_iter, loss)
                test_loss = dlcourse.evaluate_loss(net, test_iter, loss)
        return outcome(net, test_loss)

    def floor() -> float:
        net = nn.Sequential(nn.Linear(4, 1, bias=False))
        loss, trainer = nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=0.01)

        def step(X, y):
            trainer.zero_grad()
            loss(net(X), y).backward()
            trainer.step()
        return _floor(step, list(dlcourse.data.TensorLoader(*train, 10, shuffle=True)), num_epochs)

    return Run("2 ch5", f"polynomial regression, 4 features, lr 0.01, {num_epochs} epochs, batch 10",
               ref, ours, heavy=False, check=lambda r, c: -c.score <= -r.score * 1.1 + 1e-6,
               goal=f">= {TIME_GOAL:.0f}x faster; test loss within 10%", floor=floor)


def _weight_decay(num_epochs: int, lambd: float = 3.0) -> Run:
    """Chapter 6 (d2l 4.5), from scratch: d = 200, 20 training examples, batch 5, lr 0.003."""
    n_train, n_test, num_inputs, batch_size, lr = 20, 100, 200, 5, 0.003
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    torch.manual_seed(SEED)
    train = dlcourse.synthetic_data(true_w, true_b, n_train)
    test = dlcourse.synthetic_data(true_w, true_b, n_test)

    def fit(train_iter, test_iter, linreg, squared_loss, sgd, evaluate_loss, device) -> Outcome:
        w = torch.normal(0, 1, size=(num_inputs, 1), device=device, requires_grad=True)
        b = torch.zeros(1, device=device, requires_grad=True)
        net, loss = (lambda X: linreg(X, w, b)), squared_loss
        for epoch in range(num_epochs):
            for X, y in train_iter:
                l = loss(net(X), y) + lambd * (torch.sum(w.pow(2)) / 2)
                l.sum().backward()
                sgd([w, b], lr, batch_size)
            if (epoch + 1) % 5 == 0 or epoch + 1 == num_epochs:
                evaluate_loss(net, train_iter, loss)
                test_loss = evaluate_loss(net, test_iter, loss)
        return Outcome(f"||w|| {torch.norm(w).item():.3f}, test loss {test_loss:.4f}", -test_loss)

    def ref() -> Outcome:
        from d2l import torch as d2l
        torch.manual_seed(SEED + 1)
        return fit(d2l.load_array(train, batch_size), d2l.load_array(test, batch_size, is_train=False),
                   d2l.linreg, d2l.squared_loss, d2l.sgd, reference.evaluate_loss, torch.device("cpu"))

    def ours() -> Outcome:
        torch.manual_seed(SEED + 1)
        train_iter = dlcourse.data.TensorLoader(*train, batch_size, shuffle=True)
        test_iter = dlcourse.data.TensorLoader(*test, batch_size)
        return fit(train_iter, test_iter, dlcourse.linreg, dlcourse.squared_loss, dlcourse.sgd,
                   dlcourse.evaluate_loss, train_iter.device)

    def floor() -> float:
        w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)

        def step(X, y):
            l = dlcourse.squared_loss(dlcourse.linreg(X, w, b), y) + lambd * (torch.sum(w.pow(2)) / 2)
            l.sum().backward()
            dlcourse.sgd([w, b], lr, batch_size)
        return _floor(step, list(dlcourse.data.TensorLoader(*train, batch_size, shuffle=True)),
                      num_epochs)

    return Run("2 ch6", f"weight decay, lambda {lambd:g}, d 200, 20 examples, lr {lr}, "
               f"{num_epochs} epochs, batch {batch_size}", ref, ours, heavy=False,
               check=lambda r, c: -c.score <= -r.score * 1.1 + 1e-6,
               goal=f">= {TIME_GOAL:.0f}x faster; test loss within 10%", floor=floor)


# --------------------------------------------------------------------------- the row

NOT_COMPARED = [
    Row("2 ch2", "softmax regression on a 2-D toy problem", status="n/a",
        notes="d2l has no 2-D classification run to compare with; the chapter's time is in row 3"),
    Row("2 ch8", "backprop by hand, gradient statistics, initialisation", status="n/a",
        notes="the outline has no training run here (no loop to compare); time in row 3"),
]


def runs(d2l_data: D2LData, epochs: int | None = None) -> list[Run]:
    """The comparisons, in chapter order; ``epochs`` shortens every run (``--quick``)."""
    e = (lambda n: min(n, epochs)) if epochs else (lambda n: n)
    return [
        _linear_regression(e(3)),
        _classifier("2 ch3", "softmax regression 784->10", _softmax, 0.1, e(10), d2l_data),
        _classifier("2 ch4", "MLP 784-256-10", _mlp, 0.1, e(10), d2l_data),
        _polynomial(e(400)),
        _weight_decay(e(100)),
        _classifier("2 ch7", "dropout MLP 784-256-256-10, p 0.2/0.5", _dropout, 0.5, e(10),
                    d2l_data),
    ]


def run(d2l_data: D2LData, repeats: int, heavy_repeats: int, epochs: int | None = None,
        label: str = "", log: Callable[[str], None] = print) -> list[Row]:
    rows = []
    for spec in runs(d2l_data, epochs):
        n = heavy_repeats if spec.heavy else repeats
        log(f"  {spec.row}: {spec.what} ({n} run{'s' if n > 1 else ''} a side)")
        ref, ours = paired(spec.reference, spec.course, n)
        floor = spec.floor()
        log(f"    course {seconds(ours.median)}, d2l {seconds(ref.median)}, "
            f"compute floor {seconds(floor)}")
        fast = ref.median / ours.median >= TIME_GOAL
        good = spec.check(ref.last, ours.last)
        rows.append(Row(
            spec.row + label, spec.what,
            course=f"{seconds(ours.median)}, {ours.last.text}",
            reference=f"{seconds(ref.median)}, {ref.last.text}",
            result=ratio(ref.median, ours.median), goal=spec.goal,
            status=f"time {verdict(fast)}; outcome {verdict(good)}",
            notes=(f"compute floor {seconds(floor)} (the same steps on batches already in "
                   f"memory, no metrics): the course takes {ours.median / floor:.2f}x that, "
                   f"and no pipeline beats {ref.median / floor:.1f}x here; "
                   f"median of {n}; course {ours.spread()}; d2l {ref.spread()}")))
    ch2, ch8 = (replace(r, row=r.row + label) for r in NOT_COMPARED)
    return rows[:1] + [ch2] + rows[1:] + [ch8]
