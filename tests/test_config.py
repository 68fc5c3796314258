from dataclasses import dataclass, field
from typing import Literal

import pytest

from crowd.config import ConfigError, from_dict, load_toml, to_dict


@dataclass(frozen=True)
class Inner:
    beta: float = 0.8
    kind: Literal["crowd", "safer"] = "crowd"


@dataclass(frozen=True)
class Outer:
    n: int = 10
    name: str | None = None
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)


def test_nested_and_defaults():
    c = from_dict(Outer, {"n": 3, "inner": {"beta": 1}, "sizes": [4]})
    assert c == Outer(n=3, inner=Inner(beta=1.0), sizes=(4,))
    assert to_dict(c)["inner"] == {"beta": 1.0, "kind": "crowd"}


def test_unknown_key_and_bad_type_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"config.inner: unknown key\(s\) betta"):
        from_dict(Outer, {"inner": {"betta": 0.5}})
    with pytest.raises(ConfigError, match="config.n: expected int"):
        from_dict(Outer, {"n": "ten"})
    with pytest.raises(ConfigError, match="not one of"):
        from_dict(Outer, {"inner": {"kind": "uniform"}})
    p = tmp_path / "c.toml"
    p.write_text("n = 5\n[inner]\nbeta = 0.9\n")
    assert load_toml(Outer, p, ["inner.kind=safer", "name=run1"]) == Outer(
        n=5, name="run1", inner=Inner(beta=0.9, kind="safer")
    )
    with pytest.raises(ConfigError, match="--set bogus=1: unknown key"):  # the override, not the file
        load_toml(Outer, p, ["bogus=1"])


def test_the_data_root_is_resolved_once_at_a_pipeline_entry(tmp_path, monkeypatch):
    """``DataConfig.pinned``: ``data_root`` or ``$CROWD_DATA`` as an absolute path, so the layers below read
    one folder and never the environment; unchanged when neither is set; a missing folder named."""
    import pytest

    from crowd.paths import DataRootError
    from crowd.pipelines.config import DataConfig

    (tmp_path / "env").mkdir()
    (tmp_path / "given").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROWD_DATA", "env")
    assert DataConfig().pinned().data_root == str(tmp_path / "env")
    assert DataConfig(data_root="given").pinned().data_root == str(tmp_path / "given")
    monkeypatch.delenv("CROWD_DATA")
    assert DataConfig().pinned() == DataConfig()
    with pytest.raises(DataRootError, match="missing"):
        DataConfig(data_root="missing").pinned()
