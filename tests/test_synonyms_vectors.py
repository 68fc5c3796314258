"""Vector loading (all formats through gensim) and clear errors naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from synonyms.vectors import VectorFileError, from_arrays, load_vectors

WORDS = ["good", "bad", "film"]
VECS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.3, 0.3, 1.0]], dtype=np.float32)


def _glove_text(path, header=False):
    lines = [f"{w} " + " ".join(f"{v:.4f}" for v in row) for w, row in zip(WORDS, VECS)]
    if header:
        lines.insert(0, f"{len(WORDS)} {VECS.shape[1]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header,fmt", [(False, "glove"), (True, "word2vec"), (False, None), (True, None)])
def test_text_formats(tmp_path, header, fmt):
    kv = load_vectors(_glove_text(tmp_path / "v.txt", header), fmt)
    assert list(kv.index_to_key) == WORDS
    np.testing.assert_allclose(kv["bad"], VECS[1], atol=1e-4)


def test_binary_gensim_and_kumo_layouts(tmp_path):
    kv = from_arrays(WORDS, VECS)
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    kv.save(str(tmp_path / "v.kv"))
    folder = tmp_path / "kumo"
    folder.mkdir()
    np.save(folder / "glove_6B_50d_emb.npy", VECS)
    import pandas as pd

    pd.DataFrame({"index": WORDS}).to_parquet(folder / "glove_6B_index.parquet")
    for path in (tmp_path / "v.bin", tmp_path / "v.kv", folder):
        loaded = load_vectors(path, trust_pickle=True)  # v.kv is a pickle we wrote ourselves
        assert list(loaded.index_to_key) == WORDS
        np.testing.assert_allclose(loaded["film"], VECS[2], atol=1e-6)


def test_restrict_and_expected_dim(tmp_path):
    path = _glove_text(tmp_path / "v.txt")
    assert list(load_vectors(path, restrict_to={"film", "nope"}).index_to_key) == ["film"]
    with pytest.raises(VectorFileError, match=r"v\.txt:1: vectors have 3 dimensions, expected 50"):
        load_vectors(path, expected_dim=50)
    with pytest.raises(VectorFileError, match="empty vocabulary"):
        load_vectors(path, restrict_to={"nope"})


@pytest.mark.parametrize(
    "content,pattern",
    [
        (
            b"good 1 2 3\nbad 1 2\nfilm 1 2 3\n",
            r"bad\.txt:2: wrong dimension: word 'bad' has 2 values, expected 3",
        ),
        (b"good 1 2 3\nbad 1 2 3\nfilm 1 2", r"bad\.txt:3: truncated last line"),
        (b"good 1 2 3\nb\xffd 1 2 3\n", r"bad\.txt:2: not valid UTF-8"),
        (b"good 1 2 3\nbad 1 x 3\n", r"bad\.txt:2: word 'bad': a value is not a number"),
        (b"", r"bad\.txt:1: empty vocabulary"),
    ],
)
def test_bad_glove_files_name_file_and_line(tmp_path, content, pattern):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(VectorFileError, match=pattern):
        load_vectors(path, "glove")


def test_truncated_word2vec_header_count(tmp_path):
    path = tmp_path / "w2v.txt"
    path.write_text("5 3\ngood 1 2 3\nbad 1 2 3\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"w2v\.txt:4: truncated: header says 5 vectors, found 2"):
        load_vectors(path, "word2vec")


def test_missing_file_and_truncated_binary(tmp_path):
    with pytest.raises(VectorFileError, match=r"nope\.txt: vector file does not exist"):
        load_vectors(tmp_path / "nope.txt")
    from_arrays(WORDS, VECS).save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) - 10])
    with pytest.raises(VectorFileError, match=r"cut\.bin"):
        load_vectors(tmp_path / "cut.bin")
