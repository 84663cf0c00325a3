"""Visible tests of chapter 7, dropout."""
import copy
import os
from unittest import mock

import torch
from torch import nn

from . import exercise


@exercise("7.1 dropout layer",
          hint="Treat p = 1 (everything dropped) and p = 0 (nothing dropped) first. Otherwise each element "
               "survives on its own random draw, with probability 1 − p; divide the survivors by 1 − p so "
               "that the expected value stays the same, and set the others to 0.")
def check_dropout_layer(dropout_layer):
    torch.manual_seed(0)
    X = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    assert torch.equal(dropout_layer(X, 0.0), X), "with p = 0 dropout must return X unchanged"
    out = dropout_layer(X, 1.0)
    assert tuple(out.shape) == (3, 4) and torch.count_nonzero(out) == 0, \
        f"with p = 1 every element is dropped: expected zeros of shape (3, 4), got {out.tolist()}"
    ones = torch.ones(200, 200)
    out = dropout_layer(ones, 0.25)
    kept = float((out != 0).float().mean())
    assert abs(kept - 0.75) < 0.03, \
        f"with p = 0.25 about 75% of the elements should be kept, got {100 * kept:.1f}%"
    values = out[out != 0].unique().tolist()
    assert len(values) == 1 and abs(values[0] - 1 / 0.75) < 1e-5, \
        f"kept elements should be divided by 1 - p = 0.75 (1 becomes {1 / 0.75:.4f}), got {values[:3]}"
    counts = torch.tensor([float(torch.count_nonzero(dropout_layer(torch.ones(10), 0.5)))
                           for _ in range(2000)])
    spread = float(counts.var())
    assert 2.0 < spread < 3.0, \
        (f"each element is kept or dropped on its own coin, so how many of 10 survive changes from call "
         f"to call: for p = 0.5 its variance is 10 p (1 - p) = 2.5; over 2000 calls yours had {spread:.2f}. "
         "Do not keep a fixed number of elements")


def _fixed_net(Net, dropout1, dropout2):
    torch.manual_seed(1)
    return Net(20, 3, 8, 6, dropout1, dropout2)


@exercise("7.2 dropout only while training",
          hint="Apply dropout to each hidden layer's output, after its ReLU, only while the module is in "
               "training mode (self.training); in eval mode the net is the plain MLP.")
def check_dropout_net(Net):
    X = torch.rand(5, 20)
    net = _fixed_net(Net, 0.5, 0.5)
    net.eval()
    out1, out2 = net(X), net(X)
    assert tuple(out1.shape) == (5, 3), f"the output should have shape (5, 3), got {tuple(out1.shape)}"
    assert torch.equal(out1, out2), "in eval mode dropout is off, so the output must not be random"
    plain = net.lin3(torch.relu(net.lin2(torch.relu(net.lin1(X)))))
    assert torch.allclose(out1, plain, atol=1e-6), \
        "in eval mode the net should compute lin3(relu(lin2(relu(lin1(X))))) without any dropout"
    net.train()
    torch.manual_seed(2)
    assert not torch.equal(net(X), net(X)), "in training mode dropout should make the output random"
    net = _fixed_net(Net, 0.0, 1.0).train()
    out = net(X).detach()
    assert torch.allclose(out, net.lin3.bias.detach().expand(5, 3), atol=1e-6), \
        "with dropout2 = 1 in training mode the second hidden layer is all zeros, so the output " \
        "should be lin3's bias; is dropout2 applied after the second hidden layer?"


def _tiny_fashion(seed):
    """64 + 32 random 'images' with a learnable label, in fixed-order batches (no shuffling)."""
    from ..data import TensorLoader

    g = torch.Generator().manual_seed(seed)
    X = torch.rand(96, 1, 28, 28, generator=g)
    y = (X[:, 0, :14].mean(dim=(1, 2)) > X[:, 0, 14:].mean(dim=(1, 2))).long()
    cpu = torch.device("cpu")
    return (TensorLoader(X[:64], y[:64], 16, device=cpu), TensorLoader(X[64:], y[64:], 32, device=cpu))


@exercise("7.3 training the dropout net",
          hint="Make plain SGD over the net's parameters with the given learning rate, and hand everything "
               "to the course's train function (it expects a loss per example); then run the training cell "
               "below it.")
def check_train_dropout_net(train_dropout_net, net, history, test_iter):
    from ..train import History, evaluate_accuracy

    small_train, small_test = _tiny_fashion(7)
    torch.manual_seed(8)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 5), nn.ReLU(), nn.Linear(5, 2))
    reference = copy.deepcopy(model)
    with mock.patch.dict(os.environ, DLCOURSE_PROGRESS="0"):     # no progress bar for this tiny run
        result = train_dropout_net(model, small_train, small_test, 0.3, 2, animate=False)
    assert isinstance(result, History), f"return the dlcourse.History of the run, got {type(result).__name__}"
    assert len(result.test_acc) == 2, f"2 epochs should give 2 test accuracies, got {len(result.test_acc)}"
    trainer = torch.optim.SGD(reference.parameters(), lr=0.3)
    for _ in range(2):
        for X, y in small_train:
            trainer.zero_grad()
            nn.functional.cross_entropy(reference(X), y).backward()
            trainer.step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(model.parameters(), reference.parameters())), \
        ("after 2 epochs at lr = 0.3 the weights differ from plain SGD (one step per batch on the mean "
         "cross-entropy, no momentum): use the lr argument and torch.optim.SGD(net.parameters(), lr=lr)")
    assert len(history.test_acc) == 10, \
        f"the chapter's run trains for num_epochs = 10 epochs; history has {len(history.test_acc)}"
    best = max(history.test_acc[-3:])
    assert best >= 0.84, \
        (f"the best test accuracy of the last three epochs should be at least 0.84, got {best:.3f} "
         f"(all epochs: {[round(a, 3) for a in history.test_acc]})")
    acc = evaluate_accuracy(net, test_iter)
    assert acc >= 0.8, f"the trained net itself should reach a test accuracy of at least 0.80, got {acc:.3f}"


@exercise("7.4 concise dropout MLP",
          hint="Flatten, then two hidden blocks of a linear layer, ReLU and dropout (with the two rates, in "
               "order), then a linear layer to the 10 classes.")
def check_dropout_mlp(dropout_mlp):
    torch.manual_seed(0)
    net = dropout_mlp(32, 16, 0.2, 0.5)
    assert isinstance(net, nn.Module), f"dropout_mlp should return an nn.Module, got {type(net).__name__}"
    X = torch.rand(4, 1, 28, 28)
    net.eval()
    out = net(X)
    assert tuple(out.shape) == (4, 10), f"the output should have shape (4, 10), got {tuple(out.shape)}"
    assert torch.equal(out, net(X)), "in eval mode the output must not be random"
    rates = [m.p for m in net.modules() if isinstance(m, nn.Dropout)]
    assert rates == [0.2, 0.5], f"expected two nn.Dropout layers with p = 0.2 then 0.5, got {rates}"
