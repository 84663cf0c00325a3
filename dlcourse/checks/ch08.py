"""Visible tests of chapter 8, forward/backward propagation, numerical stability and initialisation."""
import math

import torch

from . import exercise

# A tiny example worked out by hand: X (2, 2), y (2,), W1 (2, 3), W2 (3, 3), lambda = 0.1.
_X = torch.tensor([[1.0, -1.0], [0.5, 1.0]])
_Y = torch.tensor([0, 2])
_W1 = torch.tensor([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]])
_W2 = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0], [-1.0, 1.0, 1.0]])
_Z = torch.tensor([[0.5, -2.0, 1.5], [1.0, 0.5, -0.75]])
_H = torch.tensor([[0.5, 0.0, 1.5], [1.0, 0.5, 0.0]])
_O = torch.tensor([[-1.0, 1.5, 1.0], [1.25, 1.0, -1.0]])
_LOSS, _PENALTY = 2.9537063, 0.6875
# dJ/dW1 and dJ/dW2 of that example, from autograd in float64.
_DW1 = torch.tensor([[-0.18659095, 0.17300732, 1.00138918], [1.44268403, 0.64601464, -1.05138918]])
_DW2 = torch.tensor([[0.12751732, 0.35471643, -0.48223375], [0.18268230, 0.30333308, -0.23601539],
                     [-0.81354188, 0.54415080, 0.36939108]])


def _scalar(J) -> float:
    return float(J.detach()) if isinstance(J, torch.Tensor) else float(J)


@exercise("8.1 forward pass",
          hint="Follow the computational graph: hidden pre-activations from X and W1, ReLU, output logits "
               "through W2. The objective is the mean cross-entropy plus lambd / 2 times the sum of the "
               "squared entries of both weight matrices; return it with the three intermediate tensors in "
               "the cache.")
def check_forward(forward):
    out = forward(_X, _Y, _W1, _W2, 0.1)
    assert isinstance(out, tuple) and len(out) == 2, "forward should return a pair (J, cache)"
    J, cache = out
    assert isinstance(cache, dict) and {"Z", "H", "O"} <= set(cache), \
        f"cache should be a dict with the keys 'Z', 'H' and 'O', got {type(cache).__name__} " \
        f"{sorted(cache) if isinstance(cache, dict) else ''}"
    for key, want in [("Z", _Z), ("H", _H), ("O", _O)]:
        got = cache[key].detach()
        assert tuple(got.shape) == tuple(want.shape), \
            f"cache['{key}'] should have shape {tuple(want.shape)}, got {tuple(got.shape)}"
        assert torch.allclose(got, want, atol=1e-5), \
            f"cache['{key}'] should be {want.tolist()}, got {got.tolist()}"
    J0 = _scalar(forward(_X, _Y, _W1, _W2, 0.0)[0])
    assert abs(J0 - _LOSS) < 1e-4, \
        f"with lambd = 0, J is the mean cross-entropy loss {_LOSS:.4f}; got {J0:.4f}"
    J = _scalar(J)
    assert abs(J - (_LOSS + _PENALTY)) < 1e-4, \
        f"with lambd = 0.1, J should be {_LOSS + _PENALTY:.4f} (loss {_LOSS:.4f} + penalty " \
        f"{_PENALTY:.4f} = 0.1 / 2 * (||W1||^2 + ||W2||^2)); got {J:.4f}"


@exercise("8.2 backward pass",
          hint="Walk the graph backwards with the chain rule. The gradient of the mean loss with respect to "
               "O is (softmax − one-hot) / n; each weight's gradient is its layer's input, transposed, times "
               "the gradient that reaches the layer's output, plus lambd times the weight; ReLU passes the "
               "gradient only where its input was positive.")
def check_backward(backward, forward):
    try:  # backward may read extra entries of its own forward's cache
        cache = dict(forward(_X, _Y, _W1, _W2, 0.1)[1])
    except Exception:
        cache = {}
    cache.update({"Z": _Z, "H": _H, "O": _O})
    grads = backward(_X, _Y, _W1, _W2, 0.1, cache)
    assert isinstance(grads, tuple) and len(grads) == 2, "backward should return a pair (dW1, dW2)"
    for name, got, want in [("dW1", grads[0], _DW1), ("dW2", grads[1], _DW2)]:
        assert tuple(got.shape) == tuple(want.shape), \
            f"{name} should have the shape of {name[1:]}, {tuple(want.shape)}; got {tuple(got.shape)}"
        err = float((got.detach() - want).abs().max())
        assert err < 1e-4, \
            f"{name} differs from autograd's gradient by up to {err:.4f} on the 2-example batch of " \
            f"exercise 8.1 (lambd = 0.1): check the 1/n of the mean, the lambd * W term and the ReLU mask"


