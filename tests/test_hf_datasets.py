"""Hugging Face ``datasets`` in and out: ``crowd poison``'s ``hf/`` folder, ``Corpus.to_hf`` / ``from_hf``,
``Dataset`` inputs of the Python entry points, ``data.dataset`` naming a saved folder, ``load_per_text``; and
the Python API's other input forms (``(text, label)`` pairs, a config dict, an empty test list, string labels)."""

from __future__ import annotations

import json
import subprocess
import sys

import datasets
import pytest

import crowd.attacks.output as output
from crowd.attacks import BadNets, poison_corpus, write_poisoned_corpus
from crowd.cli import main
from crowd.data import Corpus, Example, load_dataset, load_per_text
from crowd.data.hf import HF_SPLITS
from crowd.pipelines.certify import certify_examples
from crowd.pipelines.classifier import CertifiedClassifier
from crowd.pipelines.config import DataConfig
from crowd.pipelines.corpus import load_split
from crowd.report import read_run

CONFIG = {"model": {"learner": "bow"}, "method": {"name": "dpa", "partitions": 5}}


@pytest.fixture(scope="module")
def sst2(data_root):
    """A few hundred real SST-2 sentences: 240 training, 40 test."""
    return load_dataset("sst2", "train", data_root)[:240], load_dataset("sst2", "test", data_root)[:40]


@pytest.fixture(scope="module")
def poisoned(data_root, tmp_path_factory):
    """``crowd poison`` on SST-2 (the whole corpus: a second or so), its folder."""
    out = tmp_path_factory.mktemp("poison") / "p"
    args = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root), "--out", str(out)]
    assert main(args) == 0
    return out


def test_poison_writes_a_datasetdict_that_matches_budget_and_manifest(poisoned):
    loaded = datasets.load_from_disk(str(poisoned / "hf"))
    budget = json.loads((poisoned / "budget.json").read_text())
    manifest = json.loads((poisoned / "manifest.json").read_text())
    assert sorted(loaded) == sorted(HF_SPLITS)
    train = loaded["train"]
    assert train.column_names == ["text", "label", "poisoned", "source_label"]
    assert train.features["label"].names == ["negative", "positive"]
    assert train.num_rows == budget["n_examples"] == manifest["train"]["n_clean"] == 6920
    assert sum(train["poisoned"]) == budget["n_poisoned"] == manifest["train"]["n_poisoned"] == 692
    flagged = [i for i, p in enumerate(train["poisoned"]) if p]
    assert (
        flagged == manifest["train"]["poisoned_indices"]
    )  # the clean order: row i is clean row i or its poison
    flips = sum(s != y for p, s, y in zip(train["poisoned"], train["source_label"], train["label"]) if p)
    assert flips == budget["n_label_flips"]
    assert loaded["test_poison"].num_rows == manifest["test"]["n_poison"]
    assert all(loaded["test_poison"]["poisoned"]) and not any(loaded["test_clean"]["poisoned"])
    assert budget["train_set"]["hf"] == "hf/train"
    hf_files = sorted(name for name in manifest["files"] if name.startswith("hf/"))
    assert hf_files == sorted(p.relative_to(poisoned).as_posix() for p in (poisoned / "hf").rglob("*.*"))
    assert "budget.json" in manifest["files"]  # the manifest vouches for the budget too
    # the same rows as the JSON Lines copy
    jsonl = [json.loads(line) for line in (poisoned / "train-poisoned.jsonl").read_text().splitlines()]
    assert jsonl == train.to_list()


def test_corpus_from_the_hf_folder_and_back(poisoned):
    corpus = Corpus.from_hf(poisoned / "hf")
    assert len(corpus.train) == 6920 and len(corpus.poisoned_indices) == 692 and corpus.num_labels == 2
    assert corpus.manifest["clean_source_known"] is False  # the format has no clean source: no budget
    again = corpus.to_hf(["negative", "positive"])
    assert again["train"].to_list() == datasets.load_from_disk(str(poisoned / "hf"))["train"].to_list()


def test_rewrite_is_byte_identical_and_other_settings_keep_hf(poisoned, data_root):
    before = {p: p.read_bytes() for p in poisoned.rglob("*") if p.is_file()}
    args = [
        "poison",
        "--dataset",
        "sst2",
        "--attack",
        "badnets",
        "--data",
        str(data_root),
        "--out",
        str(poisoned),
    ]
    assert main(args) == 0
    assert {p: p.read_bytes() for p in poisoned.rglob("*") if p.is_file()} == before
    assert main([*args, "--rate", "0.2"]) == 2  # refused; nothing changed
    assert {p: p.read_bytes() for p in poisoned.rglob("*") if p.is_file()} == before


