"""The explorers of chapters 4, 5, 6 and 8 show what their text says they show.

Each test runs the chapter's own explorer cell (and the earlier cells it needs, taken from the
solution notebook) in this process, moves its sliders in code and reads the results the
explorer prints under its plot. No kernel and no browser: tests/browser/ drives a real one.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("course_notebooks", ROOT / "tests" / "browser" / "course_notebooks.py")
course_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_notebooks)


@pytest.fixture(scope="module")
def explorers():
    """{chapter: the Explorer its notebook builds}, built on first use."""
    import matplotlib

    matplotlib.use("Agg")
    built = {}

    def get(chapter: str):
        if chapter not in built:
            nb = course_notebooks.explorer_notebook(chapter)
            ns: dict = {}
            for cell in nb.cells[:-1]:
                exec(cell.source, ns)
            exec(re.sub(r"^explorer\(", "_explorer = explorer(", nb.cells[-1].source, flags=re.M), ns)
            built[chapter] = ns["_explorer"]
        return built[chapter]

    return get


def result(ex, **values) -> dict:
    ex.set(**values)
    assert ex.error is None, ex.error
    return dict(ex.result)


def test_ch05_high_degrees_overfit_in_the_orthonormal_basis(explorers):
    ex = explorers("05-model-selection")
    assert ex.values["basis"] == "orthonormal", "the explorer should start in the orthonormal basis"
    cubic = dict(ex.result)
    assert cubic["test loss"] < 0.01, cubic                                   # degree 3: the noise floor
    d12, d19 = result(ex, degree=12), result(ex, degree=19)
    assert d19["train loss"] < cubic["train loss"] and d19["test loss"] > 1e3, d19
    assert d19["test loss"] > 100 * d12["test loss"], (d12, d19)             # the slider is not dead above 8
    fewer = result(ex, n_train=20)
    assert fewer["test loss"] > 10 * d19["test loss"], fewer                  # less data, worse overfit


def test_ch05_raw_features_make_degrees_8_to_19_alike(explorers):
    ex = explorers("05-model-selection")
    ex.set(n_train=100)
    d8, d19 = result(ex, basis="x^i/i!", degree=8), result(ex, degree=19)
    assert abs(d8["test loss"] - d19["test loss"]) < 1e-3 * d8["test loss"], (d8, d19)
    assert d19["test loss"] < 0.1, d19                                         # held back by the optimiser
    ex.set(basis="orthonormal", degree=3)


def test_ch06_test_loss_against_lambda_is_a_u(explorers):
    ex = explorers("06-weight-decay")
    lambdas = [float(x) for x in ex.animator.X[1]]
    test = ex.animator.Y[1]
    assert ex.values["n_train"] == 200 and len(test) == len(lambdas) == 19
    best = min(range(19), key=lambda i: test[i])
    assert 0 < best < 18, "the lowest test loss should lie inside the lambda range"
    assert test[0] > 100 * test[best] and test[-1] > 2 * test[best], test   # too little, too much decay
    small = result(ex, n_train=20)
    assert small["at lambda"] > 10 * lambdas[best], small                 # less data, more decay
    result(ex, n_train=200)


def test_ch08_only_the_matched_gain_stays_flat_at_depth_50(explorers):
    ex = explorers("08-initialization")
    assert ex.values == {"gain": 1.41, "depth": 20, "activation": "ReLU"}
    kaiming = result(ex, depth=50)
    for value in kaiming.values():
        assert 0.1 < value < 10, kaiming
    large = result(ex, gain=2.0)
    assert large["std of H at the top"] > 1e5 and large["std of dJ/dH at layer 1"] > 1e5, large
    linear = result(ex, gain=1.0, activation="linear")
    for value in linear.values():
        assert 0.1 < value < 10, linear
    ex.set(gain=1.41, depth=20, activation="ReLU")


def test_ch04_width_and_activation_on_the_two_moons(explorers):
    """Chapter 4's explorer: one ReLU unit stays at chance, a wider layer bends around the moons,
    and a linear network stays a line whatever its width (the numbers its text quotes)."""
    ex = explorers("04-multilayer-perceptrons")
    assert result(ex, width=1, activation="ReLU")["test accuracy"] <= 0.55
    wide = result(ex, width=16, activation="ReLU")["test accuracy"]
    assert wide >= 0.93
    assert result(ex, width=64, activation="linear")["test accuracy"] <= 0.88 < wide
