"""WordNet 3.0 for NLTK from Debian's packages, and the one place that decides whether WordNet is used.

Debian's ``wordnet-base`` (and ``wordnet-sense-index``) put WordNet 3.0 in ``/usr/share/wordnet``, but
NLTK reads ``<dir>/corpora/wordnet/`` and needs a ``lexnames`` file the package does not ship.
:func:`install_wordnet` copies the database files there and writes ``lexnames`` (45 lines
``NN<TAB>name<TAB>category``) from the ``lexnames(5WN)`` man page. The default target is
``<sys.prefix>/nltk_data``, which NLTK searches without ``NLTK_DATA`` (the virtual environment's own
folder); another target needs ``NLTK_DATA=<target>``. Command line (also run by ``.ci/install``)::

    apt-get install --no-install-recommends wordnet-base wordnet-sense-index
    python -m synonyms.wordnet_setup [--target DIR] [--source /usr/share/wordnet] [--manpage PATH]

:func:`use_wordnet` resolves the ``wordnet_synonyms`` setting: ``"yes"`` with WordNet missing is an error
(never a silent fallback), ``"auto"`` uses it when NLTK finds its files and warns when it does not.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

DEFAULT_SOURCE = Path("/usr/share/wordnet")
DEFAULT_MANPAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
N_LEXNAMES = 45
CATEGORIES = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
SETUP_HINT = (
    "install it with `apt-get install wordnet-base wordnet-sense-index` and "
    "`pip install nltk` (the 'wordnet' extra), then run `python -m synonyms.wordnet_setup` (docs/synonyms.md)"
)
_LEXNAME_ROW = re.compile(r"^(\d\d)\t\s*((?:noun|verb|adj|adv)\.\w+)\s*\t")


class WordNetMissingError(FileNotFoundError):
    """WordNet was asked for (``wordnet_synonyms="yes"``) but NLTK cannot load it."""


def default_target() -> Path:
    """``<sys.prefix>/nltk_data``: a folder on NLTK's default search path (the venv's own)."""
    return Path(sys.prefix) / "nltk_data"


def lexnames_from_manpage(manpage: str | os.PathLike[str] = DEFAULT_MANPAGE) -> list[str]:
    """The 45 lines of WordNet's ``lexnames`` file, ``NN<TAB>name<TAB>category``, from ``lexnames(5WN)``."""
    path = Path(manpage)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: it comes with Debian's wordnet-base (images that drop man pages need "
            "it extracted from the .deb, as .ci/wordnet.sh does); pass --manpage PATH"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        rows = [m.groups() for m in map(_LEXNAME_ROW.match, f) if m]
    lines = [f"{num}\t{name}\t{CATEGORIES[name.split('.')[0]]}" for num, name in rows]
    if [int(num) for num, _ in rows] != list(range(N_LEXNAMES)):
        raise ValueError(f"{path}: expected lexicographer files 00..{N_LEXNAMES - 1}, found {len(rows)} rows")
    return lines


def _database_files(source: Path) -> list[Path]:
    patterns = ("data.*", "index.*", "*.exc", "cntlist.rev", "sents.vrb", "sentidx.vrb")
    return sorted({p for pat in patterns for p in source.glob(pat) if p.is_file()})


def install_wordnet(
    target: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] = DEFAULT_SOURCE,
    manpage: str | os.PathLike[str] = DEFAULT_MANPAGE,
) -> Path:
    """Build ``<target>/corpora/wordnet/`` from ``source``; returns that folder. Idempotent."""
    source = Path(source)
    missing = [n for n in ("data.noun", "index.noun", "noun.exc") if not (source / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{source} lacks {', '.join(missing)}: is Debian's wordnet-base installed?")
    lexnames = lexnames_from_manpage(manpage)
    folder = Path(target or default_target()) / "corpora" / "wordnet"
    folder.mkdir(parents=True, exist_ok=True)
    for path in _database_files(source):
        shutil.copyfile(path, folder / path.name)
    (folder / "lexnames").write_text("\n".join(lexnames) + "\n", encoding="utf-8")
    return folder


# The files NLTK's WordNet reader opens when it loads (the data files are read on demand).
_READER_FILES = ("lexnames", *(f"index.{pos}" for pos in CATEGORIES), *(f"data.{pos}" for pos in CATEGORIES))
_VERSION = re.compile(rb"Word[nN]et (\d+(?:\.\d+)?) Copyright")


def wordnet_info() -> dict[str, str] | None:
    """``{"version", "root"}`` of the WordNet NLTK finds, or ``None`` when nltk or a file it reads is missing.

    A check of NLTK's data path, not a load: loading WordNet takes seconds (its lemma index), and a graph's
    cache key asks this on every run. The version is read from the ``data.adj`` header, as NLTK does.
    """
    try:
        import nltk  # lazy: optional dependency (the wordnet extra)

        root = nltk.data.find("corpora/wordnet")
        for name in _READER_FILES:
            root.join(name).open().close()
        with root.join("data.adj").open() as f:
            head = f.read(4096)
    except (ImportError, LookupError, OSError):
        return None
    version = _VERSION.search(head)
    return {"version": version.group(1).decode() if version else "unknown", "root": str(root)}


def use_wordnet(mode: str) -> bool:
    """Resolve ``wordnet_synonyms``: ``"yes"`` (error if missing), ``"no"``, ``"auto"`` (warn if missing)."""
    if mode not in ("auto", "yes", "no"):
        raise ValueError(f"wordnet_synonyms must be auto, yes or no, got {mode!r}")
    if mode == "no":
        return False
    if wordnet_info() is not None:
        return True
    if mode == "yes":
        raise WordNetMissingError(f"wordnet_synonyms='yes' but NLTK cannot load WordNet: {SETUP_HINT}")
    warnings.warn(
        f"WordNet is not available, so the graph is built without WordNet synonyms: {SETUP_HINT}",
        stacklevel=2,
    )
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make Debian's WordNet 3.0 readable by NLTK.")
    parser.add_argument("--target", type=Path, default=None, help=f"NLTK data folder ({default_target()})")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="WordNet database folder")
    parser.add_argument("--manpage", type=Path, default=DEFAULT_MANPAGE, help="lexnames(5WN) man page")
    args = parser.parse_args(argv)
    try:
        folder = install_wordnet(args.target, args.source, args.manpage)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    root = folder.parent.parent
    print(f"wrote WordNet for NLTK to {folder}")
    if root.resolve() != default_target().resolve():
        print(f"NLTK finds it with: export NLTK_DATA={root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
