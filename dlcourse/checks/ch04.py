"""Visible tests of chapter 4, multilayer perceptrons."""
import copy
import os
import tempfile

import torch
from torch import nn

from . import exercise


@exercise("4.1 stacked linear layers collapse",
          hint="Substitute the first affine layer into the second and expand: read off the matrix that "
               "multiplies X and the vector that is added to the product.")
def check_collapse(collapse):
    W1 = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])   # (2, 3)
    b1 = torch.tensor([1.0, 0.0, 2.0])                        # (3,)
    W2 = torch.tensor([[1.0], [2.0], [-1.0]])                 # (3, 1)
    b2 = torch.tensor([0.5])                                  # (1,)
    W, b = collapse(W1, b1, W2, b2)
    assert tuple(W.shape) == (2, 1), f"W should have shape (2, 1) (inputs x outputs), got {tuple(W.shape)}"
    assert tuple(b.shape) == (1,), f"b should have shape (1,) (one per output), got {tuple(b.shape)}"
    assert torch.allclose(W, torch.tensor([[5.0], [3.0]])), \
        f"W should be W1 @ W2 = [[5.0], [3.0]], got {W.tolist()}"
    assert torch.allclose(b, torch.tensor([-0.5])), \
        f"b should be b1 @ W2 + b2 = [-0.5], got {b.tolist()}"


@exercise("4.2 initialise the MLP",
          hint="Weights from a normal distribution with standard deviation sigma (inputs × hiddens, then "
               "hiddens × outputs), biases at zero; every tensor on the given device, and a leaf that "
               "requires gradients.")
def check_init_params(init_params):
    torch.manual_seed(0)
    params = init_params(784, 256, 10, sigma=0.01, device=torch.device("cpu"))
    params = list(params)
    assert len(params) == 4, f"return [W1, b1, W2, b2], got {len(params)} tensors"
    shapes = [tuple(p.shape) for p in params]
    expected = [(784, 256), (256,), (256, 10), (10,)]
    assert shapes == expected, f"the shapes should be {expected}, got {shapes}"
    assert all(p.requires_grad and p.is_leaf for p in params), \
        "every parameter must be a leaf tensor with requires_grad=True (create it, then requires_grad_())"
    W1, b1, b2 = params[0], params[1], params[3]
    std = float(W1.detach().std())
    assert 0.009 < std < 0.011, f"W1 should be drawn from N(0, 0.01^2); its standard deviation is {std:.4g}"
    assert abs(float(W1.detach().mean())) < 0.001, f"W1 should have mean 0, it has {float(W1.detach().mean()):.4g}"
    assert float(b1.detach().abs().sum()) == 0 and float(b2.detach().abs().sum()) == 0, \
        "the biases should start at zero"


@exercise("4.3 the MLP forward pass",
          hint="Flatten each example to one row, apply the first layer and ReLU to get the hidden units, "
               "then the second layer. No activation on the output: the loss applies softmax.")
def check_mlp(mlp):
    W1 = torch.tensor([[1.0, -1.0], [2.0, 1.0]])
    b1 = torch.tensor([0.0, -1.0])
    W2 = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b2 = torch.tensor([0.0, 0.5, 0.0])
    X = torch.tensor([[1.0, 1.0], [1.0, -1.0]]).reshape(2, 1, 1, 2)   # image-shaped input
    out = mlp(X, [W1, b1, W2, b2])
    assert tuple(out.shape) == (2, 3), f"mlp should return (n, num_outputs) = (2, 3), got {tuple(out.shape)}"
    expected = torch.tensor([[3.0, 0.5, -3.0], [0.0, 0.5, 0.0]])
    linear = (X.reshape(2, 2) @ W1 + b1) @ W2 + b2
    assert not torch.allclose(out, linear), \
        "the output equals the purely linear network: apply ReLU to the hidden layer"
    assert torch.allclose(out, expected), f"mlp(X) should be {expected.tolist()}, got {out.tolist()}"


