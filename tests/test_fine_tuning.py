"""One fine-tuning settings shape: the ``full`` and ``partial`` learners and the victim share their names,
keep their tables' key order (recorded in fingerprints and resolved configs) and refuse the victim's old keys."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crowd.config import ConfigError, from_dict, load_toml
from crowd.pipelines.defend import DefendConfig
from crowd.train.fine_tuning import FineTuning
from crowd.train.settings import FullFineTune, PartialFineTune, learner_fingerprint
from crowd.victim import VictimConfig
from crowd.victim.store import victim_key

SHARED = [f.name for f in dataclasses.fields(FineTuning)]


@pytest.mark.parametrize("kind", [FullFineTune, PartialFineTune, VictimConfig])
def test_learners_and_victim_share_the_fine_tuning_names(kind):
    assert issubclass(kind, FineTuning)
    assert set(SHARED) <= {f.name for f in dataclasses.fields(kind)}


def test_default_fingerprints_keep_their_keys_and_order():
    """What vote stores and kept models recorded before the settings were shared (same dict, same order)."""
    full = (
        '{"learner": "FullFineTune", "epochs": 3, "lr": 5e-05, "batch_size": 8, "weight_decay": 0.0, '
        '"warmup": 0.0, "max_grad_norm": 1.0, "max_length": 128, "dtype": "bf16", "copies_per_group": 32, '
        '"grouping": "loop", "inference_batch_size": 256}'
    )
    partial = (
        '{"learner": "PartialFineTune", "trainable_layers": 2, "epochs": 3, "lr": 0.0001, "batch_size": 32, '
        '"weight_decay": 0.0, "warmup": 0.0, "max_grad_norm": 1.0, "max_length": 64, "dtype": "bf16", '
        '"copies_per_group": 4, "inference_batch_size": 256}'
    )
    assert json.dumps(learner_fingerprint(FullFineTune())) == full
    assert json.dumps(learner_fingerprint(PartialFineTune())) == partial


def test_victim_keys_keep_their_order_and_store_key():
    names = [f.name for f in dataclasses.fields(VictimConfig)]
    assert names == [
        "model", "num_labels", "epochs", "batch_size", "lr", "weight_decay", "warmup_epochs",
        "max_grad_norm", "max_length", "inference_batch_size", "device", "dtype", "trainable_layers", "select",
    ]  # fmt: skip
    # a stored victim's key is hashed under the old names (bf16, eval_batch_size): today's stores still hit
    key = victim_key(VictimConfig(model="some/model", device="cpu"), ["a b"], [1], 0)
    assert key == "3ea8029c7a53f622cb1aa05087b8afc4fec6db9842cb00c1d300da82a31fa901"


@pytest.mark.parametrize(
    ("old", "says"),
    [("bf16 = false", 'dtype = "fp32"'), ("eval_batch_size = 64", "inference_batch_size")],
)
def test_old_victim_keys_get_one_clear_error(tmp_path: Path, old: str, says: str):
    path = tmp_path / "defend.toml"
    path.write_text(f"[victim]\n{old}\n")
    with pytest.raises(ConfigError, match="victim") as err:
        load_toml(DefendConfig, path)
    assert says in str(err.value) and str(err.value).count("\n") == 0
    with pytest.raises(ConfigError, match=says):
        from_dict(DefendConfig, {"victim": dict([old.replace(" ", "").split("=")])}, "cell")


def test_victim_dtype_is_checked():
    assert VictimConfig(dtype="fp32").dtype == "fp32"
    assert VictimConfig().inference_batch_size == 256 and not hasattr(VictimConfig(), "eval_batch_size")
    with pytest.raises(ValueError, match="dtype"):
        VictimConfig(dtype="fp16")


@pytest.mark.parametrize(
    ("schedule", "fused"),
    [({"warmup": 0.25}, None), ({"warmup_steps": 2, "zero_first": True}, None), ({}, False)],
)
def test_adamw_builder_steps_as_a_hand_built_adamw(schedule, fused):
    """The one AdamW + linear schedule builder takes the same steps as the optimiser each caller built by hand."""
    import torch

    from crowd.train.common import adamw, linear_schedule, split_decay

    def params():
        gen = torch.Generator().manual_seed(0)
        return [
            torch.randn(4, 3, generator=gen).requires_grad_(),
            torch.randn(3, generator=gen).requires_grad_(),
        ]

    built, by_hand = params(), params()
    optimizer, scheduler = adamw(*split_decay(built), 1e-2, 0.1, 8, fused=fused, **schedule)
    groups = [{"params": by_hand[:1], "weight_decay": 0.1}, {"params": by_hand[1:], "weight_decay": 0.0}]
    hand = torch.optim.AdamW(groups, lr=1e-2)
    hand_scheduler = torch.optim.lr_scheduler.LambdaLR(hand, linear_schedule(8, **schedule))
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 1]
    for step in range(8):
        for ps, opt, sch in ((built, optimizer, scheduler), (by_hand, hand, hand_scheduler)):
            opt.zero_grad()
            sum((p * (step + 1)).square().sum() for p in ps).backward()
            opt.step()
            sch.step()
        assert all(torch.equal(a, b) for a, b in zip(built, by_hand))
