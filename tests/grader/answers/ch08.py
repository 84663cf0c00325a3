"""Chapter 8: plausible wrong answers and correct alternatives, per exercise (see verdicts.py)."""
ASSIGNMENT = "08-initialization"


def _forward(loss: str, penalty: str, hidden: str = "torch.relu(Z)") -> str:
    return ("def forward(X, y, W1, W2, lambd):\n    Z = X @ W1\n"
            f"    H = {hidden}\n    O = H @ W2\n    L = {loss}\n    s = {penalty}\n"
            "    return L + s, {'Z': Z, 'H': H, 'O': O}")


_CE = "F.cross_entropy(O, y)"
_PEN = "lambd / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum())"


def _backward(dO: str = "(torch.softmax(O, dim=1) - F.one_hot(y, W2.shape[1]).to(O.dtype)) / len(y)",
              mask: str = "(Z > 0).to(dH.dtype)", reg2: str = "lambd * W2", reg1: str = "lambd * W1",
              head: str = "") -> str:
    return ("def backward(X, y, W1, W2, lambd, cache):\n" + head +
            "    Z, H, O = cache['Z'], cache['H'], cache['O']\n"
            f"    dO = {dO}\n    dW2 = H.T @ dO + {reg2}\n    dH = dO @ W2.T\n"
            f"    dZ = dH * {mask}\n    dW1 = X.T @ dZ + {reg1}\n    return dW1, dW2")


def _init(name: str, body: str) -> str:
    return f"def {name}(n_in, n_out):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def _scan(layer: str = "H = activation(H @ (torch.randn(width, width) * g / math.sqrt(width)))",
          objective: str = "(H * torch.randn_like(H)).sum().backward()",
          act: str = "H.detach().std().log10()", grad: str = "H0.grad.std().log10()",
          head: str = "", shape: str = "batch_size, width", layers: str = "range(L)") -> str:
    return ("def depth_scan(gains, depths, activation, width=128, batch_size=256):\n" + head +
            "    act = torch.zeros(len(gains), len(depths))\n    grad = torch.zeros(len(gains), len(depths))\n"
            "    for i, g in enumerate(gains):\n        for j, L in enumerate(depths):\n"
            f"            H0 = torch.randn({shape}, requires_grad=True)\n            H = H0\n"
            f"            for _ in {layers}:\n                {layer}\n            {objective}\n"
            f"            act[i, j] = {act}\n            grad[i, j] = {grad}\n    return act, grad")


