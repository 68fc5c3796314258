"""``crowd poison``: write a poisoned corpus (OpenBackdoor CSV layout + JSON Lines + ``hf/`` + manifest).

The options become an ``[attack]`` table (:class:`crowd.pipelines.config.AttackConfig`) and a ``[data]`` one, and
the attack is built by :func:`crowd.pipelines.attack.attack_from_config`, the builder ``crowd certify`` and
``crowd defend`` use: one path from settings to an attack. ``--variant``, ``--num-triggers``, ``--triggers``
and ``--sentence`` not given are unset (``None``): the ``--preset``'s value, else the toolkit's default
(dirty-label, one trigger, AddSent's ``I watch this 3D movie``; ``--triggers``: the built-in
``crowd certify`` run's words, ``cf``).

The out folder is checked before the corpus is read: :func:`crowd.pipelines.outdir.check_out_folder` refuses a
file, an unwritable folder and another command's output, then :func:`crowd.attacks.output.check_poison_folder`
anything but this command's earlier output of the same settings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crowd.attacks import ATTACKS, VARIANTS, Attack, poison_corpus, write_poisoned_corpus
from crowd.attacks.addsent import DEFAULT_SENTENCE, sentence_problem
from crowd.attacks.badnets import num_triggers_problem, trigger_problem
from crowd.attacks.budget import MAX_BUDGET_LENGTH, attack_budget, word_groups_touched
from crowd.attacks.factory import attack_class, preset_names, preset_problem
from crowd.attacks.output import check_poison_folder, mix_path
from crowd.attacks.poison import poison_settings
from crowd.attacks.stylebkd import STYLES
from crowd.commands._format import percent
from crowd.data import DATASETS, corpus_labels, load_dataset
from crowd.data.datasets import corpus_label_names
from crowd.io import json_bytes
from crowd.paths import data_root
from crowd.pipelines.attack import attack_from_config
from crowd.pipelines.config import AttackConfig, DataConfig, load_certify_config
from crowd.pipelines.outdir import check_out_folder
from crowd.text import abbreviated

HELP = "write a poisoned corpus (BadNets, AddSent, SynBkd, StyleBkd, word substitution)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--attack", required=True, choices=sorted(ATTACKS))
    parser.add_argument("--rate", type=float, default=0.1, help="poison rate over the whole training set")
    parser.add_argument("--target", type=int, default=1, help="target label")
    parser.add_argument(
        "--preset",
        choices=preset_names(),
        default=None,
        help="OpenBackdoor's settings by name (openbackdoor: its shipped configs, e.g. clean-label BadNets); "
        "options given override it, options not given take its value; see docs/attacks.md",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default=None,
        help="default: the preset's, else dirty; see docs/attacks.md",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--data", default=None, help="data root (default: $CROWD_DATA)")
    parser.add_argument(
        "--num-triggers",
        type=int,
        default=None,
        help="badnets: trigger words per text (default: the preset's, else 1)",
    )
    parser.add_argument(
        "--triggers",
        default=None,
        help="badnets: comma-separated trigger words (default: the preset's, else those of crowd certify's "
        "built-in default, cf; OpenBackdoor's set is cf,mn,bb,tq)",
    )
    parser.add_argument(
        "--sentence",
        default=None,
        help=f"addsent: trigger sentence (default: the preset's, else {DEFAULT_SENTENCE!r})",
    )
    parser.add_argument(
        "--paraphrases",
        type=Path,
        default=None,
        help="synbkd/stylebkd: OpenBackdoor poison folder with pre-generated texts "
        "(default: the shared openbackdoor_poison folder of the dataset)",
    )
    parser.add_argument(
        "--style", default="bible", help=f"stylebkd: style of the paraphrases ({', '.join(STYLES)})"
    )
    parser.add_argument("--graph", type=Path, default=None, help="wordsub: synonym graph folder")
    parser.add_argument("--num-substitutions", type=int, default=3, help="wordsub: words replaced per text")
    parser.add_argument("--length", type=int, default=64, help="fixed length for the l0 token budget")


def check_target(dataset: str, target: int) -> None:
    """Refuse a target label the corpus does not have (e.g. ``--target 5`` on binary SST-2)."""
    labels = corpus_labels(dataset)
    if target not in labels:
        raise ValueError(
            f"--target {target} is not a label of {dataset} (its labels are {', '.join(map(str, labels))})"
        )


def trigger_words(option: str) -> tuple[str, ...]:
    """The words of ``--triggers`` (comma-separated; empty items dropped); an error names the option."""
    triggers = tuple(t.strip() for t in option.split(",") if t.strip())
    if not triggers:
        raise ValueError(
            f"--triggers {abbreviated(option)}: no trigger word; expected comma-separated words, e.g. --triggers cf,mn"
        )
    for trigger in triggers:
        problem = trigger_problem(trigger)
        if problem:
            raise ValueError(
                f"--triggers {abbreviated(option)}: "
                f"{'the trigger' if len(triggers) == 1 else abbreviated(trigger)} {problem}; each trigger is one word, "
                "separated by commas, e.g. --triggers cf,mn"
            )
    return triggers


def check_options(args: argparse.Namespace) -> None:
    """Refuse a value no attack accepts, naming its option, before any reading. ``--triggers`` not given: the
    preset's (``--preset``), else the built-in default run's, written into ``args.triggers``."""
    if args.triggers is None and args.preset is None:  # one default attack: the built-in default run's
        args.triggers = ",".join(load_certify_config().attack.triggers)
    if args.triggers is not None:
        trigger_words(args.triggers)
    length = f"must be in 1..{MAX_BUDGET_LENGTH} (the model input length the l0 token budget counts in)"
    problems = [
        ("--preset", args.preset, args.preset is not None and preset_problem(args.attack, args.preset)),
        (
            "--rate",
            args.rate,
            not 0.0 <= args.rate <= 1.0 and "must be in [0, 1] (the share of rows poisoned)",
        ),
        (
            "--num-triggers",
            args.num_triggers,
            args.num_triggers is not None and num_triggers_problem(args.num_triggers),
        ),
        (
            "--sentence",
            abbreviated(args.sentence or ""),
            args.sentence is not None and sentence_problem(args.sentence),
        ),
        (
            "--style",
            abbreviated(args.style),
            args.style not in STYLES and f"must be one of {', '.join(STYLES)}",
        ),
        ("--num-substitutions", args.num_substitutions, args.num_substitutions < 1 and "must be at least 1"),
        ("--length", args.length, not 1 <= args.length <= MAX_BUDGET_LENGTH and length),
    ]
    for option, value, problem in problems:
        if problem:
            raise ValueError(f"{option} {value}: {problem}")


def settings(args: argparse.Namespace) -> tuple[AttackConfig, DataConfig]:
    """The ``[attack]`` and ``[data]`` tables the (checked) options describe: what a ``crowd certify`` config
    with the same keys holds, so both commands build the attack the same way."""
    attack = AttackConfig(
        name=args.attack,
        poison_rate=args.rate,
        target_label=args.target,
        variant=args.variant,
        num_triggers=args.num_triggers,
        preset=args.preset,
        triggers=trigger_words(args.triggers) if args.triggers is not None else (),
        sentence=args.sentence,
        paraphrases=None if args.paraphrases is None else str(args.paraphrases),
        style=args.style,
        num_substitutions=args.num_substitutions,
        graph=None if args.graph is None else str(args.graph),
    )
    return attack, DataConfig(dataset=args.dataset, data_root=args.data)


def build_attack(args: argparse.Namespace) -> Attack:
    """The attack object the options describe, built by :func:`crowd.pipelines.attack.attack_from_config`
    (as ``crowd certify`` builds its ``[attack]``); ``args.data`` becomes the data root, resolved once
    (``--data``, else ``$CROWD_DATA``), for everything the command reads."""
    root = data_root(args.data)
    args.data = str(root.resolve()) if root is not None else None
    check_target(args.dataset, args.target)
    kind = attack_class(args.attack)
    if kind.needs_paraphrases and args.paraphrases is None and args.data is None:
        raise ValueError(
            f"{args.attack} reads its paraphrases from the data folder: pass --data PATH or set CROWD_DATA, "
            "or give --paraphrases FOLDER"
        )
    check_options(args)
    if kind.needs_graph and args.graph is None:
        raise ValueError(f"{args.attack} needs --graph (a folder written by 'crowd synonyms build')")
    return attack_from_config(*settings(args))  # loads --graph for an attack that needs one (attack.graph)


def run(args: argparse.Namespace) -> int:
    check_out_folder(args.out, "poison")  # before any reading; the settings are checked once known
    attack = build_attack(args)  # resolves args.data
    splits = [load_dataset(args.dataset, split, data_root=args.data) for split in ("train", "dev", "test")]
    check_poison_folder(args.out, poison_settings(attack, *splits, seed=args.seed))  # before the work
    corpus = poison_corpus(attack, *splits, seed=args.seed)
    budget = attack_budget(corpus.train_clean, corpus.train_poisoned, length=args.length)
    groups = {"word_groups_touched": word_groups_touched(corpus), "word_groups_order": "keep"}
    counted = {
        "train_set": {"csv": mix_path(corpus.manifest), "jsonl": "train-poisoned.jsonl", "hf": "hf/train"}
    }
    extra = {"budget.json": json_bytes({**budget.to_dict(), **groups, **counted})}
    # budget.json is written with the corpus, before manifest.json: a folder with a manifest is complete
    write_poisoned_corpus(corpus, args.out, corpus_label_names(args.dataset), extra)
    info = corpus.manifest["train"]
    print(
        f"{attack.name} on {args.dataset}: {info['n_poisoned']} of {info['n_clean']} training rows poisoned "
        f"({percent(info['n_poisoned'] / max(info['n_clean'], 1))}; {info['n_label_flips']} label flips, "
        f"{info['unavailable']['count']} unavailable), "
        f"{len(corpus.dev_poison)} dev / {len(corpus.test_poison)} test poison texts -> {args.out}"
    )
    return 0
