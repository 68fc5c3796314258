import pytest

from crowd.train.models import ModelNotFoundError, resolve_model


def test_minilm_alias_honours_crowd_minilm(tiny_bert, monkeypatch):
    monkeypatch.setenv("CROWD_MINILM", str(tiny_bert))
    assert resolve_model("minilm") == str(tiny_bert)


def test_bad_model_names_are_named(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no/such/dir"):
        resolve_model("./no/such/dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"  # a hub name passes through


def test_loaded_model_switches_mode_on_meta_without_kernels(tiny_bert):
    """transformers 5.25 kernelizes on ``train()``/``eval()`` (fails on ``meta``); crowd loads without kernels
    and switches modes through torch alone, so the functional copies of the ``full`` learner work."""
    from crowd.train.models import load_classifier, set_training

    model = load_classifier(tiny_bert, 2)
    assert not getattr(model, "use_kernels", False)
    base = model.to("meta")
    assert set_training(base, True) is base and base.training
    assert all(m.training for m in base.modules())
    set_training(base, False)
    assert not any(m.training for m in base.modules())
