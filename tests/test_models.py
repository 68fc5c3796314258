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
