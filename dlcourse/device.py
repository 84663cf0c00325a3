"""Device selection: the GPU when there is one, the CPU otherwise."""
from __future__ import annotations

import torch

__all__ = ["try_gpu", "try_all_gpus", "num_gpus", "describe_device"]


def num_gpus() -> int:
    """How many CUDA devices torch can see."""
    return torch.cuda.device_count()


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if that GPU exists, else the CPU (as ``d2l.try_gpu``)."""
    if num_gpus() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """All GPUs, or ``[cpu]`` when there are none (as ``d2l.try_all_gpus``)."""
    return [torch.device(f"cuda:{i}") for i in range(num_gpus())] or [torch.device("cpu")]


def describe_device(device: torch.device | None = None) -> str:
    """One line naming the device that training will use."""
    device = device or try_gpu()
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads; no GPU found)"