def test_a_foreign_file_inside_hf_is_refused(tmp_path):
    train = [Example(f"the movie number {i} was {'good' if i % 2 else 'bad'}", i % 2) for i in range(40)]
    corpus = poison_corpus(BadNets(poison_rate=0.1, target_label=1), train, train[:6], train[:6], seed=0)
    out = write_poisoned_corpus(corpus, tmp_path / "p")
    (out / "hf" / "train" / "cache-1234.arrow").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"hf/train/cache-1234\.arrow"):
        write_poisoned_corpus(corpus, out)


def test_killed_before_the_manifest_leaves_no_complete_looking_folder(
    data_root, tmp_path, monkeypatch, capsys
):
    """budget.json and hf/ are written with the corpus, manifest.json last: a kill just before the manifest
    leaves every file but it, and the folder is then refused, never taken for complete output."""

    def killed(path, obj):
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "write_json", killed)
    out = tmp_path / "p"
    args = ["poison", "--dataset", "sst2", "--attack", "badnets", "--data", str(data_root), "--out", str(out)]
    assert main(args) == 130
    assert (out / "budget.json").is_file() and (out / "hf" / "dataset_dict.json").is_file()
    assert not (out / "manifest.json").exists()
    monkeypatch.undo()
    capsys.readouterr()
    assert main(args) == 2
    assert "no manifest.json (a killed write?)" in capsys.readouterr().err


def test_manifest_is_the_last_file_written(poisoned):
    written = {p.name: p.stat().st_mtime_ns for p in poisoned.rglob("*") if p.is_file()}
    assert written["manifest.json"] == max(written.values())


def test_certify_examples_takes_datasets_pairs_and_a_config_dict(sst2, tmp_path):
    train, test = sst2
    lists = certify_examples(train, test, CONFIG, out=tmp_path / "lists", progress=False)
    renamed = {"sentence": [e.text for e in train], "y": [e.label for e in train]}
    as_dataset = certify_examples(
        datasets.Dataset.from_dict(renamed),
        datasets.Dataset.from_list([{"sentence": e.text, "y": e.label} for e in test]),
        CONFIG,
        out=tmp_path / "hf",
        progress=False,
        text_column="sentence",
        label_column="y",
    )
    pairs = certify_examples(
        [(e.text, e.label) for e in train],
        [(e.text, e.label) for e in test],
        CONFIG,
        tmp_path / "pairs",
        progress=False,
    )
    rows = read_run(tmp_path / "lists").per_text
    assert rows == read_run(tmp_path / "hf").per_text == read_run(tmp_path / "pairs").per_text
    assert lists.summary["cacc"] == as_dataset.summary["cacc"] == pairs.summary["cacc"]
    # per_text.jsonl back as a Dataset, from the run folder (checked against its manifest) or the file
    table = load_per_text(tmp_path / "lists")
    assert table.num_rows == len(test) and table.to_list() == rows
    assert load_per_text(tmp_path / "lists" / "per_text.jsonl").to_list() == rows


def test_a_poisoned_dataset_keeps_its_flags(poisoned, tmp_path):
    loaded = datasets.load_from_disk(str(poisoned / "hf"))
    train = loaded["train"].select(range(300))
    report = certify_examples(
        train,
        loaded["test_clean"].select(range(20)),
        CONFIG,
        out=tmp_path / "run",
        test_poison=loaded["test_poison"].select(range(10)),
        progress=False,
    )
    assert report.summary["n_poisoned_train"] == sum(train["poisoned"])
    assert report.summary["n_test_poison_non_target"] == sum(
        s != 1 for s in loaded["test_poison"]["source_label"][:10]
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"test": []}, ValueError, r"^test: no test examples"),
        (
            {"test": [("a fine film", "positive")]},
            TypeError,
            r"test\[0\]: label 'positive' .*allowed labels are \[0, 1\]",
        ),
        ({"config": ["bow"]}, TypeError, r"^config: expected a CertifyConfig, a dict"),
        ({"config": {"modle": {}}}, ValueError, r"^config: unknown key\(s\) modle"),
        ({"test": [("a", 1, 2)]}, TypeError, r"test\[0\]: expected an Example or a \(text, label\) pair"),
        (
            {"test": "a text"},
            TypeError,
            r"^test: expected Example records, \(text, label\) pairs or a datasets",
        ),
    ],
)
def test_bad_inputs_are_refused_in_one_line_before_anything_is_written(
    sst2, tmp_path, kwargs, error, message
):
    train, test = sst2
    given = {"train": train, "test": test, "config": CONFIG, **kwargs}
    with pytest.raises(error, match=message) as raised:
        certify_examples(**given, out=tmp_path / "run", progress=False)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "run").exists()


