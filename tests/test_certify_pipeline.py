"""End to end on CPU: a tiny keyword corpus, BadNets poisoning, tiny BERT, N noisy copies, certificates."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from test_golden import sentences as _sentences  # noqa: E402  (the same tiny sentiment corpus)

from crowd.certify import bound_top_class
from crowd.cli import main
from crowd.config import ConfigError
from crowd.pipelines.certify import load_certify_config, run_certify
from synonyms import SynonymGraph


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    for split, n, seed in (("train", 240, 0), ("test", 60, 1)):
        lines = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in _sentences(n, seed)]
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    graph = SynonymGraph.from_sets(
        {
            "good": [("great", 0.9), ("fine", 0.85), ("nice", 0.82)],
            "great": [("good", 0.9), ("superb", 0.88)],
            "bad": [("awful", 0.86), ("poor", 0.84)],
            "film": [("movie", 0.95)],
            "movie": [("film", 0.95)],
            "story": [("plot", 0.81)],
        }
    )
    graph.save(folder / "graph")
    return folder


def _config(corpus, tiny_bert, *extra, graph=True):
    return load_certify_config(
        None,
        [
            f'data.dataset="{corpus}"',
            "data.max_train=0",
            "data.max_test=0",
            "n_copies=12",
            *(['method.name="crowd"', f'method.graph="{corpus / "graph"}"'] if graph else []),
            f'model.name="{tiny_bert}"',
            'model.device="cpu"',
            'model.learner="head"',
            "head.epochs=30",
            "head.lr=0.01",
            "head.max_length=16",
            "head.copies_per_group=6",
            'head.dtype="fp32"',
            'head.pooling="mean"',
            *extra,
        ],
    )


def test_crowd_noise_end_to_end_and_resume(corpus, tiny_bert, tmp_path):
    config = _config(corpus, tiny_bert)
    report = run_certify(config, tmp_path / "run", progress=False)
    s = report.summary
    assert s["n_test_clean"] == 60 and s["n_poisoned_train"] == 24
    assert 0.0 <= s["cacc"] <= s["majority_vote_accuracy"] <= 1.0
    assert s["majority_vote_accuracy"] > 0.7  # the tiny model learns the sentiment words
    assert s["certificate"] == "tv"
    assert s["attack_budget"] is None and "non-synonym" in s["not_covered_reason"]
    assert s["certified_accuracy_at_budget"] is None
    for name in ("summary.json", "summary.md", "per_text.jsonl", "config.json", "curve.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    rows = (tmp_path / "run" / "per_text.jsonl").read_text().splitlines()
    assert len(rows) == 60 + s["n_test_poison_non_target"]
    first = json.loads(rows[0])
    assert sum(first["counts"]) == 12
    # Resume: the same config finds every copy's votes and recomputes nothing.
    start = time.perf_counter()
    again = run_certify(config, tmp_path / "run", progress=False)
    assert time.perf_counter() - start < 20
    assert [c.counts for c in again.clean] == [c.counts for c in report.clean]
    # Other statistics on the same votes: no retraining, and a simultaneous guarantee certifies no more texts.
    strict = run_certify(
        _config(corpus, tiny_bert, "alpha=0.01", "simultaneous=true", "allow_uncertifiable=true"),
        tmp_path / "run",
        progress=False,
    )
    assert [c.counts for c in strict.clean] == [c.counts for c in report.clean]
    assert strict.summary["cacc"] <= report.summary["cacc"] and strict.summary["simultaneous"] is True
    assert report.summary["reused_votes"] == 0 and strict.summary["reused_votes"] == 12
    assert "optional stopping" in strict.markdown and "optional stopping" not in report.markdown
    # 12 models at alpha 0.01 over the 60 clean and the triggered texts: even a unanimous vote abstains, and the
    # report says so, with the first N that certifies at the level the certificates were bounded at.
    assert report.summary["warnings"] == [] and strict.summary["cacc"] == 0.0
    assert strict.summary["warnings"] == [
        "N = 12 is too small for any certificate at alpha = 0.01 (bonferroni, simultaneous): even a unanimous "
        "vote abstains; N >= 15 is needed"
    ]
    level = strict.clean[0].alpha
    assert level == 0.01 / (60 + len(strict.poison))
    assert bound_top_class(np.array([14, 0]), level).abstained
    assert not bound_top_class(np.array([15, 0]), level).abstained
    assert "**Warning**: N = 12 is too small" in strict.markdown
    # More copies: the 12 stored ones are kept, only the new ones are trained.
    votes = sorted((tmp_path / "run" / "votes" / "votes").iterdir())
    stamps = {p.name: p.stat().st_mtime_ns for p in votes[:6]}
    more = run_certify(_config(corpus, tiny_bert, "n_copies=18"), tmp_path / "run", progress=False)
    assert all(sum(c.counts) == 18 for c in more.clean)
    assert {p.name: p.stat().st_mtime_ns for p in votes[:6]} == stamps


def test_wang_noise_certifies_l0(corpus, tiny_bert, tmp_path):
    config = _config(
        corpus,
        tiny_bert,
        'method.name="wang"',
        "method.beta_token=0.95",
        "method.beta_label=0.95",
        'attack.name="none"',
        "n_copies=12",
        graph=False,
    )
    report = run_certify(config, tmp_path / "wang", progress=False)
    s = report.summary
    assert s["certificate"] == "l0" and s["attack_budget"] == 0
    assert s["asr"] is None
    # With beta close to 1 over a 30k-token domain, only radius 0 can be certified (Lee threshold).
    assert all(p["radius"] <= 1 for p in s["curve"])


def test_cli_and_bad_input(corpus, tiny_bert, tmp_path, capsys):
    code = main(["certify", "--set", "n_copies=0", "--out", str(tmp_path / "x")])
    assert code == 2 and "n_copies must be in 1..1,000,000" in capsys.readouterr().err
    code = main(["certify", "--set", "method.betta=1", "--out", str(tmp_path / "x")])
    assert code == 2 and "unknown key(s) betta" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        load_certify_config(None, ["attack.poison_rate=2"])
    code = main(
        [
            "certify",
            "--set",
            f'data.dataset="{corpus}"',
            "--set",
            'model.name="./no/such/model"',
            "--set",
            'model.learner="head"',
            "--out",
            str(tmp_path / "y"),
            "--no-progress",
        ]
    )
    assert code == 2 and "no/such/model" in capsys.readouterr().err
    assert not (tmp_path / "y" / "votes").exists()


def test_certify_examples_python_api(corpus, tiny_bert, tmp_path):
    from crowd.data import Example
    from crowd.pipelines.certify import certify_examples

    train = [Example(t, y) for t, y in _sentences(120, 3)]
    test = [Example(t, y) for t, y in _sentences(20, 4)]
    config = _config(corpus, tiny_bert, "n_copies=4", "allow_uncertifiable=true")
    report = certify_examples(train, test, config, out=tmp_path / "api", progress=False)
    assert len(report.clean) == 20 and report.summary["asr"] is None
    assert report.summary["attack_budget"] is None
    assert "clean source" in report.summary["not_covered_reason"]
    with pytest.raises(ValueError, match=r"test labels \[0, 1, 2\]"):
        certify_examples(train, [*test, Example("x", 2)], config, out=tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()


def test_dpa_partitions_and_certificates(corpus, tiny_bert, tmp_path):
    from crowd.certify import dpa_radius
    from crowd.data import Example
    from crowd.methods import partition_of

    train = [Example(t, y) for t, y in _sentences(50, 5)]
    before = [partition_of(e, 7) for e in train]
    after = [partition_of(e, 7) for e in [*train[:10], Example("cf inserted text", 1), *train[10:]]]
    assert after[:10] + after[11:] == before  # an insertion moves no other example

    config = _config(corpus, tiny_bert, 'method.name="dpa"', "method.partitions=5", graph=False)
    report = run_certify(config, tmp_path / "dpa", progress=False)
    s = report.summary
    assert s["certificate"] == "dpa" and s["alpha"] == 0.0
    assert s["attack_budget"] == 2 * s["n_poisoned_train"]  # each poisoned row replaced a clean one
    for cert in report.clean:
        assert not cert.abstained and sum(cert.counts) == 5
        assert cert.radius("dpa") == dpa_radius(np.array(cert.counts)) <= 2
    assert s["certified_accuracy_at_budget"] == 0.0  # a budget of 48 is far beyond 5 partitions


@pytest.mark.slow
@pytest.mark.parametrize("learner", ["head", "bow"])  # bow: a torch process group for a torch-free learner
def test_torchrun_two_ranks_equal_one_rank(corpus, tiny_bert, tmp_path, learner):
    import os
    import shutil
    import subprocess

    args = [
        "certify",
        "--no-progress",
        "--set",
        f'data.dataset="{corpus}"',
        "--set",
        'method.name="crowd"',
        "--set",
        f'method.graph="{corpus / "graph"}"',
        "--set",
        "allow_uncertifiable=true",
        "--set",
        f'model.learner="{learner}"',
        "--set",
        f'model.name="{tiny_bert}"',
        "--set",
        'model.device="cpu"',
        "--set",
        "n_copies=6",
        "--set",
        "head.copies_per_group=2",
        "--set",
        "bow.copies_per_group=2",
        "--set",
        'head.dtype="fp32"',
        "--set",
        "head.max_length=16",
    ]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    torchrun = shutil.which("torchrun") or pytest.skip("torchrun not on PATH")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [torchrun, "--nproc-per-node", "2", "-m", "crowd", *args, "--out", str(tmp_path / "two")],
        check=True,
        env=env,
        timeout=600,
        capture_output=True,
        executable=None,
        cwd=tmp_path,
    )
    one = (tmp_path / "one" / "per_text.jsonl").read_text()
    two = (tmp_path / "two" / "per_text.jsonl").read_text()
    assert one == two


@pytest.mark.parametrize("method", ["textguard", "crowd"])
def test_crowd_certify_with_bow_imports_neither_torch_nor_transformers(corpus, tmp_path, method):
    """The default learner (scikit-learn) on the default device ``"auto"``: the whole run, from the CLI to the
    report, with the main job's method (textguard) and with a synonym-graph method (CROWD, a saved graph)."""
    import subprocess
    import sys

    code = (
        "import sys; from crowd.cli import main; rc = main(sys.argv[1:]); "
        "print('LOADED', 'torch' in sys.modules, 'transformers' in sys.modules, 'datasets' in sys.modules, "
        "file=sys.stderr); sys.exit(rc)"
    )
    sets = [f'data.dataset="{corpus}"', 'model.learner="bow"', f'method.name="{method}"']
    if method == "crowd":
        sets += [f'method.graph="{corpus / "graph"}"', "n_copies=8", "allow_uncertifiable=true"]
    else:  # the corpus has 21 distinct words: 3 md5 groups all hold some
        sets += ["method.groups=3"]
    args = ["certify", "--no-progress", "--out", str(tmp_path / "out")]
    args += [a for x in sets for a in ("--set", x)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "LOADED False False False" in done.stderr  # nor Hugging Face datasets
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["used"] == {"device": "cpu", "dtype": "fp32"}  # "auto": bow runs on the CPU, GPU or not
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["learner"], summary["method"], summary["n_test_clean"]) == ("bow", method, 60)


