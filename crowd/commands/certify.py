"""``crowd certify``: train N noisy copies, vote and certify (see :func:`crowd.pipelines.certify.run_certify`)."""

from __future__ import annotations

import argparse

from crowd.attacks import ATTACKS, NO_ATTACK
from crowd.config import ConfigError, set_dotted, to_dict
from crowd.pipelines.config import load_certify_config
from crowd.train.devices import is_rank_zero
from crowd.train.settings import BagOfWords


def default_run() -> str:
    """The built-in default run (``crowd/configs/default.toml``) in words, read from the config itself."""
    config = load_certify_config(None)
    data, attack = config.data, config.attack
    rows = "all" if data.max_train == 0 else f"{data.max_train} seeded"
    poison = f"attack {attack.name} on {100 * attack.poison_rate:g}% of the training rows"
    kind = ATTACKS.get(attack.name)  # None for NO_ATTACK (a clean run)
    if kind is not None and "triggers" in kind.parameter_names() and attack.triggers:
        poison += f" (triggers {' '.join(attack.triggers)})"
    if attack.name == NO_ATTACK:
        poison = "no attack"
    params = {k: v for k, v in to_dict(config.method).items() if k != "name"}
    method = f"method {config.method.name} ({', '.join(f'{k} = {v}' for k, v in params.items())})"
    learner = f"the {config.model.learner} learner"
    for table in (getattr(config, section) for section in config.learner_sections):
        if isinstance(table, BagOfWords):  # what its [bow] table adds to TF-IDF and a logistic regression
            extras = ["NB-LR"] * table.nb + [f"{table.vectors} vectors"] * bool(table.vectors)
            learner += f" ({', '.join(extras)})" if extras else ""
    return f"{data.dataset} ({rows} training texts), {poison}, {method}, {learner}"


HELP = (
    "Train one model per noisy copy, partition or word group of a (poisoned) training set, vote and certify. "
    f"With no --config, runs the built-in default: {default_run()}."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML config file (defaults: the built-in default run)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field, e.g. --set n_copies=50 --set method.name=safer (repeatable)",
    )
    parser.add_argument("--out", default="runs/certify", help="output folder (default: runs/certify)")
    parser.add_argument("--data", help="data folder (default: $CROWD_DATA)")
    parser.add_argument("--n-copies", type=int, help="shortcut for --set n_copies=N")
    parser.add_argument("--device", help="shortcut for --set model.device=DEV (cpu, cuda, auto)")
    parser.add_argument(
        "--allow-uncertifiable",
        action="store_true",
        help="smoothing methods: train even when N is too small for any certificate at alpha (a warning, "
        "not an error; shortcut for --set allow_uncertifiable=true)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (the stage lines stay)")


def run(args: argparse.Namespace) -> int:
    from crowd.pipelines.certify import run_certify  # lazy: `crowd certify --help` must not import torch

    config = load_certify_config(args.config, overrides_of(args))
    report = run_certify(config, args.out, progress=not args.no_progress, stages=True)
    if is_rank_zero():  # under torchrun only rank 0 reports
        print(report.markdown)
        print(f"results written to {args.out}")
    return 0


def overrides_of(args: argparse.Namespace) -> list[str]:
    """The ``--set`` assignments, then the shortcut flags as assignments.

    A key set twice is refused, naming both settings: by a shortcut flag and ``--set`` (whatever the values),
    or by two ``--set`` with different values (the same value twice is one setting).
    """
    shortcuts = []  # (flag as the user wrote it, the assignment it stands for)
    if args.data:
        shortcuts.append((f"--data {args.data}", f"data.data_root={_toml_string(args.data)}"))
    if args.n_copies is not None:
        shortcuts.append((f"--n-copies {args.n_copies}", f"n_copies={args.n_copies}"))
    if args.device:
        shortcuts.append((f"--device {args.device}", f"model.device={_toml_string(args.device)}"))
    if args.allow_uncertifiable:
        shortcuts.append(("--allow-uncertifiable", "allow_uncertifiable=true"))
    given: dict[str, list[tuple[str, object]]] = {}  # key -> [(assignment, value)] of the --set options
    for assignment in args.overrides:
        key, value = _key_value(assignment)
        given.setdefault(key, []).append((assignment, value))
    for flag, assignment in shortcuts:
        key = _key_value(assignment)[0]
        if key in given:
            raise ConfigError(f"{flag} and --set {given[key][0][0]} both set {key}; give it once")
    for key, settings in given.items():
        (first, value), *rest = settings
        other = next((a for a, v in rest if v != value), None)
        if other is not None:
            raise ConfigError(f"--set {first} and --set {other} give {key} different values; give it once")
    return [*args.overrides, *(assignment for _, assignment in shortcuts)]


def _key_value(assignment: str) -> tuple[str, object]:
    """``("a.b", value)`` of an ``a.b=value`` assignment, the value parsed as ``--set`` parses it."""
    node: dict = {}
    parts = set_dotted(node, assignment)
    for part in parts[:-1]:
        node = node[part]
    return ".".join(parts), node[parts[-1]]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
