"""d2l's chapter-3 training loop, copied faithfully: the reference side of row 2.

d2l 1.0.3 (the installed package) rewrote its training code around ``d2l.Trainer``
and no longer ships the book's chapter-3 functions, so the benchmark carries them.
The code below is that of *Dive into Deep Learning*, 0.17.6 edition, PyTorch
version, sections 3.6 (``accuracy``, ``evaluate_accuracy``, ``Accumulator``,
``train_epoch_ch3``, ``train_ch3``) and 4.4 (``evaluate_loss``); the book's code is
released under the MIT-0 licence (https://github.com/d2l-ai/d2l-en).

Two changes, both outside the timed work of the loop:

- ``train_ch3`` draws no Animator (the course side runs with ``animate=False`` too)
  and, instead of ending with the book's ``assert train_loss < 0.5 ...`` checks
  (which a shortened ``--quick`` run would trip), returns
  ``(train_loss, train_acc, test_acc)`` of the last epoch for the table.
- Nothing else: no device handling (the book's chapter-3 loop runs on the CPU),
  no ``torch.no_grad`` in the training loop, ``float()`` on every batch's sums.
"""
import torch


def accuracy(y_hat, y):  #@save
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):  #@save
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions

    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


class Accumulator:  #@save
    """For accumulating sums over `n` variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def train_epoch_ch3(net, train_iter, loss, updater):  #@save
    """The training loop defined in Chapter 3."""
    # Set the model to training mode
    if isinstance(net, torch.nn.Module):
        net.train()
    # Sum of training loss, sum of training accuracy, no. of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        # Compute gradients and update parameters
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            # Using PyTorch in-built optimizer & loss criterion
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    # Return training loss and training accuracy
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):  #@save
    """Train a model (defined in Chapter 3), without the Animator; returns the
    last epoch's (train_loss, train_acc, test_acc)."""
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    train_loss, train_acc = train_metrics
    return train_loss, train_acc, test_acc


def evaluate_loss(net, data_iter, loss):  #@save
    """Evaluate the loss of a model on the given dataset."""
    metric = Accumulator(2)  # Sum of losses, no. of examples
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        l = loss(out, y)
        metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]
