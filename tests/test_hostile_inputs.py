"""Every message names its key (issue #33): a value's error names the config key or option it came from and what
was expected, an unbounded input has a bound (with the numbers in the message), and a key that does nothing is
refused. Each CLI case exits 2 with one stderr line and writes nothing into --out."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowd.attacks import AddSent, BadNets
from crowd.attacks.badnets import MAX_TRIGGER_CHARS, MAX_TRIGGERS
from crowd.cli import main
from crowd.config import ConfigError
from crowd.data import DataFormatError, Example, check_label_set
from crowd.pipelines.config import DataConfig, load_certify_config
from crowd.pipelines.corpus import given_corpus
from crowd.testing.cli import error_line
from crowd.text import MAX_TEXT_CHARS

POISON = ["poison", "--dataset", "sst2", "--attack", "badnets"]


def certify(tmp_path: Path, *sets: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    argv = ["certify", "--no-progress", "--out", str(out)]
    return main([*argv, *(x for s in sets for x in ("--set", s))]), out


def user_folder(tmp_path: Path, train_rows: list[str]) -> Path:
    """A binary user corpus (train.tsv with ``train_rows`` after ten good rows, test.tsv)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    good = [f"text number {i}\t{i % 2}" for i in range(10)]
    (folder / "train.tsv").write_text("\n".join(["sentence\tlabel", *good, *train_rows]) + "\n")
    (folder / "test.tsv").write_text("\n".join(["sentence\tlabel", *good[:4]]) + "\n")
    return folder


# 1. A message about a value names the key or option it came from


@pytest.mark.parametrize(
    ("triggers", "problem"),
    [
        ('[""]', "'' is empty"),
        ('["  "]', "'  ' is only white space"),
        ('["two words"]', "'two words' is 2 words"),
    ],
)
def test_a_bad_trigger_names_attack_triggers(tmp_path, capsys, triggers, problem):
    rc, out = certify(tmp_path, f"attack.triggers={triggers}")
    assert rc == 2
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: --set attack.triggers={triggers}: triggers[0] {problem}: each trigger is one word, "
        """e.g. ["cf", "mn"]; [] takes the preset's"""
    )
    assert not out.exists()


def test_an_empty_trigger_list_takes_the_presets():
    assert load_certify_config(None, ["attack.triggers=[]"]).attack.triggers == ()
    with pytest.raises(ValueError, match=r'^triggers must hold at least one word, e\.g\. \("cf", "mn"\)$'):
        BadNets(triggers=())  # no preset in the Python class: there an empty tuple is an error
    with pytest.raises(ValueError, match=r"^triggers\[1\] 'a b' is 2 words: each trigger is one word"):
        BadNets(triggers=("cf", "a b"))


def test_num_triggers_zero_names_attack_num_triggers(tmp_path, capsys):
    rc, out = certify(tmp_path, "attack.num_triggers=0")
    assert rc == 2
    assert error_line(capsys, "certify") == (
        "crowd certify: error: --set attack.num_triggers=0: num_triggers must be in 1..100 "
        "(trigger words inserted per poisoned text; unset: the preset's), got 0"
    )
    assert not out.exists()


def test_an_unknown_variant_names_attack_variant(tmp_path, capsys):
    rc, out = certify(tmp_path, 'attack.variant="foo"')
    assert rc == 2
    assert error_line(capsys, "certify") == (
        """crowd certify: error: --set attack.variant="foo": variant must be one of dirty, clean, non_target """
        "(unset: the preset's), got 'foo'"
    )
    assert not out.exists()


def test_attack_values_in_a_file_name_the_file_and_section(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[attack]\nname = "badnets"\nstyle = "gothic"\n')
    with pytest.raises(ConfigError, match=rf"^{path}\.attack: style must be one of bible, .*got 'gothic'$"):
        load_certify_config(str(path))
    with pytest.raises(
        ConfigError, match=r"^--set attack\.name=\"x\": name 'x' is not one of addsent, badnets"
    ):
        load_certify_config(None, ['attack.name="x"'])


def test_poison_triggers_with_a_space_names_the_option(data_root, tmp_path, capsys):
    out = tmp_path / "p"
    assert main([*POISON, "--triggers", "c f,mn", "--out", str(out)]) == 2
    assert error_line(capsys, "poison") == (
        "crowd poison: error: --triggers 'c f,mn': 'c f' is 2 words; each trigger is one word, separated by "
        "commas, e.g. --triggers cf,mn"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--num-triggers", "0"],
            "--num-triggers 0: must be in 1..100 (trigger words inserted per poisoned text)",
        ),
        (["--rate", "2"], "--rate 2.0: must be in [0, 1] (the share of rows poisoned)"),
        (
            ["--length", "0"],
            "--length 0: must be in 1..512 (the model input length the l0 token budget counts in)",
        ),
        (["--attack", "addsent", "--sentence", " "], "--sentence ' ': must contain at least one word"),
    ],
)
def test_poison_values_name_their_option_before_writing(data_root, tmp_path, capsys, option, message):
    out = tmp_path / "p"
    assert main([*POISON, *option, "--out", str(out)]) == 2
    assert error_line(capsys, "poison") == f"crowd poison: error: {message}"
    assert not out.exists()  # --length 0 was refused after the corpus was written


def test_a_stray_label_says_how_to_set_data_labels_on_the_command_line(tmp_path, capsys):
    folder = user_folder(tmp_path, ["a third class\t2"])
    rc, out = certify(tmp_path, f'data.dataset="{folder}"')
    assert rc == 2
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: {folder / 'train.tsv'}:12: label 2 is not one of the allowed labels [0, 1] "
        "(1 example(s) in all: {2: 1}); a user corpus is binary unless its full label list is given: "
        "data.labels = [0, 1, 2] in a config file, --set 'data.labels=[0,1,2]' on the command line"
    )
    assert not out.exists()


