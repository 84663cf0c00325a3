"""Interactive explorers: sliders that retrain a small model and redraw its curves.

One function, :func:`explorer`, turns a training function into a widget::

    from dlcourse.explore import explorer

    def run(animator, degree=3, n_train=100):
        ...                                   # train quickly, calling
        animator.add(epoch, (train_l, test_l))  # like with dlcourse.Animator
        return {"test loss": test_l}          # optional: shown under the plot

    explorer(run, degree=(1, 19), n_train=(10, 100, 10))   # last line of a cell

The training function takes the plot as its first argument and one keyword per
slider; its defaults are the sliders' first values. Moving a slider clears the
plot and calls it again (on release, not while dragging). The plot is an
:class:`~dlcourse.plot.Animator` drawn into an image inside the widget, so the
cell has exactly one output however often it retrains: an executed notebook
(``nbconvert --execute``, nbgrader autograde) keeps one widget area with the
initial run, and nothing waits for a browser. The initial run draws once, at its
end; later runs redraw live every half second. Keep training cheap (vectorised,
small data, at most a second or so): the kernel is busy while it runs.

In Colab the explorer switches on Colab's widget manager itself.

The widget container has the CSS class ``dlcourse-explorer`` (browser tests
find it by that). Errors in the training function do not escape: they are
shown under the plot and kept in :attr:`Explorer.error`.
"""
from __future__ import annotations

import inspect
import math
import sys
import time
from typing import Any, Callable, Sequence

from .plot import Animator

__all__ = ["Explorer", "explorer"]

CSS_CLASS = "dlcourse-explorer"


class _WidgetAnimator(Animator):
    """An Animator that draws into an ``ipywidgets.Image`` instead of a cell output."""

    def __init__(self, image, **kwargs):
        super().__init__(**kwargs)
        self.image = image

    def show(self) -> None:
        self._dirty = False
        self._last_draw = time.monotonic()
        self.image.value = self.png()

    def _hook(self) -> None:  # no post-execute flush: Explorer.update draws the last state
        pass

    def clear(self) -> None:
        """Forget all points (the next ``add`` starts new curves)."""
        self.X, self.Y = None, None


def _make_slider(name: str, spec: Any, default: Any):
    """A widget from ``spec``: a widget (kept), ``(min, max[, step])`` or a list of options."""
    import ipywidgets as widgets

    common = dict(description=name, continuous_update=False,
                  style={"description_width": "initial"})
    if isinstance(spec, widgets.ValueWidget):
        return spec
    if isinstance(spec, list) and spec:
        value = default if default in spec else spec[0]
        return widgets.SelectionSlider(options=list(spec), value=value, **common)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        lo, hi, *step = spec
        if all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
            cls, step = widgets.IntSlider, (step[0] if step else 1)
        else:
            cls, step = widgets.FloatSlider, (step[0] if step else (hi - lo) / 20)
        value = default if isinstance(default, (int, float)) and lo <= default <= hi else lo
        return cls(min=lo, max=hi, step=step, value=value, **common)
    raise TypeError(f"slider {name!r}: expected (min, max), (min, max, step), a list of "
                    f"options or an ipywidgets widget, got {spec!r}")


def _enable_colab_widgets() -> None:
    """Colab renders ipywidgets 8 only through its custom widget manager: switch it on there."""
    if "google.colab" in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()


