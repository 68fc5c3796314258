"""The kept classifier: fit, certify, save, load, ``crowd predict``; the report's certificates are the classifier's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_golden import sentences

from crowd.cli import main
from crowd.data import Example
from crowd.pipelines.classifier import ABSTAIN, CertifiedClassifier, TextCertificate
from crowd.train.model_store import ModelFolderError

METHODS = {
    "textguard": ['method.name="textguard"', "method.groups=3"],
    "textguard-runoff": ['method.name="textguard"', "method.groups=3", 'method.aggregation="runoff"'],
    "textguard-placeholder": ['method.name="textguard"', "method.groups=3", 'method.empty="placeholder"'],
    "textguard-fa": ['method.name="textguard"', "method.groups=6", "method.spread=2"],
    "textguard-fa-runoff": [
        'method.name="textguard"',
        "method.groups=6",
        "method.spread=2",
        'method.aggregation="runoff"',
    ],
    "dpa": ['method.name="dpa"', "method.partitions=5"],
    "dpa-fa": ['method.name="dpa"', "method.partitions=3", "method.spread=2"],
    "dpa-runoff": ['method.name="dpa"', "method.partitions=5", 'method.aggregation="runoff"'],
    "dpa-fa-runoff": [
        'method.name="dpa"',
        "method.partitions=3",
        "method.spread=2",
        'method.aggregation="runoff"',
    ],
    "crowd": ['method.name="crowd"', "n_copies=12", "allow_uncertifiable=true"],
    "safer": ['method.name="safer"', "n_copies=12", "allow_uncertifiable=true"],
    "wang": ['method.name="wang"', "n_copies=12", "allow_uncertifiable=true"],
}
KIND = {"textguard": "textguard", "dpa": "dpa", "crowd": "tv", "safer": "tv", "wang": "l0"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A user folder: 160 training and 40 test sentences (train.tsv, test.tsv) and a small synonym graph."""
    from synonyms import SynonymGraph

    folder = tmp_path_factory.mktemp("corpus")
    for split, n, seed in (("train", 160, 0), ("test", 40, 1)):
        lines = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in sentences(n, seed)]
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    graph = {w: [(v, 0.9) for v in sets if v != w] for sets in GRAPH for w in sets}
    SynonymGraph.from_sets(graph).save(folder / "graph")
    return folder


GRAPH = [("good", "great", "fine"), ("bad", "awful", "poor"), ("film", "movie"), ("story", "plot")]


def run_certify(corpus: Path, out: Path, *overrides: str) -> None:
    sets = [f'data.dataset="{corpus}"', 'model.device="cpu"', *overrides]
    if 'method.name="crowd"' in overrides or 'method.name="safer"' in overrides:
        sets.append(f'method.graph="{corpus / "graph"}"')
    assert (
        main(["certify", "--no-progress", "--out", str(out), *[a for s in sets for a in ("--set", s)]]) == 0
    )


def per_text(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "per_text.jsonl").read_text().splitlines()]


def same_as_report(rows: list[dict], certs: list[TextCertificate], kind: str) -> None:
    for row, cert in zip(rows, certs, strict=True):
        assert list(cert.counts) == row["counts"], row["text"]
        assert cert.label == (ABSTAIN if row["abstained"] else row["prediction"]), row["text"]
        assert cert.radius == (None if row["abstained"] else row["radii"][kind]), row["text"]
        assert (cert.p_lower, cert.p_upper_runner_up) == (row["p_lower"], row["p_upper_runner_up"]), row[
            "text"
        ]
        assert cert.test_side_radius == (None if row["abstained"] else row["radii"].get("test_tv")), row[
            "text"
        ]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_saved_model_certifies_as_the_report(corpus, tmp_path, method):
    out = tmp_path / "run"
    run_certify(corpus, out, *METHODS[method])
    rows = per_text(out)
    clf = CertifiedClassifier.load(out / "model")
    same_as_report(rows, clf.certify([r["text"] for r in rows]), KIND[method.split("-")[0]])
    assert clf.budget_ == json.loads((out / "summary.json").read_text())["attack_budget"]
    # a text's certificate is a function of that text alone: alone, or reversed among the others
    texts = [r["text"] for r in rows]
    alone = [clf.certify([t])[0] for t in texts[:5]]
    assert alone == clf.certify(texts[::-1])[::-1][:5]


