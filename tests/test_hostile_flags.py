"""Issue #33: flags agree across commands, output behaves under --no-progress, SIGTERM and torchrun, caches stay
out of the home folder when ``CROWD_CACHE`` is set, and the docs say what the code does."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import subprocess
import sys
import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path

from crowd.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
# The built-in default run (textguard, bow learner) on 200 training texts: seconds.
SMALL = ["--set", "data.max_train=200", "--set", "data.max_test=40"]
INTERRUPTED = "crowd certify: interrupted; the same command resumes from what was stored"
CACHE_ENVS = ("CROWD_FEATURE_CACHE", "CROWD_VICTIM_CACHE", "CROWD_ONION_CACHE", "MPLCONFIGDIR")


def _parsers(name: str) -> list[argparse.ArgumentParser]:
    """The parser of ``crowd NAME`` and those of its actions (``crowd synonyms build``, ...)."""
    parser = argparse.ArgumentParser(prog=f"crowd {name}")
    importlib.import_module(COMMANDS[name][0]).add_arguments(parser)
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [parser, *(p for s in subs for p in s.choices.values())]


def test_every_command_spells_the_bar_switch_no_progress():
    with_bars = {f"crowd {c}" for c in ("certify", "defend", "bench", "predict", "synonyms build")}
    seen = set()
    for name in COMMANDS:
        for parser in _parsers(name):
            shown = {o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
            assert not {o for o in shown if "progress" in o} - {"--no-progress"}, (parser.prog, shown)
            if "--no-progress" in shown:
                seen.add(parser.prog)
    assert with_bars <= seen


def test_bench_keeps_the_old_progress_spelling_as_a_no_op():
    (parser,) = _parsers("bench")
    args = ["benchmarks/configs/triggers.toml", "--out", "x"]
    assert parser.parse_args([*args, "--progress"]).no_progress is False
    assert parser.parse_args(args).no_progress is False
    assert parser.parse_args([*args, "--no-progress"]).no_progress is True


def test_no_progress_keeps_the_stage_lines(data_root, tmp_path, capsys):
    assert main(["certify", *SMALL, "--no-progress", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "crowd certify: starting"
    assert any(line.startswith("crowd certify: loading sst2") for line in lines)
    assert any(line.startswith("crowd certify: training ") for line in lines)
    assert "%|" not in err and "\r" not in err  # no bar


def test_defend_no_progress_keeps_the_stage_lines(tiny_bert, tmp_path, capsys):
    config = tmp_path / "defend.toml"
    config.write_text(
        '[data]\ndataset = "toy"\nmax_train = 60\nmax_dev = 20\nmax_test = 20\n'
        f'[victim]\nmodel = "{tiny_bert}"\nepochs = 1\nbatch_size = 16\nwarmup_epochs = 0\ndevice = "cpu"\n'
        '[defense]\nname = "strip"\nparams = { frr = 0.1 }\n'
    )
    argv = [
        "defend",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "d"),
        "--no-progress",
        "--no-victim-store",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "crowd defend: loading toy" in err and "crowd defend: victim: " in err
    assert "%|" not in err and "\r" not in err  # the victim's bar is off


def test_only_rank_zero_prints_stage_lines(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")  # what torchrun sets for rank 1, read before any process group exists
    assert main(["certify", *SMALL, "--out", str(tmp_path / "rank1")]) == 0
    captured = capsys.readouterr()
    assert "crowd certify:" not in captured.err and captured.out == ""
    monkeypatch.setenv("RANK", "0")
    assert main(["certify", *SMALL, "--out", str(tmp_path / "rank0")]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("crowd certify: starting\n") and "crowd certify: training " in captured.err
    assert "results written to" in captured.out


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CACHE_ENVS and not k.startswith("XDG_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_sigterm_prints_the_ctrl_c_line(data_root, tmp_path):
    argv = [
        sys.executable,
        "-m",
        "crowd",
        "certify",
        "--data",
        str(data_root),
        "--out",
        str(tmp_path / "run"),
    ]
    argv += ["--set", "data.max_train=1000", "--set", "data.max_test=50", "--set", 'method.name="wang"']
    argv += ["--n-copies", "100"]  # 100 bow models: a minute or more, far longer than the test waits
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(CROWD_CACHE=str(tmp_path))
    )
    seen = []
    for line in proc.stderr:  # wait until training has started (text mode: a bar's \r ends a line too)
        seen.append(line.rstrip("\n"))
        if line.startswith("crowd certify: training "):
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (seen, err)
    assert err.strip().splitlines()[-1:] == [INTERRUPTED] and "Traceback" not in err, err


def test_sigterm_in_process_is_the_ctrl_c_line(tmp_path, monkeypatch, capsys):
    import crowd.commands.certify as certify

    def stop(args):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    def outside(signum, frame):  # SIGTERM outside the command (without this, it would end pytest)
        raise AssertionError("SIGTERM reached the handler outside the command")

    monkeypatch.setattr(certify, "run", stop)
    before = signal.signal(signal.SIGTERM, outside)
    try:
        assert main(["certify", "--out", str(tmp_path)]) == 143
        assert signal.getsignal(signal.SIGTERM) is outside  # the command's handler is its own alone
    finally:
        signal.signal(signal.SIGTERM, before)
    assert capsys.readouterr().err.splitlines()[-1] == INTERRUPTED


def test_resumed_deterministic_run_does_not_warn_about_optional_stopping(data_root, tmp_path):
    from crowd.pipelines.certify import run_certify
    from crowd.pipelines.config import load_certify_config

    for name, method in (("dpa", ['method.name="dpa"', "method.partitions=10"]), ("textguard", [])):
        config = load_certify_config(None, ["data.max_train=200", "data.max_test=40", *method])
        first = run_certify(config, tmp_path / name, progress=False)
        again = run_certify(config, tmp_path / name, progress=False)  # resumes: every model's votes stored
        assert first.summary["reused_votes"] == 0 < again.summary["reused_votes"]
        assert "re-used" in again.markdown and "optional stopping" not in again.markdown, name
    smoothing = load_certify_config(None, ["data.max_train=200", "data.max_test=40", 'method.name="wang"'])
    run_certify(smoothing, tmp_path / "wang", progress=False)
    again = run_certify(smoothing, tmp_path / "wang", progress=False)
    assert "optional stopping" in again.markdown  # a smoothing method's confidence is what it spoils


def test_no_cache_under_home_when_crowd_cache_is_set(data_root, tmp_path):
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    argv = [sys.executable, "-m", "crowd", "certify", *SMALL, "--no-progress", "--out", str(tmp_path / "run")]
    env = _env(HOME=str(home), CROWD_CACHE=str(cache), CROWD_DATA=str(data_root))
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    assert any((cache / "matplotlib").iterdir())  # the font cache a plot needs went to CROWD_CACHE


def test_only_crowd_paths_names_the_home_folder():
    home = re.compile(r"Path\.home\(\)|expanduser\(\s*[\"']~|[\"']~/\.cache")
    found = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in sorted((ROOT / "crowd").rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if home.search(line) and path != ROOT / "crowd" / "paths.py"
    ]
    assert found == []


def test_readme_says_where_caches_go():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (paragraph,) = [p for p in readme.split("\n\n") if p.startswith("Caches:")]
    for name in ("`$CROWD_CACHE`", "`~/.cache/crowd`", "CROWD_FEATURE_CACHE", "home folder", "MPLCONFIGDIR"):
        assert name in paragraph, name


def test_troubleshooting_names_poisons_default_trigger():
    from crowd.pipelines.config import load_certify_config

    text = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"leave the option out for the default `([^`]+)`", text)
    assert shown == ",".join(load_certify_config().attack.triggers) == "cf"


def test_synonyms_show_needs_a_built_graph_as_the_readme_says(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CROWD_CACHE", str(tmp_path))  # no default graph built here
    assert main(["synonyms", "show", "film", "--data", str(data_root)]) == 2
    assert "run 'crowd synonyms build' first, or pass --graph DIR" in capsys.readouterr().err
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `crowd synonyms build")]
    assert "`crowd synonyms build`" in row.split("|")[2] and "--graph DIR" in row


# ----- the README's complete config lists every key of the schema, and no other ---------------------------------


def _readme_config() -> tuple[dict, dict[str, set[str]]]:
    """The README's complete config parsed, and the keys of each section (``""``: the top level) including
    those shown commented out (``# key = ...``: a key without a default value)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[method]" in b]
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in block.splitlines():
        if m := re.match(r"\[(\w+)\]", line):
            section = m.group(1)
            keys.setdefault(section, set())
        elif m := re.match(r"#?\s*(\w+)\s*=", line):
            keys[section].add(m.group(1))
    return tomllib.loads(block), keys


def _schema() -> dict[str, set[str]]:
    from crowd.methods import METHODS
    from crowd.pipelines.config import CertifyConfig

    config, data = CertifyConfig(), _readme_config()[0]
    schema: dict[str, set[str]] = {"": set()}
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "used":  # written by a run, ignored as input
            continue
        if f.name == "method":  # the keys of the method the block names
            schema["method"] = {"name"} | {g.name for g in fields(METHODS[data["method"]["name"]])}
        elif is_dataclass(value):
            schema[f.name] = {g.name for g in fields(value)}
        else:
            schema[""].add(f.name)
    return schema


def test_readme_complete_config_lists_every_key_of_the_schema():
    shown, schema = _readme_config()[1], _schema()
    assert set(shown) == set(schema)
    for section, keys in schema.items():
        assert keys - shown[section] == set(), f"[{section}] misses keys of the schema"
        assert shown[section] - keys == set(), f"[{section}] shows keys the schema does not have"


def test_readme_complete_config_is_the_built_in_default_run():
    from crowd.pipelines.config import load_certify_config

    data, config = _readme_config()[0], load_certify_config(None)
    for section, values in data.items():
        if not isinstance(values, dict):
            assert values == getattr(config, section), section
            continue
        for key, value in values.items():
            default = getattr(getattr(config, section), key)
            assert value == (list(default) if isinstance(default, tuple) else default), (section, key)
