"""WordNet: "yes" without it is an error, "auto" warns; the NLTK folder built from Debian's files loads."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synonyms.wordnet_setup import (
    DEFAULT_MANPAGE,
    DEFAULT_SOURCE,
    N_LEXNAMES,
    WordNetMissingError,
    install_wordnet,
    lexnames_from_manpage,
    use_wordnet,
    wordnet_info,
)


@pytest.fixture
def no_nltk(monkeypatch):
    """NLTK not importable (as on a machine without the 'wordnet' extra)."""
    for name in [m for m in sys.modules if m == "nltk" or m.startswith("nltk.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "nltk", None)


def test_yes_without_wordnet_is_an_error(no_nltk):
    with pytest.raises(WordNetMissingError, match="wordnet_synonyms='yes'.*synonyms.wordnet_setup"):
        use_wordnet("yes")
    with pytest.warns(UserWarning, match="without WordNet synonyms"):
        assert use_wordnet("auto") is False
    assert use_wordnet("no") is False
    with pytest.raises(ValueError, match="auto, yes or no"):
        use_wordnet("maybe")


def test_graph_build_with_yes_fails_before_reading_the_corpora(no_nltk, tmp_path):
    from crowd.noise.synonym_graph import GraphInputs, build_from_inputs

    with pytest.raises(WordNetMissingError):
        build_from_inputs(GraphInputs(data_root=tmp_path / "nothing here", wordnet_synonyms="yes"))


def _manpage(folder: Path) -> Path:
    """A page in lexnames(5WN)'s table format (tab-separated, a stray blank before one tab)."""
    kinds = ["adj"] * 2 + ["adv"] + ["noun"] * 26 + ["verb"] * 15 + ["adj"]
    rows = [f"{i:02d}\t{k}.f{i}{'  ' if i == 18 else ''}\tdescription {i}" for i, k in enumerate(kinds)]
    path = folder / "lexnames.5WN.gz"
    with gzip.open(path, "wt") as f:
        f.write(
            ".TS\nl l l.\n\\fBFile Number\\fP\t\\fBName\\fP\t\\fBContents\\fP\n_\n"
            + "\n".join(rows)
            + "\n.TE\n"
        )
    return path


def test_lexnames_parsed_from_the_table(tmp_path):
    lines = lexnames_from_manpage(_manpage(tmp_path))
    assert len(lines) == N_LEXNAMES
    assert lines[0] == "00\tadj.f0\t3" and lines[18] == "18\tnoun.f18\t1" and lines[43] == "43\tverb.f43\t2"
    with pytest.raises(FileNotFoundError, match="pass --manpage"):
        lexnames_from_manpage(tmp_path / "absent.gz")


@pytest.mark.skipif(not DEFAULT_MANPAGE.exists(), reason="Debian's wordnet-base is not installed")
def test_real_lexnames():
    lines = lexnames_from_manpage()
    assert len(lines) == 45 and "18\tnoun.person\t1" in lines and lines[-1] == "44\tadj.ppl\t3"


@pytest.mark.skipif(
    not (DEFAULT_SOURCE / "data.noun").exists(), reason="Debian's wordnet-base is not installed"
)
def test_installed_folder_loads_in_nltk(tmp_path):
    folder = install_wordnet(tmp_path)
    assert (folder / "lexnames").read_text().count("\n") == 45 and (folder / "data.noun").exists()
    code = "from nltk.corpus import wordnet as wn; print(wn.get_version(), wn.synsets('film')[0].name())"
    env = {**os.environ, "NLTK_DATA": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if "No module named 'nltk'" in proc.stderr:
        pytest.skip("nltk is not installed (the 'wordnet' extra)")
    assert proc.stdout.split() == ["3.0", "movie.n.01"], proc.stderr


@pytest.mark.skipif(
    not (DEFAULT_SOURCE / "data.noun").exists(), reason="Debian's wordnet-base is not installed"
)
def test_wordnet_info_checks_the_files_nltk_reads_without_loading(tmp_path, monkeypatch):
    nltk = pytest.importorskip("nltk", reason="needs nltk (the 'wordnet' extra)")
    folder = install_wordnet(tmp_path)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    assert wordnet_info() == {"version": "3.0", "root": str(folder)}
    (folder / "lexnames").unlink()  # NLTK's reader cannot load without it
    assert wordnet_info() is None
