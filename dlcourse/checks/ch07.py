"""Visible tests of chapter 7, dropout."""
import torch
from torch import nn

from . import exercise


@exercise("7.1 dropout layer",
          hint="Keep each element with probability 1 - p: mask = (torch.rand(X.shape) > p).float(); "
               "return mask * X / (1 - p); handle p = 1 (all zeros) and p = 0 (X itself) first.")
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


def _fixed_net(Net, dropout1, dropout2):
    torch.manual_seed(1)
    return Net(20, 3, 8, 6, dropout1, dropout2)


@exercise("7.2 dropout only while training",
          hint="In forward: H1 = relu(lin1(X reshaped to (-1, num_inputs))); if self.training, "
               "H1 = dropout_layer(H1, self.dropout1); the same for H2 with dropout2; return lin3(H2).")
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


@exercise("7.3 the trained net reaches 84% test accuracy",
          hint="Train net with dlcourse.train(net, train_iter, test_iter, loss, num_epochs, trainer, device) "
               "with torch.optim.SGD(net.parameters(), lr=lr).")
def check_trained_net(net, test_iter):
    from ..train import evaluate_accuracy

    acc = evaluate_accuracy(net, test_iter)
    assert acc >= 0.84, f"the trained net should reach a test accuracy of at least 0.84, got {acc:.3f}"


@exercise("7.4 concise dropout MLP",
          hint="nn.Sequential(nn.Flatten(), nn.Linear(784, num_hiddens1), nn.ReLU(), nn.Dropout(dropout1), "
               "nn.Linear(num_hiddens1, num_hiddens2), nn.ReLU(), nn.Dropout(dropout2), "
               "nn.Linear(num_hiddens2, 10)).")
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