def test_auto_device_is_a_gpu_for_a_torch_learner_and_the_cpu_for_bow(corpus, monkeypatch):
    import torch

    from crowd.pipelines.report import resolved_config
    from crowd.train.devices import device_name

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with a GPU
    assert (device_name("auto"), device_name("auto", uses_torch=False)) == ("cuda", "cpu")
    assert device_name("cuda:1", uses_torch=False) == "cuda:1" and device_name("cpu") == "cpu"
    configs = {
        name: load_certify_config(None, [f'data.dataset="{corpus}"', f'model.learner="{name}"'])
        for name in ("head", "static", "bow+head", "bow")
    }
    assert {k: resolved_config(c)["used"]["device"] for k, c in configs.items()} == {
        "head": "cuda",
        "static": "cuda",
        "bow+head": "cuda",
        "bow": "cpu",
    }
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_name("auto") == "cpu"


def test_stray_label_is_an_error_naming_file_and_line_before_training(corpus, tiny_bert, tmp_path):
    import shutil

    from crowd.data import DataFormatError

    bad = tmp_path / "bad"
    shutil.copytree(corpus, bad)
    lines = (bad / "train.tsv").read_text().splitlines()
    lines[4] = lines[4].rsplit("\t", 1)[0] + "\t7"
    (bad / "train.tsv").write_text("\n".join(lines) + "\n")
    config = _config(bad, tiny_bert, f'data.dataset="{bad}"')
    with pytest.raises(
        DataFormatError, match=r"train.tsv:5: label 7 is not one of the allowed labels \[0, 1\]"
    ):
        run_certify(config, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    three = _config(
        bad, tiny_bert, f'data.dataset="{bad}"', "data.labels=[0, 1, 2, 3, 4, 5, 6, 7]", graph=False
    )
    with pytest.raises(DataFormatError, match=r"label\(s\) \[2, 3, 4, 5, 6\] never occur"):
        run_certify(three, tmp_path / "out", progress=False)


def test_dpa_finite_aggregation_and_runoff_end_to_end(corpus, tiny_bert, tmp_path):
    from crowd.certify import fa_radius, runoff_radius
    from crowd.train import VoteStore

    fa = run_certify(
        _config(
            corpus, tiny_bert, 'method.name="dpa"', "method.partitions=3", "method.spread=2", graph=False
        ),
        tmp_path / "fa",
        progress=False,
    )
    votes = VoteStore.open(tmp_path / "fa" / "votes", 6).load_all()
    for i, cert in enumerate(fa.clean):
        assert sum(cert.counts) == 6 and cert.radius("dpa") == fa_radius(votes[:, i], 3, 2, 2)
    ro = run_certify(
        _config(
            corpus,
            tiny_bert,
            'method.name="dpa"',
            "method.partitions=5",
            'method.aggregation="runoff"',
            graph=False,
        ),
        tmp_path / "ro",
        progress=False,
    )
    logits = VoteStore.open(tmp_path / "ro" / "votes", 5).load_all_logits()
    assert all(c.radius("dpa") == runoff_radius(logits[:, i]) for i, c in enumerate(ro.clean))


def test_config_json_records_what_was_used_and_reloads(corpus, tiny_bert, tmp_path):
    from crowd.config import from_dict
    from crowd.pipelines.config import CertifyConfig

    config = _config(corpus, tiny_bert, "n_copies=2", 'head.dtype="bf16"', "allow_uncertifiable=true")
    run_certify(config, tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["used"] == {"device": "cpu", "dtype": "fp32"}  # bf16 autocast runs only on CUDA
    again = from_dict(
        CertifyConfig, {k: v for k, v in saved.items() if k != "used"}
    )  # a record, not a setting
    assert again.head.dtype == "bf16" and again.method == config.method


def test_a_smoothed_classifier_voting_one_class_is_called_degenerate():
    from types import SimpleNamespace

    from crowd.certify import Certificate
    from crowd.pipelines.config import CertifyConfig
    from crowd.pipelines.report import certify_warnings

    def cert(label):
        return Certificate(label, 1, 0.9, 0.1, (100, 900), 0.05, "bonferroni", "synonym", {})

    one_class = [cert(1)] * 96 + [cert(0)] * 2 + [cert(None)] * 2  # abstentions are no class
    plan = SimpleNamespace(deterministic=False, n_models=1000, n_votes=1000)
    (warning,) = certify_warnings(CertifyConfig(), plan, one_class, 2)
    assert warning == "smoothed classifier: degenerate, predicts class 1 for 98.0% of the clean test texts"
    assert certify_warnings(CertifyConfig(), plan, [cert(1)] * 90 + [cert(0)] * 10, 2) == []
    assert (
        "N = 5 is too small"
        in certify_warnings(
            CertifyConfig(),
            SimpleNamespace(deterministic=False, n_models=5, n_votes=5),
            [cert(0), cert(1)],
            2,
        )[0]
    )
    assert (
        certify_warnings(
            CertifyConfig(), SimpleNamespace(deterministic=True, n_models=3, n_votes=3), [cert(0), cert(1)], 2
        )
        == []
    )
