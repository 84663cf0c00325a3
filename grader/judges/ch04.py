"""Judges of chapter 4, multilayer perceptrons (see grader.judge).

Each judge works on small secret inputs. ``sgd_epoch`` gets its own network written out in
the probe (not the student's ``mlp``), so a mistake in 4.3 does not cost points in 4.4;
``resume_training`` is compared with the reference run on the same tiny data and seeds.
The trained MLP (4.4, second cell) is the one exercise that checks the whole chain: it
reads the notebook's ``params`` after the training cell ran, and its text says so.
"""
import functools

from grader.judge import SAFE_EXCEPTIONS, Trial, judge, plain
from grader.judges import twins

ASSIGNMENT = "04-multilayer-perceptrons"


def _raised(name: str) -> str:
    """What a probe reported the student's code raised, in words safe to show."""
    return name if name in SAFE_EXCEPTIONS else "an exception of its own"


@judge("ex1-collapse-tests", forbid=twins("collapse"))
def collapse(t: Trial):
    d, h = t.size(2, 7), t.size(2, 9)
    q = t.size(2, 6)
    q = q + 1 if q == d else q       # d != q: the order of the product shows in the shape
    code = ("args = [a.clone() for a in (W1, b1, W2, b2)]\n"
            "W, b = collapse(*args)\n"
            "result = (W, b, all(torch.equal(a, o) for a, o in zip(args, (W1, b1, W2, b2))))")
    for d, h, q in [(1, 1, 1), (d, h, q)]:
        W1, b1, W2, b2 = t.randn(d, h), t.randn(h), t.randn(h, q), t.randn(q)
        got, want = t.both(code, W1=W1, b1=b1, W2=W2, b2=b2)
        (W, b, untouched), (W_ref, b_ref, _) = plain(got), plain(want)
        t.check(untouched, "collapse changed the tensors passed to it: build new ones instead")
        t.check(hasattr(W, "shape") and tuple(W.shape) == (d, q),
                f"for W1 of shape ({d}, {h}) and W2 of shape ({h}, {q}), W should have shape ({d}, {q}); "
                f"got {tuple(getattr(W, 'shape', ())) or 'no tensor'}")
        t.check(hasattr(b, "shape") and tuple(b.shape) == (q,),
                f"b should be a vector of shape ({q},), one entry per output; got "
                f"{tuple(getattr(b, 'shape', ())) or 'no tensor'}")
        t.close(W, W_ref, "W is wrong: X @ W must equal what the two weight matrices do to X in turn")
        t.close(b, b_ref, "b is wrong: it must be what the two layers give for X = 0 (the first bias "
                          "also passes through the second layer)", atol=1e-4)


INIT_CODE = """
cpu = torch.device("cpu")
first = list(init_params(d, h, q, sigma=sigma, device=cpu))
second = list(init_params(d, h, q, sigma=sigma, device=cpu))
default = list(init_params(d0, h0, q0))
try:
    other = [p.device.type for p in init_params(3, 4, 2, sigma=sigma, device=torch.device("meta"))]
except Exception as e:
    other = type(e).__name__
gpu = None
if torch.cuda.is_available():
    gpu = [p.device.type for p in init_params(3, 4, 2, sigma=sigma, device=torch.device("cuda"))]
result = (first, second[0], default, other, gpu)
"""


