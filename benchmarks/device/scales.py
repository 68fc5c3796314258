"""What the device script runs, at GPU scale and at the tiny CPU scale of its dry run.

Four parts, each producing the rows of one owed GPU figure (README "Owed"):

* ``a``: ``crowd certify``, CROWD noise on SST-2 BadNets (10 %), MiniLM head-only, N = 1000 copies;
* ``b``: grouped full fine-tuning (``FullFineTune``, K copies stepping together) against the naive per-copy
  loop, MiniLM on clean SST-2 under CROWD noise, examples/s and mean copy accuracy;
* ``c``: a bert-base-sized encoder (random ``BertForSequenceClassification(BertConfig())``): encoder
  throughput and fraction of the bf16 peak, then ``crowd certify`` head-only N = 1000;
* ``d``: ``crowd certify`` with TextGuard word partitions (3 and 9 groups), full fine-tuning, SST-2 BadNets.

:func:`certify_overrides` writes the ``--set`` list of each ``crowd certify`` run, so the runs are plain
``crowd certify`` commands anyone can repeat (they are logged verbatim).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One part of the script: ``weight`` shares the total budget, below ``min_s`` seconds it is skipped."""

    key: str
    title: str
    weight: float
    min_s: float


PARTS: dict[str, Part] = {
    "a": Part("a", "head-only CROWD N copies, MiniLM, full SST-2 BadNets", 190, 60),
    "b": Part("b", "grouped full fine-tuning vs the naive per-copy loop", 100, 45),
    "c": Part("c", "bert-base-sized encoder: throughput, bf16 peak, head-only N copies", 200, 70),
    "d": Part("d", "TextGuard word partitions, full fine-tuning, SST-2 BadNets", 80, 40),
}


@dataclass(frozen=True)
class Scale:
    """Sizes of every part. ``max_train``/``max_test`` = 0: the whole corpus."""

    name: str
    device: str
    total_s: float  # default total budget of the script, seconds
    max_train: int
    max_test: int
    max_length: int
    head_copies: int  # a: N
    head_group: int  # a: head.copies_per_group
    head_epochs: int
    bert_copies: int  # c: N
    bert_group: int
    encoder_rows: int  # c: rows through the encoder in the throughput measurement
    ft_copies: int  # b: K, the grouped copies
    ft_naive_copies: int  # b: copies of each naive loop (its rate is per copy)
    ft_epochs: int
    tg_groups: tuple[int, ...]  # d
    tg_epochs: int
    tg_batch: int
    recovery_s: float  # kept back in a, c to certify the votes stored before a timeout


GPU = Scale(
    name="gpu",
    device="cuda",
    total_s=570,
    max_train=0,
    max_test=0,
    max_length=64,
    head_copies=1000,
    head_group=200,
    head_epochs=10,
    bert_copies=1000,
    bert_group=200,
    encoder_rows=131072,
    ft_copies=32,
    ft_naive_copies=2,
    ft_epochs=1,
    tg_groups=(3, 9),
    tg_epochs=3,
    tg_batch=32,
    recovery_s=40,
)

DRY = Scale(
    name="dry",
    device="cpu",
    total_s=900,
    max_train=160,
    max_test=40,
    max_length=32,
    head_copies=6,
    head_group=2,
    head_epochs=2,
    bert_copies=4,
    bert_group=2,
    encoder_rows=256,
    ft_copies=2,
    ft_naive_copies=1,
    ft_epochs=1,
    tg_groups=(3, 9),
    tg_epochs=1,
    tg_batch=16,
    recovery_s=30,
)


def _s(value: str) -> str:
    """A TOML string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def corpus_overrides(scale: Scale) -> list[str]:
    """SST-2 poisoned by dirty-label BadNets at 10 % (the default run's attack), subsampled only when dry."""
    return [
        'data.dataset="sst2"',
        f"data.max_train={scale.max_train}",
        f"data.max_test={scale.max_test}",
        'attack.name="badnets"',
        "attack.poison_rate=0.1",
        'attack.variant="dirty"',
    ]


def certify_overrides(scale: Scale, part: str, model: str, graph: str | None, groups: int = 0) -> list[str]:
    """The ``--set`` list of ``crowd certify`` for part ``a``, ``c`` (head-only CROWD) or ``d`` (TextGuard)."""
    sets = [*corpus_overrides(scale), f"model.name={_s(model)}", f"model.device={_s(scale.device)}"]
    if part == "d":
        return sets + [
            'method.name="textguard"',
            f"method.groups={groups}",
            'model.learner="full"',
            f"full.epochs={scale.tg_epochs}",
            f"full.batch_size={scale.tg_batch}",
            "full.copies_per_group=32",  # every group's model in one vmap group
            'full.grouping="vmap"',  # the GPU regime (a copy's dropout draws then depend on its group)
            f"full.max_length={scale.max_length}",
        ]
    n, group = (scale.head_copies, scale.head_group) if part == "a" else (scale.bert_copies, scale.bert_group)
    return sets + [
        'method.name="crowd"',
        *([f"method.graph={_s(graph)}"] if graph else []),
        'model.learner="head"',
        f"n_copies={n}",
        "allow_uncertifiable=true",  # a throughput run: the dry scale's N = 4, or the copies a timeout left
        f"head.copies_per_group={group}",
        f"head.epochs={scale.head_epochs}",
        f"head.max_length={scale.max_length}",
        'head.pooling="mean"',
        "head.feature_cache=false",  # noisy rows are almost all new: a cache would only write gigabytes
    ]
