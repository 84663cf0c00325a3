"""Chapter 2: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "02-softmax-regression"

_TRAIN = '''def train_softmax_regression(X, y, num_classes, lr, num_epochs, X_test, y_test, animator=None):
    W = torch.zeros(X.shape[1], num_classes, device=X.device)
    b = torch.zeros(num_classes, device=X.device)
{body}
    return W, b
'''

# the reference loop, with {step}, {record} and {x} to vary one part at a time
_LOOP = '''    for epoch in range(num_epochs):
{step}
        if animator is not None:
{record}
            animator.add({x}, (train_loss, blob_accuracy(W, b, X, y), blob_accuracy(W, b, X_test, y_test)))'''
_STEP = '''        G = softmax_ce_grad(X @ W + b, y)
        W = W - lr * X.T @ G
        b = b - lr * G.sum(dim=0)'''
_RECORD = "            train_loss = float(stable_cross_entropy(X @ W + b, y).mean())"


def _train(body: str = "", *, step: str = _STEP, record: str = _RECORD, x: str = "epoch + 1") -> str:
    return _TRAIN.format(body=body or _LOOP.format(step=step, record=record, x=x))


def _fn(head: str, body: str) -> str:
    return f"def {head}:\n" + "\n".join("    " + line for line in body.split("\n"))


def _one_hot(body: str) -> str:
    return _fn("one_hot(y, num_classes)", body)


def _softmax(body: str) -> str:
    return _fn("softmax(O)", body)


def _ce(body: str) -> str:
    return _fn("cross_entropy(y_hat, y)", body)


def _stable(body: str) -> str:
    return _fn("stable_cross_entropy(O, y)", body)


def _grad(body: str) -> str:
    return _fn("softmax_ce_grad(O, y)", body)


ROWS = "torch.arange(len(y))"

WRONG = {
    "ex1-one-hot-tests": ("ex1-one-hot", [
        ("ignores num_classes", _one_hot("return F.one_hot(y).float()")),
        ("int64 from F.one_hot", _one_hot("return F.one_hot(y, num_classes)")),
        ("transposed", _one_hot("Y = torch.zeros(num_classes, len(y))\nY[y, torch.arange(len(y))] = 1.0\nreturn Y")),
        ("whole columns", _one_hot("Y = torch.zeros(len(y), num_classes)\nY[:, y] = 1.0\nreturn Y")),
        ("float64", _one_hot("Y = torch.zeros(len(y), num_classes, dtype=torch.float64)\n"
                             "Y[torch.arange(len(y)), y] = 1.0\nreturn Y")),
        ("labels read as 1-based", _one_hot("Y = torch.zeros(len(y), num_classes)\nY[torch.arange(len(y)), y - 1] = 1.0\n"
                                            "return Y")),
        ("width from the labels", _one_hot("Y = torch.zeros(len(y), int(y.max()) + 1)\n"
                                           "Y[torch.arange(len(y)), y] = 1.0\nreturn Y")),
    ]),
    "ex2-softmax-tests": ("ex2-softmax", [
        ("no shift: overflows", _softmax("E = torch.exp(O)\nreturn E / E.sum(dim=1, keepdim=True)")),
        ("the batch's maximum", _softmax("E = torch.exp(O - O.max())\nreturn E / E.sum(dim=1, keepdim=True)")),
        ("column-wise", _softmax("E = torch.exp(O - O.max(dim=0, keepdim=True).values)\n"
                                 "return E / E.sum(dim=0, keepdim=True)")),
        ("modifies O in place", _softmax("O -= O.max(dim=1, keepdim=True).values\nE = torch.exp(O)\n"
                                         "return E / E.sum(dim=1, keepdim=True)")),
        ("torch.softmax", _softmax("return torch.softmax(O, dim=1)")),
        ("the tensor method", _softmax("return O.softmax(dim=1)")),
        ("exp of log_softmax", _softmax("return O.log_softmax(1).exp()")),
        ("sum without keepdim", _softmax("E = torch.exp(O - O.max(dim=1, keepdim=True).values)\n"
                                         "return E / E.sum(dim=1)")),
    ]),
    "ex3-cross-entropy-tests": ("ex3-cross-entropy", [
        ("the mean", _ce(f"return -torch.log(y_hat[{ROWS}, y]).mean()")),
        ("no minus", _ce(f"return torch.log(y_hat[{ROWS}, y])")),
        ("whole columns", _ce("return -torch.log(y_hat[:, y])")),
        ("log base 10", _ce(f"return -torch.log10(y_hat[{ROWS}, y])")),
        ("shape (n, 1)", _ce("return -torch.log(y_hat.gather(1, y.reshape(-1, 1)))")),
        ("log in place on the caller's y_hat", _ce(f"return -y_hat.log_()[{ROWS}, y]")),
        ("sums over every class", _ce("return -torch.log(y_hat).sum(dim=1)")),
    ]),
    "ex4-stable-cross-entropy-tests": ("ex4-stable-cross-entropy", [
        ("no shift: overflows", _stable(f"return torch.log(torch.exp(O).sum(dim=1)) - O[{ROWS}, y]")),
        ("through the probability", _stable(f"return -torch.log(torch.softmax(O, dim=1)[{ROWS}, y])")),
        ("clamped probability", _stable(f"return -torch.log(torch.softmax(O, dim=1)[{ROWS}, y].clamp_min(1e-30))")),
        ("the batch's maximum", _stable(f"m = O.max()\nreturn m + torch.log(torch.exp(O - m).sum(dim=1)) - O[{ROWS}, y]")),
        ("forgets to add the maximum back", _stable(
            f"m = O.max(dim=1, keepdim=True).values\nreturn torch.log(torch.exp(O - m).sum(dim=1)) - O[{ROWS}, y]")),
        ("torch.logsumexp", _stable(f"return torch.logsumexp(O, dim=1) - O[{ROWS}, y]")),
        ("the tensor method logsumexp", _stable(f"return O.logsumexp(1) - O[{ROWS}, y]")),
        ("F.cross_entropy", _stable("return F.cross_entropy(O, y, reduction='none')")),
        ("the mean", _stable(f"m = O.max(dim=1, keepdim=True).values\n"
                             f"return (m.squeeze(1) + torch.log(torch.exp(O - m).sum(dim=1)) - O[{ROWS}, y]).mean()")),
        ("shifts the caller's O in place", _stable(
            f"O -= O.max(dim=1, keepdim=True).values\nreturn torch.log(torch.exp(O).sum(dim=1)) - O[{ROWS}, y]")),
    ]),
    "ex5-softmax-ce-grad-tests": ("ex5-softmax-ce-grad", [
        ("no mean", _grad("return softmax(O) - one_hot(y, O.shape[1])")),
        ("divides by the classes", _grad("return (softmax(O) - one_hot(y, O.shape[1])) / O.shape[1]")),
        ("width from the labels", _grad("return (softmax(O) - one_hot(y, int(y.max()) + 1)) / len(O)")),
        ("autograd", _grad("Ov = O.clone().requires_grad_(True)\nF.cross_entropy(Ov, y).backward()\nreturn Ov.grad")),
        ("autograd on the caller's O", _grad("O.requires_grad_(True)\nG, = torch.autograd.grad(F.cross_entropy(O, y), O)\n"
                                             "return G")),
        ("sign flipped", _grad("return (one_hot(y, O.shape[1]) - softmax(O)) / len(O)")),
        ("unshifted exp", _grad("E = torch.exp(O)\nreturn (E / E.sum(dim=1, keepdim=True) - one_hot(y, O.shape[1])) / len(O)")),
    ]),
    "ex6-train-tests": ("ex6-train", [
        ("a hard-coded learning rate", _train(step=_STEP.replace("lr *", "0.5 *"))),
        ("x off by one", _train(x="epoch")),
        ("a hard-coded number of epochs", _train(body=_LOOP.format(step=_STEP, record=_RECORD, x="epoch + 1")
                                                 .replace("range(num_epochs)", "range(30)"))),
        ("records before the step", _train(step="        O = X @ W + b\n        G = softmax_ce_grad(O, y)\n"
                                                 "        W, b = W - lr * X.T @ G, b - lr * G.sum(dim=0)",
                                            record="            train_loss = float(stable_cross_entropy(O, y).mean())")),
        ("two steps per epoch", _train(step=_STEP + "\n" + _STEP)),
        ("the gradient of the summed loss", _train(step=_STEP.replace("G = softmax_ce_grad(X @ W + b, y)",
                                                                      "G = softmax_ce_grad(X @ W + b, y) * len(X)"))),
        ("b by the mean", _train(step=_STEP.replace("G.sum(dim=0)", "G.mean(dim=0)"))),
        ("the summed loss plotted", _train(record=_RECORD.replace(".mean()", ".sum()"))),
        ("test accuracy on the training set", _train(body=_LOOP.format(step=_STEP, record=_RECORD, x="epoch + 1")
                                                     .replace("X_test, y_test", "X, y"))),
        ("reseeds", _train(body="    torch.manual_seed(0)\n" + _LOOP.format(step=_STEP, record=_RECORD, x="epoch + 1"))),
        ("centres the caller's X", _train(body="    X -= X.mean(dim=0)\n    X_test -= X_test.mean(dim=0)\n"
                                               + _LOOP.format(step=_STEP, record=_RECORD, x="epoch + 1"))),
        ("classes from the labels", _train(body="    W = torch.zeros(X.shape[1], int(y.max()) + 1)\n"
                                                "    b = torch.zeros(int(y.max()) + 1)\n"
                                                + _LOOP.format(step=_STEP, record=_RECORD, x="epoch + 1"))),
    ]),
}

RIGHT = {
    "ex1-one-hot-tests": ("ex1-one-hot", [
        ("F.one_hot as float", _one_hot("return F.one_hot(y, num_classes).float()")),
        ("rows of the identity", _one_hot("return torch.eye(num_classes, device=y.device)[y]")),
        ("scatter", _one_hot("return torch.zeros(len(y), num_classes, device=y.device).scatter_(1, y.reshape(-1, 1), 1.0)")),
        ("a loop", _one_hot("Y = torch.zeros(len(y), num_classes, device=y.device)\nfor i, label in enumerate(y.tolist()):\n"
                            "    Y[i, label] = 1\nreturn Y")),
    ]),
    "ex2-softmax-tests": ("ex2-softmax", [
        ("float64", _softmax("E = torch.exp(O.double() - O.double().max(dim=1, keepdim=True).values)\n"
                             "return E / E.sum(dim=1, keepdim=True)")),
        ("through logsumexp", _softmax("return torch.exp(O - torch.logsumexp(O, dim=1, keepdim=True))")),
        ("amax and methods", _softmax("E = (O - O.amax(dim=1, keepdim=True)).exp()\nreturn E / E.sum(1, keepdim=True)")),
        ("row by row", _softmax("rows = []\nfor o in O:\n    e = torch.exp(o - o.max())\n    rows.append(e / e.sum())\n"
                                "return torch.stack(rows)")),
    ]),
    "ex3-cross-entropy-tests": ("ex3-cross-entropy", [
        ("one-hot product", _ce("return -(one_hot(y, y_hat.shape[1]) * torch.log(y_hat)).sum(dim=1)")),
        ("gather", _ce("return -torch.log(y_hat.gather(1, y.reshape(-1, 1))).squeeze(1)")),
        ("F.nll_loss of the log", _ce("return F.nll_loss(torch.log(y_hat), y, reduction='none')")),
        ("float64", _ce(f"return -torch.log(y_hat.double()[{ROWS}, y])")),
    ]),
    "ex4-stable-cross-entropy-tests": ("ex4-stable-cross-entropy", [
        ("float64", _stable(f"O = O.double()\nm = O.max(dim=1).values\n"
                            f"return m + torch.log(torch.exp(O - m[:, None]).sum(dim=1)) - O[{ROWS}, y]")),
        ("true logit by one-hot", _stable("m = O.amax(dim=1, keepdim=True)\n"
                                          "lse = (m + (O - m).exp().sum(1, keepdim=True).log()).squeeze(1)\n"
                                          "return lse - (one_hot(y, O.shape[1]) * O).sum(dim=1)")),
        ("log-softmax by hand", _stable("Z = O - O.max(dim=1, keepdim=True).values\n"
                                        "log_p = Z - torch.log(torch.exp(Z).sum(dim=1, keepdim=True))\n"
                                        "return -log_p.gather(1, y.reshape(-1, 1)).squeeze(1)")),
        ("gap to the true logit first", _stable(f"m = O.max(dim=1, keepdim=True).values\n"
                                                f"return (m.squeeze(1) - O[{ROWS}, y]) + "
                                                f"torch.log(torch.exp(O - m).sum(dim=1))")),
    ]),
    "ex5-softmax-ce-grad-tests": ("ex5-softmax-ce-grad", [
        ("subtract 1 at the label", _grad(f"P = softmax(O).clone()\nP[{ROWS}, y] -= 1\nreturn P / len(O)")),
        ("torch.softmax and F.one_hot", _grad("return (torch.softmax(O, dim=1) - F.one_hot(y, O.shape[1])) / O.shape[0]")),
        ("float64", _grad("return (softmax(O.double()) - one_hot(y, O.shape[1]).double()) / len(O)")),
    ]),
    "ex6-train-tests": ("ex6-train", [
        ("its own gradient, in place", _train(step="        P = softmax(X @ W + b)\n"
                                                    "        G = (P - one_hot(y, num_classes)) / len(X)\n"
                                                    "        W -= lr * X.T @ G\n        b -= lr * G.sum(dim=0)")),
        ("autograd and F.cross_entropy", _train(body='''    W.requires_grad_(True)
    b.requires_grad_(True)
    for epoch in range(num_epochs):
        F.cross_entropy(X @ W + b, y).backward()
        with torch.no_grad():
            W -= lr * W.grad
            b -= lr * b.grad
        W.grad, b.grad = None, None
        if animator is not None:
            with torch.no_grad():
                O, O_test = X @ W + b, X_test @ W + b
                train_loss = F.cross_entropy(O, y).item()
                acc = (O.argmax(dim=1) == y).float().mean().item()
                test_acc = (O_test.argmax(dim=1) == y_test).float().mean().item()
            animator.add(epoch + 1, [train_loss, acc, test_acc])''')),
        ("loss through softmax and cross_entropy", _train(
            record="            train_loss = cross_entropy(softmax(X @ W + b), y).mean().item()")),
    ]),
}
