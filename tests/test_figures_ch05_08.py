"""The figures that chapters 5-8 state in their text agree with what their cells compute.

Each row names the words of a markdown cell and the printed output they come from (see
tests/figures.py). The notebooks are the solutions as ``python -m grader demo`` executed them
(the ``graded_demo`` fixture): on the CPU, one torch thread per kernel. Every seed is fixed, so
the same machine prints the same numbers; the tolerances cover what changes between machines
and thread counts (float sums in another order), and each row says how much that is:

* closed-form and float64 results (least squares, eigenvalues, the bias-variance sums) and
  printed orders of magnitude: the rounding of the printed value only;
* short trainings of linear models (polynomial weights and losses, the weight-decay norms,
  softmax regression): a change in the last printed digit or two;
* longer trainings of MLPs (chapter 7's 10 epochs at learning rate 0.5, chapter 8's 5 epochs):
  one torch thread against two moves the final test accuracy by up to 0.005 in our runs, and
  whatever depends on the trained network (Monte Carlo dropout, the 500-image runs) a little
  more.
"""
from __future__ import annotations

import pytest

from figures import Figure, check, executed_notebook

N = r"([-+]?\d+\.?\d*(?:e[-+]?\d+)?)"          # one printed number, captured

FIGURES = {
    "05-model-selection": [
        # the size of the last feature column: its printed order of magnitude, exactly
        Figure("to about $10^{{}}$ for $x^{19}/19!$",
               r"size of the columns x\^i/i!, i = 0\.\.19:[^\n]* \de(-\d+)\s", tol=0.5),
        # the cubic, 400 epochs of minibatch SGD: losses printed to 4 decimals
        Figure("They do: a training loss of {} and a test loss of {}",
               r"train loss (\d\.\d+), test loss (\d\.\d+)", tol=3e-4),
        Figure("with weights $[{}, {}, {}, {}]$",
               r"weights: \[([-\d.]+), ([-\d.]+), ([-\d.]+), ([-\d.]+)\]\s", tol=0.02),
        # the straight line: its losses are large, compare relatively
        Figure("The line ends with a training loss of {} and a test loss of {}",
               r"weights: \[[-\d.]+, [-\d.]+\]\strain loss " + N + r", test loss " + N + r"\s", tol=0.01, relative=True),
        # twenty features, 1500 epochs: a ratio of two small losses
        Figure("the test loss is {} times the training loss ({} times for the cubic)",
               r"test / train loss: " + N + r" \(20 features\) vs " + N + r" \(4 features\)", tol=0.15),
        Figure("the largest is {} (printed above)",
               r"largest \|w_i\| for i = 10 \.\. 19: " + N, tol=5e-4),
        # the exact least-squares fit (float64): the order of magnitude of its test loss
        Figure("of the order of $10^{{}}$, more than seven orders",
               r"least squares 20 features\s+\S+\s+\d\.\d+e\+0?(\d+)", tol=0.5),
        # the diabetes data: eigenvalues (float64) and 5-fold RMSEs of converged linear fits
        Figure("a learning rate below about ${} \\cdot", r"raw features\s+lambda_max = [^\n]*lr < (\d\.\d)e-0\d",
               tol=0.35),
        Figure("\\cdot 10^{{}}$ and would then crawl", r"raw features\s+lambda_max = [^\n]*lr < \d\.\de(-\d+)",
               tol=0.5),
        Figure("cuts the validation error from {} (the spread of the target itself) to {}",
               r"predict the mean\s+5-fold RMSE: training\s+\S+, validation\s+" + N + r"\s+"
               r"linear, target y\s+5-fold RMSE: training\s+\S+, validation\s+" + N + r"\s", tol=0.15),
        Figure("The log target is slightly *worse* here ({})",
               r"linear, target log y\s+5-fold RMSE: training\s+\S+, validation\s+" + N + r"\s", tol=0.15),
        # softmax regression, 2 epochs, on the 10000 test images (the label-shift set: 1000 shirts, 1000 others)
        Figure("as good as before on images like its training images ({})",
               r"test images as they are\s+accuracy " + N + r"", tol=0.004),
        Figure("changes no label, drops the accuracy to {}",
               r"test images moved 3 pixels right \(covariate\)\s+accuracy " + N + r"", tol=0.006),
        Figure("inverting the brightness to {}",
               r"test images brightness inverted \(covariate\)\s+accuracy " + N + r"", tol=0.006),
        Figure("Label shift costs accuracy too ({})",
               r"test images half of them shirts \(label\)\s+accuracy " + N + r"", tol=0.006),
    ],
    "06-weight-decay": [
        # 100 epochs of minibatch SGD on 20 examples: the test losses and the norms
        Figure("(from ${} \\cdot 10^{{}}$ to ${} \\cdot 10^{{}}$)",
               r"\|\|w\|\| = \S+; train loss \S+, test loss (\d\.\d+)e\+0(\d)\s[\s\S]*?"
               r"\|\|w\|\| = \S+; train loss \S+, test loss (\d\.\d+)e(-\d+)\s", tol=0.011),
        Figure("$\\|\\mathbf w\\|$ shrinks from {} to {}",
               r"\|\|w\|\| = " + N + r"; train loss[\s\S]*?\|\|w\|\| = " + N + r"; train loss", tol=0.02),
    ],
    "07-dropout": [
        # ridge regression in float64 on fixed random data: rounding only
        Figure("a bias$^2$ of only {}, but", r"smallest lambda: bias\^2 " + N + r",", tol=2e-4),
        Figure("a variance of {}, forty times the noise", r"smallest lambda: bias\^2 \S+, variance " + N + r";",
               tol=0.002),
        # the text names variance before bias: a lookahead captures the later number first
        Figure("a variance of {} and a bias$^2$ of {}.",
               r"largest: bias\^2 (?=\S+, variance " + N + r"\s)" + N + ",", tol=2e-4),
        Figure("is smallest in between: {} at $\\lambda = {}$",
               r"lowest expected test error " + N + r" at lambda = " + N + " ", tol=1e-3),
        # Monte Carlo dropout on the network trained for 10 epochs (see the module docstring)
        Figure("One random pass ({}) is a worse classifier than the eval-mode network ({})",
               r"(?=[\s\S]*MC dropout, T =  1\s+accuracy " + N + r")eval mode \(all units\)\s+accuracy " + N,
               tol=0.01),
        Figure("with 20 passes MC dropout ({})", r"MC dropout, T = 20\s+accuracy " + N + r"", tol=0.01),
        Figure("only {} are classified correctly, against {} of the other 1800",
               r"least confident images " + N + r", on the other 1800 " + N + r"", tol=0.04),
        # 30 epochs on 500 images, with and without dropout
        Figure("a gap of {}. With dropout", r"dropout 0\.0, 0\.0: train acc \S+, test acc \S+, gap " + N + r"", tol=0.015),
        Figure("the gap shrinks to {}, and", r"dropout 0\.2, 0\.5: train acc \S+, test acc \S+, gap " + N + r"", tol=0.015),
        Figure("*higher*: {} against {}.",
               r"(?=[\s\S]*dropout 0\.2, 0\.5: train acc \S+, test acc " + N + r",)"
               r"dropout 0\.0, 0\.0: train acc \S+, test acc " + N + ",", tol=0.012),
    ],
    "08-initialization": [
        Figure("The entries reach about $10^{{}}$",
               r"largest \|entry\|: \S+ for one matrix, \d\.\de\+(\d+) after 100 more", tol=0.5),
        # one epoch from the constant and from the default random start (softmax output layer)
        Figure("the test accuracy, {}, is far below the {} that",
               r"test accuracy after one epoch: " + N + r" from the constant start, " + N + r" from a random start",
               tol=0.006),
        # the depth statistics of 8.8 (20 layers, fixed seed): mantissa and exponent as printed
        Figure("the activations reach ${} \\cdot 10^{{}}$ at layer 20",
               r"ReLU N\(0, 1\)\s+\S+\s+(\d\.\d)e\+(\d+)", tol=0.15),
        Figure("to ${} \\cdot 10^{{}}$ at layer 1",
               r"ReLU N\(0, 1\)\s+\S+\s+\S+\s+(\d\.\d)e\+(\d+)", tol=0.15),
        Figure("down to ${} \\cdot 10^{{}}$ (tanh) and ${} \\cdot 10^{{}}$ (ReLU)",
               r"tanh N\(0, 0\.01²\)\s+\S+\s+(\d\.\d)e(-\d+)[\s\S]*?ReLU N\(0, 0\.01²\)\s+\S+\s+(\d\.\d)e(-\d+)",
               tol=0.15),
        Figure("the gradient reaching layer 1 is only ${} \\cdot 10^{{}}$",
               r"ReLU Xavier\s+\S+\s+\S+\s+(\d\.\d)e(-\d+)", tol=0.15),
        # the scale x depth scan: gains of a fixed grid, far from the thresholds (see 8.9)
        Figure("fine with any gain from {} to {}, five layers need {} to {}, ten layers {} to {}, and at "
               "depth 30 only the Kaiming gain {} of this grid",
               r"depth  1: within a factor 100 for gains " + N + r" to " + N + r" [\s\S]*?"
               r"depth  5: within a factor 100 for gains " + N + r" to " + N + r" [\s\S]*?"
               r"depth 10: within a factor 100 for gains " + N + r" to " + N + r" [\s\S]*?"
               r"depth 30: within a factor 100 for gains " + N + r" to \S+ \(1 of", tol=1e-3),
        # five epochs, by hand and concise (see the module docstring)
        Figure("({} from scratch, {} concise)",
               r"History\(5 epochs: [^)]*test acc " + N + r"\)[\s\S]*History\(5 epochs: [^)]*test acc " + N + r"\)",
               tol=0.006),
    ],
}

ROWS = [(chapter, i) for chapter, figs in FIGURES.items() for i in range(len(figs))]


@pytest.mark.parametrize("chapter, i", ROWS, ids=[f"{c}-{i}" for c, i in ROWS])
def test_the_text_states_what_the_cells_compute(graded_demo, chapter, i):
    course, _, _ = graded_demo
    check(executed_notebook(course, chapter), FIGURES[chapter][i])
