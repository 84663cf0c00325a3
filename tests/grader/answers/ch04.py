"""Chapter 4: plausible wrong answers and correct alternatives, per exercise (see verdicts.py).

4.4's second graded cell judges the notebook's trained ``params`` (what the training cell
made), not a function. ``SETUP`` stands for that training cell: it trains the 784-256-10
MLP once with the reference functions and keeps the result in ``_trained`` (and an early
snapshot in ``_early``). The answers of that cell set ``params``; they are filed under the
solution cell of 4.4 only because the runner restores a solution cell after each round
(restoring ``sgd_epoch`` leaves ``params`` alone). Every round sets ``params`` anew, so
that cell has as many answers as the longest list of the same kind.
"""
ASSIGNMENT = "04-multilayer-perceptrons"

SETUP = '''
_data = dlcourse.read_fashion_mnist()
_X = _data["train_images"].reshape(-1, 784).float() / 255
_y = _data["train_labels"].long()
torch.manual_seed(0)
params = init_params(784, 256, 10)
_opt = torch.optim.Adam(params, lr=2e-3)
for _epoch in range(2):
    for _i, _j in enumerate(torch.randperm(len(_X)).split(256)):
        _opt.zero_grad()
        nn.functional.cross_entropy(mlp(_X[_j], params), _y[_j]).backward()
        _opt.step()
        if _epoch == 0 and _i == 4:
            _early = [p.detach().clone() for p in params]
_trained = [p.detach().clone() for p in params]
'''


def _sgd(loop: str, ret: str = "    return total_loss / count, correct / count") -> str:
    return ("def sgd_epoch(net, params, train_iter, lr):\n"
            "    total_loss, correct, count = 0.0, 0.0, 0\n"
            f"{loop}\n{ret}")


_STEP = ("        with torch.no_grad():\n            for p in params:\n"
         "                p -= lr * p.grad\n                p.grad.zero_()\n")
_TALLY = ("        total_loss += float(l) * len(y)\n"
          "        correct += float((y_hat.argmax(dim=1) == y).sum())\n        count += len(y)")
_FORWARD = ("    for X, y in train_iter:\n        y_hat = net(X)\n"
            "        l = nn.functional.cross_entropy(y_hat, y)\n        l.backward()\n")


def _resume(body: str, remaining: str = 'total_epochs - ck["epoch"]', extra: str = "") -> str:
    return ("def resume_training(checkpoint_path, net, optimizer, train_iter, test_iter, loss, total_epochs,\n"
            "                    device=None, animate=True):\n"
            "    ck = load_checkpoint(checkpoint_path)\n"
            f"{body}"
            f"    return train_with_metrics(net, train_iter, test_iter, loss, {remaining}, optimizer,\n"
            f"                              device=device, animate=animate{extra})")


_RESTORE_ALL = ('    net.load_state_dict(ck["model_state_dict"])\n'
                '    optimizer.load_state_dict(ck["optimizer_state_dict"])\n'
                '    torch.set_rng_state(ck["rng_state"])\n')
_PASS_ON = ', checkpoint_path=checkpoint_path, results=ck["results"]'

_F1 = "def f1_macro(y_true, y_pred, num_classes):\n"

