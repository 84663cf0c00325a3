"""Chapter 5: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "05-model-selection"

_TRAIN = '''def train_poly(train_features, test_features, train_labels, test_labels,
               num_epochs=400, lr=0.01, batch_size=10, animator=None):
    device = train_features.device
    w = torch.zeros(train_features.shape[1], 1, device=device)
    train_iter = TensorLoader(train_features, train_labels, batch_size, shuffle=True, device=device)
{body}
    return w, evaluate_poly(w, train_features, train_labels), evaluate_poly(w, test_features, test_labels)
'''
_STEP = "            w -= lr / len(X) * (X.T @ (X @ w - y))\n"
_PLOT = ("        if animator is not None and (epoch + 1) % 20 == 0:\n"
         "            animator.add(epoch + 1, (evaluate_poly(w, train_features, train_labels),\n"
         "                                     evaluate_poly(w, test_features, test_labels)))")


def _train(step: str = _STEP, plot: str = _PLOT, head: str = "", loop: str = "        for X, y in train_iter:\n",
           epochs: str = "num_epochs") -> str:
    return _TRAIN.format(body=f"{head}    for epoch in range({epochs}):\n{loop}{step}{plot}")


_SPLIT = "def get_k_fold_data(k, i, X, y):\n    fold_size = len(X) // k\n{body}"
_KFOLD = "def k_fold(k, X, y, fit):\n{body}"
_SELECT = "def select_degree(features, labels, degrees, k, fit):\n{body}"
_STD = "def standardize(X_train, X_valid):\n{body}"
_FIT = '''def fit_standardized(X_train, y_train, X_valid, y_valid, log_target=False, num_steps=500, lr=0.1):
{prep}    t = {target}
    w = torch.zeros(X_train.shape[1], 1)
    b = torch.zeros(1)
    for _ in range({steps}):
        r = X_train @ w + b - t
{update}    pred_train, pred_valid = X_train @ w + b, X_valid @ w + b
    if log_target:
        pred_train, pred_valid = {undo}
    return {ret}
'''
_FIT_PARTS = {"prep": "    X_train, X_valid = standardize(X_train, X_valid)\n",
              "target": "torch.log(y_train) if log_target else y_train", "steps": "num_steps",
              "update": "        w = w - lr / len(X_train) * (X_train.T @ r)\n        b = b - lr * r.mean()\n",
              "undo": "pred_train.exp(), pred_valid.exp()",
              "ret": ("float((pred_train - y_train).pow(2).mean().sqrt()), "
                      "float((pred_valid - y_valid).pow(2).mean().sqrt())")}


def _fit(**parts: str) -> str:
    return _FIT.format(**dict(_FIT_PARTS, **parts))


WRONG = {
    "ex1-poly-features-tests": ("ex1-poly-features", [
        ("no factorial", "def poly_features(x, max_degree):\n"
                         "    return x.reshape(-1, 1) ** torch.arange(max_degree, dtype=x.dtype)"),
        ("powers 1 to max_degree", "def poly_features(x, max_degree):\n"
                                   "    i = torch.arange(1, max_degree + 1, dtype=x.dtype)\n"
                                   "    return x.reshape(-1, 1) ** i / torch.lgamma(i + 1).exp()"),
        ("divides by i + 1", "def poly_features(x, max_degree):\n    i = torch.arange(max_degree, dtype=x.dtype)\n"
                             "    return x.reshape(-1, 1) ** i / (i + 1)"),
        ("always float32", "import math\ndef poly_features(x, max_degree):\n"
                           "    out = torch.zeros(x.numel(), max_degree)\n    for i in range(max_degree):\n"
                           "        out[:, i] = x.reshape(-1) ** i / math.factorial(i)\n    return out"),
        ("(n,) not reshaped", "def poly_features(x, max_degree):\n    i = torch.arange(max_degree, dtype=x.dtype)\n"
                              "    return x ** i / torch.lgamma(i + 1).exp()"),
        ("reshapes the caller's x in place", "import math\ndef poly_features(x, max_degree):\n"
                                             "    if x.dim() == 1:\n        x.unsqueeze_(1)\n"
                                             "    return torch.cat([x ** i / math.factorial(i) for i in range(max_degree)], dim=1)"),
        ("one column short", "import math\ndef poly_features(x, max_degree):\n    x = x.reshape(-1, 1)\n"
                             "    return torch.cat([x ** i / math.factorial(i) for i in range(max_degree - 1)], dim=1)"),
        ("a hard-coded 20 features", "def poly_features(x, max_degree):\n    i = torch.arange(20, dtype=x.dtype)\n"
                                     "    return x.reshape(-1, 1) ** i / torch.lgamma(i + 1).exp()"),
    ]),
    "ex2-train-poly-tests": ("ex2-train-poly", [
        ("a hard-coded learning rate", _train(step="            w -= 0.01 / len(X) * (X.T @ (X @ w - y))\n")),
        ("batch_size for the last batch", _train(step="            w -= lr / batch_size * (X.T @ (X @ w - y))\n")),
        ("x off by one", _train(plot=_PLOT.replace("animator.add(epoch + 1,", "animator.add(epoch,"))),
        ("plots every epoch", _train(plot=_PLOT.replace(" and (epoch + 1) % 20 == 0", ""))),
        ("plots the last minibatch's loss", _train(plot=_PLOT.replace(
            "evaluate_poly(w, train_features, train_labels),", "float(((X @ w - y) ** 2 / 2).mean()),"))),
        ("two passes per epoch", _train(loop="        for _ in range(2):\n            for X, y in train_iter:\n",
                                        step="    " + _STEP)),
        ("reseeds", _train(head="    torch.manual_seed(0)\n")),
        ("no division by the batch length", _train(step="            w -= lr * (X.T @ (X @ w - y))\n")),
        ("a hard-coded 400 epochs", _train(epochs="400")),
        ("plots (test, train)", _train(plot=_PLOT.replace(
            "(evaluate_poly(w, train_features, train_labels),\n                                     "
            "evaluate_poly(w, test_features, test_labels))",
            "(evaluate_poly(w, test_features, test_labels), evaluate_poly(w, train_features, train_labels))"))),
        ("no shuffling", _train(loop="        for X, y in TensorLoader(train_features, train_labels, batch_size, "
                                     "device=device):\n")),
        ("a hard-coded batch size of 10", _train(loop="        for X, y in TensorLoader(train_features, train_labels, 10, "
                                                      "shuffle=True, device=device):\n")),
    ]),
    "ex3-k-fold-split-tests": ("ex3-k-fold-split", [
        ("the last fold takes the leftover rows", _SPLIT.format(body=(
            "    stop = len(X) if i == k - 1 else (i + 1) * fold_size\n"
            "    X_valid, y_valid = X[i * fold_size:stop], y[i * fold_size:stop]\n"
            "    X_train = torch.cat([X[:i * fold_size], X[stop:k * fold_size]])\n"
            "    y_train = torch.cat([y[:i * fold_size], y[stop:k * fold_size]])\n"
            "    return X_train, y_train, X_valid, y_valid"))),
        ("trains on the leftover rows", _SPLIT.format(body=(
            "    a, b = i * fold_size, (i + 1) * fold_size\n"
            "    return torch.cat([X[:a], X[b:]]), torch.cat([y[:a], y[b:]]), X[a:b], y[a:b]"))),
        ("folds rounded up", "import math\n" + _SPLIT.replace("len(X) // k", "math.ceil(len(X) / k)").format(body=(
            "    a, b = i * fold_size, (i + 1) * fold_size\n"
            "    return torch.cat([X[:a], X[b:]]), torch.cat([y[:a], y[b:]]), X[a:b], y[a:b]"))),
        ("the later folds first", _SPLIT.format(body=(
            "    a, b, end = i * fold_size, (i + 1) * fold_size, k * fold_size\n"
            "    return torch.cat([X[b:end], X[:a]]), torch.cat([y[b:end], y[:a]]), X[a:b], y[a:b]"))),
        ("returns X_train, X_valid, y_train, y_valid", _SPLIT.format(body=(
            "    a, b, end = i * fold_size, (i + 1) * fold_size, k * fold_size\n"
            "    return torch.cat([X[:a], X[b:end]]), X[a:b], torch.cat([y[:a], y[b:end]]), y[a:b]"))),
        ("i counted from 1", _SPLIT.format(body=(
            "    a, b, end = (i - 1) * fold_size, i * fold_size, k * fold_size\n"
            "    if i == 0:\n        a, b = (k - 1) * fold_size, end\n"
            "    keep = [j for j in range(k * fold_size) if not a <= j < b]\n"
            "    return X[keep], y[keep], X[a:b], y[a:b]"))),
        ("shuffles the rows", _SPLIT.format(body=(
            "    idx = torch.randperm(len(X))\n    X, y = X[idx], y[idx]\n"
            "    a, b, end = i * fold_size, (i + 1) * fold_size, k * fold_size\n"
            "    return torch.cat([X[:a], X[b:end]]), torch.cat([y[:a], y[b:end]]), X[a:b], y[a:b]"))),
    ]),
    "ex4-k-fold-tests": ("ex4-k-fold", [
        ("sums", _KFOLD.format(body=(
            "    t = v = 0.0\n    for i in range(k):\n        a, b = fit(*get_k_fold_data(k, i, X, y))\n"
            "        t, v = t + a, v + b\n    return t, v"))),
        ("the last fold's losses", _KFOLD.format(body=(
            "    for i in range(k):\n        losses = fit(*get_k_fold_data(k, i, X, y))\n    return losses"))),
        ("skips fold 0", _KFOLD.format(body=(
            "    parts = [fit(*get_k_fold_data(k, i, X, y)) for i in range(1, k)]\n"
            "    return sum(p[0] for p in parts) / (k - 1), sum(p[1] for p in parts) / (k - 1)"))),
        ("swapped", _KFOLD.format(body=(
            "    parts = [fit(*get_k_fold_data(k, i, X, y)) for i in range(k)]\n"
            "    return sum(p[1] for p in parts) / k, sum(p[0] for p in parts) / k"))),
        ("fit's arguments in the wrong order", _KFOLD.format(body=(
            "    parts = []\n    for i in range(k):\n        Xt, yt, Xv, yv = get_k_fold_data(k, i, X, y)\n"
            "        parts.append(fit(Xt, Xv, yt, yv))\n"
            "    return sum(p[0] for p in parts) / k, sum(p[1] for p in parts) / k"))),
        ("a hard-coded 5 folds", _KFOLD.format(body=(
            "    parts = [fit(*get_k_fold_data(5, i, X, y)) for i in range(5)]\n"
            "    return sum(p[0] for p in parts) / 5, sum(p[1] for p in parts) / 5"))),
        ("always fold 0", _KFOLD.format(body=(
            "    parts = [fit(*get_k_fold_data(k, 0, X, y)) for i in range(k)]\n"
            "    return sum(p[0] for p in parts) / k, sum(p[1] for p in parts) / k"))),
        ("the last fold's training loss", _KFOLD.format(body=(
            "    valid = 0.0\n    for i in range(k):\n        train, v = fit(*get_k_fold_data(k, i, X, y))\n"
            "        valid += v\n    return train, valid / k"))),
    ]),
    "ex5-select-degree-tests": ("ex5-select-degree", [
        ("p columns", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p], labels, fit)[1] for p in degrees}\n"
            "    return min(degrees, key=lambda p: losses[p]), losses"))),
        ("the training loss", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p + 1], labels, fit)[0] for p in degrees}\n"
            "    return min(degrees, key=lambda p: losses[p]), losses"))),
        ("the largest loss", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    return max(degrees, key=lambda p: losses[p]), losses"))),
        ("the last on a tie", _SELECT.format(body=(
            "    losses, best = {}, None\n    for p in degrees:\n"
            "        losses[p] = k_fold(k, features[:, :p + 1], labels, fit)[1]\n"
            "        if best is None or losses[p] <= losses[best]:\n            best = p\n    return best, losses"))),
        ("the position, not the degree", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    values = [losses[p] for p in degrees]\n    return values.index(min(values)), losses"))),
        ("a hard-coded 5 folds", _SELECT.format(body=(
            "    losses = {p: k_fold(5, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    return min(degrees, key=lambda p: losses[p]), losses"))),
        ("keyed by the number of columns", _SELECT.format(body=(
            "    losses = {p + 1: k_fold(k, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    best = min(degrees, key=lambda p: losses[p + 1])\n    return best, losses"))),
        ("every feature for every degree", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features, labels, fit)[1] for p in degrees}\n"
            "    return min(degrees, key=lambda p: losses[p]), losses"))),
        ("the smallest degree on a tie", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    return min(sorted(degrees), key=lambda p: losses[p]), losses"))),
    ]),
    "ex6-standardize-tests": ("ex6-standardize", [
        ("the validation part's own statistics", _STD.format(body=(
            "    def one(X):\n        std = X.std(dim=0)\n        return (X - X.mean(dim=0)) / torch.where(std > 0, std, 1.0)\n"
            "    return one(X_train), one(X_valid)"))),
        ("statistics of both parts", _STD.format(body=(
            "    both = torch.cat([X_train, X_valid])\n    mean, std = both.mean(dim=0), both.std(dim=0)\n"
            "    std = torch.where(std > 0, std, 1.0)\n    return (X_train - mean) / std, (X_valid - mean) / std"))),
        ("divides by 0", _STD.format(body=(
            "    mean, std = X_train.mean(dim=0), X_train.std(dim=0)\n"
            "    return (X_train - mean) / std, (X_valid - mean) / std"))),
        ("in place", _STD.format(body=(
            "    mean, std = X_train.mean(dim=0), X_train.std(dim=0)\n    std[std == 0] = 1\n"
            "    X_train -= mean\n    X_train /= std\n    X_valid -= mean\n    X_valid /= std\n"
            "    return X_train, X_valid"))),
        ("over the rows", _STD.format(body=(
            "    mean, std = X_train.mean(dim=1, keepdim=True), X_train.std(dim=1, keepdim=True)\n"
            "    std = torch.where(std > 0, std, 1.0)\n"
            "    return (X_train - mean) / std, (X_valid - X_valid.mean(dim=1, keepdim=True)) / std.mean()"))),
        ("divides by the variance", _STD.format(body=(
            "    mean, var = X_train.mean(dim=0), X_train.var(dim=0)\n    var = torch.where(var > 0, var, 1.0)\n"
            "    return (X_train - mean) / var, (X_valid - mean) / var"))),
        ("a constant column left as it is", _STD.format(body=(
            "    mean, std = X_train.mean(dim=0), X_train.std(dim=0)\n"
            "    scaled = lambda X: torch.where(std > 0, (X - mean) / std, X)\n"
            "    return scaled(X_train), scaled(X_valid)"))),
        ("an epsilon instead", _STD.format(body=(
            "    mean, std = X_train.mean(dim=0), X_train.std(dim=0)\n"
            "    return (X_train - mean) / (std + 1e-8), (X_valid - mean) / (std + 1e-8)"))),
        ("no centring", _STD.format(body=(
            "    std = X_train.std(dim=0)\n    std = torch.where(std > 0, std, 1.0)\n"
            "    return X_train / std, X_valid / std"))),
        ("one mean and std for all", _STD.format(body=(
            "    mean, std = X_train.mean(), X_train.std()\n    return (X_train - mean) / std, (X_valid - mean) / std"))),
    ]),
    "ex7-fit-standardized-tests": ("ex7-fit-standardized", [
        ("raw features", _fit(prep="")),
        ("the 1/2 in the RMSE", _fit(ret=("float(((pred_train - y_train).pow(2) / 2).mean().sqrt()), "
                                          "float(((pred_valid - y_valid).pow(2) / 2).mean().sqrt())"))),
        ("the MSE", _fit(ret="float((pred_train - y_train).pow(2).mean()), float((pred_valid - y_valid).pow(2).mean())")),
        ("the RMSE in log units", _fit(undo="pred_train, pred_valid", ret=(
            "float((pred_train - t).pow(2).mean().sqrt()), "
            "float((pred_valid - (y_valid.log() if log_target else y_valid)).pow(2).mean().sqrt())"))),
        ("forgets exp", _fit(undo="pred_train, pred_valid")),
        ("a hard-coded 500 steps", _fit(steps="500")),
        ("a hard-coded learning rate", _fit(update=_FIT_PARTS["update"].replace("lr", "0.1"))),
        ("the summed gradient", _fit(update="        w = w - lr * (X_train.T @ r)\n        b = b - lr * r.sum()\n")),
        ("no bias step", _fit(update="        w = w - lr / len(X_train) * (X_train.T @ r)\n")),
        ("the log in place", _fit(target="y_train.log_() if log_target else y_train",
                                  ret=("float((pred_train - (y_train.exp() if log_target else y_train)).pow(2).mean()"
                                       ".sqrt()), float((pred_valid - y_valid).pow(2).mean().sqrt())"))),
        ("the log target ignored", _fit(target="y_train")),
        ("each part its own statistics", _fit(prep=("    X_train = standardize(X_train, X_train)[0]\n"
                                                    "    X_valid = standardize(X_valid, X_valid)[0]\n"))),
    ]),
}

RIGHT = {
    "ex1-poly-features-tests": ("ex1-poly-features", [
        ("a loop with math.factorial", "import math\ndef poly_features(x, max_degree):\n    x = x.reshape(-1)\n"
                                       "    return torch.stack([x ** i / math.factorial(i) for i in range(max_degree)], dim=1)"),
        ("a running product", "def poly_features(x, max_degree):\n    x = x.reshape(-1, 1)\n    cols = [torch.ones_like(x)]\n"
                              "    for i in range(1, max_degree):\n        cols.append(cols[-1] * x / i)\n"
                              "    return torch.cat(cols, dim=1)"),
        ("math.gamma in a list", "import math\ndef poly_features(x, max_degree):\n"
                                 "    powers = [x.reshape(-1, 1).pow(i) / math.gamma(i + 1) for i in range(max_degree)]\n"
                                 "    return torch.hstack(powers)"),
    ]),
    "ex2-train-poly-tests": ("ex2-train-poly", [
        ("not in place, shape[0]", _train(
            step="            w = w - lr * X.T @ (X @ w - y) / X.shape[0]\n",
            plot=_PLOT.replace("(epoch + 1) % 20 == 0", "epoch % 20 == 19"))),
        ("autograd on the mean loss", _train(
            head="    w.requires_grad_(True)\n",
            step=("            l = ((X @ w - y) ** 2 / 2).mean()\n            l.backward()\n"
                  "            with torch.no_grad():\n                w -= lr * w.grad\n            w.grad = None\n"),
            plot=_PLOT.replace("evaluate_poly(w,", "evaluate_poly(w.detach(),")).replace(
                "    return w,", "    w = w.detach()\n    return w,")),
        ("sub_ with the gradient first", _train(
            step="            grad = X.T @ (X @ w - y) / len(y)\n            w.sub_(lr * grad)\n",
            plot=("        if animator and (epoch + 1) % 20 == 0:\n"
                  "            train_l = evaluate_poly(w, train_features, train_labels)\n"
                  "            animator.add(epoch + 1, [train_l, evaluate_poly(w, test_features, test_labels)])"))),
    ]),
    "ex3-k-fold-split-tests": ("ex3-k-fold-split", [
        ("a boolean mask", _SPLIT.format(body=(
            "    n = k * fold_size\n    valid = torch.arange(n) // fold_size == i\n"
            "    return X[:n][~valid], y[:n][~valid], X[:n][valid], y[:n][valid]"))),
        ("slices before and after", _SPLIT.format(body=(
            "    a, b, end = i * fold_size, (i + 1) * fold_size, k * fold_size\n"
            "    return torch.cat([X[:a], X[b:end]]), torch.cat([y[:a], y[b:end]]), X[a:b], y[a:b]"))),
        ("split into folds", _SPLIT.format(body=(
            "    Xs, ys = X[:k * fold_size].split(fold_size), y[:k * fold_size].split(fold_size)\n"
            "    rest = [j for j in range(k) if j != i]\n"
            "    return torch.cat([Xs[j] for j in rest]), torch.cat([ys[j] for j in rest]), Xs[i], ys[i]"))),
    ]),
    "ex4-k-fold-tests": ("ex4-k-fold", [
        ("lists and len", _KFOLD.format(body=(
            "    train, valid = [], []\n    for i in range(k):\n        a, b = fit(*get_k_fold_data(k, i, X, y))\n"
            "        train.append(a)\n        valid.append(b)\n    return sum(train) / len(train), sum(valid) / len(valid)"))),
        ("a float64 tensor mean", _KFOLD.format(body=(
            "    m = torch.tensor([fit(*get_k_fold_data(k, i, X, y)) for i in range(k)], dtype=torch.float64).mean(dim=0)\n"
            "    return float(m[0]), float(m[1])"))),
        ("statistics.fmean", "import statistics\n" + _KFOLD.format(body=(
            "    train, valid = zip(*(fit(*get_k_fold_data(k, i, X, y)) for i in range(k)))\n"
            "    return statistics.fmean(train), statistics.fmean(valid)"))),
    ]),
    "ex5-select-degree-tests": ("ex5-select-degree", [
        ("folds by hand", _SELECT.format(body=(
            "    losses = {}\n    for p in degrees:\n        total = 0.0\n        for i in range(k):\n"
            "            total += fit(*get_k_fold_data(k, i, features[:, :p + 1], labels))[1]\n"
            "        losses[p] = total / k\n    return min(degrees, key=losses.get), losses"))),
        ("a stable sort", _SELECT.format(body=(
            "    losses = {p: k_fold(k, features[:, :p + 1], labels, fit)[1] for p in degrees}\n"
            "    return sorted(degrees, key=losses.get)[0], losses"))),
        ("a strict comparison", _SELECT.format(body=(
            "    losses, best = {}, None\n    for p in degrees:\n"
            "        _, losses[p] = k_fold(k, features[:, :p + 1], labels, fit)\n"
            "        if best is None or losses[p] < losses[best]:\n            best = p\n    return best, losses"))),
    ]),
    "ex6-standardize-tests": ("ex6-standardize", [
        ("numpy", "import numpy as np\n" + _STD.format(body=(
            "    A, B = X_train.numpy(), X_valid.numpy()\n    mean, std = A.mean(axis=0), A.std(axis=0)\n"
            "    std[std == 0] = 1\n    return torch.from_numpy((A - mean) / std), torch.from_numpy((B - mean) / std)"))),
        ("the population std", _STD.format(body=(
            "    mean, std = X_train.mean(dim=0), X_train.std(dim=0, unbiased=False)\n    std[std == 0] = 1\n"
            "    return (X_train - mean) / std, (X_valid - mean) / std"))),
        ("by hand, masked_fill", _STD.format(body=(
            "    mean = X_train.sum(dim=0) / len(X_train)\n"
            "    std = ((X_train - mean) ** 2).sum(dim=0).div(len(X_train) - 1).sqrt()\n"
            "    std = std.masked_fill(std == 0, 1.0)\n    return (X_train - mean) / std, (X_valid - mean) / std"))),
        ("in float64", _STD.format(body=(
            "    A, B = X_train.double(), X_valid.double()\n    mean, std = A.mean(0), A.std(0)\n"
            "    std = torch.where(std == 0, torch.ones_like(std), std)\n    return (A - mean) / std, (B - mean) / std"))),
    ]),
    "ex7-fit-standardized-tests": ("ex7-fit-standardized", [
        ("nn.Linear and torch.optim.SGD", (
            "def fit_standardized(X_train, y_train, X_valid, y_valid, log_target=False, num_steps=500, lr=0.1):\n"
            "    X_train, X_valid = standardize(X_train, X_valid)\n"
            "    t = y_train.log() if log_target else y_train\n    net = nn.Linear(X_train.shape[1], 1)\n"
            "    nn.init.zeros_(net.weight)\n    nn.init.zeros_(net.bias)\n"
            "    trainer = torch.optim.SGD(net.parameters(), lr=lr)\n    for _ in range(num_steps):\n"
            "        trainer.zero_grad()\n        ((net(X_train) - t) ** 2 / 2).mean().backward()\n"
            "        trainer.step()\n    with torch.no_grad():\n        p, q = net(X_train), net(X_valid)\n"
            "    if log_target:\n        p, q = p.exp(), q.exp()\n"
            "    return float(((p - y_train) ** 2).mean() ** 0.5), float(((q - y_valid) ** 2).mean() ** 0.5)\n")),
        ("float64 inside", _fit(prep=("    X_train, X_valid = (v.double() for v in standardize(X_train, X_valid))\n"
                                      "    y_train, y_valid = y_train.double(), y_valid.double()\n"),
                                ).replace("1)\n    b = torch.zeros(1)", "1, dtype=torch.float64)\n"
                                          "    b = torch.zeros(1, dtype=torch.float64)")),
        ("a column of ones for b", "import math\n"
         "def fit_standardized(X_train, y_train, X_valid, y_valid, log_target=False, num_steps=500, lr=0.1):\n"
         "    X_train, X_valid = standardize(X_train, X_valid)\n"
         "    A = torch.cat([X_train, torch.ones(len(X_train), 1)], dim=1)\n"
         "    B = torch.cat([X_valid, torch.ones(len(X_valid), 1)], dim=1)\n"
         "    t = y_train.log() if log_target else y_train\n    w = torch.zeros(A.shape[1], 1)\n"
         "    for _ in range(num_steps):\n        w -= lr / len(A) * A.T @ (A @ w - t)\n"
         "    f = torch.exp if log_target else (lambda v: v)\n"
         "    rmse = lambda P, Y: math.sqrt(float(((f(P @ w) - Y) ** 2).mean()))\n"
         "    return rmse(A, y_train), rmse(B, y_valid)\n"),
        ("in-place steps, F.mse_loss", _fit(
            update="        w -= lr * X_train.T @ r / len(r)\n        b -= lr * r.sum() / len(r)\n",
            ret="float(F.mse_loss(pred_train, y_train).sqrt()), float(F.mse_loss(pred_valid, y_valid).sqrt())")),
    ]),
}
