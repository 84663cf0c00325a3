"""Judges of chapter 6, weight decay (see grader.judge)."""
from grader.judge import Trial, judge, plain
from grader.judges import RECORDER

ASSIGNMENT = "06-weight-decay"


@judge("ex1-l2-penalty-tests")
def l2_penalty(t: Trial):
    code = ("w = w0.clone().requires_grad_(True)\n"
            "p = l2_penalty(w)\n"
            "is_tensor = torch.is_tensor(p)\n"
            "grad = None\n"
            "if is_tensor and p.requires_grad:\n"
            "    p.sum().backward()\n"
            "    grad = w.grad\n"
            "w_plain = w0.clone()\n"
            "l2_penalty(w_plain)\n"
            "result = (p.detach() if is_tensor else p, p.dim() if is_tensor else -1, grad,\n"
            "          torch.equal(w_plain, w0))")
    for shape in [(t.size(2, 30), 1), (t.size(2, 6), t.size(2, 6)), (t.size(1, 9),)]:
        w0 = t.randn(*shape) * (0.5 + 2 * float(t.rand(1)))
        got, want = t.both(code, w0=w0)
        # (the probe reports the number of dimensions: a 0-d tensor travels as shape (1,))
        (value, dim, grad, untouched), (value_ref, _, grad_ref, _) = plain(got), plain(want)
        t.check(dim >= 0, "l2_penalty should return a tensor (a 0-d scalar tensor), so that autograd "
                           "can differentiate it; it returned something else")
        t.check(untouched, "l2_penalty changed the caller's w: compute the penalty without modifying w")
        t.check(value.numel() == 1, f"for w of shape {shape} the penalty should be one number (a 0-d tensor); "
                                    f"got a tensor of shape {tuple(value.shape)}")
        t.close(value.reshape(-1), value_ref.reshape(-1),
                f"for w of shape {shape} the penalty is wrong: it is the sum of the squares of all entries of w, "
                "divided by 2 (no square root, no mean)", rtol=1e-4)
        t.check(dim == 0, f"the penalty should be a 0-d tensor (shape ()), got a {dim}-d tensor")
        t.check(grad is not None, "the penalty is not differentiable: autograd found no path back to w (keep "
                                  "it a torch computation on w, without .item(), float() or detach())")
        t.close(grad, grad_ref, "the gradient of the penalty with respect to w should be w itself",
                rtol=1e-4)