WRONG = {
    "ex1-collapse-tests": ("ex1-collapse", [
        ("forgets the first bias", "def collapse(W1, b1, W2, b2):\n    return W1 @ W2, b2"),
        ("forgets the second bias", "def collapse(W1, b1, W2, b2):\n    return W1 @ W2, b1 @ W2"),
        ("products in the wrong order", "def collapse(W1, b1, W2, b2):\n    return W2.T @ W1.T, b1 @ W2 + b2"),
        ("b as a row (1, q)", "def collapse(W1, b1, W2, b2):\n    return W1 @ W2, (b1 @ W2 + b2).reshape(1, -1)"),
        ("adds into the caller's b2", "def collapse(W1, b1, W2, b2):\n    b2 += b1 @ W2\n    return W1 @ W2, b2"),
        ("adds the biases", "def collapse(W1, b1, W2, b2):\n    return W1 @ W2, b1.sum() + b2"),
    ]),
    "ex2-init-params-tests": ("ex2-init-params", [
        ("sigma squared", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                          "    W1 = torch.randn(num_inputs, num_hiddens, device=device) * sigma ** 2\n"
                          "    W2 = torch.randn(num_hiddens, num_outputs, device=device) * sigma ** 2\n"
                          "    b1, b2 = torch.zeros(num_hiddens, device=device), torch.zeros(num_outputs, device=device)\n"
                          "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
        ("ignores device", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                           "    W1 = torch.randn(num_inputs, num_hiddens) * sigma\n"
                           "    W2 = torch.randn(num_hiddens, num_outputs) * sigma\n"
                           "    b1, b2 = torch.zeros(num_hiddens), torch.zeros(num_outputs)\n"
                           "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
        ("float64 from numpy", "import numpy as np\n"
                               "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                               "    W1 = torch.from_numpy(np.random.normal(0, sigma, (num_inputs, num_hiddens))).to(device)\n"
                               "    W2 = torch.from_numpy(np.random.normal(0, sigma, (num_hiddens, num_outputs))).to(device)\n"
                               "    b1, b2 = torch.zeros(num_hiddens, device=device), torch.zeros(num_outputs, device=device)\n"
                               "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
        ("uniform weights", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                            "    a = sigma * 3 ** 0.5\n"
                            "    W1 = (torch.rand(num_inputs, num_hiddens, device=device) * 2 - 1) * a\n"
                            "    W2 = (torch.rand(num_hiddens, num_outputs, device=device) * 2 - 1) * a\n"
                            "    b1, b2 = torch.zeros(num_hiddens, device=device), torch.zeros(num_outputs, device=device)\n"
                            "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
        ("not leaves", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                       "    W1 = torch.randn(num_inputs, num_hiddens, device=device, requires_grad=True) * sigma\n"
                       "    W2 = torch.randn(num_hiddens, num_outputs, device=device, requires_grad=True) * sigma\n"
                       "    b1 = torch.zeros(num_hiddens, device=device, requires_grad=True)\n"
                       "    b2 = torch.zeros(num_outputs, device=device, requires_grad=True)\n"
                       "    return [W1, b1, W2, b2]"),
        ("reseeds", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                    "    torch.manual_seed(0)\n"
                    "    W1 = torch.randn(num_inputs, num_hiddens, device=device) * sigma\n"
                    "    W2 = torch.randn(num_hiddens, num_outputs, device=device) * sigma\n"
                    "    b1, b2 = torch.zeros(num_hiddens, device=device), torch.zeros(num_outputs, device=device)\n"
                    "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
        ("hard-coded sigma 0.01", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
                                  "    W1 = torch.randn(num_inputs, num_hiddens, device=device) * 0.01\n"
                                  "    W2 = torch.randn(num_hiddens, num_outputs, device=device) * 0.01\n"
                                  "    b1, b2 = torch.zeros(num_hiddens, device=device), torch.zeros(num_outputs, device=device)\n"
                                  "    return [p.requires_grad_() for p in (W1, b1, W2, b2)]"),
    ]),
    "ex3-mlp-tests": ("ex3-mlp", [
        ("no ReLU", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                    "    return (X.reshape(-1, W1.shape[0]) @ W1 + b1) @ W2 + b2"),
        ("ReLU on the output too", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                                   "    return relu(relu(X.reshape(-1, W1.shape[0]) @ W1 + b1) @ W2 + b2)"),
        ("hard-coded 784", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                           "    return relu(X.reshape(-1, 784) @ W1 + b1) @ W2 + b2"),
        ("sigmoid", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                    "    return torch.sigmoid(X.reshape(-1, W1.shape[0]) @ W1 + b1) @ W2 + b2"),
        ("forgets b2", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                       "    return relu(X.reshape(-1, W1.shape[0]) @ W1 + b1) @ W2"),
        ("detaches the first layer", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                                     "    H = relu(X.reshape(-1, W1.shape[0]) @ W1.detach() + b1.detach())\n"
                                     "    return H @ W2 + b2"),
        ("flattens across examples", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                                     "    X = X.reshape(W1.shape[0], -1).T\n    return relu(X @ W1 + b1) @ W2 + b2"),
    ]),
    "ex4-sgd-epoch-tests": ("ex4-sgd-epoch", [
        ("mean of the batch means", _sgd(_FORWARD + _STEP + _TALLY.replace("float(l) * len(y)", "float(l)"),
                                         "    return total_loss / len(train_iter), correct / count")),
        ("loss of the last batch", _sgd(_FORWARD + _STEP + _TALLY, "    return float(l), correct / count")),
        ("sum of the batch's losses", _sgd(_FORWARD.replace("l = nn.functional.cross_entropy(y_hat, y)",
                                                            "l = nn.functional.cross_entropy(y_hat, y, reduction='sum')")
                                           + _STEP + _TALLY.replace("float(l) * len(y)", "float(l)"))),
        ("never zeroes the gradients", _sgd(_FORWARD + _STEP.replace("                p.grad.zero_()\n", "") + _TALLY)),
        ("a hard-coded learning rate", _sgd(_FORWARD + _STEP.replace("lr * p.grad", "0.1 * p.grad") + _TALLY)),
        ("accuracy after the update", _sgd(_FORWARD + _STEP + _TALLY.replace(
            "float((y_hat.argmax(dim=1) == y).sum())", "float((net(X).argmax(dim=1) == y).sum())"))),
        ("batch_size from the first batch", _sgd(
            "    size = None\n" + _FORWARD + _STEP + _TALLY.replace("count += len(y)", "size = size or len(y)\n"
                                                                 "        count += size")
            .replace("float(l) * len(y)", "float(l) * (size or len(y))"))),
        ("two passes per epoch", _sgd("    for _ in range(2):\n" + "\n".join(
            "    " + line for line in (_FORWARD + _STEP + _TALLY).splitlines()),
            "    return total_loss / count, correct / count")),
        ("reseeds", _sgd("    torch.manual_seed(0)\n" + _FORWARD + _STEP + _TALLY)),
    ]),
    "ex4-trained-mlp-tests": ("ex4-sgd-epoch", [
        ("training cell not run", "params = init_params(784, 256, 10)"),
        ("stopped after a few steps", "params = [p.clone().requires_grad_() for p in _early]"),
        ("weights stored as (outputs, inputs)", "params = [p.T.clone().requires_grad_() for p in _trained]"),
        ("a linear network (every hidden unit always active)",
         "params = [_trained[0].clone(), _trained[1] + 100, _trained[2].clone(),\n"
         "          _trained[3] - 100 * _trained[2].sum(0)]"),
        ("params deleted", "del params"),
        ("a narrower hidden layer", "params = [_trained[0][:, :128], _trained[1][:128], _trained[2][:128], _trained[3]]"),
        ("zero second layer", "params = [_trained[0], _trained[1], torch.zeros(256, 10), _trained[3]]"),
        ("listed in another order", "params = [_trained[1], _trained[0], _trained[3], _trained[2]]"),
        ("stopped early, as float64", "params = [p.double().requires_grad_() for p in _early]"),
    ]),
    "ex5-f1-macro-tests": ("ex5-f1-macro", [
        ("accuracy", _F1 + "    return float((y_true == y_pred).float().mean())"),
        ("mean over the classes that occur", _F1 + "    scores = []\n    for c in range(num_classes):\n"
         "        tp = float(((y_pred == c) & (y_true == c)).sum())\n"
         "        fp = float(((y_pred == c) & (y_true != c)).sum())\n"
         "        fn = float(((y_pred != c) & (y_true == c)).sum())\n"
         "        if 2 * tp + fp + fn > 0:\n            scores.append(2 * tp / (2 * tp + fp + fn))\n"
         "    return sum(scores) / len(scores)"),
        ("num_classes from the data", _F1 + "    q = int(max(y_true.max(), y_pred.max())) + 1\n"
         "    tp = torch.stack([((y_pred == c) & (y_true == c)).sum() for c in range(q)]).double()\n"
         "    pred = torch.stack([(y_pred == c).sum() for c in range(q)]).double()\n"
         "    true = torch.stack([(y_true == c).sum() for c in range(q)]).double()\n"
         "    return float((2 * tp / (pred + true).clamp(min=1)).mean())"),
        ("NaN for an empty class", _F1 + "    c = torch.arange(num_classes).reshape(-1, 1)\n"
         "    tp = ((y_pred == c) & (y_true == c)).sum(1).float()\n"
         "    return float((2 * tp / ((y_pred == c).sum(1) + (y_true == c).sum(1))).mean())"),
        ("arithmetic mean of precision and recall", _F1 + "    scores = []\n    for c in range(num_classes):\n"
         "        tp = float(((y_pred == c) & (y_true == c)).sum())\n"
         "        p, r = float((y_pred == c).sum()), float((y_true == c).sum())\n"
         "        scores.append(((tp / p if p else 0.0) + (tp / r if r else 0.0)) / 2)\n"
         "    return sum(scores) / num_classes"),
        ("weighted by support", _F1 + "    total = 0.0\n    for c in range(num_classes):\n"
         "        tp = float(((y_pred == c) & (y_true == c)).sum())\n"
         "        den = float((y_pred == c).sum() + (y_true == c).sum())\n"
         "        total += (2 * tp / den if den else 0.0) * float((y_true == c).sum())\n"
         "    return total / len(y_true)"),
        ("the package's own", _F1 + "    return dlcourse.metrics.f1_macro(y_true, y_pred, num_classes)"),
    ]),
    "ex6-resume-tests": ("ex6-resume", [
        ("trains total_epochs more", _resume(_RESTORE_ALL, "total_epochs", _PASS_ON)),
        ("optimizer not restored", _resume(_RESTORE_ALL.replace(
            '    optimizer.load_state_dict(ck["optimizer_state_dict"])\n', ""), extra=_PASS_ON)),
        ("random generator not restored", _resume(_RESTORE_ALL.replace(
            '    torch.set_rng_state(ck["rng_state"])\n', ""), extra=_PASS_ON)),
        ("model not restored", _resume(_RESTORE_ALL.replace(
            '    net.load_state_dict(ck["model_state_dict"])\n', ""), extra=_PASS_ON)),
        ("saved table not passed on", _resume(_RESTORE_ALL, extra=", checkpoint_path=checkpoint_path")),
        ("checkpoint not updated", _resume(_RESTORE_ALL, extra=', results=ck["results"]')),
        ("at least one more epoch", _resume(_RESTORE_ALL, 'max(1, total_epochs - ck["epoch"])', _PASS_ON)),
    ]),
}

RIGHT = {
    "ex1-collapse-tests": ("ex1-collapse", [
        ("einsum", "def collapse(W1, b1, W2, b2):\n"
                   "    return torch.einsum('dh,hq->dq', W1, W2), torch.einsum('h,hq->q', b1, W2) + b2"),
        ("through the layers", "def collapse(W1, b1, W2, b2):\n    d = W1.shape[0]\n"
                               "    b = (torch.zeros(1, d) @ W1 + b1) @ W2 + b2\n"
                               "    W = (torch.eye(d) @ W1 + b1) @ W2 + b2 - b\n    return W, b[0]"),
    ]),
    "ex2-init-params-tests": ("ex2-init-params", [
        ("torch.normal with requires_grad", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
         "    W1 = torch.normal(0.0, sigma, size=(num_inputs, num_hiddens), device=device, requires_grad=True)\n"
         "    W2 = torch.normal(0.0, sigma, size=(num_hiddens, num_outputs), device=device, requires_grad=True)\n"
         "    b1 = torch.zeros(num_hiddens, device=device, requires_grad=True)\n"
         "    b2 = torch.zeros(num_outputs, device=device, requires_grad=True)\n"
         "    return [W1, b1, W2, b2]"),
        ("nn.init on empty tensors, moved after", "def init_params(num_inputs, num_hiddens, num_outputs, sigma=0.01, device=None):\n"
         "    shapes = [(num_inputs, num_hiddens), (num_hiddens,), (num_hiddens, num_outputs), (num_outputs,)]\n"
         "    out = []\n    for shape in shapes:\n        p = torch.empty(shape)\n"
         "        nn.init.normal_(p, std=sigma) if len(shape) == 2 else nn.init.zeros_(p)\n"
         "        out.append(p.to(device).requires_grad_())\n    return out"),
    ]),
    "ex3-mlp-tests": ("ex3-mlp", [
        ("torch.relu and flatten", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
                                   "    return torch.relu(X.flatten(1) @ W1 + b1) @ W2 + b2"),
        ("nn.functional.linear and clamp", "def mlp(X, params):\n    W1, b1, W2, b2 = params\n"
         "    H = nn.functional.linear(X.reshape(X.shape[0], -1), W1.T, b1).clamp(min=0)\n"
         "    return nn.functional.linear(H, W2.T, b2)"),
    ]),
    "ex4-sgd-epoch-tests": ("ex4-sgd-epoch", [
        ("torch.optim.SGD", "def sgd_epoch(net, params, train_iter, lr):\n"
         "    opt = torch.optim.SGD(params, lr=lr)\n    losses, hits, n = [], [], 0\n"
         "    for X, y in train_iter:\n        y_hat = net(X)\n"
         "        l = nn.functional.cross_entropy(y_hat, y)\n        l.backward()\n        opt.step()\n"
         "        opt.zero_grad()\n        losses.append(l.item() * y.numel())\n"
         "        hits.append((y_hat.argmax(1) == y).sum().item())\n        n += y.numel()\n"
         "    return sum(losses) / n, sum(hits) / n"),
        ("p.data and tensor tallies", "def sgd_epoch(net, params, train_iter, lr):\n"
         "    total, correct, count = torch.zeros(()), torch.zeros(()), 0\n"
         "    for X, y in train_iter:\n        y_hat = net(X)\n"
         "        l = nn.functional.cross_entropy(y_hat, y, reduction='none')\n        l.mean().backward()\n"
         "        for p in params:\n            p.data -= lr * p.grad.data\n            p.grad.data.zero_()\n"
         "        total += l.detach().sum()\n        correct += (y_hat.detach().argmax(1) == y).float().sum()\n"
         "        count += X.shape[0]\n    return float(total) / count, float(correct) / count"),
    ]),
    "ex4-trained-mlp-tests": ("ex4-sgd-epoch", [
        ("the trained list", "params = [p.clone().requires_grad_() for p in _trained]"),
        ("a tuple of plain tensors", "params = tuple(p.clone() for p in _trained)"),
    ]),
    "ex5-f1-macro-tests": ("ex5-f1-macro", [
        ("confusion matrix with bincount", _F1 + "    q = num_classes\n"
         "    C = torch.bincount(y_true * q + y_pred, minlength=q * q).reshape(q, q).double()\n"
         "    tp = C.diag()\n    den = 2 * tp + (C.sum(0) - tp) + (C.sum(1) - tp)\n"
         "    return float(torch.where(den > 0, 2 * tp / den.clamp(min=1), torch.zeros(q)).mean())"),
        ("scikit-learn", "from sklearn.metrics import f1_score\n" + _F1 +
         "    return float(f1_score(y_true.numpy(), y_pred.numpy(), labels=list(range(num_classes)),\n"
         "                          average='macro', zero_division=0))"),
    ]),
    "ex6-resume-tests": ("ex6-resume", [
        ("remaining from the saved table, generator first", _resume(
            '    torch.set_rng_state(ck["rng_state"])\n'
            '    optimizer.load_state_dict(ck["optimizer_state_dict"])\n'
            '    net.load_state_dict(ck["model_state_dict"])\n', 'total_epochs - len(ck["results"])', _PASS_ON)),
        ("torch.load and keyword arguments", "def resume_training(checkpoint_path, net, optimizer, train_iter, test_iter,\n"
         "                    loss, total_epochs, device=None, animate=True):\n"
         "    state = torch.load(checkpoint_path, weights_only=False)\n"
         "    net.load_state_dict(state['model_state_dict'])\n"
         "    optimizer.load_state_dict(state['optimizer_state_dict'])\n"
         "    torch.set_rng_state(state['rng_state'])\n"
         "    done = state['epoch']\n"
         "    return train_with_metrics(net=net, train_iter=train_iter, test_iter=test_iter, loss=loss,\n"
         "                              num_epochs=total_epochs - done, optimizer=optimizer, device=device,\n"
         "                              checkpoint_path=checkpoint_path, results=state['results'],\n"
         "                              animate=animate)"),
    ]),
}


# --- 4.7 train_simple_network: wrong answers as edits of the solution -------------------

def _tsn(*pairs):
    import json
    import re
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[3] / "solutions" / ASSIGNMENT /
                     f"{ASSIGNMENT}.ipynb").read_text())
    source = next("".join(c["source"]) for c in nb["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex7-train-simple-network")
    source = re.sub(r"\n?\s*### (BEGIN|END) SOLUTION", "", source)
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


WRONG["ex7-train-simple-network-tests"] = ("ex7-train-simple-network", [
    ("argmax labels for the score functions",
     _tsn(("scores.append(y_hat.detach().cpu())", "scores.append(y_hat.detach().argmax(dim=1).cpu())"))),
    ("the checkpoint is never read",
     _tsn(("if checkpoint_file is not None and os.path.exists(checkpoint_file):", "if False:"))),
    ("the optimizer's state not restored",
     _tsn(('optimizer.load_state_dict(checkpoint["optimizer_state_dict"])', "pass"))),
    ("torch's random state not restored", _tsn(('torch.set_rng_state(checkpoint["rng_state"])', "pass"))),
    ("epochs counted from the checkpoint on",
     _tsn(("range(len(rows) + 1, epochs + 1)", "range(len(rows) + 1, len(rows) + epochs + 1)"))),
    ("the mean of the batch means",
     _tsn(("total += float(loss.detach()) * len(y)", "total += float(loss.detach())"),
          ("return total / len(y_true)", "return total / len(labels)"))),
    ("no evaluation mode for the test pass", _tsn(("model.eval()", "pass"))),
    ("a checkpoint only after the last epoch",
     _tsn(("if checkpoint_file is not None:\n", "if checkpoint_file is not None and epoch == epochs:\n"))),
])
RIGHT["ex7-train-simple-network-tests"] = ("ex7-train-simple-network", [
    ("its own checkpoint dict, loss.item() * X.shape[0]",
     _tsn(("save_checkpoint(checkpoint_file, model, optimizer, epoch, pd.DataFrame(rows))",
           "torch.save({'epoch': epoch, 'model_state_dict': model.state_dict(), "
           "'optimizer_state_dict': optimizer.state_dict(), 'results': pd.DataFrame(rows), "
           "'rng_state': torch.get_rng_state()}, checkpoint_file)"),
          ("total += float(loss.detach()) * len(y)", "total += loss.item() * X.shape[0]"))),
    ("a results dict turned into a DataFrame at the end",
     _tsn(("rows.append(row)", "rows = rows + [dict(row)]"))),
])
