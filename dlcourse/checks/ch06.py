"""Visible tests of chapter 6, weight decay."""
import math

import torch
from torch import nn

from . import exercise


@exercise("6.1 L2 penalty",
          hint="Half the sum of the squares of all the entries of w: no square root, no mean.")
def check_l2_penalty(l2_penalty):
    w = torch.tensor([[1.0], [-2.0], [3.0]])
    got = l2_penalty(w)
    assert torch.is_tensor(got) and got.numel() == 1, "l2_penalty should return a scalar tensor"
    got = float(got.detach())
    assert math.isclose(got, 7.0, rel_tol=1e-6), \
        f"for w = [1, -2, 3] the penalty is (1 + 4 + 9) / 2 = 7, got {got}"
    w = torch.ones(4, 2, requires_grad=True)
    l2_penalty(w).backward()
    assert w.grad is not None and torch.allclose(w.grad, torch.ones(4, 2)), \
        "the gradient of ||w||^2 / 2 is w itself; autograd must be able to differentiate your penalty"


@exercise("6.2 training with an L2 penalty",
          hint="Per minibatch, add the penalty to the summed squared loss, scaled by lambd and by the "
               "batch's length (the SGD step divides by it again); backpropagate that total and step both w "
               "and b with the course's sgd.")
def check_train_scratch(train_scratch):
    torch.manual_seed(0)
    X = torch.randn(4, 3)
    y = torch.randn(4, 1)
    torch.manual_seed(1)
    w0 = torch.normal(0, 1, size=(3, 1))
    torch.manual_seed(1)
    w, b, train_l, test_l = train_scratch(2.0, X, y, X, y, num_epochs=1, lr=0.1, batch_size=4)
    r = X @ w0 - y                            # one full-batch step from w0 and b = 0
    w1 = w0 - 0.1 * (X.T @ r / 4 + 2.0 * w0)
    b1 = -0.1 * r.mean()
    assert tuple(w.shape) == (3, 1), f"w should have shape (3, 1), got {tuple(w.shape)}"
    assert torch.allclose(w.detach().cpu(), w1, atol=1e-5), \
        (f"one full-batch step with lambd = 2 should give w = {w1.reshape(-1).tolist()}, got "
         f"{w.detach().reshape(-1).tolist()}. The step is w - lr * (gradient of the mean squared loss + lambd * w)")
    assert abs(float(b.detach().reshape(-1)[0]) - float(b1)) < 1e-5, \
        f"the bias should follow the plain loss gradient (no penalty): expected {float(b1):.5f}"
    ref = float(((X @ w1 + b1 - y) ** 2 / 2).mean())
    assert math.isclose(train_l, ref, rel_tol=1e-4), \
        f"the reported training loss is the mean squared loss without the penalty: {ref:.5f}, got {train_l}"


@exercise("6.3 the decay step",
          hint="Weight decay first shrinks the weights by the factor 1 − lr · lambd, then takes the usual "
               "gradient step (divided by the batch size); the bias takes only the gradient step. Update in "
               "place with gradient tracking off, then clear both gradients.")
def check_sgd_decay(sgd_decay):
    w = torch.tensor([[1.0], [-2.0]], requires_grad=True)     # (d, 1) with d = 2
    b = torch.tensor([0.5], requires_grad=True)               # (1,)
    (w.sum() * 4 + b.sum() * 2).backward()        # w.grad = [[4], [4]], b.grad = [2]
    sgd_decay(w, b, lr=0.1, batch_size=2, lambd=3.0)
    want_w = torch.tensor([[1.0 * 0.7 - 0.2], [-2.0 * 0.7 - 0.2]])
    assert torch.allclose(w.detach(), want_w), \
        f"w should become (1 - lr * lambd) * w - lr * grad / batch_size = {want_w.tolist()}, got {w.detach().tolist()}"
    assert torch.allclose(b.detach(), torch.tensor([0.4])), \
        f"b is not decayed: b - lr * grad / batch_size = [0.4], got {b.detach().tolist()}"
    assert torch.count_nonzero(w.grad) == 0 and torch.count_nonzero(b.grad) == 0, \
        "zero the gradients after the step"


@exercise("6.4 weight decay on the weights only",
          hint="A torch optimizer takes parameter groups, each with its own settings: put the weights (the "
               "parameters whose names end in 'weight') in a group with weight decay wd, and the biases in a "
               "group without any.")
def check_make_trainer(make_trainer):
    net = nn.Sequential(nn.Linear(3, 1))
    trainer = make_trainer(net, lr=0.5, wd=2.0)
    assert isinstance(trainer, torch.optim.SGD), f"return a torch.optim.SGD, got {type(trainer).__name__}"
    decay = {}
    for group in trainer.param_groups:
        for p in group["params"]:
            decay[id(p)] = group["weight_decay"]
            assert group["lr"] == 0.5, f"every group should use lr = 0.5, one has {group['lr']}"
    assert decay.get(id(net[0].weight)) == 2.0, \
        f"the weight should have weight_decay = 2.0, got {decay.get(id(net[0].weight))}"
    assert decay.get(id(net[0].bias)) == 0, \
        f"the bias should not be decayed (weight_decay = 0), got {decay.get(id(net[0].bias))}"
