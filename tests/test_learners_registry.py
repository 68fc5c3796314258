"""Every registered learner: frozen settings from defaults, its config route, its implementation and code version.

No training: the implementation is imported and its constructor's signature read, never run."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import json
import subprocess
import sys

import pytest

from crowd.bench.version import cell_modules
from crowd.pipelines.config import CertifyConfig, ModelConfig
from crowd.train.settings import LEARNERS, learner_fingerprint


def implementation(cls) -> tuple[str, type]:
    module, name = cls.IMPLEMENTATION.split(":")
    return module, getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_settings_are_frozen_hashable_data_from_defaults(name):
    """The trainer is cached per settings value (``functools.lru_cache``): equal settings, one hash."""
    cls = LEARNERS[name]
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    settings = cls()
    assert settings == cls() and hash(settings) == hash(cls())
    field = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, field, getattr(settings, field))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_model_learner_reads_its_sections(name):
    """``model.learner = NAME`` gives these settings, built from the config tables ``SECTIONS`` names."""
    cls = LEARNERS[name]
    config = CertifyConfig(model=ModelConfig(learner=name))
    assert config.learner_sections == cls.SECTIONS and type(config.learner) is cls
    tables = {section: getattr(config, section) for section in cls.SECTIONS}
    assert config.learner == cls.from_sections(tables)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_implementation_takes_exactly_the_settings(name):
    """``IMPLEMENTATION`` imports to a class built from ``dataclasses.asdict(settings)``, every key used."""
    cls = LEARNERS[name]
    _, trainer = implementation(cls)
    assert inspect.isclass(trainer), cls.IMPLEMENTATION
    params = inspect.signature(trainer).parameters
    assert set(params) == {f.name for f in dataclasses.fields(cls)}, cls.IMPLEMENTATION
    assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params.values())
    assert cls().keepable or callable(getattr(trainer, "fit_predict", None))  # how _Learner trains it


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_the_fingerprint_is_json_and_rebuilds_the_settings(name):
    """Votes and kept models record ``learner_fingerprint``: it must name the class and every setting."""
    cls = LEARNERS[name]
    settings = cls()
    fingerprint = json.loads(json.dumps(learner_fingerprint(settings)))
    assert fingerprint.pop("learner") == cls.__name__
    assert set(fingerprint) == {f.name for f in dataclasses.fields(cls)}
    assert cls(**fingerprint) == settings


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_its_code_is_in_the_rows_code_version(name):
    """A change to the learner's implementation makes the benchmark rows it trained stale."""
    module, _ = implementation(LEARNERS[name])
    assert module in cell_modules("certify", "crowd", {"model": {"learner": name}})


@pytest.mark.parametrize("name", sorted(n for n, cls in LEARNERS.items() if not cls.uses_torch))
def test_a_learner_without_torch_imports_none(name):
    """``uses_torch = False``: its implementation runs without importing torch (the device is unused)."""
    module, _ = LEARNERS[name].IMPLEMENTATION.split(":")
    code = f"import sys, {module}; print('torch' in sys.modules, 'transformers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_model_learner_computes_with_torch(name):
    """``uses_model``: it loads the encoder ``model.name``, a torch model (so it needs ``uses_torch``)."""
    cls = LEARNERS[name]
    assert cls.uses_torch or not cls.uses_model


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_every_learner_takes_one_request_and_an_optional_progress(name):
    """The learner protocol: ``fit(request, progress=None)`` (and so ``fit_predict``) for every registered
    learner, ``predict`` with what it needs named; no learner is asked whether it accepts ``progress``."""
    _, trainer = implementation(LEARNERS[name])
    fit = inspect.signature(trainer.fit).parameters
    assert list(fit) == ["self", "request", "progress"] and fit["progress"].default is None
    assert list(inspect.signature(trainer.predict).parameters) == [
        "self", "model_name", "states", "inputs", "device", "num_labels"
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_each_learner_names_the_modules_that_compute_it(name):
    """``MODULES`` on the settings class (the implementation's module first) is what a benchmark row's code
    version hashes for the learner; crowd.bench.version keeps no list of its own."""
    import crowd.bench.version as version

    kind = LEARNERS[name]
    module, _ = implementation(kind)
    assert kind.MODULES[0] == module or name == "bow+head"
    assert module in kind.MODULES and len(set(kind.MODULES)) == len(kind.MODULES)
    assert all(importlib.util.find_spec(m) is not None for m in kind.MODULES)
    modules = cell_modules("certify", "crowd", {"model": {"learner": name}, "attack": {"name": "badnets"}})
    assert set(kind.MODULES) <= set(modules)
    assert not hasattr(version, "LEARNERS") or version.LEARNERS is LEARNERS
