"""What a user sees: one-line errors (exit 2) and metrics printed as percentages with one decimal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from crowd.cli import main
from crowd.commands._format import percent
from crowd.commands.defend import summary_line

ROOT = Path(__file__).resolve().parents[1]
LONG_FLOAT = re.compile(r"\d\.\d{4,}")


def after_start(err: str, command: str) -> str:
    """stderr less the command's first line, ``crowd X: starting`` (printed before its imports)."""
    start = f"crowd {command}: starting\n"
    assert err.startswith(start), err
    return err[len(start) :]


def one_line_error(capsys, argv, rc=2) -> str:
    assert main(argv) == rc
    captured = capsys.readouterr()
    err = (
        after_start(captured.err, argv[0])
        if argv[0] in ("poison", "certify", "defend", "bench")
        else captured.err
    )
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_poison_refuses_a_target_outside_the_corpus_labels(capsys, tmp_path):
    out = tmp_path / "p"
    argv = ["poison", "--dataset", "sst2", "--attack", "badnets", "--target", "5", "--out", str(out)]
    line = one_line_error(capsys, argv)
    assert line == "crowd poison: error: --target 5 is not a label of sst2 (its labels are 0, 1)"
    assert not out.exists()


def test_poison_without_data_folder_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("CROWD_DATA", raising=False)
    monkeypatch.setitem(sys.modules, "datasets", None)  # the hub fallback is not installed
    base = ["poison", "--dataset", "sst2", "--out", str(tmp_path / "p")]
    assert "set CROWD_DATA (or --data)" in one_line_error(capsys, [*base, "--attack", "badnets"])
    assert "pass --data PATH or set CROWD_DATA" in one_line_error(capsys, [*base, "--attack", "synbkd"])


def test_debug_env_shows_the_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("CROWD_DEBUG", "1")
    argv = ["poison", "--dataset", "sst2", "--attack", "badnets", "--target", "5", "--out", str(tmp_path)]
    with pytest.raises(ValueError, match="--target 5"):
        main(argv)


def test_certify_override_error_names_the_override(capsys, tmp_path):
    line = one_line_error(capsys, ["certify", "--set", "attack.poison_rate=2", "--out", str(tmp_path)])
    assert line.startswith("crowd certify: error: --set attack.poison_rate=2: poison_rate must be in [0, 1]")
    assert "default.toml" not in line


def test_poison_prints_percentages(capsys, data_root, tmp_path):
    argv = ["poison", "--dataset", "sst2", "--attack", "badnets", "--rate", "0.01", "--out", str(tmp_path)]
    assert main([*argv, "--data", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert "69 of 6920 training rows poisoned (1.0%;" in out and not LONG_FLOAT.search(out)


def test_defend_line_formats_every_metric_as_percent():
    summary = {
        "undefended": {"cacc": 0.8201, "asr": 0.9811320754716981, "base_rate": 0.1234},
        "defended": {"cacc": 0.8123, "asr": None, "base_rate": 0.05, "frr": 0.05, "far": 0.1},
        "n_test_poison": 912,
    }
    line = summary_line("rap", summary)
    assert line == (
        "rap: CACC 81.2% (undefended 82.0%), ASR n/a (undefended 98.1%), base rate 5.0% (undefended 12.3%), "
        "FRR 5.0%, FAR 10.0%; 912 poisoned test texts"
    )
    assert percent(1.0) == "100.0%" and percent(0.0) == "0.0%"


def _bench_main():
    from crowd.cli import main

    return lambda argv: main(["bench", *argv])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "bogus=1"], "--set bogus=1: unknown key(s) bogus"),
        (["--set", "layout=x"], "--set layout=x: layout must be one of"),
        (["--certify", "n_copis=3"], "--certify n_copis=3: unknown key 'n_copis' in top level"),
        (["--defend", "victim.epoch=1"], "--defend victim.epoch=1: unknown key 'epoch' in victim"),
    ],
)
def test_benchmark_config_errors_are_one_line(capsys, tmp_path, extra, message):
    config = str(ROOT / "benchmarks" / "configs" / "table3.toml")
    assert _bench_main()([config, "--out", str(tmp_path / "b"), *extra]) == 2
    err = after_start(capsys.readouterr().err, "bench")
    assert err.startswith(f"crowd bench: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "b").exists()  # nothing was started


def test_benchmark_missing_config_is_one_line(capsys, tmp_path):
    assert _bench_main()([str(tmp_path / "nope.toml"), "--out", str(tmp_path / "b")]) == 2
    assert "does not exist" in capsys.readouterr().err