def test_fit_predict_save_load(tmp_path):
    train, test = sentences(160, 0), sentences(40, 1)
    clf = CertifiedClassifier.from_toml(None, ["method.groups=3"])
    assert clf.fit([t for t, _ in train], [y for _, y in train]) is clf
    assert clf.classes_.tolist() == [0, 1] and set(clf.get_params()) == {"config"}
    texts = [t for t, _ in test]
    certs = clf.certify(texts)
    assert np.mean(clf.predict(texts) == [y for _, y in test]) > 0.7
    assert all(c.budget is None and c.certified is None for c in certs)  # no attack measured
    assert [c.certified for c in clf.certify(texts, budget=1)] == [
        c.radius is not None and c.radius >= 1 for c in certs
    ]
    clf.save(tmp_path / "m")
    again = CertifiedClassifier.load(tmp_path / "m")
    assert again.certify(texts) == certs
    # Example lists are accepted as well, and fit into a folder resumes from what is stored there
    examples = [Example(t, y) for t, y in train]
    kept = CertifiedClassifier.from_toml(None, ["method.groups=3"]).fit(examples, folder=tmp_path / "k")
    assert kept.certify(texts) == certs
    assert (
        CertifiedClassifier.from_toml(None, ["method.groups=3"])
        .fit(examples, folder=tmp_path / "k")
        .certify(texts)
        == certs
    )
    with pytest.raises(ValueError, match="not empty"):
        clf.save(tmp_path / "m")


def test_unfitted_and_unkeepable_configs_are_refused():
    with pytest.raises(ValueError, match="not fitted"):
        CertifiedClassifier().certify(["a text"])
    with pytest.raises(ValueError, match="y has 1 labels"):
        CertifiedClassifier().fit(["a b", "c d"], [0])


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    train = sentences(120, 0)
    folder = tmp_path_factory.mktemp("saved") / "model"
    CertifiedClassifier.from_toml(None, ["method.groups=3"]).fit(
        [t for t, _ in train], [y for _, y in train]
    ).save(folder)
    return folder


def copy_of(saved: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(saved, tmp_path / "copy"))


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda f: f.joinpath("models/model_000001.safetensors").write_bytes(b"x" * 10),
            "model_000001.safetensors: does not match",
        ),
        (
            lambda f: _truncate(f / "models/model_000002.safetensors"),
            "model_000002.safetensors: does not match",
        ),
        (
            lambda f: (f / "models/model_000000.safetensors").unlink(),
            "model_000000.safetensors: listed in the manifest but unreadable",
        ),
        (lambda f: (f / "notes.txt").write_text("mine"), "notes.txt: not listed"),
        (lambda f: _edit_manifest(f, format=99), "format 99 is newer"),
        (lambda f: _edit_manifest(f, kind="something else"), "kind 'something else'"),
        (lambda f: (f / "manifest.json").unlink(), "manifest.json: missing"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "manifest.json: not readable JSON"),
    ],
)
def test_damaged_or_foreign_folders_are_refused(saved, tmp_path, damage, message):
    folder = copy_of(saved, tmp_path)
    damage(folder)
    with pytest.raises(ModelFolderError, match=message.replace(".", r"\.")):
        CertifiedClassifier.load(folder)
    assert main(["predict", "--model", str(folder), str(_texts(tmp_path, "a fine film\n"))]) == 2


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def _edit_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, **changes}))


def test_no_pickle_in_a_saved_folder(saved):
    for path in saved.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:16]
            assert not head.startswith(b"\x80"), f"{path} looks like a pickle"
            if path.suffix == ".safetensors":  # 8-byte header length, then a JSON header
                assert head[8:9] == b"{"
            else:
                json.loads(path.read_text())


