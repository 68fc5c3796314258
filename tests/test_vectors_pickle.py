"""Pickled vector files (gensim ``.kv``/``.model``) are refused unless explicitly trusted.

The hostile file is a real pickle whose unpickling creates a marker directory; without the trust flag it
must never be unpickled, through the Python API or through ``crowd synonyms build``/``import-safer``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from crowd.cli import main
from synonyms.vectors import UntrustedPickleError, VectorFileError, check_trust, load_vectors


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _hostile_file(folder: Path, name: str = "vectors.kv") -> tuple[Path, Path]:
    marker = folder / "pwned"
    path = folder / name
    path.write_bytes(pickle.dumps(_Hostile(marker)))
    return path, marker


@pytest.mark.parametrize("name, fmt", [("vectors.kv", None), ("vectors.model", None), ("v.data", "gensim")])
def test_pickle_refused_without_trust(tmp_path, name, fmt):
    path, marker = _hostile_file(tmp_path, name)
    with pytest.raises(UntrustedPickleError, match=r"pickle.*arbitrary code.*trust_pickle=True"):
        load_vectors(path, fmt)
    assert not marker.exists()
    assert str(path) in str(pytest.raises(UntrustedPickleError, check_trust, path, fmt).value)


def test_trust_flag_really_unpickles(tmp_path):
    path, marker = _hostile_file(tmp_path)
    with pytest.raises(VectorFileError):  # unpickled (marker made), then rejected: not KeyedVectors
        load_vectors(path, trust_pickle=True)
    assert marker.exists()


def test_cli_build_refuses_before_any_work(tmp_path, capsys):
    path, marker = _hostile_file(tmp_path)
    rc = main(["synonyms", "build", "--vectors", str(path), "--out", str(tmp_path / "g"), "--data", "/nope"])
    assert rc != 0 and not marker.exists() and not (tmp_path / "g").exists()
    assert "--trust-pickle" in capsys.readouterr().err


def test_cli_import_safer_refuses(tmp_path, capsys):
    path, marker = _hostile_file(tmp_path)
    table = tmp_path / "t.json"
    table.write_text('{"good": ["fine"]}')
    rc = main(["synonyms", "import-safer", str(table), "--out", str(tmp_path / "g"), "--vectors", str(path)])
    assert rc != 0 and not marker.exists()
    assert "pickle" in capsys.readouterr().err
