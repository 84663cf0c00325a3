"""Chapter 1: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "01-linear-regression"

_TRAIN = '''def train_linreg(features, labels, lr, num_epochs, batch_size, animator=None):
    w = torch.normal(0, 0.01, size=(features.shape[1], 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
{body}
    return w, b
'''


def _train(body: str) -> str:
    return _TRAIN.format(body=body)


WRONG = {
    "ex1-synthetic-data-tests": ("ex1-synthetic-data", [
        ("no noise", "def synthetic_data(w, b, num_examples):\n    X = torch.normal(0, 1, (num_examples, len(w)))\n"
                     "    return X, (X @ w + b).reshape(-1, 1)"),
        ("noise of std 0.1", "def synthetic_data(w, b, num_examples):\n    X = torch.normal(0, 1, (num_examples, len(w)))\n"
                             "    y = X @ w + b + torch.normal(0, 0.1, (num_examples,))\n    return X, y.reshape(-1, 1)"),
        ("y of shape (n,)", "def synthetic_data(w, b, num_examples):\n    X = torch.normal(0, 1, (num_examples, len(w)))\n"
                            "    return X, X @ w + b + torch.normal(0, 0.01, (num_examples,))"),
        ("uniform features", "def synthetic_data(w, b, num_examples):\n    X = torch.rand(num_examples, len(w))\n"
                             "    y = X @ w + b + torch.normal(0, 0.01, (num_examples,))\n    return X, y.reshape(-1, 1)"),
        ("reseeds", "def synthetic_data(w, b, num_examples):\n    torch.manual_seed(0)\n"
                    "    X = torch.normal(0, 1, (num_examples, len(w)))\n"
                    "    y = X @ w + b + torch.normal(0, 0.01, (num_examples,))\n    return X, y.reshape(-1, 1)"),
        ("float64 from numpy", "import numpy as np\ndef synthetic_data(w, b, num_examples):\n"
                               "    X = torch.from_numpy(np.random.normal(0, 1, (num_examples, len(w))))\n"
                               "    y = X @ w.double() + b + torch.normal(0, 0.01, (num_examples,)).double()\n"
                               "    return X, y.reshape(-1, 1)"),
        ("the package's own", "def synthetic_data(w, b, num_examples):\n    return dlcourse.synthetic_data(w, b, num_examples)"),
        ("changes the caller's w", "def synthetic_data(w, b, num_examples):\n    w.mul_(1.0).add_(0.0)\n    w += 0\n"
                                   "    w[0] = w[0] * 1.5\n    X = torch.normal(0, 1, (num_examples, len(w)))\n"
                                   "    y = X @ w + b + torch.normal(0, 0.01, (num_examples,))\n    return X, y.reshape(-1, 1)"),
    ]),
    "ex2-data-iter-tests": ("ex2-data-iter", [
        ("no shuffle", "def data_iter(batch_size, features, labels):\n    for i in range(0, len(features), batch_size):\n"
                       "        yield features[i:i + batch_size], labels[i:i + batch_size]"),
        ("drops the last batch", "def data_iter(batch_size, features, labels):\n    idx = torch.randperm(len(features))\n"
                                 "    for i in range(0, len(features) - batch_size + 1, batch_size):\n"
                                 "        j = idx[i:i + batch_size]\n        yield features[j], labels[j]"),
        ("shuffles labels apart", "def data_iter(batch_size, features, labels):\n    a, b = torch.randperm(len(features)), torch.randperm(len(features))\n"
                                  "    for i in range(0, len(features), batch_size):\n"
                                  "        yield features[a[i:i + batch_size]], labels[b[i:i + batch_size]]"),
        ("samples with replacement", "def data_iter(batch_size, features, labels):\n    n = len(features)\n"
                                     "    for i in range(0, n, batch_size):\n        j = torch.randint(0, n, (min(batch_size, n - i),))\n"
                                     "        yield features[j], labels[j]"),
        ("reseeds every pass", "def data_iter(batch_size, features, labels):\n    torch.manual_seed(1)\n"
                               "    idx = torch.randperm(len(features))\n    for i in range(0, len(features), batch_size):\n"
                               "        j = idx[i:i + batch_size]\n        yield features[j], labels[j]"),
        ("flattens the labels", "def data_iter(batch_size, features, labels):\n    idx = torch.randperm(len(features))\n"
                                "    for i in range(0, len(features), batch_size):\n        j = idx[i:i + batch_size]\n"
                                "        yield features[j], labels[j].reshape(-1)"),
    ]),
    "ex3-linreg-tests": ("ex3-linreg", [
        ("forgets the bias", "def linreg(X, w, b):\n    return X @ w"),
        ("flattens", "def linreg(X, w, b):\n    return (X @ w + b).reshape(-1)"),
        ("elementwise", "def linreg(X, w, b):\n    return (X * w.reshape(-1)).sum(dim=1, keepdim=True) - b"),
        ("the book's own", "from d2l import torch as d2l\ndef linreg(X, w, b):\n    return d2l.linreg(X, w, b)"),
        ("the package's own, renamed", "_f = dlcourse.linreg\ndef linreg(X, w, b):\n    return _f(X, w, b)"),
    ]),
    "ex4-squared-loss-tests": ("ex4-squared-loss", [
        ("the mean", "def squared_loss(y_hat, y):\n    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()"),
        ("no half", "def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)) ** 2"),
        ("broadcasts (n, n)", "def squared_loss(y_hat, y):\n    return (y_hat - y) ** 2 / 2"),
        ("absolute error", "def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)).abs() / 2"),
        ("the sum", "def squared_loss(y_hat, y):\n    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).sum()"),
    ]),
    "ex5-sgd-tests": ("ex5-sgd", [
        ("no division", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for p in params:\n"
                        "            p -= lr * p.grad\n            p.grad.zero_()"),
        ("keeps the gradient", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for p in params:\n"
                               "            p -= lr * p.grad / batch_size"),
        ("ascends", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for p in params:\n"
                    "            p += lr * p.grad / batch_size\n            p.grad.zero_()"),
        ("only the first parameter", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n"
                                     "        params[0] -= lr * params[0].grad / batch_size\n"
                                     "        for p in params:\n            p.grad.zero_()"),
        ("a hard-coded learning rate", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for p in params:\n"
                                       "            p -= 0.03 * p.grad / batch_size\n            p.grad.zero_()"),
        ("the package's own", "def sgd(params, lr, batch_size):\n    dlcourse.sgd(params, lr, batch_size)"),
    ]),
    "ex6-train-tests": ("ex6-train", [
        ("a hard-coded learning rate", _train(
            "    for epoch in range(num_epochs):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], 0.03, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("hard-coded 3 epochs", _train(
            "    for epoch in range(3):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("batch_size for the last batch", _train(
            "    for epoch in range(num_epochs):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], lr, batch_size)\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("plots the last minibatch's loss", _train(
            "    for epoch in range(num_epochs):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            l = squared_loss(linreg(X, w, b), y)\n            l.sum().backward()\n            sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            animator.add(epoch + 1, float(l.mean()))")),
        ("x off by one", _train(
            "    for epoch in range(num_epochs):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("two passes per epoch", _train(
            "    for epoch in range(num_epochs):\n        for _ in range(2):\n"
            "            for X, y in data_iter(batch_size, features, labels):\n"
            "                squared_loss(linreg(X, w, b), y).sum().backward()\n                sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("reseeds", _train(
            "    torch.manual_seed(0)\n    for epoch in range(num_epochs):\n"
            "        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
        ("scales the caller's features", _train(
            "    features /= 1.0001\n    for epoch in range(num_epochs):\n"
            "        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd([w, b], lr, len(y))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                animator.add(epoch + 1, float(squared_loss(linreg(features, w, b), labels).mean()))")),
    ]),
}

RIGHT = {
    "ex1-synthetic-data-tests": ("ex1-synthetic-data", [
        ("randn and matmul", "def synthetic_data(w, b, num_examples):\n    X = torch.randn(num_examples, w.numel())\n"
                             "    y = torch.matmul(X, w) + b\n    y = y + 0.01 * torch.randn(num_examples)\n"
                             "    return X, y.unsqueeze(1)"),
        ("noise of shape (n, 1)", "def synthetic_data(w, b, num_examples):\n    X = torch.normal(0.0, 1.0, size=(num_examples, len(w)))\n"
                                  "    return X, (X @ w + b).reshape(-1, 1) + torch.normal(0.0, 0.01, size=(num_examples, 1))"),
    ]),
    "ex2-data-iter-tests": ("ex2-data-iter", [
        ("a python shuffle", "import random\ndef data_iter(batch_size, features, labels):\n    idx = list(range(len(features)))\n"
                             "    random.shuffle(idx)\n    for i in range(0, len(idx), batch_size):\n"
                             "        j = torch.tensor(idx[i:i + batch_size])\n        yield features[j], labels[j]"),
        ("split of a permutation", "def data_iter(batch_size, features, labels):\n"
                                   "    for j in torch.randperm(features.shape[0]).split(batch_size):\n"
                                   "        yield features[j], labels[j]"),
    ]),
    "ex3-linreg-tests": ("ex3-linreg", [
        ("torch.matmul", "def linreg(X, w, b):\n    return torch.matmul(X, w) + b"),
        ("float64 inside", "def linreg(X, w, b):\n    return (X.double() @ w.double() + b.double()).to(X.dtype)"),
    ]),
    "ex4-squared-loss-tests": ("ex4-squared-loss", [
        ("view_as and pow", "def squared_loss(y_hat, y):\n    return 0.5 * (y_hat - y.view_as(y_hat)).pow(2)"),
        ("float64", "def squared_loss(y_hat, y):\n    return ((y_hat.double() - y.double().reshape(-1, 1)) ** 2) / 2"),
    ]),
    "ex5-sgd-tests": ("ex5-sgd", [
        ("sub_ and grad = None", "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for p in params:\n"
                                 "            p.sub_(p.grad * (lr / batch_size))\n            p.grad = None"),
        ("data attribute", "def sgd(params, lr, batch_size):\n    for p in params:\n"
                           "        p.data -= lr / batch_size * p.grad.data\n        p.grad.data.zero_()"),
    ]),
    "ex6-train-tests": ("ex6-train", [
        ("loss of the epoch computed under no_grad with mean()", _train(
            "    for epoch in range(1, num_epochs + 1):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            loss = squared_loss(linreg(X, w, b), y)\n            loss.sum().backward()\n"
            "            sgd([w, b], lr, X.shape[0])\n        if animator:\n            with torch.no_grad():\n"
            "                animator.add(epoch, squared_loss(linreg(features, w, b), labels).mean().item())")),
        ("a list for y", _train(
            "    for epoch in range(num_epochs):\n        for X, y in data_iter(batch_size, features, labels):\n"
            "            squared_loss(linreg(X, w, b), y).sum().backward()\n            sgd((w, b), lr, len(X))\n"
            "        if animator is not None:\n            with torch.no_grad():\n"
            "                l = squared_loss(linreg(features, w, b), labels)\n"
            "                animator.add(epoch + 1, [float(l.sum() / len(l))])")),
    ]),
}
