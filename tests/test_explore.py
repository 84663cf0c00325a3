"""The explorer widget, driven without a browser: move sliders in code, check the plot."""
import warnings

import nbformat
import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from dlcourse.explore import CSS_CLASS, Explorer, explorer  # noqa: E402


def toy(animator, slope=2, n=5):
    """Curves y = slope * x and y = slope * x / 2 for x = 1 .. n."""
    for x in range(1, n + 1):
        animator.add(x, (slope * x, slope * x / 2))
    return {"last": float(slope * n), "points": n}


def test_initial_run_draws_with_the_defaults():
    ex = explorer(toy, slope=(1, 5), n=(2, 10))
    assert isinstance(ex, Explorer)
    assert ex.runs == 1 and ex.error is None
    assert ex.values == {"slope": 2, "n": 5}
    assert ex.animator.Y == [[2, 4, 6, 8, 10], [1, 2, 3, 4, 5]]
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n", "the plot should be a PNG in the image widget"
    assert "last = " in ex.status.value


def test_initial_run_draws_once_later_runs_live():
    import time

    def slow(animator, k=1):
        for x in range(4):
            animator.add(x, 1.0 * k)
            time.sleep(0.03)

    ex = Explorer(slow, {"k": (1, 3)}, min_interval=0.02)
    draws = []
    ex.image.observe(lambda change: draws.append(1), names="value")
    ex.update(live=False)
    assert len(draws) == 1, f"the initial (headless) run should draw once, drew {len(draws)} times"
    draws.clear()
    ex.sliders["k"].value = 2
    assert len(draws) > 1, "a slider move should redraw while training"
    assert ex.animator.min_interval == 0.02


def test_moving_a_slider_retrains_and_redraws():
    ex = explorer(toy, slope=(1, 5), n=(2, 10))
    before_png, before_y = ex.image.value, list(ex.animator.Y[0])
    ex.sliders["slope"].value = 4          # what the browser does on release
    assert ex.runs == 2
    assert ex.animator.Y[0] == [4 * x for x in range(1, 6)], "the plot should hold the new run only"
    assert ex.animator.Y[0] != before_y and ex.image.value != before_png
    ex.set(n=3)
    assert ex.runs == 3 and len(ex.animator.X[0]) == 3
    assert ex.result == {"last": 12.0, "points": 3}


def test_widget_shape_and_css_class():
    ex = explorer(toy, slope=(1, 5))
    assert CSS_CLASS == "dlcourse-explorer"
    assert CSS_CLASS in ex.widget._dom_classes
    controls, image, status = ex.widget.children
    assert list(controls.children) == list(ex.sliders.values())
    assert image is ex.image and status is ex.status
    assert all(not s.continuous_update for s in ex.sliders.values()), "retrain on release, not while dragging"
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_slider_specs():
    def fn(animator, a=3, b=0.5, c="x", d=1.0):
        animator.add(1, 1.0)

    log_slider = ipywidgets.FloatLogSlider(value=1.0, min=-2, max=2)
    ex = explorer(fn, a=(1, 10, 2), b=(0.0, 1.0), c=["w", "x", "y"], d=log_slider)
    a, b, c, d = ex.sliders.values()
    assert isinstance(a, ipywidgets.IntSlider) and (a.min, a.max, a.step, a.value) == (1, 10, 2, 3)
    assert isinstance(b, ipywidgets.FloatSlider) and b.value == 0.5
    assert isinstance(c, ipywidgets.SelectionSlider) and c.value == "x"
    assert d is log_slider
    with pytest.raises(TypeError, match="no parameter 'e'"):
        explorer(fn, e=(1, 2))
    with pytest.raises(TypeError, match="slider 'a'"):
        explorer(fn, a="wide")


def test_errors_are_shown_not_raised():
    def broken(animator, k=1):
        if k > 1:
            raise ValueError("k too large")
        animator.add(1, 1.0)

    ex = explorer(broken, k=(1, 3))
    ex.sliders["k"].value = 2
    assert isinstance(ex.error, ValueError) and "k too large" in ex.status.value
    ex.sliders["k"].value = 1
    assert ex.error is None and ex.animator.Y == [[1.0]]

    def stub(animator, k=1):
        raise NotImplementedError()

    ex = explorer(stub, k=(1, 3))
    assert isinstance(ex.error, NotImplementedError) and "Not implemented yet" in ex.status.value


def test_headless_execution_leaves_one_widget_output(tmp_path):
    """nbconvert/nbgrader execution: no error, no stderr, one output (the widget) per explorer cell."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(
            "from dlcourse.explore import explorer\n"
            "def run(animator, lam=0.0, num_epochs=50):\n"
            "    for e in range(1, num_epochs + 1):\n"
            "        animator.add(e, (1 / e, (1 + lam) / e))\n"
            "explorer(run, lam=(0.0, 5.0), num_epochs=(10, 100, 10))"),
        nbformat.v4.new_code_cell("ex = explorer(run, lam=(0.0, 5.0))\nex.set(lam=2.0)\nex"),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    for cell in nb.cells:
        assert len(cell.outputs) == 1, cell.outputs
        out = cell.outputs[0]
        assert out.output_type == "execute_result"
        assert "application/vnd.jupyter.widget-view+json" in out.data


def test_colab_widget_manager_is_switched_on(monkeypatch):
    import sys
    import types

    calls = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    explorer(toy, slope=(1, 5))
    assert calls == [1], "in Colab, ipywidgets 8 needs output.enable_custom_widget_manager()"
