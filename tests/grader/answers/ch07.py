"""Chapter 7: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "07-dropout"

_DROPOUT = '''def dropout_layer(X, dropout):
    if not 0 <= dropout <= 1:
        raise ValueError(f"dropout is a probability, between 0 and 1; got {{dropout}}")
{body}
'''

_NET = '''class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, dropout1, dropout2):
        super().__init__()
        self.num_inputs = num_inputs
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.dropout1 = dropout1
        self.dropout2 = dropout2

    def forward(self, X):
{body}
'''

# the reference forward, written out, with one thing to vary at a time
_FORWARD = '''        H1 = {act1}(self.lin1({flat}))
        if {cond1}:
            H1 = {drop}(H1, {p1})
        H2 = torch.relu(self.lin2(H1))
        if {cond2}:
            H2 = {drop}(H2, {p2})
        return {out}
'''
_GOOD = dict(act1="torch.relu", flat="X.reshape(-1, self.num_inputs)", cond1="self.training",
             cond2="self.training", drop="dropout_layer", p1="self.dropout1", p2="self.dropout2",
             out="self.lin3(H2)")


def _dropout(body: str) -> str:
    return _DROPOUT.format(body=body)


def _net(**change) -> str:
    return _NET.format(body=_FORWARD.format(**dict(_GOOD, **change)).rstrip("\n"))


def _mc(body: str) -> str:
    return "def mc_dropout_predict(net, X, num_samples):\n" + body


_MC_GOOD_LOOP = ("    was = net.training\n    net.train()\n    with torch.no_grad():\n"
                 "        probs = [torch.softmax(net(X), dim=1) for _ in range(num_samples)]\n"
                 "    net.train(was)\n")


def _mlp(*layers: str) -> str:
    return ("def dropout_mlp(num_hiddens1, num_hiddens2, dropout1, dropout2):\n    return nn.Sequential("
            + ", ".join(layers) + ")")


_H1 = "nn.Linear(784, num_hiddens1)"
_H2 = "nn.Linear(num_hiddens1, num_hiddens2)"
_OUT = "nn.Linear(num_hiddens2, 10)"
_R, _D1, _D2 = "nn.ReLU()", "nn.Dropout(dropout1)", "nn.Dropout(dropout2)"

WRONG = {
    "ex1-dropout-layer-tests": ("ex1-dropout-layer", [
        ("keeps with probability p", _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n"
            "    return (torch.rand(X.shape) < dropout).float() * X / (1 - dropout)")),
        ("no rescaling", _dropout(
            "    return (torch.rand(X.shape) > dropout).float() * X")),
        ("a fixed number kept", _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n    flat = X.reshape(-1)\n"
            "    keep = torch.randperm(flat.numel())[:round(flat.numel() * (1 - dropout))]\n"
            "    out = torch.zeros_like(flat)\n    out[keep] = flat[keep] / (1 - dropout)\n    return out.reshape(X.shape)")),
        ("p = 1 divides by zero", _dropout(
            "    mask = (torch.rand(X.shape) > dropout).float()\n    return mask * X / (1.0 - dropout)")),
        ("drops whole rows", _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n"
            "    mask = (torch.rand(X.shape[0], *[1] * (X.dim() - 1)) > dropout).float()\n"
            "    return mask * X / (1 - dropout)")),
        ("reseeds", _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n    torch.manual_seed(0)\n"
            "    return (torch.rand(X.shape) > dropout).float() * X / (1 - dropout)")),
        ("changes X in place", _dropout(
            "    if dropout == 1:\n        return X.zero_()\n"
            "    return X.mul_((torch.rand(X.shape) > dropout).float() / (1 - dropout))")),
        ("torch's own dropout", _dropout(
            "    return torch.nn.functional.dropout(X, dropout, training=True)")),
        ("float64 mask from numpy", "import numpy as np\n" + _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n"
            "    mask = torch.from_numpy((np.random.rand(*X.shape) > dropout).astype(np.float64))\n"
            "    return mask * X / (1 - dropout)")),
    ]),
    "ex2-dropout-net-tests": ("ex2-dropout-net", [
        ("if self.train (always true)", _net(cond1="self.train", cond2="self.train")),
        ("never drops", _net(cond1="False", cond2="False")),
        ("drops in eval mode", _net(cond1="not self.training", cond2="not self.training")),
        ("rates swapped", _net(p1="self.dropout2", p2="self.dropout1")),
        ("dropout on the output", _net(out="dropout_layer(self.lin3(H2), self.dropout2) if self.training else self.lin3(H2)")),
        ("a hard-coded 784", _net(flat="X.reshape(-1, 784)")),
        ("no ReLU on the first layer", _net(act1="")),
        ("dropout1 on the input", _net(flat="dropout_layer(X.reshape(-1, self.num_inputs), self.dropout1) if self.training else X.reshape(-1, self.num_inputs)",
                                       cond1="False")),
        ("torch's dropout", _net(drop="nn.functional.dropout")),
        ("first layer only", _net(cond2="False")),
    ]),
    "ex3-mc-dropout-tests": ("ex3-mc-dropout", [
        ("averages the logits", _mc(
            "    was = net.training\n    net.train()\n    with torch.no_grad():\n"
            "        logits = sum(net(X) for _ in range(num_samples)) / num_samples\n"
            "    net.train(was)\n    return torch.softmax(logits, dim=1)")),
        ("averages one-hot labels", _mc(
            _MC_GOOD_LOOP + "    votes = [nn.functional.one_hot(p.argmax(dim=1), p.shape[1]).float() for p in probs]\n"
            "    return sum(votes) / num_samples")),
        ("stays in eval mode", _mc(
            "    with torch.no_grad():\n"
            "        return sum(torch.softmax(net(X), dim=1) for _ in range(num_samples)) / num_samples")),
        ("leaves the net in eval mode", _mc(
            "    net.train()\n    with torch.no_grad():\n"
            "        probs = sum(torch.softmax(net(X), dim=1) for _ in range(num_samples)) / num_samples\n"
            "    net.eval()\n    return probs")),
        ("leaves the net in training mode", _mc(
            "    net.train()\n    with torch.no_grad():\n"
            "        return sum(torch.softmax(net(X), dim=1) for _ in range(num_samples)) / num_samples")),
        ("records gradients, detaches at the end", _mc(
            "    was = net.training\n    net.train()\n"
            "    probs = sum(torch.softmax(net(X), dim=1) for _ in range(num_samples)) / num_samples\n"
            "    net.train(was)\n    return probs.detach()")),
        ("a hard-coded 10 passes", _mc(
            "    was = net.training\n    net.train()\n    with torch.no_grad():\n"
            "        probs = sum(torch.softmax(net(X), dim=1) for _ in range(10)) / 10\n"
            "    net.train(was)\n    return probs")),
        ("one pass too many", _mc(
            "    was = net.training\n    net.train()\n    with torch.no_grad():\n"
            "        probs = sum(torch.softmax(net(X), dim=1) for _ in range(num_samples + 1)) / (num_samples + 1)\n"
            "    net.train(was)\n    return probs")),
        ("the sum", _mc(_MC_GOOD_LOOP + "    return sum(probs)")),
        ("softmax over the batch", _mc(
            "    was = net.training\n    net.train()\n    with torch.no_grad():\n"
            "        probs = sum(torch.softmax(net(X), dim=0) for _ in range(num_samples)) / num_samples\n"
            "    net.train(was)\n    return probs")),
        ("reseeds", _mc("    torch.manual_seed(0)\n" + _MC_GOOD_LOOP + "    return sum(probs) / num_samples")),
    ]),
    "ex4-dropout-mlp-tests": ("ex4-dropout-mlp", [
        ("rates swapped", _mlp("nn.Flatten()", _H1, _R, _D2, _H2, _R, _D1, _OUT)),
        ("dropout on the output", _mlp("nn.Flatten()", _H1, _R, _D1, _H2, _R, _OUT, _D2)),
        ("dropout on the input", _mlp("nn.Flatten()", _D1, _H1, _R, _H2, _R, _D2, _OUT)),
        ("hard-coded widths", _mlp("nn.Flatten()", "nn.Linear(784, 256)", _R, _D1, "nn.Linear(256, 256)", _R, _D2,
                                   "nn.Linear(256, 10)")),
        ("no second ReLU", _mlp("nn.Flatten()", _H1, _R, _D1, _H2, _D2, _OUT)),
        ("no Flatten", _mlp(_H1, _R, _D1, _H2, _R, _D2, _OUT)),
        ("a softmax at the end", _mlp("nn.Flatten()", _H1, _R, _D1, _H2, _R, _D2, _OUT, "nn.Softmax(dim=1)")),
        ("hard-coded rates", _mlp("nn.Flatten()", _H1, _R, "nn.Dropout(0.2)", _H2, _R, "nn.Dropout(0.5)", _OUT)),
    ]),
}

RIGHT = {
    "ex1-dropout-layer-tests": ("ex1-dropout-layer", [
        ("bernoulli mask", _dropout(
            "    if dropout == 1:\n        return torch.zeros_like(X)\n"
            "    mask = torch.bernoulli(torch.full_like(X, 1 - dropout))\n    return X * mask / (1 - dropout)")),
        ("rand > p, float mask", _dropout(
            "    if dropout == 1.0:\n        return X * 0\n"
            "    return (torch.rand(X.shape, device=X.device) > dropout).float() * X / (1.0 - dropout)")),
    ]),
    "ex2-dropout-net-tests": ("ex2-dropout-net", [
        ("dropout before the ReLU", _NET.format(body='''        H = X.reshape(X.shape[0], -1)
        H = self.lin1(H)
        if self.training:
            H = dropout_layer(H, self.dropout1)
        H = self.lin2(torch.relu(H))
        if self.training:
            H = dropout_layer(H, self.dropout2)
        return self.lin3(nn.functional.relu(H))''')),
        ("a loop over the layers", _NET.format(body='''        H = torch.flatten(X, start_dim=1)
        for lin, p in ((self.lin1, self.dropout1), (self.lin2, self.dropout2)):
            H = lin(H).clamp(min=0)
            H = dropout_layer(H, p) if self.training else H
        return self.lin3(H)''')),
    ]),
    "ex3-mc-dropout-tests": ("ex3-mc-dropout", [
        ("stack and mean, try/finally", _mc(
            "    mode = net.training\n    try:\n        net.train()\n        with torch.no_grad():\n"
            "            return torch.stack([net(X).softmax(dim=-1) for _ in range(num_samples)]).mean(dim=0)\n"
            "    finally:\n        net.train(mode)")),
        ("inference_mode and a running sum", _mc(
            "    before = net.training\n    net.train(True)\n    total = 0\n    with torch.inference_mode():\n"
            "        for _ in range(num_samples):\n            total = total + torch.softmax(net(X), dim=1)\n"
            "    if not before:\n        net.eval()\n    return total / num_samples")),
    ]),
    "ex4-dropout-mlp-tests": ("ex4-dropout-mlp", [
        ("dropout before the ReLU", _mlp("nn.Flatten()", _H1, _D1, _R, _H2, _D2, _R, _OUT)),
        ("named layers", "from collections import OrderedDict\n"
                         "def dropout_mlp(num_hiddens1, num_hiddens2, dropout1, dropout2):\n"
                         "    return nn.Sequential(OrderedDict([\n        ('flatten', nn.Flatten()),\n"
                         "        ('hidden1', nn.Linear(28 * 28, num_hiddens1)), ('relu1', nn.ReLU()), ('drop1', nn.Dropout(p=dropout1)),\n"
                         "        ('hidden2', nn.Linear(num_hiddens1, num_hiddens2)), ('relu2', nn.ReLU()), ('drop2', nn.Dropout(p=dropout2)),\n"
                         "        ('out', nn.Linear(num_hiddens2, 10))]))"),
    ]),
}
