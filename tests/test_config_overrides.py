"""Config errors name their cause: the ``--set`` override when it is one, else the file."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from crowd.config import ConfigError, load_toml
from crowd.pipelines.config import load_certify_config


@dataclass(frozen=True)
class Attack:
    name: str = "badnets"
    poison_rate: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.poison_rate <= 1:
            raise ValueError(f"poison_rate must be in [0, 1], got {self.poison_rate}")


@dataclass(frozen=True)
class Run:
    n: int = 3
    sizes: tuple[int, ...] = (1,)
    attack: Attack = field(default_factory=Attack)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("n = 4\n[attack]\nname = 'addsent'\n")
    return path


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["attack.poison_rate=2"],
            r"^--set attack\.poison_rate=2: poison_rate must be in \[0, 1\], got 2\.0$",
        ),
        (["attack.name=x", "attack.poison_rate=2"], r"^--set attack\.poison_rate=2: poison_rate"),
        (
            ["n=7", "attack.rate=2"],
            r"^--set attack\.rate=2: unknown key\(s\) rate; allowed: name, poison_rate$",
        ),
        (["n=ten"], r"^--set n=ten: expected int, got 'ten'$"),
        (["sizes=[1, 'a']"], r"^--set sizes=\[1, 'a'\]: expected int, got 'a'$"),
        (["attack=3"], r"^--set attack=3: expected a table, got int$"),
        (["n"], r"^--set n: expected KEY=VALUE$"),
    ],
)
def test_override_errors_name_the_override(config_file, overrides, message):
    for path in (config_file, None):
        with pytest.raises(ConfigError, match=message):
            load_toml(Run, path, overrides)


def test_file_errors_still_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[attack]\npoison_rate = 5\n")
    with pytest.raises(ConfigError, match=rf"^{path}\.attack: poison_rate must be"):
        load_toml(Run, path, ["n=2"])  # an innocent override is not blamed
    with pytest.raises(ConfigError, match=rf"^{path}\.attack: poison_rate must be"):
        load_toml(Run, path, ["attack.name=x"])  # not even one in the same table
    assert (
        load_toml(Run, path, ["attack.poison_rate=0.5"]).attack.poison_rate == 0.5
    )  # an override can fix it


def test_other_flags_are_named(config_file):
    with pytest.raises(ConfigError, match=r"^--certify n=x: expected int"):
        load_toml(Run, config_file, ["n=x"], flag="--certify")


def test_default_certify_config_blames_the_override_not_default_toml():
    with pytest.raises(ConfigError) as info:
        load_certify_config(None, ["attack.poison_rate=2"])
    assert str(info.value).startswith("--set attack.poison_rate=2: poison_rate must be in [0, 1]")
    assert "default.toml" not in str(info.value)
