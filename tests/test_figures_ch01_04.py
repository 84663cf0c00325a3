"""The figures that chapters 1-4 state in their text agree with what their cells compute.

Each row names the words of a markdown cell and the printed output they come from (see
tests/figures.py). The notebooks are the solutions as ``python -m grader demo`` executed them
(the ``graded_demo`` fixture): on the CPU, one torch thread per kernel. Every seed is fixed, so
the same machine prints the same numbers; the tolerances cover what changes between machines
and thread counts (float sums in another order), and each row says how much that is:

* closed-form values (the normal density, the float32 limits, parameter and operation counts,
  the best constant of each loss on a grid of step 0.001): the rounding of the printed value;
* the least-squares line of the 1-D toy data, reached exactly by 600 full-batch Adam steps: the
  last printed digit;
* trainings (chapter 1's loss at the noise floor, the tanh MLP's error, the Fashion-MNIST runs of
  chapters 3 and 4): what a change in the order of float sums moves after many steps, up to
  0.01-0.02 in accuracy and loss, 0.03 for the tanh MLP's mean squared error.
"""
from __future__ import annotations

import pytest

from figures import Figure, check, executed_notebook

N = r"([-+]?\d+\.?\d*(?:e[-+]?\d+)?)"          # one printed number, captured

FIGURES = {
    "01-linear-regression": [
        # the normal density: closed form, printed to 3 decimals
        Figure("about {} for $\\sigma = 1$ and half that, {}, for",
               r"sigma = 1: peak height " + N + r"\s+sigma = 2: peak height " + N, tol=5e-4),
        Figure("more than one at the mean: {}, {} and {} for",
               r"k = 1, 2, 3: \[" + N + ", " + N + ", " + N + r"\]", tol=1e-3),
        # one constant fitted to seven numbers by a grid scan
        Figure("settles on the mean, {}, dragged", r"squared \(L2\)\s+best constant " + N, tol=0.005),
        Figure("settles on the median, {}, and", r"absolute \(L1\)\s+best constant " + N, tol=0.005),
        Figure("Huber lands at {}, close", r"Huber, delta = 1\s+best constant " + N, tol=0.005),
        # minibatch SGD, 3 epochs: the loss at the noise floor, mantissa and exponent
        Figure("The loss ends around ${} \\times 10^{{}}$",
               r"final training loss: (\d\.\d+)e(-\d+)", tol=0.6),
        # counts: exact
        Figure("Our model has {} parameters; chapter 3's softmax regression on images has {}",
               r"nn.Linear\(2, 1\): (\d+) parameters[\s\S]*?nn.Linear\(784, 10\): (\d+) parameters", tol=0),
        Figure("already has {} and needs about ${} \\cdot 10^{{}}$",
               r"nn.Linear\(784, 256\): (\d+) parameters, (\d\.\d+)e\+0?(\d+) operations", tol=0),
    ],
    "02-softmax-regression": [
        # float32 limits: the text rounds the printed 1.175e-38 and 1.401e-45 to one decimal
        Figure("at full precision down to about ${} \\cdot 10^{{}}$",
               r"full precision: (\d\.\d+)e(-\d+)", tol=0.05),
        Figure("$2^{-149} \\approx {} \\cdot 10^{{}}$", r"smallest subnormal: (\d\.\d+)e(-\d+)", tol=0.05),
    ],
    "03-fashion-mnist": [
        # softmax regression from scratch, 10 epochs; the range's two ends are both compared
        # with the one printed test accuracy (a nested group repeats it)
        Figure("Expect a training loss near {}, training accuracy near {} and test accuracy {}-{}",
               r"History\(10 epochs: train loss " + N + r", train acc " + N + r", test acc ((\d\.\d+))\)",
               tol=0.02),
        # the same model with torch.nn (the second History printed)
        Figure("training loss about {}, training accuracy about {}, test accuracy {}-{}",
               r"History\([^)]*\)[\s\S]*?History\(10 epochs: train loss " + N + r", train acc " + N +
               r", test acc ((\d\.\d+))\)", tol=0.02),
    ],
    "04-multilayer-perceptrons": [
        # the scratch MLP with the learning-rate schedule, 10 epochs
        Figure("0.1 for the last 3, which ends at {} and stays there",
               r"(?m)^train loss \S+, train acc \S+, test acc " + N, tol=0.01),
        # the 1-D toy regression: full-batch Adam reaches the least-squares line
        Figure("the two-layer model has slope {} and intercept {}",
               r"two linear layers, collapsed: slope " + N + ", intercept " + N, tol=0.002),
        Figure("the two-layer model has slope {} and intercept {}",
               r"one linear layer:\s+slope " + N + ", intercept " + N, tol=0.002),
        Figure("the two-layer model has slope {} and intercept {}",
               r"least squares:\s+slope " + N + ", intercept " + N, tol=0.002),
        Figure("Both leave a mean squared error of {}, the variance",
               r"one linear layer\s+mean squared error " + N, tol=0.01),
        Figure("Both leave a mean squared error of {}, the variance",
               r"two linear layers\s+mean squared error " + N, tol=0.01),
        Figure("gets down to {}, close to the noise variance",
               r"tanh MLP, 16 units\s+mean squared error " + N, tol=0.03),
        # train_simple_network on two moons: the same run as dlcourse.train's, the same accuracy
        Figure("so the test accuracy ends where that run ended ({})",
               r"test accuracy after 10 epochs: " + N + " here", tol=0.005),
        Figure("so the test accuracy ends where that run ended ({})",
               r"test accuracy after 10 epochs: \S+ here, " + N + " with dlcourse.train", tol=0.005),
    ],
}

ROWS = [(chapter, i) for chapter, figs in FIGURES.items() for i in range(len(figs))]


@pytest.mark.parametrize("chapter, i", ROWS, ids=[f"{c}-{i}" for c, i in ROWS])
def test_the_text_states_what_the_cells_compute(graded_demo, chapter, i):
    course, _, _ = graded_demo
    check(executed_notebook(course, chapter), FIGURES[chapter][i])
