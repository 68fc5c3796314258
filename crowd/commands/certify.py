"""``crowd certify``: train N noisy copies, vote and certify (see :func:`crowd.pipelines.certify.run_certify`)."""

from __future__ import annotations

import argparse
import os

from crowd.pipelines.certify import load_certify_config, run_certify

HELP = (
    "Train one classifier per noisy copy of a (poisoned) training set, take the majority vote and "
    "certify it. With no --config, runs the built-in default (full SST-2, BadNets 10% with the trigger word cf, "
    "word-partition aggregation over 7 word groups with a TF-IDF logistic regression per group)."
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:

    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.data_root={_toml_string(args.data)}")
    if args.n_copies is not None:
        overrides.append(f"n_copies={args.n_copies}")
    if args.device:
        overrides.append(f"model.device={_toml_string(args.device)}")
    if args.allow_uncertifiable:
        overrides.append("allow_uncertifiable=true")
    config = load_certify_config(args.config, overrides)
    report = run_certify(config, args.out, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 reports
        print(report.markdown)
        print(f"results written to {args.out}")
    return 0


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