WRONG = {
    "ex1-forward-tests": ("ex1-forward", [
        ("the summed cross-entropy", _forward("F.cross_entropy(O, y, reduction='sum')", _PEN)),
        ("a penalty without the 1/2", _forward(_CE, "lambd * ((W1 ** 2).sum() + (W2 ** 2).sum())")),
        ("no ReLU", _forward(_CE, _PEN, hidden="Z")),
        ("an unstable cross-entropy",
         _forward("-torch.log((torch.exp(O) / torch.exp(O).sum(1, keepdim=True))[torch.arange(len(y)), y]).mean()",
                  _PEN)),
        ("penalises W1 only", _forward(_CE, "lambd / 2 * (W1 ** 2).sum()")),
        ("the penalty as a plain number", _forward(_CE, "lambd / 2 * float((W1 ** 2).sum() + (W2 ** 2).sum())")),
        ("norms, not squared norms", _forward(_CE, "lambd / 2 * (W1.norm() + W2.norm())")),
        ("a hard-coded lambda", _forward(_CE, "1e-3 / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum())")),
        ("sigmoid hidden units", _forward(_CE, _PEN, hidden="torch.sigmoid(Z)")),
        ("an in-place ReLU that overwrites Z", _forward(_CE, _PEN, hidden="Z.clamp_(min=0)")),
    ]),
    "ex2-backward-tests": ("ex2-backward", [
        ("forgets the 1/n", _backward(dO="torch.softmax(O, dim=1) - F.one_hot(y, W2.shape[1]).to(O.dtype)")),
        ("forgets the penalty", _backward(reg2="0", reg1="0")),
        ("half the penalty's gradient", _backward(reg2="lambd / 2 * W2", reg1="lambd / 2 * W1")),
        ("no ReLU mask", _backward(mask="1")),
        ("q from the labels",
         _backward(dO="(torch.softmax(O, dim=1) - F.one_hot(y).to(O.dtype)) / len(y)")),
        ("calls forward again", _backward(head="    cache = forward(X, y, W1, W2, lambd)[1]\n")),
        ("autograd", "def backward(X, y, W1, W2, lambd, cache):\n"
                     "    A, B = W1.detach().requires_grad_(True), W2.detach().requires_grad_(True)\n"
                     "    J = F.cross_entropy(torch.relu(X @ A) @ B, y) + lambd / 2 * ((A ** 2).sum() + (B ** 2).sum())\n"
                     "    return tuple(torch.autograd.grad(J, [A, B]))"),
        ("an unstable softmax",
         _backward(dO="(torch.exp(O) / torch.exp(O).sum(1, keepdim=True) - F.one_hot(y, W2.shape[1]).to(O.dtype))"
                      " / len(y)")),
        ("the mask from the gradient", _backward(mask="(dH > 0).to(dH.dtype)")),
        ("shifts the cache's O in place",
         _backward(head="    cache['O'] -= cache['O'].max(dim=1, keepdim=True).values\n")),
    ]),
    "ex3-xavier-tests": ("ex3-xavier", [
        ("variance 1 / n_in", _init("xavier_init", "return torch.randn(n_in, n_out) * math.sqrt(1 / n_in)")),
        ("the variance as the std", _init("xavier_init", "return torch.randn(n_in, n_out) * (2 / (n_in + n_out))")),
        ("uniform without the 3",
         _init("xavier_init", "a = math.sqrt(2 / (n_in + n_out))\nreturn (torch.rand(n_in, n_out) * 2 - 1) * a")),
        ("uniform on (0, a)", _init("xavier_init", "return torch.rand(n_in, n_out) * math.sqrt(6 / (n_in + n_out))")),
        ("shape (n_out, n_in)", _init("xavier_init", "return torch.randn(n_out, n_in) * math.sqrt(2 / (n_in + n_out))")),
        ("float64 from numpy",
         "import numpy as np\n" + _init("xavier_init", "return torch.from_numpy(np.random.normal(0, "
                                                       "math.sqrt(2 / (n_in + n_out)), (n_in, n_out)))")),
        ("reseeds", _init("xavier_init", "torch.manual_seed(0)\n"
                                         "return torch.randn(n_in, n_out) * math.sqrt(2 / (n_in + n_out))")),
        ("torch.nn.init", _init("xavier_init", "return nn.init.xavier_normal_(torch.empty(n_in, n_out))")),
        ("one draw per row", _init("xavier_init", "return torch.randn(n_in, 1).repeat(1, n_out) * "
                                                  "math.sqrt(2 / (n_in + n_out))")),
    ]),
    "ex4-kaiming-tests": ("ex4-kaiming", [
        ("variance 1 / n_in", _init("kaiming_init", "return torch.randn(n_in, n_out) * math.sqrt(1 / n_in)")),
        ("fan-out", _init("kaiming_init", "return torch.randn(n_in, n_out) * math.sqrt(2 / n_out)")),
        ("Xavier's variance", _init("kaiming_init", "return torch.randn(n_in, n_out) * math.sqrt(2 / (n_in + n_out))")),
        ("torch.nn.init on (n_in, n_out)",
         _init("kaiming_init", "return nn.init.kaiming_normal_(torch.empty(n_in, n_out), nonlinearity='relu')")),
        ("torch.nn.init, transposed",
         _init("kaiming_init", "return nn.init.kaiming_normal_(torch.empty(n_out, n_in), nonlinearity='relu').T")),
        ("float64 from numpy",
         "import numpy as np\n" + _init("kaiming_init", "return torch.from_numpy(np.random.normal(0, "
                                                        "math.sqrt(2 / n_in), (n_in, n_out)))")),
        ("reseeds", _init("kaiming_init", "torch.manual_seed(n_in)\nreturn torch.randn(n_in, n_out) * math.sqrt(2 / n_in)")),
        ("uniform without the 3",
         _init("kaiming_init", "return (torch.rand(n_in, n_out) * 2 - 1) * math.sqrt(2 / n_in)")),
    ]),
    "ex5-depth-scan-tests": ("ex5-depth-scan", [
        ("std g / width", _scan(layer="H = activation(H @ (torch.randn(width, width) * g / width))")),
        ("the natural logarithm", _scan(act="H.detach().std().log()", grad="H0.grad.std().log()")),
        ("log10 of the variance", _scan(act="H.detach().var().log10()", grad="H0.grad.var().log10()")),
        ("the output's gradient",
         _scan(objective="H.retain_grad()\n            (H * torch.randn_like(H)).sum().backward()",
               grad="H.grad.std().log10()")),
        ("a hard-coded width",
         _scan(head="    width = 128\n")),
        ("a hard-coded batch", _scan(shape="256, width")),
        ("J without R", _scan(objective="H.sum().backward()")),
        ("reseeds", _scan(head="    torch.manual_seed(0)\n")),
        ("activation on the input too",
         _scan(layer="H = activation(H) @ (torch.randn(width, width) * g / math.sqrt(width))",
               objective="H = activation(H)\n            (H * torch.randn_like(H)).sum().backward()")),
        ("act and grad swapped", _scan(act="H0.grad.std().log10()", grad="H.detach().std().log10()")),
        ("a hard-coded ReLU", _scan(layer="H = torch.relu(H @ (torch.randn(width, width) * g / math.sqrt(width)))")),
        ("no activation on the last layer",
         _scan(layers="range(L - 1)", objective="H = H @ (torch.randn(width, width) * g / math.sqrt(width))\n"
                                                "            (H * torch.randn_like(H)).sum().backward()")),
    ]),
}