def test_dataset_columns_are_checked(sst2, tmp_path):
    train, test = sst2
    with pytest.raises(TypeError, match=r"^train: a DatasetDict of splits \['train'\]; pass one split"):
        certify_examples(
            datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "label": [0]})}), test
        )
    text_labels = datasets.Dataset.from_dict({"text": [e.text for e in test], "label": ["pos"] * len(test)})
    with pytest.raises(
        TypeError, match=r"test\[0\]\['label'\]: label 'pos' is not an integer class.*\[0, 1\]"
    ):
        certify_examples(train, text_labels, CONFIG, out=tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=r"test: no column 'sentence'; the dataset has \['text', 'label'\]"):
        certify_examples(
            train, text_labels, CONFIG, out=tmp_path / "run", progress=False, text_column="sentence"
        )
    assert not (tmp_path / "run").exists()


def test_classifier_fits_and_certifies_datasets(sst2):
    train, test = sst2
    config = {"model": {"learner": "bow"}, "method": {"name": "textguard", "groups": 3}}
    texts = [e.text for e in test]
    lists = CertifiedClassifier(config).fit([e.text for e in train], [e.label for e in train]).certify(texts)
    table = datasets.Dataset.from_list([e.to_dict() for e in train])
    clf = CertifiedClassifier(config).fit(table)
    assert clf.certify(datasets.Dataset.from_dict({"text": texts})) == lists
    assert CertifiedClassifier(config).fit([(e.text, e.label) for e in train]).certify(texts) == lists
    renamed = table.rename_columns({"text": "review", "label": "stars"})
    assert (
        CertifiedClassifier(config).fit(renamed, text_column="review", label_column="stars").certify(texts)
        == lists
    )
    with pytest.raises(
        TypeError, match=r"y\[0\]: label 'good' is not an integer class; the allowed labels are"
    ):
        CertifiedClassifier(config).fit(["a b", "c d"], ["good", "bad"])


def test_data_dataset_may_name_a_saved_datasetdict(sst2, poisoned, tmp_path):
    train, test = sst2
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([{"text": e.text, "label": e.label} for e in train]),
            "validation": datasets.Dataset.from_list([{"text": e.text, "label": e.label} for e in test[:5]]),
            "test": datasets.Dataset.from_list([{"text": e.text, "label": e.label} for e in test]),
        }
    ).save_to_disk(str(folder))
    data = DataConfig(dataset=str(folder))
    assert load_split(data.dataset, "train", None) == train
    assert load_split(data.dataset, "dev", None) == test[:5]  # dev: dev, validation or dev_clean
    assert load_split(str(poisoned / "hf"), "test", None) == load_dataset("sst2", "test")  # test_clean
    out = tmp_path / "run"
    sets = [f'data.dataset="{folder}"', "data.max_train=200", "data.max_test=20", 'attack.name="none"']
    sets += ['model.learner="bow"', 'method.name="dpa"', "method.partitions=5"]
    assert (
        main(["certify", "--no-progress", "--out", str(out), *(a for s in sets for a in ("--set", s))]) == 0
    )
    assert json.loads((out / "summary.json").read_text())["n_test_clean"] == 20
    datasets.Dataset.from_dict({"text": ["a"], "label": [0]}).save_to_disk(str(tmp_path / "one"))
    with pytest.raises(ValueError, match="a single saved Dataset has no splits"):
        load_split(str(tmp_path / "one"), "train", None)


def test_crowd_certify_with_the_default_config_does_not_import_datasets():
    """``datasets`` is imported only when a Dataset or a saved folder is involved: not by the CLI's certify
    path, the certify pipeline, the classifier, the defenses or the report."""
    modules = [
        "crowd.cli",
        "crowd.commands.certify",
        "crowd.commands.poison",
        "crowd.pipelines.certify",
        "crowd.pipelines.classifier",
        "crowd.defenses",
        "crowd.report",
        "crowd.data",
    ]
    code = f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; print('datasets' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
