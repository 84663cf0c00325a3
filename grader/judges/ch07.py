"""Judges of chapter 7, dropout (see grader.judge)."""
from grader.judge import Tensor, Trial, judge, plain

ASSIGNMENT = "07-dropout"

TORCH_DROPOUT = {name: "the exercise says: write dropout yourself, not with torch's own dropout "
                       "(nn.Dropout, nn.functional.dropout)"
                 for name in ("torch.nn.functional.dropout", "torch.dropout", "torch.dropout_",
                              "torch.nn.Dropout.forward")}

SCRIPTED = '''
class Scripted(nn.Module):
    """Training mode: pass k gives script[k % len(script)]; eval mode: eval_logits. Notes whether
    each training-mode pass recorded gradients."""
    def __init__(self, script, eval_logits):
        super().__init__()
        self.script, self.eval_logits, self.grad_on = script, eval_logits, []
        self.weight = nn.Parameter(torch.tensor(1.0))
    @property
    def calls(self):
        return len(self.grad_on)
    def forward(self, X):
        if self.training:
            self.grad_on.append(torch.is_grad_enabled())
            return self.weight * self.script[(len(self.grad_on) - 1) % len(self.script)]
        return self.weight * self.eval_logits
'''


@judge("ex1-dropout-layer-tests", forbid=TORCH_DROPOUT)
def dropout_layer(t: Trial):
    import torch

    X = t.randn(t.size(3, 9), t.size(3, 9))
    A = t.rand(100, 150) + 0.5                        # all positive, so 0 means dropped
    C = t.rand(t.size(3, 5), t.size(12, 16), t.size(12, 16)) + 0.5
    ps = [0.1 + 0.25 * float(t.rand(1)), 0.6 + 0.15 * float(t.rand(1))]
    p_count = 0.2 + 0.4 * float(t.rand(1))
    code = ("X0, A0 = X.clone(), A.clone()\n"
            "identity, zeros = dropout_layer(X, 0), dropout_layer(X, 1)\n"
            "pairs = [(dropout_layer(A, p), dropout_layer(A, p)) for p in ps]\n"
            "cube = dropout_layer(C, 0.5)\n"
            "counts = [float((dropout_layer(torch.ones(10), p_count) != 0).sum()) for _ in range(1000)]\n"
            "device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
            "on_device = dropout_layer(X.to(device), 0.5)\n"
            "result = (identity, zeros, pairs, cube, counts, torch.equal(X, X0) and torch.equal(A, A0),\n"
            "          device, on_device)")
    *got, device, on_device = t.student(code, X=X, A=A, C=C, ps=ps, p_count=p_count)
    identity, zeros, pairs, cube, counts, untouched = plain(got)
    # on a grading machine with a GPU: the result stays on X's device (torch.rand(X.shape) would not)
    t.check(getattr(on_device, "device", None) == device,
            "for X on the GPU the result should be on the GPU too: draw the random numbers on X's device "
            "(torch.rand_like(X), or device=X.device)")
    t.check(untouched, "dropout_layer changed its input X: compute the result without modifying X")
    t.check(isinstance(identity, torch.Tensor) and identity.dtype == X.dtype,
            "dropout_layer should return a tensor of X's dtype (float32 for a float32 X)")
    t.check(identity.shape == X.shape and torch.equal(identity, X),
            "with p = 0 nothing is dropped: dropout_layer should return X unchanged")
    t.check(isinstance(zeros, torch.Tensor) and zeros.shape == X.shape and not zeros.isnan().any()
            and not zeros.abs().sum(), "with p = 1 everything is dropped: the result should be all zeros of X's "
                                       "shape (handle p = 1 before dividing by 1 - p)")
    for p, (out, again) in zip(ps, pairs):
        t.check(out.shape == A.shape, f"the result should have X's shape {tuple(A.shape)}, got {tuple(out.shape)}")
        t.check(out.dtype == A.dtype, f"for a float32 X the result should be float32, got {out.dtype}")
        kept = out != 0
        frac = float(kept.float().mean())
        t.check(abs(frac - (1 - p)) < 0.02,
                f"each element should be kept with probability 1 - p; yours kept {100 * frac:.0f}% of the "
                "elements, where the dropout probability asks for a clearly different share")
        t.check(torch.allclose(out[kept], A[kept] / (1 - p), rtol=1e-5, atol=1e-6),
                "the kept elements should be divided by 1 - p (and the dropped ones set to 0)")
        t.check(abs(float(out.mean()) / float(A.mean()) - 1) < 0.08,
                "dropout should keep the expected value of each element: the mean of the result is far from "
                "the mean of X")
        rows, cols = kept.float().mean(1), kept.float().mean(0)
        t.check(float(rows.std()) < 0.1 and float(cols.std()) < 0.1,
                "drop each element independently, not whole rows or columns")
        t.check(not torch.equal(out, again), "two calls gave the same mask: each call should draw new random "
                                             "numbers (do not reseed the random generator)")
    t.check(cube.shape == C.shape, "dropout_layer should work for a tensor of any shape and keep its shape")
    kept = cube != 0
    t.check(abs(float(kept.float().mean()) - 0.5) < 0.1 and torch.allclose(cube[kept], 2 * C[kept], rtol=1e-5),
            "for a 3-d tensor and p = 0.5, about half the elements should be kept, each doubled")
    n_kept = torch.tensor(counts)
    var, want = float(n_kept.var()), 10 * p_count * (1 - p_count)
    t.check(abs(var / want - 1) < 0.25 and abs(float(n_kept.mean()) - 10 * (1 - p_count)) < 0.3,
            "each element is kept or dropped on its own coin, so the number of survivors among 10 elements "
            "should vary from call to call like a binomial count; yours "
            + ("barely varies: do not keep a fixed number of elements" if var < want / 2 else
               "does not follow a binomial count with probability 1 - p"))


