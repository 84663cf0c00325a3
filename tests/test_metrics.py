"""Tests of dlcourse.metrics: metrics, checkpoints, training with a table, exact resumption."""
import pandas as pd
import pytest
import torch
from torch import nn

from dlcourse.data import TensorLoader
from dlcourse.metrics import (accuracy_score, confusion_matrix, f1_macro, load_checkpoint,
                              save_checkpoint, train_with_metrics)

CPU = torch.device("cpu")


def reference_f1(y_true, y_pred, q):
    scores = []
    for c in range(q):
        tp = int(((y_pred == c) & (y_true == c)).sum())
        fp = int(((y_pred == c) & (y_true != c)).sum())
        fn = int(((y_pred != c) & (y_true == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    return sum(scores) / q


def test_confusion_matrix_counts():
    y_true = torch.tensor([0, 0, 1, 2, 2, 2])
    y_pred = torch.tensor([0, 1, 1, 2, 0, 2])
    C = confusion_matrix(y_true, y_pred, 3)
    assert C.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix(y_true, y_pred).shape == (3, 3)


def test_accuracy_accepts_labels_and_scores():
    y_true = torch.tensor([0, 1, 1, 2])
    assert accuracy_score(y_true, torch.tensor([0, 1, 0, 2])) == pytest.approx(0.75)
    scores = torch.tensor([[2.0, 0, 0], [0, 1, 0], [3, 0, 0], [0, 0, 1]])
    assert accuracy_score(y_true, scores) == pytest.approx(0.75)


@pytest.mark.parametrize("seed,n,q", [(0, 50, 3), (1, 300, 10), (2, 9, 5)])
def test_f1_macro_matches_reference(seed, n, q):
    g = torch.Generator().manual_seed(seed)
    y_true = torch.randint(0, q, (n,), generator=g)
    y_pred = torch.randint(0, q, (n,), generator=g)
    y_pred[: n // 2] = y_true[: n // 2]
    assert f1_macro(y_true, y_pred, q) == pytest.approx(reference_f1(y_true, y_pred, q))


def test_f1_macro_edge_cases():
    assert f1_macro(torch.arange(4), torch.arange(4), 4) == pytest.approx(1.0)
    y_true, y_pred = torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 1])   # 2 never predicted
    assert f1_macro(y_true, y_pred, 3) == pytest.approx(reference_f1(y_true, y_pred, 3))
    # without num_classes only the classes that occur count; with it, absent ones count as 0
    assert f1_macro(y_true, y_pred) == pytest.approx(reference_f1(y_true, y_pred, 3))
    assert f1_macro(y_true, y_pred, 4) == pytest.approx(reference_f1(y_true, y_pred, 3) * 3 / 4)
    assert f1_macro(y_true, torch.nn.functional.one_hot(y_pred, 3).float()) == pytest.approx(
        f1_macro(y_true, y_pred))


def blobs(seed=0, n=150):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    X = torch.randn(n, 2, generator=g) * 0.7 + centers[y]
    train = TensorLoader(X[:100], y[:100], 16, shuffle=True, device=CPU)
    test = TensorLoader(X[100:], y[100:], 50, device=CPU)
    return train, test


def fresh(seed, momentum=0.9):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    return net, torch.optim.SGD(net.parameters(), lr=0.05, momentum=momentum)


def test_train_with_metrics_table_and_learning():
    train, test = blobs()
    net, opt = fresh(0)
    table = train_with_metrics(net, train, test, nn.CrossEntropyLoss(reduction="none"), 5, opt,
                               device=CPU, animate=False)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["epoch", "time", "train loss", "train acc", "train f1",
                                   "test loss", "test acc", "test f1"]
    assert list(table["epoch"]) == [1, 2, 3, 4, 5]
    assert table["time"].is_monotonic_increasing
    assert table["train loss"].iloc[-1] < table["train loss"].iloc[0]
    assert table["test acc"].iloc[-1] > 0.9


def test_custom_metrics():
    train, test = blobs()
    net, opt = fresh(0)
    table = train_with_metrics(net, train, test, nn.CrossEntropyLoss(reduction="none"), 1, opt,
                               metrics={"err": lambda t, p: 1 - accuracy_score(t, p)},
                               device=CPU, animate=False)
    assert "test err" in table.columns and "test acc" not in table.columns


def test_checkpoint_round_trip(tmp_path):
    net, opt = fresh(0)
    results = pd.DataFrame([{"epoch": 1, "time": 0.1, "train loss": 1.0}])
    path = tmp_path / "c.pt"
    save_checkpoint(path, net, opt, 1, results)
    ckpt = load_checkpoint(path)
    assert set(ckpt) == {"epoch", "model_state_dict", "optimizer_state_dict", "results", "rng_state"}
    assert ckpt["epoch"] == 1 and ckpt["results"].equals(results)
    other, _ = fresh(5)
    other.load_state_dict(ckpt["model_state_dict"])
    for p, q in zip(other.parameters(), net.parameters()):
        assert torch.equal(p, q)


def test_resumed_run_equals_uninterrupted(tmp_path):
    train, test = blobs()
    loss = nn.CrossEntropyLoss(reduction="none")
    net_a, opt_a = fresh(1)
    full = train_with_metrics(net_a, train, test, loss, 4, opt_a, device=CPU, animate=False)

    path = tmp_path / "run.pt"
    net_b, opt_b = fresh(1)
    train_with_metrics(net_b, train, test, loss, 2, opt_b, device=CPU, checkpoint_path=path,
                       animate=False)
    torch.manual_seed(999)
    net_c, opt_c = fresh(7)
    ckpt = load_checkpoint(path)
    net_c.load_state_dict(ckpt["model_state_dict"])
    opt_c.load_state_dict(ckpt["optimizer_state_dict"])
    torch.set_rng_state(ckpt["rng_state"])
    resumed = train_with_metrics(net_c, train, test, loss, 4 - ckpt["epoch"], opt_c, device=CPU,
                                 checkpoint_path=path, results=ckpt["results"], animate=False)
    assert list(resumed["epoch"]) == [1, 2, 3, 4]
    assert load_checkpoint(path)["epoch"] == 4
    cols = [c for c in full.columns if c != "time"]
    pd.testing.assert_frame_equal(resumed[cols], full[cols])
    for p, q in zip(net_c.parameters(), net_a.parameters()):
        assert torch.equal(p, q)
