"""Helpers for the course "Linear neural networks and multilayer perceptrons".

The notebooks import a handful of names from here; they keep d2l's names and
signatures (``Animator``, ``Accumulator``, ``Timer``, ``try_gpu``,
``load_data_fashion_mnist``, ``evaluate_accuracy`` ...) so readers of the book
feel at home, but the code is the course's own and runs on the GPU when one is
present and on the CPU otherwise.
"""
from .data import (DatasetError, find_fashion_mnist, get_fashion_mnist_labels, load_array,
                   load_data_fashion_mnist, read_fashion_mnist, synthetic_data)
from .device import describe_device, try_all_gpus, try_gpu
from .plot import Animator, show_images
from .train import (History, accuracy, evaluate_accuracy, evaluate_loss, linreg, predict,
                    progress, sgd, squared_loss, train, train_epoch)
from .utils import Accumulator, Timer

__version__ = "1.0.0"

__all__ = [
    "Accumulator", "Animator", "DatasetError", "History", "Timer", "accuracy",
    "describe_device", "evaluate_accuracy", "evaluate_loss", "find_fashion_mnist",
    "get_fashion_mnist_labels", "linreg", "load_array", "load_data_fashion_mnist",
    "predict", "progress", "read_fashion_mnist", "sgd", "show_images", "squared_loss",
    "synthetic_data", "train", "train_epoch", "try_all_gpus", "try_gpu",
]