@judge("ex2-dropout-net-tests", inject=("dropout_layer",), forbid=TORCH_DROPOUT)
def dropout_net(t: Trial):
    import torch

    a, b = t.size(3, 6), t.size(3, 6)
    q, h1, h2, batch = t.size(3, 6), t.size(8, 16), t.size(6, 12), t.size(9, 20)
    p1, p2 = 0.1 + 0.3 * float(t.rand(1)), 0.4 + 0.4 * float(t.rand(1))
    X = t.rand(batch, 1, a, b)
    code = ("n_in = X.shape[-1] * X.shape[-2]\n"
            "net = Net(n_in, q, h1, h2, p1, p2)\n"
            "net.eval()\n"
            "e1, e2, eval_mode = net(X).detach(), net(X).detach(), net.training\n"
            "net.train()\n"
            "t1, t2, train_mode = net(X).detach(), net(X).detach(), net.training\n"
            "edge = [Net(n_in, q, h1, h2, r1, r2).train()(X).detach() for r1, r2 in ((1.0, 0.0), (0.0, 1.0), (0.0, 0.0))]\n"
            "result = (e1, e2, t1, t2, edge, (eval_mode, train_mode))")
    got, want = t.both(code, inject=("dropout_layer",), X=X, q=q, h1=h1, h2=h2, p1=p1, p2=p2)
    (e1, e2, t1, t2, edge, modes), (e_ref, _, t_ref, _, edge_ref, _) = plain(got), plain(want)
    t.check(tuple(e1.shape) == (batch, q), f"for {batch} examples and {q} outputs, forward should return "
                                           f"({batch}, {q}) logits, got {tuple(e1.shape)}; flatten each example "
                                           "to num_inputs values first")
    t.check(modes == (False, True), "forward should not change the net's mode (net.train() / net.eval() set it)")
    t.check(torch.equal(e1, e2), "in eval mode dropout is off: the output must not be random")
    t.close(e1, e_ref, "in eval mode the net should be the plain MLP lin3(relu(lin2(relu(lin1(X))))), "
                       "with no dropout")
    t.check(not torch.equal(t1, t2), "in training mode dropout should be on: two passes should differ")
    t.close(edge[2], edge_ref[2], "with both probabilities 0 in training mode the net should be the plain MLP: "
                                  "no dropout on the input or on the output")
    t.close(edge[0], edge_ref[0], "with dropout1 = 1 in training mode the first hidden layer is all zeros: "
                                  "dropout1 belongs after the first hidden layer's ReLU")
    t.close(edge[1], edge_ref[1], "with dropout2 = 1 in training mode the second hidden layer is all zeros, so the "
                                  "output is lin3's bias: dropout2 belongs after the second hidden layer")
    t.close(t1, t_ref, "in training mode forward should call dropout_layer(H, self.dropout1) on the first hidden "
                       "layer's output and dropout_layer(H, self.dropout2) on the second's, in that order")