RIGHT = {
    "ex1-forward-tests": ("ex1-forward", [
        ("log-sum-exp by hand, clamp",
         _forward("(torch.logsumexp(O, dim=1) - O.gather(1, y.reshape(-1, 1)).reshape(-1)).mean()",
                  "lambd / 2 * (torch.linalg.norm(W1) ** 2 + torch.linalg.norm(W2) ** 2)", hidden="Z.clamp(min=0)")),
        ("log_softmax and F.relu",
         _forward("-F.log_softmax(O, dim=1)[torch.arange(len(y)), y].mean()",
                  "lambd / 2 * sum((W * W).sum() for W in (W1, W2))", hidden="F.relu(Z)")),
        ("float64 throughout",
         "def forward(X, y, W1, W2, lambd):\n    Z = X.double() @ W1.double()\n    H = torch.relu(Z)\n"
         "    O = H @ W2.double()\n    M = O.max(dim=1, keepdim=True).values\n"
         "    L = (M.reshape(-1) + (O - M).exp().sum(1).log() - O[torch.arange(len(y)), y]).mean()\n"
         "    return L + lambd / 2 * (W1.double().pow(2).sum() + W2.double().pow(2).sum()), "
         "{'Z': Z, 'H': H, 'O': O}"),
    ]),
    "ex2-backward-tests": ("ex2-backward", [
        ("mask from H, scatter one-hot",
         _backward(dO="(torch.softmax(O, dim=1) - torch.zeros_like(O).scatter_(1, y.reshape(-1, 1), 1.0)) / X.shape[0]",
                   mask="(H > 0)")),
        ("softmax by hand, torch.where",
         "def backward(X, y, W1, W2, lambd, cache):\n    Z, H, O = cache['Z'], cache['H'], cache['O']\n"
         "    E = (O - O.max(dim=1, keepdim=True).values).exp()\n    P = E / E.sum(dim=1, keepdim=True)\n"
         "    P[torch.arange(len(y)), y] -= 1\n    dO = P / len(y)\n"
         "    dZ = torch.where(Z > 0, dO @ W2.T, torch.zeros_like(Z))\n"
         "    return X.T @ dZ + lambd * W1, H.T @ dO + lambd * W2"),
        ("einsum in float64",
         "def backward(X, y, W1, W2, lambd, cache):\n    Z, H, O = (cache[k].double() for k in 'ZHO')\n"
         "    dO = (torch.softmax(O, 1) - F.one_hot(y, W2.shape[1]).double()) / len(y)\n"
         "    dZ = torch.einsum('nq,hq->nh', dO, W2.double()) * (Z > 0)\n"
         "    return (torch.einsum('nd,nh->dh', X.double(), dZ) + lambd * W1.double(),\n"
         "            torch.einsum('nh,nq->hq', H, dO) + lambd * W2.double())"),
    ]),
    "ex3-xavier-tests": ("ex3-xavier", [
        ("uniform", _init("xavier_init", "a = math.sqrt(6 / (n_in + n_out))\nreturn torch.empty(n_in, n_out).uniform_(-a, a)")),
        ("torch.normal", _init("xavier_init", "return torch.normal(0.0, (2 / (n_in + n_out)) ** 0.5, size=(n_in, n_out))")),
        ("normal_ in place", _init("xavier_init", "return torch.empty(n_in, n_out).normal_(0, math.sqrt(2 / (n_in + n_out)))")),
    ]),
    "ex4-kaiming-tests": ("ex4-kaiming", [
        ("uniform", _init("kaiming_init", "return (2 * torch.rand(n_in, n_out) - 1) * math.sqrt(6 / n_in)")),
        ("torch.normal", _init("kaiming_init", "return torch.normal(0.0, math.sqrt(2.0 / n_in), (n_in, n_out))")),
        ("drawn in float64, returned as float32",
         _init("kaiming_init", "return (torch.randn(n_in, n_out, dtype=torch.float64) * (2 / n_in) ** 0.5).float()")),
    ]),
    "ex5-depth-scan-tests": ("ex5-depth-scan", [
        ("depths outer, autograd.grad",
         "def depth_scan(gains, depths, activation, width=128, batch_size=256):\n"
         "    act = torch.empty(len(gains), len(depths))\n    grad = torch.empty_like(act)\n"
         "    for j, L in enumerate(depths):\n        for i, g in enumerate(gains):\n"
         "            H0 = torch.randn(batch_size, width).requires_grad_()\n            H = H0\n"
         "            for W in [torch.normal(0.0, g / width ** 0.5, (width, width)) for _ in range(L)]:\n"
         "                H = activation(H @ W)\n"
         "            (dH0,) = torch.autograd.grad((H * torch.randn(H.shape)).sum(), H0)\n"
         "            act[i, j], grad[i, j] = math.log10(float(H.std())), math.log10(float(dH0.std()))\n"
         "    return act, grad"),
        ("float64 lists", "def depth_scan(gains, depths, activation, width=128, batch_size=256):\n"
                          "    rows = []\n    for g in gains:\n        row = []\n        for L in depths:\n"
                          "            H0 = torch.randn(batch_size, width, dtype=torch.float64, requires_grad=True)\n"
                          "            H = H0\n            for _ in range(L):\n"
                          "                H = activation(H @ (g / math.sqrt(width) * torch.randn(width, width, dtype=torch.float64)))\n"
                          "            R = torch.randn_like(H)\n            (H * R).sum().backward()\n"
                          "            row.append((math.log10(H.detach().std().item()), math.log10(H0.grad.std().item())))\n"
                          "        rows.append(row)\n    T = torch.tensor(rows, dtype=torch.float64)\n"
                          "    return T[..., 0], T[..., 1]"),
        ("normal_ weights, a nested helper",
         "def depth_scan(gains, depths, activation, width=128, batch_size=256):\n"
         "    def one(g, L):\n        H0 = torch.randn(batch_size, width)\n        H0.requires_grad_(True)\n"
         "        H = H0\n        for _ in range(L):\n"
         "            H = activation(H @ torch.empty(width, width).normal_(0.0, g / math.sqrt(width)))\n"
         "        (torch.randn(batch_size, width) * H).sum().backward()\n"
         "        return torch.log10(H.detach().std()), torch.log10(H0.grad.std())\n"
         "    pairs = [[one(g, L) for L in depths] for g in gains]\n"
         "    return (torch.stack([torch.stack([a for a, _ in row]) for row in pairs]),\n"
         "            torch.stack([torch.stack([b for _, b in row]) for row in pairs]))"),
    ]),
}
