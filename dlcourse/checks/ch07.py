"""Visible tests of chapter 7, dropout."""
import math

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


class _Scripted(nn.Module):
    """Logits from a script: in training mode, pass k returns script[k]; in eval mode, eval_logits."""

    def __init__(self, script, eval_logits):
        super().__init__()
        self.script, self.eval_logits, self.calls = script, eval_logits, 0
        self.scale = nn.Parameter(torch.ones(()))     # so that outputs require grad outside no_grad

    def forward(self, X):
        if not self.training:
            return self.eval_logits * self.scale
        out = self.script[self.calls % len(self.script)]
        self.calls += 1
        return out * self.scale


@exercise("7.3 Monte Carlo dropout",
          hint="Dropout must stay on while you predict: average the class probabilities (not the "
               "logits) of several passes in training mode, without recording gradients, and leave the "
               "net in the mode you found it in.")
def check_mc_dropout_predict(mc_dropout_predict):
    # two passes: logits [0, 0] give probabilities [0.5, 0.5], logits [ln 3, 0] give [0.75, 0.25]
    script = [torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])]
    net = _Scripted(script, eval_logits=torch.tensor([[-5.0, 5.0]])).eval()
    probs = mc_dropout_predict(net, torch.zeros(1, 3), 2)
    assert tuple(probs.shape) == (1, 2), f"one row of 2 class probabilities expected, got shape {tuple(probs.shape)}"
    assert net.calls == 2, \
        (f"num_samples = 2 passes in training mode expected, the net saw {net.calls} in training mode: "
         "switch dropout on with net.train() before the passes")
    want = torch.tensor([[0.625, 0.375]])
    assert torch.allclose(probs.detach(), want, atol=1e-4), \
        (f"the passes give probabilities [0.5, 0.5] and [0.75, 0.25], whose mean is [0.625, 0.375]; got "
         f"{[round(v, 4) for v in probs.detach().reshape(-1).tolist()]}. Average the softmax "
         "probabilities, not the logits or the predicted labels")
    assert not probs.requires_grad, "compute the passes under torch.no_grad(): the result should not require grad"
    assert not net.training, "the net was in eval mode before the call: put it back in eval mode afterwards"
    net = _Scripted(script, eval_logits=torch.tensor([[-5.0, 5.0]])).train()
    mc_dropout_predict(net, torch.zeros(1, 3), 3)
    assert net.training, "the net was in training mode before the call: leave it in training mode"


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
