"""The device a run computes on and its ``torchrun`` ranks, without importing torch until something needs it.

torch (about two seconds of CPU to import, with what it pulls in) is imported here only when a learner that
computes with torch resolves ``model.device = "auto"``, when a CUDA or MPS device is asked for (to check that it
is there), or under ``torchrun`` (``WORLD_SIZE`` > 1: the process group). A run of a learner that computes
without torch (``uses_torch = False``: ``bow``, scikit-learn on the CPU) imports none of it.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta


def _torch():
    """The torch module (its ``torch.distributed`` included), imported on first need."""
    import torch  # lazy: only a torch learner, a CUDA/MPS device or torchrun needs torch; bow runs without it

    return torch


def world_size() -> int:
    """How many ranks ``torchrun`` launched (``WORLD_SIZE``), 1 without it."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_rank_zero() -> bool:
    """Whether this process prints stage lines and reports: rank 0 of ``torchrun`` (``RANK``, set before the
    process starts, so this holds before the process group exists), or a process ``torchrun`` did not launch."""
    return os.environ.get("RANK", "0") in ("", "0")


def check_device(name: str) -> None:
    """``ValueError`` naming ``model.device`` when it asks for CUDA or MPS that this torch cannot reach (torch is
    imported only for those names)."""
    kind = str(name).split(":")[0]
    if kind not in ("cuda", "mps"):
        return
    torch = _torch()
    available = torch.cuda.is_available() if kind == "cuda" else torch.backends.mps.is_available()
    if not available:
        raise ValueError(
            f"model.device = {name!r}, but this torch ({torch.__version__}) reaches no {kind} device; "
            "use 'auto' (a GPU when there is one) or 'cpu'"
        )


def device_name(name: str, uses_torch: bool = True) -> str:
    """The device of a one-process run: ``"auto"`` is ``"cuda"`` when torch sees a GPU, else ``"cpu"``; any other
    name as given (:class:`crowd.pipelines.config.ModelSettings` accepts only names that torch writes back
    unchanged: ``cpu``, ``mps``, ``cuda``, ``cuda:N``).

    For a learner that computes without torch (``uses_torch`` False) ``"auto"`` is ``"cpu"``, where it runs:
    its device is never read, and asking torch for a GPU would import it."""
    if str(name) != "auto":
        return str(name)
    return "cuda" if uses_torch and _torch().cuda.is_available() else "cpu"


def local_device() -> str:
    """``cuda:LOCAL_RANK`` when CUDA is available (``torchrun`` sets ``LOCAL_RANK``), else ``cpu``."""
    if _torch().cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


def init_distributed() -> int:
    """This process's rank: under ``torchrun`` (``WORLD_SIZE`` > 1) it joins the process group (NCCL on GPUs,
    gloo on CPUs) first; 0 otherwise, without importing torch."""
    if world_size() <= 1:
        return 0
    torch = _torch()
    dist = torch.distributed
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, timeout=timedelta(hours=12))
    return dist.get_rank()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of an initialised ``torch.distributed`` group, else ``(0, 1)``.

    A group is initialised only through an imported ``torch.distributed``: when it is not in ``sys.modules`` there
    is none, and torch stays unimported."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier(world: int) -> None:
    """Wait for every rank of a ``world`` > 1 (``torch.distributed.barrier``); nothing for one process."""
    if world > 1:
        _torch().distributed.barrier()
