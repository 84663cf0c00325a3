"""Chapter 6: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "06-weight-decay"

_TRAIN = '''def train_scratch(lambd, train_features, train_labels, test_features, test_labels,
                  num_epochs=100, lr=0.003, batch_size=5, animator=None):
    device = train_features.device
    w = torch.normal(0, 1, size=(train_features.shape[1], 1)).to(device).requires_grad_()
    b = torch.zeros(1, device=device, requires_grad=True)
    train_iter = TensorLoader(train_features, train_labels, batch_size, shuffle=True, device=device)
{body}
    return (w, b, evaluate(w, b, (train_features, train_labels)),
            evaluate(w, b, (test_features, test_labels)))
'''

# the loop of the reference, with {lr}, {n}, {penalty}, {x}, {cond}, {plot} to vary one thing at a time
_LOOP = '''    for epoch in range({epochs}):
{pre}        for X, y in train_iter:
            fit = dlcourse.squared_loss(dlcourse.linreg(X, w, b), y).sum()
            total = fit + {penalty}
            total.backward()
            dlcourse.sgd([w, b], {lr}, {n})
        if animator is not None and {cond}:
            animator.add({x}, {plot})
'''
_GOOD = dict(epochs="num_epochs", pre="", penalty="len(y) * lambd * l2_penalty(w)", lr="lr", n="len(y)",
             cond="(epoch + 1) % 5 == 0", x="epoch + 1",
             plot="(evaluate(w, b, (train_features, train_labels)), evaluate(w, b, (test_features, test_labels)))")


def _train(**change) -> str:
    return _TRAIN.format(body=_LOOP.format(**dict(_GOOD, **change)).rstrip("\n"))


def _l2(body: str) -> str:
    return f"def l2_penalty(w):\n    {body}"


def _decay(body: str) -> str:
    return "def sgd_decay(w, b, lr, batch_size, lambd):\n    with torch.no_grad():\n" + body


def _trainer(body: str) -> str:
    return "def make_trainer(net, lr, wd):\n" + body


WRONG = {
    "ex1-l2-penalty-tests": ("ex1-l2-penalty", [
        ("the norm, not squared", _l2("return torch.norm(w) / 2")),
        ("the mean", _l2("return (w ** 2).mean() / 2")),
        ("no half", _l2("return (w ** 2).sum()")),
        ("a python float", _l2("return float((w ** 2).sum() / 2)")),
        ("detached", _l2("return (w.detach() ** 2).sum() / 2")),
        ("sums over the first dimension only", _l2("return (w ** 2).sum(dim=0) / 2")),
        ("squares w in place", _l2("return w.data.pow_(2).sum() / 2")),
        ("the L1 penalty", _l2("return w.abs().sum() / 2")),
    ]),
    "ex2-train-scratch-tests": ("ex2-train-scratch", [
        ("a hard-coded learning rate", _train(lr="0.003")),
        ("the penalty once per batch", _train(penalty="lambd * l2_penalty(w)")),
        ("batch_size for the last batch", _train(penalty="batch_size * lambd * l2_penalty(w)", n="batch_size")),
        ("x off by one", _train(x="epoch")),
        ("plots every epoch", _train(cond="True")),
        ("plots the penalised loss", _train(
            plot="(evaluate(w, b, (train_features, train_labels)) + lambd * float(l2_penalty(w)), "
                 "evaluate(w, b, (test_features, test_labels)))")),
        ("plots the last minibatch's loss", _train(
            plot="(float(fit) / len(y), evaluate(w, b, (test_features, test_labels)))")),
        ("two passes per epoch", _train(pre="        for _ in range(2):\n  ")),
        ("hard-coded 100 epochs", _train(epochs="100")),
        ("reseeds", _train(pre="        torch.manual_seed(epoch)\n")),
        ("decays the bias too", _train(penalty="len(y) * lambd * (l2_penalty(w) + l2_penalty(b))")),
        ("ignores lambd", _train(penalty="len(y) * 3 * l2_penalty(w)")),
        ("scales the caller's labels", _train(pre="        train_labels *= 1.0001\n")),
    ]),
    "ex3-sgd-decay-tests": ("ex3-sgd-decay", [
        ("decays the bias too", _decay("        for p in (w, b):\n            p *= 1 - lr * lambd\n"
                                       "            p -= lr * p.grad / batch_size\n            p.grad.zero_()")),
        ("decays after the step", _decay("        w -= lr * w.grad / batch_size\n        w *= 1 - lr * lambd\n"
                                         "        b -= lr * b.grad / batch_size\n        w.grad.zero_()\n        b.grad.zero_()")),
        ("decay without lr", _decay("        w *= 1 - lambd\n        w -= lr * w.grad / batch_size\n"
                                    "        b -= lr * b.grad / batch_size\n        w.grad.zero_()\n        b.grad.zero_()")),
        ("no division by the batch size", _decay("        w *= 1 - lr * lambd\n        w -= lr * w.grad\n        b -= lr * b.grad\n"
                                                 "        w.grad.zero_()\n        b.grad.zero_()")),
        ("keeps the gradients", _decay("        w *= 1 - lr * lambd\n        w -= lr * w.grad / batch_size\n"
                                       "        b -= lr * b.grad / batch_size")),
        ("not in place", _decay("        w = (1 - lr * lambd) * w - lr * w.grad / batch_size\n"
                                "        b = b - lr * b.grad / batch_size")),
        ("decay divided by the batch size", _decay("        w *= 1 - lr * lambd / batch_size\n        w -= lr * w.grad / batch_size\n"
                                                   "        b -= lr * b.grad / batch_size\n        w.grad.zero_()\n        b.grad.zero_()")),
    ]),
    "ex4-make-trainer-tests": ("ex4-make-trainer", [
        ("decays everything", _trainer("    return torch.optim.SGD(net.parameters(), lr=lr, weight_decay=wd)")),
        ("decays the biases, not the weights", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    b = [p for n, p in net.named_parameters() if n.endswith('bias')]\n"
            "    return torch.optim.SGD([{'params': b, 'weight_decay': wd}, {'params': w}], lr=lr)")),
        ("forgets the biases", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    return torch.optim.SGD(w, lr=lr, weight_decay=wd)")),
        ("a hard-coded learning rate", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    b = [p for n, p in net.named_parameters() if n.endswith('bias')]\n"
            "    return torch.optim.SGD([{'params': w, 'weight_decay': wd}, {'params': b}], lr=0.003)")),
        ("only the first layer's weight", _trainer(
            "    first = net[0].weight\n    rest = [p for p in net.parameters() if p is not first]\n"
            "    return torch.optim.SGD([{'params': [first], 'weight_decay': wd}, {'params': rest}], lr=lr)")),
        ("momentum", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    b = [p for n, p in net.named_parameters() if n.endswith('bias')]\n"
            "    return torch.optim.SGD([{'params': w, 'weight_decay': wd}, {'params': b}], lr=lr, momentum=0.9)")),
        ("Adam", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    b = [p for n, p in net.named_parameters() if n.endswith('bias')]\n"
            "    return torch.optim.Adam([{'params': w, 'weight_decay': wd}, {'params': b}], lr=lr)")),
        ("weights twice", _trainer(
            "    w = [p for n, p in net.named_parameters() if n.endswith('weight')]\n"
            "    return torch.optim.SGD([{'params': w, 'weight_decay': wd},\n"
            "                            {'params': list(net.parameters()), 'weight_decay': 0}], lr=lr)")),
    ]),
}

RIGHT = {
    "ex1-l2-penalty-tests": ("ex1-l2-penalty", [
        ("norm squared", _l2("return torch.linalg.norm(w) ** 2 / 2")),
        ("dot of the flattened", _l2("v = w.reshape(-1)\n    return 0.5 * torch.dot(v, v)")),
        ("pow and sum", _l2("return torch.sum(w.pow(2)) * 0.5")),
    ]),
    "ex2-train-scratch-tests": ("ex2-train-scratch", [
        ("the mean loss plus the penalty, sgd with 1", _TRAIN.format(body='''    for epoch in range(1, num_epochs + 1):
        for X, y in train_iter:
            l = dlcourse.squared_loss(dlcourse.linreg(X, w, b), y).mean() + lambd * l2_penalty(w)
            l.backward()
            dlcourse.sgd([w, b], lr, 1)
        if animator and epoch % 5 == 0:
            train_l = evaluate(w, b, (train_features, train_labels))
            test_l = evaluate(w, b, (test_features, test_labels))
            animator.add(epoch, [train_l, test_l])''')),
        ("the penalty times X.shape[0], plotted from a list", _train(
            penalty="lambd * l2_penalty(w) * X.shape[0]", n="X.shape[0]",
            plot="[evaluate(w, b, d) for d in ((train_features, train_labels), (test_features, test_labels))]")),
    ]),
    "ex3-sgd-decay-tests": ("ex3-sgd-decay", [
        ("data and mul_", "def sgd_decay(w, b, lr, batch_size, lambd):\n"
                          "    w.data.mul_(1 - lr * lambd).sub_(lr / batch_size * w.grad)\n"
                          "    b.data.sub_(lr / batch_size * b.grad)\n    w.grad.data.zero_()\n    b.grad.data.zero_()"),
        ("copy_ and grad = None", _decay("        w.copy_((1 - lr * lambd) * w - lr * w.grad / batch_size)\n"
                                         "        b.copy_(b - lr * b.grad / batch_size)\n        w.grad = None\n        b.grad = None")),
    ]),
    "ex4-make-trainer-tests": ("ex4-make-trainer", [
        ("by the number of dimensions", _trainer(
            "    groups = [{'params': [p for p in net.parameters() if p.dim() > 1], 'weight_decay': wd},\n"
            "              {'params': [p for p in net.parameters() if p.dim() == 1], 'weight_decay': 0.0}]\n"
            "    return torch.optim.SGD(groups, lr)")),
        ("one loop, lr per group", _trainer(
            "    decay, no_decay = [], []\n    for name, p in net.named_parameters():\n"
            "        (no_decay if 'bias' in name else decay).append(p)\n"
            "    return torch.optim.SGD([dict(params=decay, weight_decay=wd, lr=lr),\n"
            "                            dict(params=no_decay, weight_decay=0, lr=lr)], lr=lr)")),
    ]),
}