def _pooled_var(init, n_in, n_out, draws):
    Ws = [init(n_in, n_out) for _ in range(draws)]
    for W in Ws:
        assert tuple(W.shape) == (n_in, n_out), \
            f"init({n_in}, {n_out}) should return shape ({n_in}, {n_out}), got {tuple(W.shape)}"
    W = torch.stack([W.detach().double() for W in Ws])
    return float(W.mean()), float(W.var())


@exercise("8.3 Xavier initialisation",
          hint="Xavier keeps the variance of the activations and of the gradients alike: weights with mean 0 "
               "and variance 2 / (n_in + n_out), from a normal distribution or a uniform one of that "
               "variance.")
def check_xavier_init(xavier_init):
    torch.manual_seed(0)
    n_in, n_out = 300, 100
    mean, var = _pooled_var(xavier_init, n_in, n_out, 4)
    want = 2 / (n_in + n_out)
    assert abs(mean) < 0.1 * want ** 0.5, f"the weights should have mean 0, got {mean:.4f}"
    assert abs(var / want - 1) < 0.1, \
        f"for n_in = {n_in}, n_out = {n_out} the variance should be 2 / (n_in + n_out) = {want:.5f}, " \
        f"got {var:.5f}"


@exercise("8.4 Kaiming initialisation",
          hint="For ReLU layers: weights with mean 0 and variance 2 / n_in. torch.nn.init reads a 2-D tensor "
               "as (out, in), so its kaiming functions would use n_out here.")
def check_kaiming_init(kaiming_init):
    torch.manual_seed(0)
    n_in, n_out = 300, 100
    mean, var = _pooled_var(kaiming_init, n_in, n_out, 4)
    want = 2 / n_in
    assert abs(mean) < 0.1 * want ** 0.5, f"the weights should have mean 0, got {mean:.4f}"
    assert abs(var / want - 1) < 0.1, \
        f"for n_in = {n_in}, n_out = {n_out} the variance should be 2 / n_in = {want:.5f}, got {var:.5f}"


@exercise("8.5 scale × depth",
          hint="For each gain and depth, push a random batch through that many fresh layers whose "
               "weights are scaled by gain / sqrt(width), then send a random gradient back; record the "
               "spread (standard deviation, in log10) of the last activations and of the input's "
               "gradient.")
def check_depth_scan(depth_scan):
    torch.manual_seed(0)
    out = depth_scan([0.5, 2.0], [1, 4], lambda z: z)
    assert isinstance(out, tuple) and len(out) == 2, "depth_scan should return the pair (act, grad)"
    act, grad = out
    for name, got in [("act", act), ("grad", grad)]:
        assert tuple(got.shape) == (2, 2), \
            f"{name} should have shape (len(gains), len(depths)) = (2, 2), got {tuple(got.shape)}"
    # a linear layer with weights N(0, g^2 / width) multiplies the size of the signal, and of the
    # gradient on its way back, by g: after L layers log10 std = L log10(g)
    want = torch.tensor([[-0.301, -1.204], [0.301, 1.204]])
    for name, got, what in [("act", act, "the output H(L)"), ("grad", grad, "the input gradient dJ/dH(0)")]:
        err = float((got.detach().float() - want).abs().max())
        assert err < 0.1, \
            (f"with the identity as activation, log10 of the std of {what} should be L * log10(g): "
             f"{want.tolist()} for gains [0.5, 2] (rows) and depths [1, 4] (columns); got "
             f"{[[round(v, 3) for v in row] for row in got.detach().tolist()]}. Check the weight std "
             "g / sqrt(width), log base 10, and that grad is the gradient of the input H(0)")
    act, grad = depth_scan([2 ** 0.5], [1, 8], torch.relu)
    assert abs(float(act[0, 0]) - math.log10(2 ** 0.5 * math.sqrt(0.5 - 0.5 / math.pi))) < 0.05, \
        (f"one ReLU layer with the Kaiming gain sqrt(2): the output relu(H(0) @ W) has std "
         f"sqrt(1 - 1/pi) = 0.826, log10 -0.083; got {float(act[0, 0]):.3f}. Apply the activation "
         "after the matrix product, to every layer")
    assert abs(float(grad[0, 1])) < 0.25, \
        (f"with the Kaiming gain sqrt(2) the ReLU gradient keeps its size over 8 layers (log10 near 0), "
         f"got {float(grad[0, 1]):.3f}")
