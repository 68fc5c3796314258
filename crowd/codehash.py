"""A version of Python code: a hash of its syntax trees, so that only changes to what it computes count.

Used by benchmark rows (:mod:`crowd.bench.version`: a row is recomputed when the code that computed it
changed) and by the victim store (:mod:`crowd.victim.store`: a victim trained by other victim code is
trained again). :func:`modules_version` names code by module; a package stands for every ``.py`` file in
its folder. Formatting, comments, docstrings, where an import sits and where a file lives do not change a
version; anything a function computes does.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from collections.abc import Iterable
from functools import cache
from pathlib import Path


def modules_version(modules: Iterable[str]) -> str:
    """sha256 (12 hex digits) over the source files of ``modules``, in any order."""
    return files_hash(tuple(sorted({f for m in modules for f in module_files(m)})))


@cache
def module_files(name: str) -> tuple[Path, ...]:
    """The source file of module ``name``; for a package, every ``.py`` file in its folder."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"code version: no source for module {name}")
    origin = Path(spec.origin)
    if spec.submodule_search_locations:
        return tuple(sorted(origin.parent.glob("*.py")))
    return (origin,)


def files_hash(paths: Iterable[Path]) -> str:
    """sha256 (12 hex digits) over the code of ``paths`` (:func:`code_digest` of each), in any order."""
    digest = hashlib.sha256()
    for part in sorted(code_digest(Path(p).resolve()) for p in paths):
        digest.update(part.encode())
    return digest.hexdigest()[:12]


@cache
def code_digest(path: Path) -> str:
    """sha256 of a source file's code: its syntax tree without docstrings, import statements and
    ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
            continue
        kept = [stmt for i, stmt in enumerate(body) if not _ignored(stmt, first=i == 0)]
        node.body = kept or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def _ignored(stmt: ast.stmt, first: bool) -> bool:
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return True
    if isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Name) and stmt.test.id == "TYPE_CHECKING":
        return True
    docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    return first and docstring and isinstance(stmt.value.value, str)