def test_a_long_label_list_is_cut_with_a_count():
    allowed = list(range(997))
    with pytest.raises(DataFormatError) as info:
        check_label_set([Example("a", 0), Example("b", 1000)], allowed)
    message = str(info.value)
    assert "allowed labels [0, 1, 2, 3, 4, ..., 995, 996] (997 labels)" in message and len(message) < 200
    with pytest.raises(ValueError, match=r"got \[1, 2, 3, 4, 5, \.\.\., 996, 997\] \(997 labels\)$"):
        DataConfig(dataset="folder", labels=tuple(range(1, 998)))


# 2. Unbounded inputs get a bound, with the numbers in the message


def test_a_huge_num_triggers_is_refused_at_once(tmp_path, capsys):
    rc, out = certify(tmp_path, "attack.num_triggers=100000")
    assert rc == 2
    assert error_line(capsys, "certify").endswith(
        f"num_triggers must be in 1..{MAX_TRIGGERS} (trigger words inserted per poisoned text; unset: the "
        "preset's), got 100,000"
    )
    assert not out.exists()
    with pytest.raises(ValueError, match=r"^num_triggers must be in 1\.\.100 .*got 100,000$"):
        BadNets(num_triggers=100_000)


def test_a_huge_trigger_is_refused_in_a_short_message(data_root, tmp_path, capsys):
    word = "x" * 100_000
    rc, out = certify(tmp_path, f'attack.triggers=["{word}"]')
    assert rc == 2
    line = error_line(capsys, "certify")
    assert len(line) < 400 and "(100,000 characters)" in line
    assert "triggers[0] 'xxx" in line and f"is over the limit of {MAX_TRIGGER_CHARS} characters" in line
    assert line.startswith('crowd certify: error: --set attack.triggers=["xxx') and not out.exists()
    out = tmp_path / "p"
    assert main([*POISON, "--triggers", word, "--out", str(out)]) == 2
    line = error_line(capsys, "poison")
    assert len(line) < 400 and line.endswith(
        f"(100,000 characters): the trigger is over the limit of {MAX_TRIGGER_CHARS} characters; each trigger "
        "is one word, separated by commas, e.g. --triggers cf,mn"
    )
    assert not out.exists()
    with pytest.raises(ValueError, match=r"^sentence has 100,000 characters \(at most 500\)$"):
        AddSent(sentence=word)


def test_a_text_far_longer_than_any_model_reads_is_refused(tmp_path, capsys):
    folder = user_folder(tmp_path, ["long " * 30_000 + "end\t1"])
    rc, out = certify(tmp_path, f'data.dataset="{folder}"')
    assert rc == 2
    assert error_line(capsys, "certify") == (
        f"crowd certify: error: {folder / 'train.tsv'}:12: text of 150,003 characters is over the limit of "
        f"{MAX_TEXT_CHARS:,}: the models read only their first max_length tokens (a few thousand characters "
        "at most); is a quote left open?"
    )
    assert not out.exists()
    train = [Example(f"t {i}", i % 2) for i in range(4)]
    with pytest.raises(DataFormatError, match=r"^test\[1\]: text of 100,001 characters is over the limit"):
        given_corpus(train, [Example("ok", 0), Example("x" * 100_001, 1)])


# 3. Keys that do nothing are refused


def test_data_labels_on_a_named_corpus_is_refused(tmp_path, capsys):
    rc, out = certify(tmp_path, "data.labels=[0,1,2]")
    assert rc == 2
    assert error_line(capsys, "certify") == (
        "crowd certify: error: --set data.labels=[0,1,2]: labels are for a folder of split files: sst2 has its "
        "own labels [0, 1]; leave data.labels unset"
    )
    assert not out.exists()


USED = (
    "[used] is what a run writes into its config.json (the device and dtype it computed in), not a setting; "
    "choose the device with model.device, the dtype with the learner's table (head.dtype, full.dtype, "
    "partial.dtype)"
)


def test_the_used_key_is_refused(tmp_path, capsys):
    rc, out = certify(tmp_path, 'used.device="cuda"')
    assert rc == 2
    assert error_line(capsys, "certify") == f'crowd certify: error: --set used.device="cuda": {USED}'
    assert not out.exists()
    path = tmp_path / "run.toml"
    path.write_text('[used]\ndevice = "cuda"\n')
    with pytest.raises(ConfigError, match=rf"^{path}\.used: \[used\] is what a run writes"):
        load_certify_config(str(path))


def test_bench_refuses_the_used_key(tmp_path, capsys):
    config = Path(__file__).resolve().parents[1] / "benchmarks" / "configs" / "triggers.toml"
    out = tmp_path / "bench"
    argv = ["bench", str(config), "--scale", "smoke", "--certify", "used.device=cpu", "--out", str(out)]
    assert main(argv) == 2
    assert error_line(capsys, "bench") == f"crowd bench: error: --certify used.device=cpu: {USED}"
    assert not out.exists()


def test_an_option_value_argparse_refuses_is_one_line(capsys, tmp_path):
    """A value outside an option's choices (``crowd poison --variant foo``) is one line, not the usage block."""
    out = tmp_path / "p"
    with pytest.raises(SystemExit) as e:
        main([*POISON, "--variant", "foo", "--out", str(out)])
    assert e.value.code == 2
    line = error_line(capsys, "poison")
    assert "--variant" in line and "'foo'" in line and "crowd poison --help" in line
    assert not out.exists()
