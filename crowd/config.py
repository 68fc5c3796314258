"""Configs are data: TOML files parsed into frozen dataclasses that reject unknown keys.

``from_dict(Cls, mapping, where)`` builds a (possibly nested) dataclass and names
the offending key and file in every error; ``load_toml(Cls, path, overrides)``
reads a file and applies ``--set``-style overrides (``section.key=value``, the value
parsed as TOML, falling back to a plain string). ``to_dict`` gives back the
resolved config, which is saved next to every result it produced.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config key or value that is not what the schema expects.

    ``key`` is the dotted path of the offending key or table (a tuple, empty for the root) and
    ``reason`` the message without its location, so :func:`load_toml` can blame an override.
    """

    def __init__(self, message: str, key: tuple[str, ...] = (), reason: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.reason = message if reason is None else reason


def _error(root: str, key: tuple[str, ...], reason: str) -> ConfigError:
    return ConfigError(f"{'.'.join((root, *key))}: {reason}", key, reason)


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters with its full length said."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text):,} characters)"


def _echoed(assignment: str, limit: int = 80) -> str:
    """An override as a message repeats it: whole, or cut to about ``limit`` characters with its length said."""
    if len(assignment) <= limit:
        return assignment
    return f"{assignment[: limit - 20]}... ({len(assignment):,} characters)"


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``; every error names ``where`` and the key (``where.a.b: ...``)."""
    return _build(cls, data, where, ())


def _build(cls: type[T], data: Any, root: str, key: tuple[str, ...]) -> T:
    if not isinstance(data, Mapping):
        raise _error(root, key, f"expected a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    refused = [name for name in unknown if name in getattr(cls, "REFUSED_KEYS", {})]
    if refused:  # a key that moved or is no setting: say what to write instead
        raise _error(root, (*key, refused[0]), cls.REFUSED_KEYS[refused[0]])
    if unknown:
        reason = f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}"
        raise ConfigError(f"{'.'.join((root, *key))}: {reason}", (*key, unknown[0]), reason)
    hints = typing.get_type_hints(cls)
    values = {
        name: _convert(hints[name], _onto_default(fields[name], value), root, (*key, name))
        for name, value in data.items()
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise _error(root, key, str(e)) from e


def _onto_default(f: dataclasses.Field, value: Any) -> Any:
    """A table for a dataclass field whose default is not its class's defaults: that default's values with the
    table's on top, so the table changes only the keys it gives (e.g. ``CertifyConfig.head``)."""
    if not isinstance(value, Mapping) or f.default_factory is dataclasses.MISSING:
        return value
    default = f.default_factory()
    if not dataclasses.is_dataclass(default):
        return value
    try:
        if default == type(default)():
            return value
    except TypeError:  # a class without defaults for every field
        pass
    return {**to_dict(default), **value}


def _convert(tp: Any, value: Any, root: str, key: tuple[str, ...]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, root, key)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, root, key)
            except ConfigError as e:
                errors.append(e)
        raise errors[0] if len(errors) == 1 else _error(root, key, f"{shown(value)} matches none of {tp}")
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise _error(
                root, key, f"{shown(value)} is not one of {', '.join(map(repr, typing.get_args(tp)))}"
            )
        return value
    if origin in (tuple, list, Sequence):
        if not isinstance(value, list | tuple):
            raise _error(root, key, f"expected a list, got {shown(value)}")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return tuple(_convert(item, v, root, (*key[:-1], f"{key[-1]}[{i}]")) for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is Path and isinstance(value, str):
        return Path(value)
    if tp in (int, float, str, bool) and not (
        isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    ):
        raise _error(root, key, f"expected {tp.__name__}, got {shown(value)}")
    return value


def set_dotted(data: dict[str, Any], assignment: str, flag: str = "--set") -> tuple[str, ...]:
    """Apply ``a.b.c=value`` to a nested dict (the value parsed as TOML when it can be); return the key path."""
    if "=" not in assignment:
        raise ConfigError(f"{flag} {_echoed(assignment)}: expected KEY=VALUE")
    key, raw = assignment.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    parts = tuple(p.strip() for p in key.strip().split("."))
    if not all(parts):
        raise ConfigError(f"{flag} {_echoed(assignment)}: empty key name in {key.strip()!r}")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{flag} {_echoed(assignment)}: {part} is not a table")
    node[parts[-1]] = value
    return parts


def check_keys(cls: type, overrides: Sequence[str], flag: str = "--set") -> None:
    """Raise :class:`ConfigError` naming the first override whose key is not a field of ``cls``.

    Only key names are checked (values may depend on other settings); keys below a field that is not a
    dataclass (a ``dict`` of parameters) are not checked.
    """
    for assignment in overrides:
        parts = set_dotted({}, assignment, flag)
        node: Any = cls
        for depth, part in enumerate(parts):
            fields = {f.name for f in dataclasses.fields(node) if f.init}
            refused = getattr(node, "REFUSED_KEYS", {})
            if part in refused:
                raise ConfigError(
                    f"{flag} {_echoed(assignment)}: {refused[part]}", parts[: depth + 1], refused[part]
                )
            if part not in fields:
                table = ".".join(parts[:depth]) or "top level"
                reason = f"unknown key {part!r} in {table}; allowed: {', '.join(sorted(fields))}"
                raise ConfigError(f"{flag} {_echoed(assignment)}: {reason}", parts[: depth + 1], reason)
            node = _dataclass_of(typing.get_type_hints(node)[part])
            if node is None:
                break


def _dataclass_of(tp: Any) -> type | None:
    """``tp`` if it is a dataclass, or the dataclass inside ``X | None``; else ``None``."""
    if dataclasses.is_dataclass(tp):
        return tp
    inner = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
    return inner[0] if typing.get_origin(tp) in (typing.Union, types.UnionType) and inner else None


def load_toml(
    cls: type[T], path: str | os.PathLike[str] | None, overrides: Sequence[str] = (), flag: str = "--set"
) -> T:
    """Read ``path`` (``None``: all defaults), apply ``overrides`` and build ``cls``.

    An error caused by an override names that override (``--set attack.poison_rate=2: ...``, with
    ``flag`` the option it came from); any other error names the file.
    """
    return from_overrides(cls, read_toml(path), "config" if path is None else str(path), overrides, flag)


def from_overrides(
    cls: type[T], base: dict[str, Any], where: str, overrides: Sequence[str] = (), flag: str = "--set"
) -> T:
    """Build ``cls`` from the table ``base`` (read from ``where``) with ``overrides`` applied (see :func:`load_toml`)."""
    data = copy.deepcopy(base)
    keys = [set_dotted(data, assignment, flag) for assignment in overrides]
    try:
        return from_dict(cls, data, where)
    except ConfigError as e:
        culprits = _culprits(cls, base, list(overrides), keys, e, flag)
        if not culprits:
            raise
        raise ConfigError(
            f"{', '.join(f'{flag} {_echoed(c)}' for c in culprits)}: {e.reason}", e.key, e.reason
        ) from None


def read_toml(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a TOML file") from None
    try:
        return tomllib.loads(decode_toml(data))  # a byte-order mark (Windows editors) is dropped
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def decode_toml(data: bytes) -> str:
    """TOML bytes as text: UTF-8, a leading byte-order mark dropped (``UnicodeDecodeError`` otherwise)."""
    return data.decode("utf-8-sig")


def _culprits(
    cls: type,
    base: dict[str, Any],
    overrides: list[str],
    keys: list[tuple[str, ...]],
    error: ConfigError,
    flag: str,
) -> list[str]:
    """The overrides responsible for ``error`` (none when the file alone has it).

    Those touching the error's key whose removal changes the error; failing that, all that touch it.
    """

    def same_error_without(skip: set[int]) -> bool:
        data = copy.deepcopy(base)
        for j, assignment in enumerate(overrides):
            if j not in skip:
                set_dotted(data, assignment, flag)
        try:
            from_dict(cls, data)
        except ConfigError as other:
            return (other.key, other.reason) == (error.key, error.reason)
        return False

    if not overrides or same_error_without(set(range(len(overrides)))):
        return []
    bad = tuple(part.split("[")[0] for part in error.key)  # "sizes[0]" belongs to "sizes"
    related = [i for i, k in enumerate(keys) if k[: len(bad)] == bad or bad[: len(k)] == k]
    blamed = [i for i in related if not same_error_without({i})]
    return [overrides[i] for i in blamed or related or range(len(overrides))]


def to_dict(obj: Any) -> Any:
    """A resolved config as plain TOML/JSON-friendly data."""
    if dataclasses.is_dataclass(obj):
        out = {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        name = getattr(type(obj), "name", None)  # a registry entry (e.g. a method) records its name
        return {"name": name, **out} if isinstance(name, str) and "name" not in out else out
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