class Explorer:
    """Sliders, a live plot and a status line around a training function.

    Attributes:
        widget: the ``ipywidgets.VBox`` shown in the notebook (CSS class ``dlcourse-explorer``).
        sliders: ``{name: widget}``, in the order given.
        animator: the plot; ``animator.X`` / ``animator.Y`` hold the last run's points.
        result: what the training function returned last time (None after an error).
        error: the exception of the last run, or None.
        runs: how many times the training function has run.
    """

    def __init__(self, train_fn: Callable[..., Any], sliders: dict[str, Any], **plot_options):
        import ipywidgets as widgets

        self.train_fn = train_fn
        params = inspect.signature(train_fn).parameters
        defaults = {n: p.default for n, p in params.items() if p.default is not p.empty}
        unknown = [n for n in sliders if n not in params]
        if unknown:
            raise TypeError(f"{getattr(train_fn, '__name__', 'train_fn')} has no parameter "
                            f"{', '.join(map(repr, unknown))}: each slider is passed by name")
        self.sliders = {n: _make_slider(n, s, defaults.get(n)) for n, s in sliders.items()}
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML(value="")
        plot_options.setdefault("min_interval", 0.5)
        self.animator = _WidgetAnimator(self.image, **plot_options)
        controls = widgets.HBox(list(self.sliders.values()),
                                layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([controls, self.image, self.status])
        self.widget.add_class(CSS_CLASS)
        self.result: Any = None
        self.error: BaseException | None = None
        self.runs = 0
        for slider in self.sliders.values():
            slider.observe(self._on_change, names="value")

    @property
    def values(self) -> dict[str, Any]:
        """The sliders' current values, ``{name: value}``."""
        return {n: s.value for n, s in self.sliders.items()}

    def _on_change(self, change) -> None:
        self.update()

    def update(self, live: bool = True) -> None:
        """Retrain with the current slider values and redraw (what a slider move does).

        With ``live=False`` the plot is drawn once, at the end, instead of every
        ``min_interval`` seconds while training (the initial run uses that).
        """
        self.animator.clear()
        self.status.value = "<i>training ...</i>"
        interval = self.animator.min_interval
        if not live:
            self.animator.min_interval = math.inf
        start = time.perf_counter()
        try:
            self.result = self.train_fn(self.animator, **self.values)
            self.error = None
        except Exception as err:  # shown to the reader, never raised into the widget machinery
            self.result, self.error = None, err
        finally:
            self.animator.min_interval = interval
        self.runs += 1
        self.animator.show()
        self.status.value = self._describe(time.perf_counter() - start)

    def _describe(self, seconds: float) -> str:
        import html

        if isinstance(self.error, NotImplementedError):
            return "<b>Not implemented yet:</b> finish the exercise above, then move a slider."
        if self.error is not None:
            return f"<b>Error:</b> {html.escape(type(self.error).__name__)}: {html.escape(str(self.error))}"
        if isinstance(self.result, dict):
            parts = [f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                     for k, v in self.result.items()]
            text = ", ".join(parts)
        else:
            text = "" if self.result is None else str(self.result)
        return f"{html.escape(text)} <small>({seconds:.2f} s)</small>"

    def set(self, **values) -> None:
        """Move sliders programmatically; retrains once for each value that changed."""
        for name, value in values.items():
            self.sliders[name].value = value

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def explorer(train_fn: Callable[..., Any], *, xlabel: str = "epoch", ylabel: str = "loss",
             legend: Sequence[str] = ("train", "test"), xlim=None, ylim=None,
             xscale: str = "linear", yscale: str = "log", figsize: tuple[float, float] = (4.5, 3.0),
             title: str | None = None, **sliders) -> Explorer:
    """Build an explorer for ``train_fn`` and run it once with the initial values.

    Args:
        train_fn: ``train_fn(animator, **slider_values)``; calls ``animator.add(x, ys)``
            like with ``dlcourse.Animator`` and may return a str or a dict of numbers,
            shown under the plot. Its keyword defaults are the sliders' initial values.
        xlabel, ylabel, legend, xlim, ylim, xscale, yscale, figsize, title: the plot, as for
            ``Animator`` (default: log-scale loss against epochs, curves "train" and "test").
            Fix ``xlim``/``ylim`` so that runs with different settings can be compared by eye.
        **sliders: one per parameter of ``train_fn``: ``(min, max)`` or ``(min, max, step)``
            (all ints: an integer slider, else a float slider), a list of options, or any
            ipywidgets value widget (e.g. ``FloatLogSlider``).
    Returns:
        The :class:`Explorer`; as the last expression of a cell it shows itself.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError as err:
        raise ImportError("the explorers need ipywidgets: `pip install ipywidgets` "
                          "(in Colab it is already installed)") from err
    _enable_colab_widgets()
    ex = Explorer(train_fn, sliders, xlabel=xlabel, ylabel=ylabel, legend=legend, xlim=xlim,
                  ylim=ylim, xscale=xscale, yscale=yscale, figsize=figsize, title=title)
    ex.update(live=False)
    return ex