@judge("ex2-train-scratch-tests", inject=("l2_penalty",))
def train_scratch(t: Trial):
    import torch

    d, n, m = t.size(6, 12), t.size(21, 29), t.size(7, 15)
    batch_size = t.choice([b for b in (4, 5, 6, 7) if n % b])
    w_true = t.randn(d, 1) * 0.3
    X, Xt = t.randn(n, d), t.randn(m, d)
    b_true = 1 + 0.5 * float(t.randn(1))            # an intercept, so that decaying b would show
    y, yt = X @ w_true + b_true + 0.1 * t.randn(n, 1), Xt @ w_true + b_true + 0.1 * t.randn(m, 1)
    lr, lambd = 0.01 + 0.03 * float(t.rand(1)), 0.2 + 1.5 * float(t.rand(1))
    num_epochs = t.choice([10, 15, 20])
    code = RECORDER + (
        "data = (X, y, Xt, yt)\n"
        "copies = [v.clone() for v in data]\n"
        "animator = Recorder()\n"
        "runs = [train_scratch(lambd, X, y, Xt, yt, num_epochs=num_epochs, lr=lr, batch_size=batch_size,\n"
        "                      animator=animator)]\n"
        "runs.append(train_scratch(lambd, X, y, Xt, yt, num_epochs=num_epochs, lr=lr, batch_size=batch_size))\n"
        "runs.append(train_scratch(0, X, y, Xt, yt, num_epochs=num_epochs, lr=lr, batch_size=batch_size))\n"
        "runs.append(train_scratch(lambd, X, y, Xt, yt))\n"
        "result = ([(w.detach(), b.detach(), tr, te) for w, b, tr, te in runs], animator.calls,\n"
        "          all(torch.equal(v, c) for v, c in zip(data, copies)))")
    got, want = t.both(code, inject=("l2_penalty",), X=X, y=y, Xt=Xt, yt=yt, lr=lr, lambd=lambd,
                       num_epochs=num_epochs, batch_size=batch_size)
    (runs, calls, untouched), (runs_ref, calls_ref, _) = plain(got), plain(want)
    t.check(untouched, "train_scratch changed the caller's features or labels: leave them as they are")
    t.check(len(runs) == 4 and all(len(r) == 4 for r in runs),
            "train_scratch should return (w, b, train_loss, test_loss)")
    t.check(tuple(runs[0][0].shape) == (d, 1) and tuple(runs[0][1].shape) == (1,),
            f"w should have shape (d, 1) and b shape (1,); got {tuple(runs[0][0].shape)} and "
            f"{tuple(runs[0][1].shape)}")
    t.check(not torch.equal(runs[0][0], runs[1][0]),
            "two calls trained to exactly the same weights: each call should start from its own random "
            "initialisation and minibatch order (do not reseed the random generator)")
    xs, xs_ref = [x for x, _ in calls], [x for x, _ in calls_ref]
    t.check(xs == xs_ref, f"the animator should get a point after every 5th epoch, at x = 5, 10, ...; for "
                          f"{num_epochs} epochs it got x = {xs[:12]}")
    steps = ("the trained w and b differ from what minibatch SGD on the penalised loss gives{}: per minibatch, "
             "the summed squared loss plus lambd * l2_penalty(w) once per example of the batch (the last batch "
             "may be smaller), one backward and one sgd step on w and b, one pass over the data per epoch, "
             "with lambd, lr, num_epochs and batch_size as passed")
    for k, what in [(0, ""), (2, " with lambd = 0"), (3, " with the default arguments")]:
        (w, b, tr, te), (w_ref, b_ref, tr_ref, te_ref) = runs[k], runs_ref[k]
        t.close((w, b.reshape(-1)), (w_ref, b_ref), steps.format(what), atol=1e-4, rtol=1e-3)
        t.close((tr, te), (tr_ref, te_ref), f"the returned training and test losses{what} should be the mean "
                                            "squared losses of the trained model, without the penalty",
                atol=1e-6, rtol=1e-3)
    t.close([ys for _, ys in calls], [ys for _, ys in calls_ref],
            "the animator's y should be (training loss, test loss) after that epoch, both from evaluate: "
            "the mean squared loss over the whole set, without the penalty", atol=1e-6, rtol=1e-3)


@judge("ex3-sgd-decay-tests")
def sgd_decay(t: Trial):
    import torch

    code = ("w = w0.clone().requires_grad_(True)\n"
            "b = b0.clone().requires_grad_(True)\n"
            "w.grad, b.grad = gw.clone(), gb.clone()\n"
            "ids = (id(w), id(b))\n"
            "sgd_decay(w, b, lr, batch_size, lambd)\n"
            "result = (w.detach(), b.detach(), [w.grad, b.grad],\n"
            "          [p.requires_grad and p.is_leaf for p in (w, b)], (id(w), id(b)) == ids)")
    # lr * lambd * lr / batch_size >= 8e-4: decaying after the step instead of before misses by far more
    # than the tolerance (1e-5 + 1e-4 |w|) unless every |w.grad| entry is below 0.15
    for lambd in (0.0, 0.5 + 2 * float(t.rand(1))):
        d = t.size(4, 12)
        w0, b0, gw, gb = t.randn(d, 1), t.randn(1), t.randn(d, 1) * 3, t.randn(1) * 3
        lr, batch_size = 0.1 + 0.2 * float(t.rand(1)), t.size(2, 6)
        got, want = t.both(code, w0=w0, b0=b0, gw=gw, gb=gb, lr=lr, batch_size=batch_size, lambd=lambd)
        (w, b, grads, leaves, same), (w_ref, b_ref, *_) = plain(got), plain(want)
        t.close(b, b_ref, "b should take the plain step b - lr * b.grad / batch_size, in place (no decay "
                          "on the bias)")
        t.close(w, w_ref, "w should become (1 - lr * lambd) * w - lr * w.grad / batch_size, in place"
                + ("" if lambd else " (with lambd = 0 that is the plain SGD step)"))
        t.check(all(g is None or (isinstance(g, torch.Tensor) and not g.abs().sum()) for g in grads),
                "after the step both gradients should be zeroed")
        t.check(all(leaves) and same, "update w and b in place, under torch.no_grad(): they should stay the "
                                      "same leaf tensors that require grad")


