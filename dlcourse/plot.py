"""Plots: the live training plot (Animator) and image grids."""
from __future__ import annotations

import io
import time
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Animator", "show_images"]


def _shell():
    """The running IPython kernel shell, or None in a plain Python process."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


class Animator:
    """A live plot of training curves, with d2l's signature.

    ``add(x, y)`` appends one point per curve and redraws the figure *in place*
    (one display, updated through its display id), so the plot does not flicker
    in JupyterLab, Colab or VS Code and an executed notebook keeps exactly one
    figure. Redraws are throttled to ``min_interval`` seconds; the last state is
    always drawn when the cell finishes. Outside a kernel nothing is displayed.

    The points stay in ``X`` and ``Y`` (one list per curve), so code and tests
    can read them.
    """

    def __init__(self, xlabel: str | None = None, ylabel: str | None = None,
                 legend: Sequence[str] | None = None, xlim=None, ylim=None,
                 xscale: str = "linear", yscale: str = "linear",
                 fmts: Sequence[str] = ("-", "m--", "g-.", "r:", "c-", "y--"),
                 nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (3.5, 2.5),
                 title: str | None = None, min_interval: float = 0.2):
        self.legend = list(legend or [])
        self.fmts = fmts
        self.fig = Figure(figsize=figsize)
        FigureCanvasAgg(self.fig)
        axes = self.fig.subplots(nrows, ncols, squeeze=False)
        self.axes = axes.ravel()
        self._config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim,
                            xscale=xscale, yscale=yscale, title=title)
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._handle = None
        self._dirty = False
        self._shell = _shell()
        self._hooked = False

    def add(self, x, y) -> None:
        """Append a point to each curve: ``y`` is a number or one value per curve."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if self.X is None:
            self.X = [[] for _ in range(n)]
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        self._dirty = True
        if time.monotonic() - self._last_draw >= self.min_interval:
            self.show()
        else:
            self._hook()

    def draw(self) -> None:
        """Redraw the curves on the figure (without displaying it)."""
        ax = self.axes[0]
        ax.cla()
        for i, (x, y) in enumerate(zip(self.X or [], self.Y or [])):
            ax.plot(x, y, self.fmts[i % len(self.fmts)])
        c = self._config
        ax.set_xlabel(c["xlabel"] or "")
        ax.set_ylabel(c["ylabel"] or "")
        ax.set_xscale(c["xscale"])
        ax.set_yscale(c["yscale"])
        if c["xlim"]:
            ax.set_xlim(c["xlim"])
        if c["ylim"]:
            ax.set_ylim(c["ylim"])
        if c["title"]:
            ax.set_title(c["title"])
        if self.legend:
            ax.legend(self.legend[:len(self.X or [])])
        ax.grid(True, alpha=0.3)
        self.fig.tight_layout()

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        self.draw()
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=100)
        return buf.getvalue()

    def show(self) -> None:
        """Draw now and update the one displayed figure."""
        self._dirty = False
        self._last_draw = time.monotonic()
        if self._shell is None:
            return
        from IPython.display import Image, display
        image = Image(data=self.png(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def _hook(self) -> None:
        if self._shell is not None and not self._hooked:
            self._shell.events.register("post_execute", self._flush)
            self._hooked = True

    def _flush(self) -> None:
        if self._dirty:
            self.show()
        self._shell.events.unregister("post_execute", self._flush)
        self._hooked = False


def show_images(imgs, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5):
    """Show a grid of images (tensors or arrays, ``(H, W)`` each) with optional titles."""
    import matplotlib.pyplot as plt

    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.ravel()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        if hasattr(img, "detach"):
            img = img.detach().cpu().squeeze().numpy()
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=8)
    for ax in axes[len(imgs):]:
        ax.axis("off")
    return axes
