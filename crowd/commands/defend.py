"""``crowd defend --config FILE.toml [--set key=value ...] --out DIR``: run one empirical defense."""

from __future__ import annotations

import argparse

HELP = "run an empirical defense (BKI, ONION, STRIP, RAP) on a poisoned corpus and measure CACC/ASR/FRR/FAR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML config (sections data, attack, defense, victim; key seed)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. defense.name=rap"
    )
    parser.add_argument("--out", required=True, help="output folder")


def run(args: argparse.Namespace) -> int:
    from crowd.config import load_toml
    from crowd.defend import DefendConfig, run_defend

    config = load_toml(DefendConfig, args.config, args.set)
    summary = run_defend(config, args.out)
    u, d = summary["undefended"], summary["defended"]
    print(
        f"{config.defense.name}: CACC {d['cacc']:.4f}, ASR {d['asr']}, base rate {d['base_rate']} "
        f"(undefended: CACC {u['cacc']:.4f}, ASR {u['asr']}, base rate {u['base_rate']}; "
        f"{summary['n_test_poison']} poisoned test texts) -> {args.out}"
    )
    for warning in summary["warnings"]:
        print(f"WARNING: {warning}")
    return 0