NET = "nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.Tanh(), nn.Linear(c, e))"


@judge("ex4-make-trainer-tests", timeout=40)   # a first torch optimiser in a fresh kernel takes seconds
def make_trainer(t: Trial):
    import torch
    from torch import nn

    a, b, c, e = (t.size(3, 9) for _ in range(4))
    lr, wd = 0.05 + 0.2 * float(t.rand(1)), 0.1 + 1.5 * float(t.rand(1))
    X = t.randn(11, a)
    code = (
        f"net = {NET}\n"
        "start = {n: p.detach().clone() for n, p in net.named_parameters()}\n"
        "names = {id(p): n for n, p in net.named_parameters()}\n"
        "trainer = make_trainer(net, lr, wd)\n"
        "is_sgd = isinstance(trainer, torch.optim.SGD)\n"
        "groups = [(float(g['lr']), float(g['weight_decay']), float(g.get('momentum', 0)),\n"
        "           [names.get(id(p), '?') for p in g['params']]) for g in trainer.param_groups] if is_sgd else []\n"
        "for _ in range(3):\n"
        "    trainer.zero_grad()\n"
        "    ((net(X) - 1) ** 2).mean().backward()\n"
        "    trainer.step()\n"
        "result = (is_sgd, type(trainer).__name__, groups, start,\n"
        "          {n: p.detach() for n, p in net.named_parameters()})")
    is_sgd, kind, groups, start, params = plain(t.student(code, a=a, b=b, c=c, e=e, lr=lr, wd=wd, X=X))
    t.check(is_sgd, f"make_trainer should return a torch.optim.SGD; it returned a {kind[:40]}")
    decay = {}
    for g_lr, g_wd, momentum, names in groups:
        t.check(abs(g_lr - lr) < 1e-9, "every parameter group should use the lr passed in; a group has "
                                       "another learning rate")
        t.check(momentum == 0, "plain SGD: no momentum")
        for name in names:
            t.check(name not in decay, f"the parameter {name} is in two groups: put each parameter in exactly one")
            decay[name] = g_wd
    for name in start:
        t.check(name in decay, f"the parameter {name} is missing from the optimiser: every parameter of net "
                               "must be in one group")
        want_wd = wd if name.endswith("weight") else 0.0
        t.check(abs(decay[name] - want_wd) < 1e-9,
                f"{name} should have weight_decay {'wd' if want_wd else '0'}, but has "
                f"{'wd' if abs(decay[name] - wd) < 1e-9 else 'another value'}: decay the weights, "
                "not the biases")
    # three steps of SGD with decay on the weights only, by hand (no optimiser in the grader)
    net = eval(NET, {"nn": nn, "a": a, "b": b, "c": c, "e": e})
    net.load_state_dict(start)
    for _ in range(3):
        net.zero_grad()
        ((net(X) - 1) ** 2).mean().backward()
        with torch.no_grad():
            for name, p in net.named_parameters():
                p -= lr * (p.grad + (wd * p if name.endswith("weight") else 0))
    t.close(params, {n: p.detach() for n, p in net.named_parameters()},
            "after three steps the parameters differ from what SGD with decay on the weights only gives: "
            "plain SGD (no momentum), with lr and wd as passed", atol=1e-5, rtol=1e-4)
