"""Google Colab: what a fresh Colab runtime needs beyond the installed helpers.

The first cell of every student notebook installs the helpers when they are
missing (see ``grader/header.py``) and, in Colab only, calls ``setup()``:

* widgets (progress bars, the explorers of chapters 4-8) get Colab's widget
  manager;
* Fashion-MNIST is fetched into ``data/fashion-mnist`` unless it is already
  there, so the chapters that train on it start at once;
* without a GPU it says how to select one (training then picks it up through
  ``dlcourse.try_gpu()``).

Outside Colab, ``setup()`` does nothing.
"""
from __future__ import annotations

import sys

__all__ = ["in_colab", "setup"]


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def setup(fetch_data: bool = True) -> None:
    """Prepare a Colab runtime for the course (a no-op elsewhere)."""
    if not in_colab():
        return
    try:
        from google.colab import output
        output.enable_custom_widget_manager()
    except (ImportError, AttributeError):
        pass
    if fetch_data:
        from .data import DatasetError, find_fashion_mnist
        try:
            print("Fashion-MNIST:", find_fashion_mnist())
        except DatasetError as err:
            print(f"Fashion-MNIST is not available yet ({str(err).splitlines()[0]}); "
                  "the chapters that need it will try again.")
    from .device import num_gpus
    if num_gpus() == 0:
        print("No GPU in this runtime: Runtime > Change runtime type > T4 GPU makes "
              "the training cells faster (optional; everything also runs on the CPU).")
