"""Train N noisy copies, store each copy's votes as it finishes, resume, shard over ranks.

Layout of a vote folder::

    votes.json                 fingerprint, n_test (created exclusively, once; a different fingerprint refuses)
    votes/copy_000123.npy      int32 (n_test,) predicted labels of copy 123 on its noisy test texts
                               (-1 = ABSTAIN where the copy's ``test_abstain`` marks a text)
                               (checked on every read: dtype, shape, labels in 0..num_labels-1)

Copies are trained in fixed groups: group ``g`` is copies ``g*K .. g*K+K-1``
(``K = learner.copies_per_group``). With ``torch.distributed`` initialised (e.g.
launched by ``torchrun``), rank ``r`` of ``W`` trains groups ``g`` with
``g % W == r``. Group composition depends only on the copy index, so a resumed
run or a run on another number of ranks trains every group exactly as an
uninterrupted single-rank run would. All ranks write into the same folder, which
must be on a filesystem they share; at the end every rank waits at a barrier and
loads all votes (initialise the process group with a ``timeout`` longer than the
slowest rank's lag).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from crowd.train.data import ABSTAIN, CopyData, FitRequest, Learner, TrainingInputError, check_group
from crowd.train.devices import barrier, local_device, rank_and_world
from crowd.train.model_store import ModelStore
from crowd.train.settings import learner_fingerprint
from crowd.train.votes import VoteFileError, VoteStore, VoteStoreMismatch

__all__ = [
    "VoteFileError",
    "VoteStore",
    "VoteStoreMismatch",
    "check_learner_model",
    "copy_groups",
    "fingerprint_of",
    "fit_models",
    "learner_fingerprint",
    "local_device",
    "rank_and_world",
    "run_votes",
]


def fingerprint_of(*parts: object) -> str:
    """A short stable hash of JSON-serialisable parts (configs as dicts, names, seeds)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def copy_groups(n_copies: int, copies_per_group: int) -> list[list[int]]:
    """Fixed blocks of copy indices: ``[[0..K-1], [K..2K-1], ...]``."""
    return [list(range(s, min(s + copies_per_group, n_copies))) for s in range(0, n_copies, copies_per_group)]


def run_votes(
    make_copy: Callable[[int], CopyData],
    n_copies: int,
    learner: Learner,
    model_name: str,
    store_folder: str | os.PathLike[str],
    seed: int,
    device: str,
    fingerprint: str,
    num_labels: int,
    progress: bool = True,
    models: ModelStore | None = None,
) -> np.ndarray:
    """Votes ``(n_copies, n_test)`` int32: row ``j`` = the model trained on copy ``j`` on its test texts.

    Each copy's test logits are stored beside its votes (``VoteStore.load_all_logits``, for run-off).
    With ``models`` (a learner that keeps its models, :attr:`crowd.train.settings._Learner.keepable`) each
    fitted model is also written there, and its votes are its ``predict`` on the copy's test rows: the same
    function a loaded classifier calls on new texts. A model already stored is predicted, not retrained.

    Bad input (``n_copies < 1``, an unknown model, labels outside ``0..num_labels-1``,
    a folder of another configuration, a stored vote file that is not a valid vote row)
    raises before any training. With ``progress``, rank 0 shows one ``models`` bar that also advances
    inside a group of copies trained together (the learners report :data:`crowd.train.data.Progress`). Finished
    copies found in ``store_folder`` are not recomputed. ``fingerprint``
    identifies the data and noise; the learner's configuration, the model, the
    seed and ``num_labels`` are added to it here.
    """
    job = _Job.checked(make_copy, n_copies, learner, model_name, seed, device, num_labels, progress)
    full = fingerprint_of(fingerprint, learner_fingerprint(learner), str(model_name), seed, num_labels)
    store = VoteStore(store_folder, n_copies, job.first.n_test, full, num_labels)
    store.check_present()

    def finish(group, copies, logits) -> None:
        votes = logits.argmax(-1).astype(np.int32)  # ties to the smallest class index
        for copy, row, scores in zip(copies, votes, logits):
            if copy.test_abstain is not None:  # this model casts no vote on these texts
                row[copy.test_abstain] = ABSTAIN
                scores[copy.test_abstain] = np.nan
        store.write_many(list(zip(group, votes, logits)))  # their checksums recorded once for the group

    missing = set(store.missing()) | (set(models.missing()) if models is not None else set())
    _train_groups(job, missing, store.folder, models, finish)
    return store.load_all()


def fit_models(
    make_copy: Callable[[int], CopyData],
    n_models: int,
    learner: Learner,
    model_name: str,
    models: ModelStore,
    seed: int,
    device: str,
    num_labels: int,
    progress: bool = True,
) -> None:
    """Fit every model missing from ``models`` (its training rows from ``make_copy(j)``), in the fixed groups
    and rank shards of :func:`run_votes`, and store it; no test texts, no votes."""
    job = _Job.checked(make_copy, n_models, learner, model_name, seed, device, num_labels, progress)
    _train_groups(job, set(models.missing()), models.folder, models, None)