def _texts(tmp_path: Path, content: str, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_crowd_predict_reads_every_format_and_matches_certify(saved, tmp_path, capsys):
    clf = CertifiedClassifier.load(saved)
    texts = ["a fine film", "the worst plot , dull", "superb acting , great story"]
    want = [{"text": t, **c.as_dict()} for t, c in zip(texts, clf.certify(texts, budget=1))]
    inputs = {
        "in.txt": "\n".join(texts) + "\n",
        "in.jsonl": "".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(texts)),
        "in.csv": "id,text\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(texts)),
        "in.tsv": "text\tid\n" + "".join(f"{t}\t{i}\n" for i, t in enumerate(texts)),
    }
    for name, content in inputs.items():
        path = _texts(tmp_path, content, name)
        assert main(["predict", "--model", str(saved), "--budget", "1", "--no-progress", str(path)]) == 0
        got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert got == want, name
    out = tmp_path / "out.jsonl"
    assert (
        main(["predict", "--model", str(saved), "--budget", "1", "--out", str(out), str(tmp_path / "in.txt")])
        == 0
    )
    assert [json.loads(line) for line in out.read_text().splitlines()] == want


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a fine film\n\nanother\n", "line 2: empty text"),
        (b"a fine film\x00\n", "binary data"),
        (b"ok\n\xff\xfe bad\n", "line 2: not UTF-8"),
        (b"x" * 101 + b"\n", "more than --max-chars 100"),
    ],
)
def test_crowd_predict_refuses_bad_input_in_one_line(saved, tmp_path, capsys, content, message):
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    assert main(["predict", "--model", str(saved), "--max-chars", "100", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and str(path) in err


def test_crowd_predict_with_bow_imports_neither_torch_nor_transformers(saved):
    code = (
        "import sys; from crowd.cli import main; rc = main(['predict', '--model', sys.argv[1], '-']); "
        "print('LOADED', 'torch' in sys.modules, 'transformers' in sys.modules, file=sys.stderr); sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(saved)],
        input="a fine film\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["text"] == "a fine film"
    assert "LOADED False False" in done.stderr


LEARNERS = {
    "static": ['model.learner="static"', "static.epochs=3"],
    "head": ['model.learner="head"', "head.epochs=3", 'head.dtype="fp32"', "head.max_length=16"],
    "bow+head": ['model.learner="bow+head"', "head.epochs=3", 'head.dtype="fp32"', "head.max_length=16"],
    "partial": [
        'model.learner="partial"',
        "partial.epochs=1",
        "partial.trainable_layers=1",
        'partial.dtype="fp32"',
        "partial.max_length=16",
    ],
    "full": [
        'model.learner="full"',
        "full.epochs=1",
        'full.dtype="fp32"',
        "full.max_length=16",
        "full.copies_per_group=3",
    ],
    "full-loop": [
        'model.learner="full"',
        "full.epochs=1",
        'full.dtype="fp32"',
        "full.max_length=16",
        'full.grouping="loop"',
    ],
}


@pytest.mark.parametrize(
    "learner, method",
    [(name, "textguard") for name in LEARNERS] + [("static", "crowd"), ("head", "dpa-fa"), ("full", "wang")],
)
def test_every_learner_keeps_a_classifier_that_certifies_as_the_report(
    corpus, tiny_bert, tmp_path, learner, method
):
    out = tmp_path / "run"
    run_certify(corpus, out, f'model.name="{tiny_bert}"', *LEARNERS[learner], *METHODS[method])
    rows = per_text(out)
    clf = CertifiedClassifier.load(out / "model")
    texts = [r["text"] for r in rows]
    same_as_report(rows, clf.certify(texts), KIND[method.split("-")[0]])
    assert [clf.certify([t])[0] for t in texts[:4]] == clf.certify(texts[::-1])[::-1][:4]
