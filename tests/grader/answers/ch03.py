"""Chapter 3: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "03-fashion-mnist"

_MODEL = "def softmax_regression(X, W, b):\n{body}\n"
_ACCURACY = "def accuracy(y_hat, y):\n{body}\n"
_EVALUATE = "def evaluate_accuracy(net, data_iter):\n{body}\n"
_EVAL_REF = """def evaluate_accuracy(net, data_iter):
    if isinstance(net, nn.Module):
        net.eval()
    correct, seen = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y)
            seen += len(y)
    return correct / seen
"""

_EPOCH = '''def train_epoch(net, train_iter, loss, updater):
    if isinstance(net, nn.Module):
        net.train()
    totals = dlcourse.Accumulator(3)
{body}
    loss_sum, correct, seen = totals[0], totals[1], totals[2]
    return loss_sum / seen, correct / seen
'''

# The reference loop, with {update} for the step and {record} for what is added to the totals.
_EPOCH_LOOP = '''    optimizer = updater if isinstance(updater, torch.optim.Optimizer) else None
    for X, y in train_iter:
        y_hat = net(X)
        losses = loss(y_hat, y)
{update}
{record}'''
_OPT_STEP = '''        if optimizer is not None:
            optimizer.zero_grad()
            losses.mean().backward()
            optimizer.step()
        else:
            losses.sum().backward()
            updater(len(y))'''
_RECORD = "        totals.add(float(losses.detach().sum()), accuracy(y_hat.detach(), y), len(y))"

_TRAIN = '''def train(net, train_iter, test_iter, loss, num_epochs, updater, animate=True):
    history = dlcourse.History()
    if animate:
        history.animator = dlcourse.Animator(xlabel="epoch", xlim=[1, num_epochs], ylim=[0.0, 1.0],
                                             legend=["train loss", "train acc", "test acc"])
{body}
    return history
'''
_TRAIN_LOOP = '''    for epoch in range({epochs}):
{measure}
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_acc.append(test_acc)
{plot}'''
_MEASURE = '''        train_loss, train_acc = train_epoch(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)'''
_PLOT = '''        if history.animator is not None:
            history.animator.add(epoch + 1, (train_loss, train_acc, test_acc))'''


def _without(source: str, header: str) -> str:
    """``source`` without the block statement ``header`` (a whole line): its body moves out one level."""
    lines = source.splitlines(keepends=True)
    at = lines.index(header)
    depth = len(header) - len(header.lstrip())
    out = lines[:at]
    for k, line in enumerate(lines[at + 1:], at + 1):
        if len(line) - len(line.lstrip()) <= depth:
            return "".join(out + lines[k:])
        out.append(line[4:])
    return "".join(out)


def _epoch(update: str = _OPT_STEP, record: str = _RECORD, before: str = "") -> str:
    return _EPOCH.format(body=before + _EPOCH_LOOP.format(update=update, record=record))


def _train(epochs: str = "num_epochs", measure: str = _MEASURE, plot: str = _PLOT, before: str = "") -> str:
    return _TRAIN.format(body=before + _TRAIN_LOOP.format(epochs=epochs, measure=measure, plot=plot))


WRONG = {
    "ex1-model-tests": ("ex1-model", [
        ("hard-codes 784", _MODEL.format(body="    return X.reshape(-1, 784) @ W + b")),
        ("applies softmax", _MODEL.format(body="    return torch.softmax(X.reshape(-1, W.shape[0]) @ W + b, dim=1)")),
        ("forgets the bias", _MODEL.format(body="    return X.reshape(-1, W.shape[0]) @ W")),
        ("flattens in the wrong order", _MODEL.format(body="    return X.reshape(W.shape[0], -1).T @ W + b")),
        ("detaches through numpy", _MODEL.format(
            body="    O = X.reshape(len(X), -1).numpy() @ W.detach().numpy() + b.detach().numpy()\n"
                 "    return torch.from_numpy(O)")),
        ("scales the caller's pixels in place", _MODEL.format(
            body="    X /= X.max()\n    return X.reshape(-1, W.shape[0]) @ W + b")),
        ("squeezes a batch of one", _MODEL.format(body="    return (X.reshape(-1, W.shape[0]) @ W + b).squeeze()")),
    ]),
    "ex2-accuracy-tests": ("ex2-accuracy", [
        ("a fraction", _ACCURACY.format(
            body="    if y_hat.ndim == 2:\n        y_hat = y_hat.argmax(dim=1)\n"
                 "    return float((y_hat == y).float().mean())")),
        ("a tensor", _ACCURACY.format(
            body="    if y_hat.ndim == 2:\n        y_hat = y_hat.argmax(dim=1)\n    return (y_hat == y).sum()")),
        ("always argmax", _ACCURACY.format(body="    return float((y_hat.argmax(dim=1) == y).sum())")),
        ("argmax over the batch", _ACCURACY.format(
            body="    if y_hat.ndim == 2:\n        y_hat = y_hat.argmax(dim=0)\n    return float((y_hat == y).sum())")),
        ("compares the scores", _ACCURACY.format(
            body="    if y_hat.ndim == 2:\n        y_hat = y_hat.max(dim=1).values\n    return float((y_hat == y).sum())")),
        ("squeezes a batch of one", _ACCURACY.format(
            body="    y_hat = y_hat.squeeze()\n    if y_hat.ndim == 2:\n        y_hat = y_hat.argmax(dim=1)\n"
                 "    return float((y_hat == y).sum())")),
        ("an int", _ACCURACY.format(
            body="    if y_hat.ndim == 2:\n        y_hat = y_hat.argmax(dim=1)\n    return int((y_hat == y).sum())")),
    ]),
    "ex3-evaluate-accuracy-tests": ("ex3-evaluate-accuracy", [
        ("mean of batch accuracies", _EVAL_REF.replace("accuracy(net(X), y)", "accuracy(net(X), y) / len(y)")
         .replace("seen += len(y)", "seen += 1")),
        ("no torch.no_grad()", _without(_EVAL_REF, "    with torch.no_grad():\n")),
        ("no net.eval()", _EVAL_REF.replace("    if isinstance(net, nn.Module):\n        net.eval()\n", "")),
        ("eval() on a plain function", _EVAL_REF.replace("    if isinstance(net, nn.Module):\n        net.eval()",
                                                         "    net.eval()")),
        ("every batch counted as full", _EVAL_REF.replace("correct, seen = 0.0, 0", "correct, seen, size = 0.0, 0, 0")
         .replace("seen += len(y)", "size = size or len(y)\n            seen += size")),
        ("the count, not the fraction", _EVAL_REF.replace("return correct / seen", "return correct")),
        ("a tensor", _EVAL_REF.replace("correct, seen = 0.0, 0", "correct, seen = torch.tensor(0.0), 0")
         .replace("accuracy(net(X), y)", "(net(X).argmax(dim=1) == y).sum()")),
    ]),
    "ex4-train-epoch-tests": ("ex4-train-epoch", [
        ("no zero_grad()", _epoch(update=_OPT_STEP.replace("            optimizer.zero_grad()\n", ""))),
        ("summed loss for the optimizer", _epoch(update=_OPT_STEP.replace("losses.mean().backward()",
                                                                          "losses.sum().backward()", 1))),
        ("mean loss for the hand-written updater", _epoch(update=_OPT_STEP.replace(
            "            losses.sum().backward()", "            losses.mean().backward()"))),
        ("the loader's batch_size for the updater", _epoch(update=_OPT_STEP.replace(
            "updater(len(y))", "updater(train_iter.batch_size if hasattr(train_iter, 'batch_size') else len(y))"))),
        ("the last batch's loss", _epoch(record=_RECORD + "\n        last = float(losses.detach().mean())",
                                         before="    last = 0.0\n").replace(
            "return loss_sum / seen, correct / seen", "return last, correct / seen")),
        ("mean of batch losses", _epoch(record=_RECORD + "\n        batch_means.append(float(losses.detach().mean()))",
                                        before="    batch_means = []\n").replace(
            "return loss_sum / seen, correct / seen", "return sum(batch_means) / len(batch_means), correct / seen")),
        ("zero_grad() after backward()", _epoch(update=_OPT_STEP.replace(
            "            optimizer.zero_grad()\n            losses.mean().backward()\n",
            "            losses.mean().backward()\n            optimizer.zero_grad()\n"))),
        ("accuracy after the step", _epoch(record=_RECORD.replace("accuracy(y_hat.detach(), y)",
                                                                  "accuracy(net(X).detach(), y)"))),
        ("reseeds", _epoch(before="    torch.manual_seed(0)\n")),
        ("removes net.train()", _epoch().replace("        net.train()\n", "        pass\n")),
    ]),
    "ex5-train-tests": ("ex5-train", [
        ("hard-codes 10 epochs", _train(epochs="10")),
        ("x off by one", _train(plot=_PLOT.replace("epoch + 1", "epoch"))),
        ("test accuracy on the training data", _train(measure=_MEASURE.replace("(net, test_iter)",
                                                                              "(net, train_iter)"))),
        ("test accuracy before the epoch", _train(measure='''        test_acc = evaluate_accuracy(net, test_iter)
        train_loss, train_acc = train_epoch(net, train_iter, loss, updater)''')),
        ("two passes per epoch", _train(measure='''        train_loss, _ = train_epoch(net, train_iter, loss, updater)
        _, train_acc = train_epoch(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)''')),
        ("train accuracy re-measured after the epoch", _train(measure='''        train_loss, _ = train_epoch(net, train_iter, loss, updater)
        train_acc = evaluate_accuracy(net, train_iter)
        test_acc = evaluate_accuracy(net, test_iter)''')),
        ("plots even when animate is False", _train(plot=_PLOT.replace(
            "        if history.animator is not None:\n            history.animator.add",
            "        if True:\n            history.animator.add"))),
        ("reseeds", _train(before="    torch.manual_seed(42)\n")),
        ("its own optimizer", _train(measure=_MEASURE.replace(
            "train_epoch(net, train_iter, loss, updater)",
            "train_epoch(net, train_iter, loss, updater if not isinstance(net, nn.Module) "
            "else torch.optim.SGD(net.parameters(), lr=0.1))"))),
        ("curves in the wrong order", _train(plot=_PLOT.replace("(train_loss, train_acc, test_acc)",
                                                                "(train_acc, train_loss, test_acc)"))),
    ]),
}

RIGHT = {
    "ex1-model-tests": ("ex1-model", [
        ("reshape by the batch length", _MODEL.format(body="    return X.reshape(len(X), -1) @ W + b")),
        ("flatten and matmul", _MODEL.format(body="    return torch.matmul(torch.flatten(X, start_dim=1), W) + b")),
        ("nn.Flatten and addmm", _MODEL.format(body="    return torch.addmm(b, nn.Flatten()(X), W)")),
    ]),
    "ex2-accuracy-tests": ("ex2-accuracy", [
        ("the book's form", _ACCURACY.format(
            body="    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:\n        y_hat = y_hat.argmax(axis=1)\n"
                 "    cmp = y_hat.type(y.dtype) == y\n    return float(cmp.type(y.dtype).sum())")),
        ("a Python loop", _ACCURACY.format(
            body="    predicted = torch.max(y_hat, 1)[1] if y_hat.dim() == 2 else y_hat\n"
                 "    return float(sum(1 for p, t in zip(predicted.tolist(), y.tolist()) if p == t))")),
        ("eq and item", _ACCURACY.format(
            body="    if y_hat.dim() > 1:\n        y_hat = torch.argmax(y_hat, dim=-1)\n"
                 "    return float(y_hat.long().eq(y).sum().item())")),
    ]),
    "ex3-evaluate-accuracy-tests": ("ex3-evaluate-accuracy", [
        ("an Accumulator", _EVALUATE.format(
            body="    if isinstance(net, nn.Module):\n        net.eval()\n    metric = dlcourse.Accumulator(2)\n"
                 "    with torch.no_grad():\n        for X, y in data_iter:\n"
                 "            metric.add(accuracy(net(X), y), y.numel())\n    return metric[0] / metric[1]")),
        ("inference_mode, mode restored", _EVALUATE.format(
            body="    was_training = getattr(net, 'training', False)\n    if hasattr(net, 'eval'):\n"
                 "        net.eval()\n    correct = total = 0\n    with torch.inference_mode():\n"
                 "        for X, y in data_iter:\n            correct += int((net(X).argmax(dim=1) == y).sum())\n"
                 "            total += X.shape[0]\n    if was_training:\n        net.train()\n"
                 "    return correct / total")),
        ("a no_grad decorator", "@torch.no_grad()\n" + _EVALUATE.format(
            body="    if isinstance(net, torch.nn.Module):\n        net.eval()\n"
                 "    pairs = [(accuracy(net(X), y), len(y)) for X, y in data_iter]\n"
                 "    return sum(c for c, _ in pairs) / sum(k for _, k in pairs)")),
    ]),
    "ex4-train-epoch-tests": ("ex4-train-epoch", [
        ("duck typing and the batch mean", _epoch(update='''        if hasattr(updater, "zero_grad"):
            updater.zero_grad(set_to_none=True)
            losses.mean().backward()
            updater.step()
        else:
            losses.sum().backward()
            updater(X.shape[0])''', record='''        with torch.no_grad():
            totals.add(float(losses.mean()) * len(y), float((y_hat.argmax(dim=1) == y).sum()), y.numel())''')),
        ("float64 sums, one backward", '''def train_epoch(net, train_iter, loss, updater):
    if isinstance(net, nn.Module):
        net.train()
    sums = torch.zeros(3, dtype=torch.float64)
    use_optim = isinstance(updater, torch.optim.Optimizer)
    for X, y in train_iter:
        logits = net(X)
        per_example = loss(logits, y)
        if use_optim:
            updater.zero_grad()
        (per_example.mean() if use_optim else per_example.sum()).backward()
        if use_optim:
            updater.step()
        else:
            updater(y.shape[0])
        batch = [per_example.detach().sum().item(), accuracy(logits, y), len(y)]
        sums += torch.tensor(batch, dtype=torch.float64)
    return float(sums[0] / sums[2]), float(sums[1] / sums[2])
'''),
    ]),
    "ex5-train-tests": ("ex5-train", [
        ("epochs from 1", _train(epochs="1, num_epochs + 1", plot=_PLOT.replace("epoch + 1", "epoch"))),
        ("a tuple of metrics, a list to the plot", _train(measure='''        metrics = train_epoch(net, train_iter, loss, updater) + (evaluate_accuracy(net, test_iter),)
        train_loss, train_acc, test_acc = metrics''', plot='''        if animate:
            history.animator.add(epoch + 1, list(metrics))''')),
    ]),
}