@dataclasses.dataclass(frozen=True)
class _Job:
    """What every group of a run is trained with; ``first`` is copy 0, built once by the checks."""

    make_copy: Callable[[int], CopyData]
    first: CopyData
    n_copies: int
    learner: Learner
    model_name: str
    seed: int
    device: str
    num_labels: int
    progress: bool

    @classmethod
    def checked(cls, make_copy, n_copies, learner, model_name, seed, device, num_labels, progress) -> _Job:
        """The job, after the checks every run makes before training (copy 0 built and checked)."""
        if n_copies < 1:
            raise TrainingInputError(f"n_copies must be at least 1, got {n_copies}")
        check_learner_model(learner, model_name)
        first = make_copy(0)
        check_group([first], [0], num_labels)
        return cls(make_copy, first, n_copies, learner, model_name, seed, device, num_labels, progress)


def check_learner_model(learner, model_name: str | os.PathLike[str]) -> None:
    """:func:`crowd.train.models.check_model` for a learner that loads a model (``uses_model``, true unless the
    learner says otherwise); ``bow`` and ``static`` load none, and their runs import no transformers."""
    if getattr(learner, "uses_model", True):
        from crowd.train.models import check_model  # lazy: transformers (and torch) only for a model learner

        check_model(model_name)


def _train_groups(job: _Job, missing: set[int], folder: Path, models: ModelStore | None, finish) -> None:
    """Train this rank's groups that hold a ``missing`` index; store models (when ``models``) and pass each
    group's test logits to ``finish(group, copies, logits)`` (when given). A group with every model stored
    is predicted from the stored models; a group with any model missing is trained whole (its composition
    is fixed, so every model gets the bits of an uninterrupted run)."""
    learner = job.learner
    rank, world = rank_and_world()
    mine = copy_groups(job.n_copies, learner.copies_per_group)[rank::world]
    todo = [g for g in mine if missing.intersection(g)]
    bars = _Progress(sum(map(len, mine)), sum(map(len, todo)), folder, job.progress and rank == 0)
    for group in todo:
        copies = []
        for j in group:
            copies.append(job.first if j == 0 else job.make_copy(j))
            bars.prepared(len(group))
        request = FitRequest(job.model_name, copies, group, job.seed, job.device, job.num_labels)
        if models is None:
            logits = learner.fit_predict(request, bars.learner_step)
        else:
            if set(models.missing()).isdisjoint(group):  # every model stored: predict only
                states = [models.load(j) for j in group]
            else:
                states = learner.fit(request, bars.learner_step)
                for j, state in zip(group, states):
                    models.write(j, state)
            logits = None
            if finish is not None:
                logits = learner.predict(job.model_name, states, request.tests, job.device, job.num_labels)
        if finish is not None:
            finish(group, copies, logits)
        bars.stored(len(group))
    bars.close()
    barrier(world)


class _Progress:
    """One bar over the real unit of work: models (one per copy), with a rate and an ETA in models.

    Copies trained together finish together; inside a group the bar advances by fractions of the group's
    models as copies are prepared (noise, encoding) and as the learner reports its steps, so the rate and the
    ETA move from the first group on. When nothing is left to do, one line says so instead of a bar (a bar
    created full prints its 100% line twice).
    """

    QUIET_S = (
        0.5  # no display inside a group before this: a rate from the first milliseconds reads 20000 model/s
    )

    def __init__(self, total: int, todo: int, folder: Path, enabled: bool) -> None:
        self.enabled = enabled and todo > 0
        if enabled and todo == 0:
            tqdm.write(f"models: all {total} already stored in {folder}", file=sys.stderr)
        self.bar = tqdm(
            total=total,
            initial=total - todo,
            desc="models",
            unit="model",
            disable=not self.enabled,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
        )
        self._base = float(total - todo)  # models finished before the current group
        self._size = self._prepared = 0
        self._done, self._steps = 0, 1

    def prepared(self, group_size: int) -> None:
        """One more copy of the current group is built (noise drawn, encoded)."""
        self._size, self._prepared = group_size, self._prepared + 1
        self._show()

    def learner_step(self, done: int, total: int) -> None:
        """The learner's ``progress`` callback: ``done`` of ``total`` steps of the group's training."""
        self._done, self._steps = min(done, total), max(total, 1)
        self._show()

    def _show(self) -> None:
        """Preparing the group's copies counts as one more learner step (its share of the group's work); the
        bar never moves back when the learner first announces how many steps it has, and shows the group's
        models as finished (the count rounded up, 100 %) only once they are stored."""
        share = (self._prepared / max(self._size, 1) + self._done) / (self._steps + 1)
        within = min(self._size * share, self._size - 0.51)
        self.bar.n = max(self.bar.n, self._base + max(within, 0.0))
        if self.bar.format_dict["elapsed"] >= self.QUIET_S:
            self.bar.refresh()

    def stored(self, n: int) -> None:
        self._base += n
        self._prepared, self._done, self._steps = 0, 0, 1
        if self._base >= self.bar.total:  # the closing display prints the 100% line, once
            self.bar.n = self.bar.total
        else:
            self.bar.n = self._base
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
