"""Certified methods, one file each, and the registry that is the only reader of a method's name.

| name        | paper                               | training set of model ``j``           | certificate, unit |
|-------------|-------------------------------------|---------------------------------------|-------------------|
| ``crowd``   | Sun, Sen, Ruan (CROWD)              | beta-weighted synonym noise, copy j   | ``tv``: synonym substitutions |
| ``safer``   | Ye et al. 2020 (SAFER)              | uniform synonym noise, copy j         | ``tv``: synonym substitutions |
| ``wang``    | Wang et al. 2020                    | keep-β token and label noise, copy j  | ``l0``: changed tokens + labels |
| ``dpa``     | Levine & Feizi 2021 (+ FA, run-off) | partition j of a content hash         | ``dpa``: examples inserted/deleted |
| ``textguard`` | Pei et al. 2024 (TextGuard)       | words of md5 group j of every text    | ``textguard``: word types added/removed |

See :mod:`crowd.methods.base` for the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crowd.config import ConfigError, from_dict
from crowd.methods.base import Context, Method, Plan, Statistics, Words
from crowd.methods.crowd import Crowd
from crowd.methods.dpa import DPA, partition_of
from crowd.methods.safer import Safer
from crowd.methods.textguard import TextGuard, sub_text, word_group
from crowd.methods.wang import Wang

METHODS: dict[str, type] = {"crowd": Crowd, "safer": Safer, "wang": Wang, "dpa": DPA, "textguard": TextGuard}
DEFAULT_METHOD = "textguard"  # what a [method] table without a name runs (as crowd/configs/default.toml)


def method_from_table(table: Mapping[str, Any] | Method, where: str = "method") -> Method:
    """The method a ``[method]`` table names (``name`` plus that method's parameters; unknown keys rejected)."""

    if not isinstance(table, Mapping):
        if type(table) in METHODS.values():
            return table
        raise ConfigError(f"{where}: expected a table with a name, got {table!r}")
    params = dict(table)
    name = params.pop("name", DEFAULT_METHOD)
    if name not in METHODS:
        raise ConfigError(f"{where}.name: unknown method {name!r}; known: {', '.join(METHODS)}")
    return from_dict(METHODS[name], params, where)


__all__ = [
    "DEFAULT_METHOD",
    "DPA",
    "METHODS",
    "Context",
    "Crowd",
    "Method",
    "Plan",
    "Safer",
    "Statistics",
    "TextGuard",
    "Wang",
    "Words",
    "method_from_table",
    "partition_of",
    "sub_text",
    "word_group",
]