@judge("ex2-init-params-tests", forbid=twins("init_params"))
def init_params(t: Trial):
    import torch

    d, h, q = t.size(150, 300), t.size(200, 400), t.size(20, 40)
    sigma = t.choice([0.05, 0.1, 0.3, 2.0, 3.0]) * (1 + 0.2 * float(t.rand(1)))
    d0, h0, q0 = t.size(150, 250), t.size(250, 350), t.size(3, 8)
    got = t.student(INIT_CODE, d=d, h=h, q=q, sigma=sigma, d0=d0, h0=h0, q0=q0)
    first, second_W1, default, other, gpu = got
    t.check(isinstance(first, list) and len(first) == 4,
            "init_params should return the four tensors [W1, b1, W2, b2]")
    shapes = [tuple(getattr(p, "shape", ())) for p in first]
    want = [(d, h), (h,), (h, q), (q,)]
    t.check(shapes == want, f"for d={d}, h={h}, q={q} the shapes should be {want}; got {shapes}")
    t.check(all(p.dtype == torch.float32 for p in first),
            "the parameters should be float32 tensors (torch's default; numpy would give float64)")
    t.check(all(p.requires_grad and p.is_leaf for p in first),
            "every parameter should be a leaf tensor that requires gradients (make it require grad "
            "after scaling, not before)")
    t.check(all(p.device == "cpu" for p in first), "with device=cpu the parameters should be on the CPU")
    t.check(isinstance(other, list) and all(dev == "meta" for dev in other),
            "the tensors should be created on the device passed in; for a device other than the CPU "
            + ("the call raised " + _raised(other) if isinstance(other, str) else "they came back elsewhere")
            + ": pass device=device when you create them")
    t.check(gpu is None or all(dev == "cuda" for dev in gpu),
            "with device=cuda the parameters should be on the GPU")
    W1, b1, W2, b2 = plain(first)
    t.check(not bool(b1.abs().sum()) and not bool(b2.abs().sum()), "the biases b1 and b2 should be zeros")
    t.check(not torch.equal(W1, plain(second_W1)),
            "two calls gave the same weights: draw new ones on every call (do not reseed the generator)")
    for name, W in (("W1", W1), ("W2", W2)):
        std = float(W.std())
        why = (" (sigma is the standard deviation, not the variance)" if abs(std / sigma ** 2 - 1) < 0.1
               else " (use the sigma passed in)" if abs(std / 0.01 - 1) < 0.1 else "")
        t.check(abs(std / sigma - 1) < 0.1, f"the entries of {name} should have standard deviation sigma; "
                                            f"yours have {std / sigma:.3g} times sigma{why}")
        t.check(abs(float(W.mean())) < 0.1 * sigma, f"the entries of {name} should have mean 0")
        inside = float((W.abs() < sigma).float().mean())   # 0.683 for a normal distribution
        t.check(0.64 < inside < 0.73, f"the entries of {name} should be normally distributed: {inside:.0%} of "
                                      "them lie within one standard deviation of 0, where a normal "
                                      "distribution has 68%")
    t.check([tuple(getattr(p, "shape", ())) for p in default] == [(d0, h0), (h0,), (h0, q0), (q0,)]
            and 0.009 < float(plain(default[0]).std()) < 0.011,
            "called without sigma, the weights should have standard deviation 0.01 (the default)")
    t.check(all(p.device == "cpu" for p in default), "called without device, the parameters should be on "
                                                     "the CPU")


MLP_CODE = """
ps = [p.clone().requires_grad_(True) for p in values]
X0 = X.clone()
try:
    out = mlp(X, ps)
except NotImplementedError:
    raise
except Exception as e:
    out = type(e).__name__
grads = None
if isinstance(out, torch.Tensor) and out.requires_grad:
    grads = list(torch.autograd.grad((out * weights).sum(), ps, allow_unused=True))
result = (out, grads, torch.equal(X, X0))
"""


@judge("ex3-mlp-tests", forbid=twins("mlp"))
def mlp(t: Trial):
    n = t.size(2, 9)
    cases = [((n, 1, 28, 28), t.size(8, 20), 10), ((t.size(3, 12), t.size(5, 30)), t.size(3, 15), t.size(2, 6)),
             ((1, t.size(2, 4), t.size(2, 5)), t.size(2, 8), t.size(2, 4))]
    for shape, hid, q in cases:
        X = t.randn(*shape)
        d = X[0].numel()
        values = [t.randn(d, hid) / d ** 0.5, t.randn(hid) * 0.5, t.randn(hid, q), t.randn(q)]
        weights = t.randn(shape[0], q)
        got, want = t.both(MLP_CODE, X=X, values=values, weights=weights)
        (out, grads, untouched), (out_ref, grads_ref, _) = plain(got), plain(want)
        where = f"for X of shape {shape} and W1 of shape ({d}, {hid})"
        t.check(untouched, "mlp changed the caller's X: reshape it into a new tensor instead")
        t.check(not isinstance(out, str), f"{where} mlp raised {_raised(out)}: flatten each example into a row of "
                                          "W1.shape[0] values, whatever the size of the images")
        t.check(hasattr(out, "shape") and tuple(out.shape) == (shape[0], q),
                f"{where} the logits should have shape ({shape[0]}, {q}); got "
                f"{tuple(getattr(out, 'shape', ())) or 'no tensor'} (flatten each example into a row of "
                "W1.shape[0] values)")
        t.close(out, out_ref, f"{where} the logits differ from relu(X W1 + b1) W2 + b2 (no activation on the "
                              "output layer)", atol=1e-4, rtol=1e-4)
        t.check(grads is not None, "the logits should be differentiable with respect to the parameters "
                                   "(do not detach them or leave autograd)")
        t.close(grads, grads_ref, "the gradients of the logits with respect to the parameters are wrong: "
                                  "compute the output from the parameters passed in", atol=1e-4, rtol=1e-4)


