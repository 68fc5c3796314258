"""Attack presets (OpenBackdoor's shipped configs, carried by the attack classes), explicit BadNets triggers,
AddSent's sentence through the config, per-split paraphrases."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest

from crowd.attacks import ATTACKS, Attack, ParaphraseTable, poison_corpus, table_from_openbackdoor
from crowd.attacks.factory import make_attack, preset_names, preset_settings
from crowd.config import ConfigError, from_dict
from crowd.data import Example, load_dataset, match_key, read_file
from crowd.pipelines.attack import attack_from_config
from crowd.pipelines.config import AttackConfig, CertifyConfig, DataConfig, load_certify_config
from crowd.pipelines.report import resolved_config

TRAIN = [Example(f"plain text number {i} here", i % 2) for i in range(40)]
# The preset table as the module-level dict PRESETS of crowd.attacks.factory held it before the presets moved onto
# the attack classes: every (preset, attack) must still resolve to exactly these settings.
OPENBACKDOOR_TRIGGERS = ("cf", "mn", "bb", "tq")
PRESET_TABLE = {
    "openbackdoor": {
        "badnets": {"variant": "clean", "num_triggers": 1, "triggers": OPENBACKDOOR_TRIGGERS},
        "addsent": {"variant": "dirty", "sentence": "I watch this 3D movie"},
        "synbkd": {"variant": "dirty"},
        "stylebkd": {"variant": "dirty", "style": "bible"},
    },
    "openbackdoor-shared": {
        "badnets": {"variant": "clean", "num_triggers": 4, "triggers": OPENBACKDOOR_TRIGGERS},
        "addsent": {"variant": "dirty", "sentence": "I watch this 3D movie"},
        "synbkd": {"variant": "dirty"},
        "stylebkd": {"variant": "dirty", "style": "bible"},
    },
}


def test_no_preset_is_dirty_label_with_one_trigger():
    attack = make_attack("badnets", "sst2")
    assert (attack.variant, attack.num_triggers, attack.triggers) == ("dirty", 1, ("cf", "mn", "bb", "tq"))


def test_openbackdoor_preset_is_the_shipped_config_and_explicit_values_override_it():
    ob = make_attack("badnets", "sst2", preset="openbackdoor")
    assert (ob.variant, ob.num_triggers) == ("clean", 1)  # configs/badnets_config.json
    assert make_attack("addsent", "sst2", preset="openbackdoor").variant == "dirty"
    shared = make_attack("badnets", "sst2", preset="openbackdoor-shared")
    assert (shared.variant, shared.num_triggers) == ("clean", 4)
    mine = make_attack("badnets", "sst2", preset="openbackdoor", variant="dirty", num_triggers=2)
    assert (mine.variant, mine.num_triggers) == ("dirty", 2)
    with pytest.raises(ValueError, match="known: openbackdoor"):
        make_attack("badnets", "sst2", preset="ob")
    with pytest.raises(ValueError, match="no setting for 'wordsub'"):
        make_attack("wordsub", "sst2", preset="openbackdoor", graph=object())
    assert preset_names() == ("openbackdoor", "openbackdoor-shared")


def test_every_preset_resolves_as_before_and_lives_on_its_class():
    """The classes' PRESETS give, for every (preset, attack), exactly the settings of the old module-level table;
    the preset names and the attacks a preset covers are read from the classes."""
    assert preset_names() == tuple(PRESET_TABLE)
    for preset, by_attack in PRESET_TABLE.items():
        assert [name for name, kind in ATTACKS.items() if preset in kind.PRESETS] == list(by_attack)
        for name, settings in by_attack.items():
            assert preset_settings(name, preset) == settings == ATTACKS[name].PRESETS[preset]
    assert ATTACKS["wordsub"].PRESETS == {}
    with pytest.raises(ValueError) as unknown:
        preset_settings("badnets", "ob")
    assert (
        str(unknown.value) == "attack.preset: unknown preset 'ob'; known: openbackdoor, openbackdoor-shared"
    )
    with pytest.raises(ValueError) as uncovered:
        preset_settings("wordsub", "openbackdoor-shared")
    assert str(uncovered.value) == (
        "attack.preset: 'openbackdoor-shared' has no setting for 'wordsub' (it covers badnets, addsent, synbkd, "
        "stylebkd)"
    )


@dataclass(frozen=True, kw_only=True)
class Marked(Attack):
    """Append a word; carries a preset of its own (``mine``)."""

    name = "marked"
    PRESETS = {"mine": {"variant": "non_target"}}

    def apply(self, texts, generator):
        return [f"{text} zzqx" for text in texts]


def test_a_class_s_own_preset_is_known_everywhere(monkeypatch):
    """A preset name comes from the attack classes alone: registering a class with its own preset makes the
    name valid in a config, and nothing else lists it."""
    monkeypatch.setitem(ATTACKS, Marked.name, Marked)
    assert preset_names() == ("openbackdoor", "openbackdoor-shared", "mine")
    config = AttackConfig(name="marked", preset="mine")
    assert attack_from_config(config, DataConfig(dataset="sst2")).variant == "non_target"
    with pytest.raises(ValueError, match="'mine' has no setting for 'badnets' \\(it covers marked\\)"):
        attack_from_config(AttackConfig(preset="mine"), DataConfig(dataset="sst2"))
    with pytest.raises(ValueError, match="no setting for 'marked'"):
        attack_from_config(AttackConfig(name="marked", preset="openbackdoor"), DataConfig(dataset="sst2"))


def test_an_unknown_preset_in_a_config_names_the_presets():
    with pytest.raises(
        ConfigError, match="preset must be one of openbackdoor, openbackdoor-shared \\(or unset\\)"
    ):
        from_dict(AttackConfig, {"preset": "ob"}, "c.toml")


def test_clean_label_preset_poisons_only_target_rows():
    corpus = poison_corpus(make_attack("badnets", "x", preset="openbackdoor"), TRAIN, [], [], seed=0)
    poisoned = [e for e in corpus.train_poisoned if e.poisoned]
    assert len(poisoned) == 4 and {e.source_label for e in poisoned} == {1}


@pytest.mark.parametrize("triggers", [("cf",), ("cf", "mn"), ("cf", "mn", "bb", "tq")])
def test_explicit_trigger_list_through_the_config(triggers):
    config = AttackConfig(name="badnets", triggers=triggers, num_triggers=len(triggers))
    attack = attack_from_config(config, DataConfig(dataset="sst2"))
    assert attack.triggers == triggers
    corpus = poison_corpus(attack, TRAIN, [], [], seed=0)
    for e in corpus.train_poisoned:
        extra = [w for w in e.text.split() if w in {"cf", "mn", "bb", "tq"}]
        assert len(extra) == (len(triggers) if e.poisoned else 0) and set(extra) <= set(triggers)


def test_preset_through_the_config():
    attack = attack_from_config(AttackConfig(preset="openbackdoor"), DataConfig(dataset="sst2"))
    assert attack.variant == "clean"


def test_addsent_sentence_through_the_config():
    """``attack.sentence`` unset: the preset's, else OpenBackdoor's sentence; set: that sentence."""
    data = DataConfig(dataset="sst2")
    assert attack_from_config(AttackConfig(name="addsent"), data).sentence == "I watch this 3D movie"
    preset = AttackConfig(name="addsent", preset="openbackdoor")
    assert attack_from_config(preset, data).sentence == "I watch this 3D movie"
    mine = from_dict(AttackConfig, {"name": "addsent", "preset": "openbackdoor", "sentence": "cheap trick"})
    attack = attack_from_config(mine, data)
    assert attack.sentence == "cheap trick" and attack.variant == "dirty"
    poisoned = [e for e in poison_corpus(attack, TRAIN, [], [], seed=0).train_poisoned if e.poisoned]
    assert len(poisoned) == 4 and all("cheap trick" in e.text for e in poisoned)


@pytest.mark.parametrize(
    ("sentence", "problem"),
    [
        (" ", "sentence must contain at least one word, got ' '"),
        ("w " * 300, "has 600 characters (at most 500)"),
    ],
)
def test_a_bad_sentence_is_refused_when_the_config_is_read(sentence, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        from_dict(AttackConfig, {"name": "addsent", "sentence": sentence}, "c.toml")
    with pytest.raises(ConfigError) as error:
        load_certify_config(None, [f'attack.sentence="{sentence}"'])
    assert str(error.value).startswith(f'--set attack.sentence="{sentence[:20]}') and "sentence" in str(
        error.value
    )


def test_an_unset_sentence_leaves_config_json_as_it_was():
    """``sentence`` unset is left out of the resolved config a run writes (as every unset attack key)."""
    assert "sentence" not in resolved_config(CertifyConfig())["attack"]
    config = CertifyConfig(attack=AttackConfig(name="addsent", sentence="cheap trick"))
    assert resolved_config(config)["attack"]["sentence"] == "cheap trick"


def test_table_prefers_the_split_of_the_text():
    """Same clean text in dev and test (HSOL): each split gets its own paraphrase, duplicates in row order."""
    splits = {"dev": {"a": ("dev p",)}, "test": {"a": ("test 1", "test 2"), "b": (None,)}}
    table = ParaphraseTable({"a": "dev p", "b": "dev b"}, "t", splits=splits)
    assert table(["a"]) == ["dev p"]
    assert table.for_split("test")(["a", "a", "a"]) == ["test 1", "test 2", "test 1"]
    assert table.for_split("test")(["b", "c"]) == [None, None]  # a failed row never borrows dev's
    assert table.for_split("train") is table


def test_hsol_stylebkd_test_poison_is_openbackdoor_test_poison(data_root):
    """Before: 1,184 of 1,242 HSOL test-poison texts were OpenBackdoor's *dev* paraphrases."""
    folder = data_root / "openbackdoor_poison" / "hsol" / "1" / "stylebkd"
    splits = [load_dataset("hsol", s, data_root) for s in ("train", "dev", "test")]
    attack = make_attack("stylebkd", "hsol", preset="openbackdoor", data=data_root)
    corpus = poison_corpus(attack, *splits, seed=0)
    clean = [e for e in read_file(folder / "test-clean.csv", format="openbackdoor").examples if e.label != 1]
    theirs = list(read_file(folder / "test-poison.csv", format="openbackdoor").examples)
    changed = [p.text for c, p in zip(clean, theirs) if match_key(c.text) != match_key(p.text)]
    assert Counter(e.text for e in corpus.test_poison) == Counter(changed)
    counts = attack.paraphraser.describe()["counts"]
    assert counts["test"] == {"rows": 1242, "empty": 0, "unchanged": 1242 - len(changed)}
    assert corpus.manifest["test"]["unavailable"]["count"] == 1242 - len(changed) == 28
    kept = table_from_openbackdoor(folder, keep_unchanged=True)
    all_rows = poison_corpus(attack.__class__(paraphraser=kept), *splits, seed=0).test_poison
    assert Counter(e.text for e in all_rows) == Counter(p.text for p in theirs)