@judge("ex3-mc-dropout-tests")
def mc_dropout(t: Trial):
    import torch

    batch, q = t.size(3, 8), t.size(3, 6)
    script = [t.randn(batch, q) * 3 for _ in range(3)]
    eval_logits = t.randn(batch, q)
    cases = [(1, "eval"), (t.size(2, 6), "eval"), (t.size(2, 6), "train")]
    Xr = t.randn(t.size(6, 12), 5)
    code = SCRIPTED + (
        "runs = []\n"
        "for T, mode in cases:\n"
        "    m = Scripted(script, eval_logits)\n"
        "    getattr(m, mode)()\n"
        "    out = mc_dropout_predict(m, torch.zeros(len(eval_logits), 2), T)\n"
        "    runs.append((out, m.calls, any(m.grad_on), m.training))\n"
        "real = nn.Sequential(nn.Linear(5, 24), nn.ReLU(), nn.Dropout(0.5), nn.Linear(24, q)).eval()\n"
        "Xr0 = Xr.clone()\n"
        "m1, m2 = mc_dropout_predict(real, Xr, 400), mc_dropout_predict(real, Xr, 400)\n"
        "with torch.no_grad():\n"
        "    ev = torch.softmax(real(Xr), dim=1)\n"
        "lin = nn.Sequential(nn.Linear(5, q)).eval()\n"
        "with torch.no_grad():\n"
        "    lin_ev = torch.softmax(lin(Xr), dim=1)\n"
        "result = (runs, m1, m2, ev, real.training, mc_dropout_predict(lin, Xr, 3), lin_ev,\n"
        "          torch.equal(Xr, Xr0))")
    got, want = t.both(code, script=script, eval_logits=eval_logits, cases=cases, Xr=Xr, q=q)
    (runs, m1, m2, ev, real_mode, lin_mc, lin_ev, untouched), (runs_ref, m_ref, *_) = got, want
    for (T, mode), (out, calls, grad_on, training), (out_ref, *_) in zip(cases, runs, runs_ref):
        t.check(calls == T, f"num_samples = {T} forward passes in training mode expected, the net saw {calls}"
                            + (": switch dropout on with net.train() before the passes" if not calls else ""))
        t.check(not grad_on, "the passes recorded gradients: the exercise says to record none, so run them under "
                             "torch.no_grad()")
        t.check(isinstance(out, Tensor) and out.shape == (batch, q),
                f"the result should have shape (batch, q) = ({batch}, {q})")
        t.check(not out.requires_grad, "the result should not require grad")
        t.close(out, out_ref, "the result should be the mean over the passes of the softmax probabilities "
                              "(average the probabilities, not the logits or the predicted labels)", atol=1e-5)
        t.check(training == (mode == "train"), f"the net was in {mode} mode before the call: leave it in "
                                               f"{mode} mode afterwards")
    m1, m2, m_ref, ev = plain(m1), plain(m2), plain(m_ref), plain(ev)
    t.check(untouched, "mc_dropout_predict changed its input X: leave it as it is")
    t.check(not real_mode, "the net was in eval mode before the call: leave it in eval mode afterwards")
    t.check(torch.allclose(m1.sum(dim=1), torch.ones(len(m1)), atol=1e-4) and bool((m1 >= 0).all()),
            "each row of the result should be a probability distribution over the classes")
    t.check(float((m1 - ev).abs().max()) > 5e-4, "for a net with nn.Dropout the passes should run with dropout on")
    t.check(not torch.equal(m1, m2), "two calls gave exactly the same result: each pass should draw new dropout "
                                     "masks (do not reseed the random generator)")
    t.check(float((m1 - m_ref).abs().max()) < 0.06,
            "for a net with nn.Dropout the result is far from the average of many random passes")
    t.close(lin_mc, lin_ev, "for a net without dropout every pass is the same, so the result should be its "
                            "softmax", atol=1e-5)


