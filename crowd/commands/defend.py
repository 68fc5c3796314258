"""``crowd defend --config FILE.toml [--set key=value ...] --out DIR``: run one empirical defense."""

from __future__ import annotations

import argparse

from crowd.commands._format import percent
from crowd.config import load_toml

HELP = "run an empirical defense (BKI, ONION, STRIP, RAP) on a poisoned corpus and measure CACC/ASR/FRR/FAR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML config (sections data, attack, defense, victim; key seed)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. defense.name=rap"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (the stage lines stay)")
    parser.add_argument(
        "--no-victim-store",
        action="store_true",
        help="always train the victim (by default a victim trained before on the same corpus and settings is "
        "loaded from $CROWD_VICTIM_CACHE or ~/.cache/crowd/victims, and a new one is kept there)",
    )


def run(args: argparse.Namespace) -> int:
    from crowd.pipelines.defend import (
        DefendConfig,
        VictimStore,
        run_defend,
    )  # lazy: `crowd defend --help` must not import torch

    config = load_toml(DefendConfig, args.config, args.set)
    store = None if args.no_victim_store else VictimStore()
    summary = run_defend(config, args.out, progress=not args.no_progress, store=store, stages=True)
    print(f"{summary_line(config.defense.name, summary)} -> {args.out}")
    if summary.get("victim_from_store"):
        print("(victim loaded from the victim store: trained before on this corpus and settings)")
    for warning in summary["warnings"]:
        print(f"WARNING: {warning}")
    return 0


def summary_line(name: str, summary: dict) -> str:
    """``rap: CACC 81.2% (undefended 82.0%), ASR 12.3% (undefended 98.1%), FRR 5.0%, FAR 10.0%``."""
    d, u = summary["defended"], summary["undefended"]
    parts = [
        f"CACC {percent(d['cacc'])} (undefended {percent(u['cacc'])})",
        f"ASR {percent(d['asr'])} (undefended {percent(u['asr'])})",
        f"base rate {percent(d.get('base_rate'))} (undefended {percent(u.get('base_rate'))})",
    ]
    parts += [f"{k.upper()} {percent(d[k])}" for k in ("frr", "far") if k in d]
    return f"{name}: " + ", ".join(parts) + f"; {summary['n_test_poison']} poisoned test texts"