def _tiny_classification(n: int, d: int = 6, q: int = 3):
    """n examples with d features, a label in 0 .. q - 1 from the first two features, and a
    small ReLU net (d -> 8 -> q) with fixed weights: (X (n, d), y (n,), the net)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g)
    y = ((X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()) % q
    net = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, q))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return X, y, net


# The epoch of check_sgd_epoch, worked out once: the mean cross-entropy per example
# (each batch measured before its step) and the fraction classified correctly (26 of 70).
_EPOCH_LOSS, _EPOCH_ACC = 1.3057593, 26 / 70


@exercise("4.4 one epoch of SGD",
          hint="Every example should count once in the epoch's mean loss: a batch's mean loss stands "
               "for as many examples as the batch holds, and the last batch is smaller. The step uses "
               "each batch's mean loss, and the gradients must not pile up from one batch to the next.")
def check_sgd_epoch(sgd_epoch):
    X, y, net = _tiny_classification(70)
    batches = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 70, 16)]   # four of 16, a last one of 6
    expected = copy.deepcopy(net)
    out = sgd_epoch(net, list(net.parameters()), batches, 0.5)
    assert isinstance(out, tuple) and len(out) == 2, "return the pair (mean loss, accuracy)"
    loss, acc = float(out[0]), float(out[1])
    assert abs(loss - _EPOCH_LOSS) < 1e-4, \
        (f"the mean loss per example over the epoch should be {_EPOCH_LOSS:.4f}, got {loss:.4f}; the last "
         "batch is smaller, so weigh each batch's mean loss by its size (do not average the batch means)")
    assert abs(acc - _EPOCH_ACC) < 1e-6, \
        (f"the training accuracy should be {_EPOCH_ACC:.4f}, got {acc:.4f}: count the correct predictions "
         "over the whole epoch and divide once by the number of examples")
    trainer = torch.optim.SGD(expected.parameters(), lr=0.5)   # torch's plain SGD takes the same steps
    for Xb, yb in batches:
        trainer.zero_grad()
        nn.functional.cross_entropy(expected(Xb), yb).backward()
        trainer.step()
    for got, want in zip(net.parameters(), expected.parameters()):
        assert torch.allclose(got.detach(), want.detach(), atol=1e-5), \
            ("after one epoch the parameters differ from plain SGD: use the mean loss of each "
             "batch, step with p -= lr * p.grad, and zero the gradients after every step")


@exercise("4.4 the trained MLP reaches 84 % test accuracy",
          hint="Run the training cell (10 epochs) after exercises 4.2-4.4 pass; it trains `params`.")
def check_trained_mlp(mlp, params, test_iter):
    correct = total = 0
    with torch.no_grad():
        for X, y in test_iter:
            X, y = X.to(params[0].device), y.to(params[0].device)
            correct += int((mlp(X, params).argmax(dim=1) == y).sum())
            total += len(y)
    acc = correct / total
    assert acc >= 0.84, f"the trained MLP should reach a test accuracy of at least 0.84, it has {acc:.4f}"


@exercise("4.5 macro F1",
          hint="Per class, count the true positives, false positives and false negatives; a class's F1 is "
               "twice its true positives over (twice its true positives + its false positives + its false "
               "negatives), and 0 when that is 0 / 0. Macro F1 is the plain mean over the classes.")
def check_f1_macro(f1_macro):
    y_true = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = torch.tensor([0, 0, 0, 0, 0, 0, 2, 1])
    # class 0: TP 4, FP 2, FN 0 -> 8/10; class 1: TP 0 -> 0; class 2: TP 1, FN 1 -> 2/3
    expected = (0.8 + 0.0 + 2 / 3) / 3
    got = float(f1_macro(y_true, y_pred, 3))
    assert got == got, "f1_macro returned NaN: a class that is never predicted has F1 = 0"
    assert abs(got - 0.625) > 1e-6, "this is the accuracy (micro-average), not the macro F1"
    assert abs(got - expected) < 1e-6, f"f1_macro should be {expected:.4f}, got {got:.4f}"
    perfect = float(f1_macro(torch.arange(5), torch.arange(5), 5))
    assert abs(perfect - 1) < 1e-6, f"perfect predictions should give F1 = 1, got {perfect:.4f}"


def _blobs(seed, n=120):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    X = torch.randn(n, 2, generator=g) * 0.8 + torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])[y]
    return X, y


@exercise("4.6 resume training from a checkpoint",
          hint="A checkpoint holds the model's and the optimizer's states, torch's random state, the number "
               "of epochs done and the results so far: restore all of them, then train only the epochs that "
               "remain, handing on the results and the checkpoint path.")
def check_resume_training(resume_training):
    from ..data import TensorLoader
    from ..metrics import load_checkpoint, train_with_metrics

    cpu = torch.device("cpu")
    X, y = _blobs(0)
    train_iter = TensorLoader(X[:90], y[:90], 16, shuffle=True, device=cpu)
    test_iter = TensorLoader(X[90:], y[90:], 30, device=cpu)
    loss = nn.CrossEntropyLoss(reduction="none")

    def fresh(seed):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    net_a, opt_a = fresh(1)
    full = train_with_metrics(net_a, train_iter, test_iter, loss, 3, opt_a, device=cpu, animate=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt.pt")
        net_b, opt_b = fresh(1)
        train_with_metrics(net_b, train_iter, test_iter, loss, 1, opt_b, device=cpu,
                           checkpoint_path=path, animate=False)
        net_c, opt_c = fresh(99)          # a new process: different weights, empty optimizer
        table = resume_training(path, net_c, opt_c, train_iter, test_iter, loss, 3, device=cpu,
                                animate=False)
        assert len(table) == 3, \
            f"after resuming to total_epochs=3 the table should have 3 rows (1 saved + 2 new), got {len(table)}"
        assert list(table["epoch"]) == [1, 2, 3], f"the epochs should be [1, 2, 3], got {list(table['epoch'])}"
        assert load_checkpoint(path)["epoch"] == 3, "keep saving checkpoints to the same path while resuming"
    for p, q in zip(net_c.parameters(), net_a.parameters()):
        assert torch.allclose(p, q, atol=1e-5), \
            ("the resumed weights differ from an uninterrupted run of 3 epochs: restore the model, the "
             "optimizer (its momentum) and torch's random state before training on")


@exercise("4.7 train_simple_network",
          hint="Every epoch: put the model in training mode and step on each batch, moved to the device; keep "
               "each batch's labels and raw outputs and hand all of them to the score functions at the end "
               "of the pass. Then score the test set in evaluation mode without gradients, add a row, and "
               "save the checkpoint. Before the first epoch, if the checkpoint file exists, restore all it "
               "holds and carry on after its last epoch, up to `epochs` in all.")
def check_train_simple_network(train_simple_network):
    import pandas as pd

    from ..data import TensorLoader
    from ..metrics import load_checkpoint

    cpu = torch.device("cpu")
    X, y = _blobs(1, n=96)
    train_iter = TensorLoader(X[:72], y[:72], 16, shuffle=True, device=cpu)
    test_iter = TensorLoader(X[72:], y[72:], 24, device=cpu)
    shapes = []

    def width(y_true, y_scores):          # records what a score function is given
        shapes.append((tuple(y_true.shape), tuple(y_scores.shape)))
        return float(y_scores.shape[-1]) if y_scores.ndim == 2 else -1.0

    def run(seed, epochs, path=None, funcs=None):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        trainer = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
        table = train_simple_network(net, nn.CrossEntropyLoss(), train_iter, test_iter, epochs=epochs,
                                     device=cpu, score_funcs=funcs, checkpoint_file=path, optimizer=trainer)
        return net, table

    net, table = run(3, 2, funcs={"width": width})
    assert isinstance(table, pd.DataFrame), f"return a pandas DataFrame, got {type(table).__name__}"
    expected = {"epoch", "total time", "train loss", "train width", "test loss", "test width"}
    assert set(table.columns) == expected, f"the columns should be {sorted(expected)}, got {list(table.columns)}"
    assert list(table["epoch"]) == [1, 2], f"one row per epoch, numbered 1 and 2; got {list(table['epoch'])}"
    assert shapes and shapes[0] == ((72,), (72, 3)), \
        (f"a score function should get all the examples of a pass at once, y_true (72,) and the model's "
         f"scores (72, 3), not argmax labels (an AUC needs scores); it got shapes {shapes[0] if shapes else None}")
    with torch.no_grad():
        want = float(nn.functional.cross_entropy(net(X[72:]), y[72:]))
    got = float(table["test loss"].iloc[-1])
    assert abs(got - want) < 1e-5, \
        f"the last test loss should be the trained model's mean loss on the test set, {want:.5f}; got {got:.5f}"

    net_full, full = run(3, 3)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "simple.pt")
        run(3, 1, path)
        saved = load_checkpoint(path)
        missing = {"epoch", "model_state_dict", "optimizer_state_dict", "results"} - set(saved)
        assert not missing, f"the checkpoint lacks {sorted(missing)}"
        net_resumed, resumed = run(42, 3, path)      # a restart: other weights, an empty optimizer
        assert list(resumed["epoch"]) == [1, 2, 3], \
            (f"resumed from epoch 1 to epochs=3, the table should have the epochs [1, 2, 3], got "
             f"{list(resumed['epoch'])}: `epochs` counts the whole run, including the saved epochs")
    for got_p, want_p in zip(net_resumed.parameters(), net_full.parameters()):
        assert torch.allclose(got_p, want_p, atol=1e-5), \
            ("the resumed weights differ from an uninterrupted run of 3 epochs: restore the model, the "
             "optimizer (its momentum) and torch's random state from the checkpoint")