@judge("ex4-dropout-mlp-tests")
def dropout_mlp(t: Trial):
    import torch

    h1, h2, batch = t.size(10, 24), t.size(8, 16), t.size(5, 12)
    p1, p2 = 0.1 + 0.3 * float(t.rand(1)), 0.4 + 0.4 * float(t.rand(1))
    X = t.rand(batch, 1, 28, 28)
    code = ("net = dropout_mlp(h1, h2, p1, p2)\n"
            "is_seq = isinstance(net, nn.Sequential)\n"
            "rates = [float(m.p) for m in net.modules() if isinstance(m, nn.Dropout)]\n"
            "net.eval()\n"
            "e1, e2 = net(X).detach(), net(X).detach()\n"
            "net.train()\n"
            "t1, t2 = net(X).detach(), net(X).detach()\n"
            "edge = []\n"
            "for r1, r2 in ((1.0, 0.0), (0.0, 1.0), (0.0, 0.0)):\n"
            "    m = dropout_mlp(h1, h2, r1, r2).train()\n"
            "    edge.append((m, m(X).detach()))\n"
            "result = (is_seq, rates, net, e1, e2, t1, t2, edge)")
    is_seq, rates, net, e1, e2, t1, t2, edge = plain(t.student(code, X=X, h1=h1, h2=h2, p1=p1, p2=p2))
    t.check(is_seq, "dropout_mlp should return an nn.Sequential")
    t.check(tuple(e1.shape) == (batch, 10), f"for {batch} images the output should have shape ({batch}, 10), "
                                            f"got {tuple(e1.shape)}")
    t.check(len(rates) == 2 and all(abs(r - p) < 1e-9 for r, p in zip(rates, (p1, p2))),
            f"expected two nn.Dropout layers, with p = dropout1 and then dropout2; found {len(rates)} "
            "dropout layer(s)" + (" with other rates" if len(rates) == 2 else ""))

    def linears(module):
        """The (weight, bias) pairs of the 2-d weights in the module's state, in order."""
        state = plain(module.state)
        return [(state[k], state.get(k[:-len("weight")] + "bias")) for k in state
                if k.endswith("weight") and state[k].dim() == 2]

    def mlp(layers, x):
        (w1, b1), (w2, b2), (w3, b3) = layers
        h = torch.relu(x.reshape(len(x), -1) @ w1.T + b1)
        return torch.relu(h @ w2.T + b2) @ w3.T + b3

    layers = linears(net)
    shapes = [tuple(w.shape) for w, _ in layers]
    t.check(shapes == [(h1, 784), (h2, h1), (10, h2)] and all(bias is not None for _, bias in layers),
            f"expected three nn.Linear layers, 784 -> num_hiddens1 -> num_hiddens2 -> 10; found weights of shapes "
            f"{shapes[:5]}")
    t.check(torch.equal(e1, e2), "in eval mode the output must not be random")
    t.check(torch.allclose(e1, mlp(layers, X), atol=1e-5), "in eval mode the net should be the plain MLP: "
                                                           "Flatten, Linear, ReLU, Linear, ReLU, Linear")
    t.check(not torch.equal(t1, t2), "in training mode dropout should be on: two passes should differ")
    (m_a, out_a), (m_b, out_b), (m_c, out_c) = edge
    t.check(torch.allclose(out_c, mlp(linears(m_c), X), atol=1e-5),
            "with both probabilities 0 the net should be the plain MLP: no dropout on the input or the output, "
            "ReLU after each hidden layer")
    (_, _), (w2, b2), (w3, b3) = linears(m_a)
    t.check(torch.allclose(out_a, (torch.relu(b2) @ w3.T + b3).expand(batch, 10), atol=1e-5),
            "with dropout1 = 1 in training mode the first hidden layer is all zeros: dropout1 belongs right "
            "after the first hidden layer's ReLU")
    (_, _), (_, _), (_, b3) = linears(m_b)
    t.check(torch.allclose(out_b, b3.expand(batch, 10), atol=1e-5),
            "with dropout2 = 1 in training mode the second hidden layer is all zeros, so the output is the last "
            "layer's bias: dropout2 belongs after the second hidden layer, none after the output layer")