SGD_CODE = """
ps = [p.clone().requires_grad_(True) for p in values]
def net(X):
    return torch.relu(X @ ps[0] + ps[1]) @ ps[2] + ps[3]
X0, y0 = X.clone(), y.clone()
batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X), bs)]
outs = [sgd_epoch(net, ps, batches, lr) for _ in range(epochs)]
result = (outs, [p.detach() for p in ps], [p.grad for p in ps], [p.is_leaf and p.requires_grad for p in ps],
          torch.equal(X, X0) and torch.equal(y, y0), torch.rand(4))
"""


@judge("ex4-sgd-epoch-tests", forbid=twins("sgd_epoch"))
def sgd_epoch(t: Trial):
    bs = t.choice([8, 11, 13])
    n, d, hid, q = bs * t.size(4, 7) + t.size(1, bs // 2), 5, t.size(6, 14), 4   # a smaller last batch
    X = t.randn(n, d)
    y = ((X[:, 0] + X[:, 1] > 0).long() + 2 * (X[:, 2] > 0.3).long())
    values = [t.randn(d, hid) * 0.4, t.randn(hid) * 0.1, t.randn(hid, q) * 0.4, t.randn(q) * 0.1]
    lr, epochs = 0.1 + 0.4 * float(t.rand(1)), 3
    got, want = t.both(SGD_CODE, values=values, X=X, y=y, bs=bs, lr=lr, epochs=epochs)
    (outs, ps, grads, leaves, untouched, after), (outs_ref, ps_ref, _, _, _, after_ref) = plain(got), plain(want)
    t.check(untouched, "sgd_epoch changed the minibatches it was given: leave X and y as they are")
    t.close(after, after_ref, "sgd_epoch changed the global random generator (reseeded it, or drew from it): "
                              "it has no randomness of its own, leave the generator alone")
    t.check(isinstance(outs, list) and all(isinstance(o, (tuple, list)) and len(o) == 2 for o in outs),
            "sgd_epoch should return a pair (mean loss, accuracy)")
    t.check(all(leaves), "the parameters should stay leaf tensors that require gradients: update them in "
                         "place, under torch.no_grad()")
    t.close(ps, ps_ref, "after the epochs the parameters differ from minibatch SGD with this lr: for each "
                        "batch, step on the gradient of the batch's mean loss with p -= lr * p.grad, and zero "
                        "the gradients after every step", atol=1e-5, rtol=1e-4)
    t.check(all(g is None or not bool(g.abs().sum()) for g in grads),
            "after the epoch every parameter's gradient should be zero (or None)")
    t.close([o[0] for o in outs], [o[0] for o in outs_ref],
            "the returned loss should be the mean loss per example over the whole epoch (weigh each batch "
            "by its own size: the last one is smaller), measured before each update", atol=1e-5, rtol=1e-4)
    t.close([o[1] for o in outs], [o[1] for o in outs_ref],
            "the returned accuracy should be the fraction of all examples of the epoch classified correctly, "
            "from the predictions made before each update", atol=1e-6, rtol=0)


@functools.lru_cache(maxsize=1)
def _test_set():
    """Fashion-MNIST's 10,000 test images (float32 in [0, 1], flattened) and labels."""
    import gzip

    import numpy as np
    import torch
    from dlcourse.data import FILES, find_fashion_mnist

    folder = find_fashion_mnist(download=False)
    out = []
    for key, offset in (("test_images", 16), ("test_labels", 8)):
        name = FILES[key].name
        path = folder / name if (folder / name).is_file() else folder / f"{name}.gz"
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        out.append(torch.from_numpy(np.frombuffer(raw, np.uint8, offset=offset).copy()))
    images, labels = out
    return images.reshape(-1, 784).float() / 255, labels.long()


TRAINED_CODE = """
found = globals().get("params")
result = None if found is None else [p.detach() if isinstance(p, torch.Tensor) else p for p in found]
"""


@judge("ex4-trained-mlp-tests")
def trained_mlp(t: Trial):
    import torch

    params = t.student(TRAINED_CODE)
    t.check(params is not None, "the notebook has no trained `params`: run the training cell of 4.4 (after "
                                "4.2-4.4 pass) before you submit")
    params = plain(params)
    shapes = [tuple(getattr(p, "shape", ())) for p in params] if isinstance(params, list) else []
    t.check(shapes == [(784, 256), (256,), (256, 10), (10,)],
            "`params` should hold the trained 784-256-10 MLP, [W1 (784, 256), b1 (256,), W2 (256, 10), "
            f"b2 (10,)]; got shapes {shapes[:4]}")
    W1, b1, W2, b2 = (p.float() for p in params)

    def forward(X):
        return torch.relu(X @ W1 + b1) @ W2 + b2

    X, y = _test_set()
    with torch.no_grad():
        acc = float((forward(X).argmax(dim=1) == y).float().mean())
        t.check(acc >= 0.84, f"the trained MLP should reach a test accuracy of at least 0.84; `params` gives "
                             f"{acc:.4f}. This check needs the whole chain: 4.2-4.4 must pass and the training "
                             "cell must have run with them")
        Xa = X[:128]
        Xb = Xa.flip(0)    # an affine f has f(a) + f(b) == f(a + b) + f(0): a trained MLP does not
        gap = (forward(Xa) + forward(Xb) - forward(Xa + Xb) - forward(torch.zeros_like(Xa))).abs().mean()
        t.check(float(gap) > 0.1 * float(forward(Xa).abs().mean()),
                "the trained network behaves like a linear model: the hidden layer needs its ReLU")


F1_CODE = """
t0, p0 = y_true.clone(), y_pred.clone()
result = (f1_macro(y_true, y_pred, q), torch.equal(y_true, t0) and torch.equal(y_pred, p0))
"""


def _labels(t: Trial, n: int, q: int, hit: float):
    import torch

    y_true = (t.rand(n) * q).long().clamp(max=q - 1)
    y_pred = torch.where(t.rand(n) < hit, y_true, (t.rand(n) * q).long().clamp(max=q - 1))
    return y_true, y_pred


@judge("ex5-f1-macro-tests", forbid={**twins("f1_macro"),
                                     "dlcourse.metrics.f1_macro": "the answer calls dlcourse's own f1_macro: "
                                                                  "write it yourself"})
def f1_macro(t: Trial):
    import torch

    n, q = t.size(60, 200), t.size(3, 9)
    cases = [_labels(t, n, q, 0.5) + (q, "with labels of every class"),
             _labels(t, t.size(5, 12), q, 0.4) + (q, "with only a few examples")]
    y_true, y_pred = _labels(t, t.size(40, 80), q, 0.6)
    cases.append((y_true, y_pred, q + t.size(1, 3), "when some classes neither occur nor are predicted "
                                                     "(their F1 is 0 and they still count in the mean)"))
    y_true = torch.where(t.rand(n) < 0.8, torch.zeros(n, dtype=torch.long), (t.rand(n) * q).long().clamp(max=q - 1))
    y_pred = torch.where(t.rand(n) < 0.7, y_true, torch.zeros(n, dtype=torch.long))
    y_pred[y_pred == q - 1] = 0           # a class that occurs and is never predicted
    cases.append((y_true, y_pred, q, "on imbalanced classes, one of them never predicted"))
    for y_true, y_pred, classes, when in cases:
        got, want = t.both(F1_CODE, y_true=y_true, y_pred=y_pred, q=classes)
        (score, untouched), (score_ref, _) = plain(got), plain(want)
        t.check(untouched, "f1_macro changed the labels passed to it: leave them as they are")
        t.check(isinstance(score, (int, float)) or (isinstance(score, torch.Tensor) and score.numel() == 1),
                "f1_macro should return one number, a float")
        t.close(float(score), score_ref, f"the macro F1 is wrong {when}: it should be the plain mean over "
                                         "all num_classes classes of 2 TP / (2 TP + FP + FN)", atol=1e-6, rtol=1e-6)


RESUME_CODE = """
import os, tempfile
cpu = torch.device("cpu")
train = TensorLoader(X[:ntrain], y[:ntrain], bs, shuffle=True, device=cpu)
test = TensorLoader(X[ntrain:], y[ntrain:], 50, device=cpu)
per_example = nn.CrossEntropyLoss(reduction="none")

def fresh(seed, kind):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(X.shape[1], 12), nn.Tanh(), nn.Linear(12, 2))
    if kind == "adam":
        return m, torch.optim.Adam(m.parameters(), lr=0.02)
    return m, torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)

result = []
for kind, first, total, seeds in runs:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.pt")
        net, opt = fresh(seeds[0], kind)
        train_with_metrics(net, train, test, per_example, first, opt, device=cpu, checkpoint_path=path,
                           animate=False)
        torch.manual_seed(seeds[1])
        net, opt = fresh(seeds[2], kind)
        table = resume_training(path, net, opt, train, test, per_example, total, device=cpu, animate=False)
        saved = load_checkpoint(path)
        result.append((table, net, saved["epoch"], len(saved["results"])))
"""


@judge("ex6-resume-tests", forbid=twins("resume_training"))
def resume_training(t: Trial):
    n, d = t.size(110, 160), t.size(3, 5)
    X = t.randn(n, d)
    y = (X[:, 0] * X[:, 1] > 0).long()
    first = t.size(1, 2)
    runs = [(t.choice(["adam", "sgd"]), first, first + t.size(1, 2), [t.seed() for _ in range(3)]),
            (t.choice(["adam", "sgd"]), 1, 1, [t.seed() for _ in range(3)])]   # nothing left to train
    runs[0] = ("adam" if runs[1][0] == "sgd" else "sgd",) + runs[0][1:]   # both optimizers, one each
    got, want = t.both(RESUME_CODE, X=X, y=y, ntrain=100, bs=t.choice([9, 11, 12]), runs=runs)
    for (kind, first, total, _), mine, ref in zip(runs, plain(got), plain(want)):
        table, net, epoch, rows = mine
        table_ref, net_ref, _, _ = ref
        t.check(isinstance(table, dict) and "epoch" in table,
                "resume_training should return the DataFrame of train_with_metrics")
        epochs = [int(e) for e in table["epoch"]]
        t.check(epochs == list(range(1, total + 1)),
                f"after {first} saved epochs, resuming to total_epochs={total} should give a table of epochs "
                f"1 .. {total}; got epochs {epochs[:12]} (train only the remaining epochs, and pass the saved "
                "table as results)")
        t.check(net.devices in ([], ["cpu"]), "with device=cpu the model should stay on the CPU: pass device "
                                              "on to train_with_metrics")
        t.close(net.state, net_ref.state, "the resumed model's weights differ from a run that was never "
                                          "interrupted: restore the model, the optimizer and the random "
                                          "generator from the checkpoint before training on", atol=1e-5,
                rtol=1e-4)
        t.close({k: v for k, v in table.items() if k != "time"},
                {k: v for k, v in table_ref.items() if k != "time"},
                "the table's metrics differ from a run that was never interrupted", atol=1e-5, rtol=1e-4)
        t.check(epoch == total and rows == total,
                "after resuming, the checkpoint file should hold the whole run (pass the same checkpoint_path "
                "to train_with_metrics, so that it can be interrupted again)")


# --------------------------------------------------------------------------- 4.7

SIMPLE = '''
import os, tempfile
import torch
from torch import nn

class Watched(nn.Module):
    """A small classifier that notes where its inputs are and can crash on a given call."""
    def __init__(self, seed, dropout=0.0, crash_at=None):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 3))
        self.crash_at, self.calls, self.places = crash_at, 0, set()
    def forward(self, X):
        self.calls += 1
        self.places.add((X.device.type, next(self.parameters()).device.type))
        if self.calls == self.crash_at:
            raise RuntimeError("simulated crash")
        return self.net(X)

seen = []
def top(y_true, y_scores):
    seen.append((tuple(y_true.shape), tuple(y_scores.shape)))
    if y_scores.ndim != 2:
        return float("nan")
    return float(torch.softmax(y_scores.float(), dim=1).max(dim=1).values.mean())

def acc(y_true, y_scores):
    return float((y_scores.argmax(dim=1) == y_true).float().mean()) if y_scores.ndim == 2 else float("nan")

train_iter = TensorLoader(Xs[:n_train], ys[:n_train], batch, shuffle=True, device=torch.device("cpu"))
test_iter = TensorLoader(Xs[n_train:], ys[n_train:], 30, device=torch.device("cpu"))
device = "cuda" if torch.cuda.is_available() else "cpu"

def run(seed, epochs, path=None, dropout=0.0, crash_at=None, score_funcs=None):
    m = Watched(seed, dropout, crash_at)
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
    return m, train_simple_network(m, nn.CrossEntropyLoss(), train_iter, test_iter, epochs=epochs,
                                   device=device, score_funcs=score_funcs, checkpoint_file=path,
                                   optimizer=opt)

def table(df):
    return {str(c): [float(v) for v in df[c]] for c in df.columns if c != "total time"}

m, first = run(5, epochs, dropout=0.3, score_funcs={"acc": acc, "top": top})
times = [float(v) for v in first["total time"]] if "total time" in first.columns else None
places = sorted(m.places)
m_a, full = run(5, epochs + 1)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "run.pt")
    batches = len(list(train_iter)) + len(list(test_iter))
    crashed = False
    try:
        run(5, epochs + 1, path, crash_at=2 * batches + 3)
    except RuntimeError:
        crashed = True
    saved = load_checkpoint(path) if os.path.exists(path) else None
    saved_info = None if saved is None else (int(saved["epoch"]), len(saved["results"]),
                                              bool(saved["optimizer_state_dict"]["state"]))
    m_c, resumed = run(77, epochs + 1, path)
    after = int(load_checkpoint(path)["epoch"])
    m_d, finished = run(78, epochs + 1, path)
plain_run = run(5, 2)[1]
result = dict(first=table(first), times=times, places=places, seen=seen[:2], full=table(full),
              crashed=crashed, saved=saved_info, resumed=table(resumed), after=after,
              finished=(m_d.calls, len(finished)), plain_columns=sorted(map(str, plain_run.columns)),
              weights=[p.detach().cpu() for p in m_c.parameters()],
              weights_full=[p.detach().cpu() for p in m_a.parameters()])
'''


@judge("ex7-train-simple-network-tests", timeout=90)
def train_simple_network(t: Trial):
    n_train = t.size(70, 110)
    batch = t.choice([b for b in (12, 16, 20) if n_train % b])
    Xs = t.randn(n_train + 30, 4)
    ys = (Xs[:, 0] > 0).long() + (Xs[:, 1] * Xs[:, 2] > 0).long()
    lr, epochs = t.choice([0.05, 0.1, 0.2]), t.choice([2, 3])
    got, want = t.both(SIMPLE, Xs=Xs, ys=ys, n_train=n_train, batch=batch, lr=lr, epochs=epochs)
    got, want = plain(got), plain(want)
    first, ref = got["first"], want["first"]
    t.check(sorted(first) == sorted(ref),
            f"the results table should have the columns {sorted(list(ref) + ['total time'])}; "
            f"got {sorted(list(first) + (['total time'] if got['times'] is not None else []))[:12]}")
    t.check(first["epoch"] == ref["epoch"], f"one row per epoch, epoch = 1 .. {epochs}")
    t.check(got["times"] is not None and got["times"][0] >= 0 and got["times"] == sorted(got["times"]),
            "\"total time\" should be the seconds spent training so far: never negative, never falling")
    t.check(got["seen"] == want["seen"],
            "each score function should get the labels (n,) and the model's raw scores (n, q) of the "
            "whole pass at once, not argmax labels and not one batch at a time")
    t.check(got["places"] == want["places"],
            "the model and every batch should be moved to the device passed in")
    for col in ref:
        t.close(first[col], ref[col], f"the column \"{col}\" differs from what the docstring describes "
                "(losses are means per example over the pass; the training columns come from the "
                "predictions made while training; the test columns from one pass in eval mode without "
                "gradients after the epoch)", atol=1e-5, rtol=1e-4)
    t.check(got["crashed"], "a crash inside training should not be caught: let the error through")
    t.check(got["saved"] is not None, "no checkpoint after two finished epochs: save one after every epoch")
    t.check(got["saved"] == want["saved"],
            "the checkpoint should hold the epoch, the results so far and the optimizer's state "
            "(save it after every epoch with save_checkpoint)")
    t.check(got["after"] == want["after"], "keep checkpointing after resuming")
    t.close(got["resumed"], want["resumed"], "a run resumed from the checkpoint should give the same "
            "results as an uninterrupted run: restore the model, the optimizer, the random state and "
            "the results, and go on from the next epoch", atol=1e-5, rtol=1e-4)
    t.close(got["resumed"], got["full"], "a run resumed from the checkpoint should give the same "
            "results as an uninterrupted run", atol=1e-5, rtol=1e-4)
    t.close(got["weights"], got["weights_full"], "the resumed weights differ from an uninterrupted run",
            atol=1e-5, rtol=1e-4)
    t.check(got["finished"] == want["finished"],
            "a finished run (its checkpoint at the last epoch) should train nothing and return its table")
    t.check(got["plain_columns"] == want["plain_columns"],
            "without score functions the table has only epoch, total time, train loss and test loss")
