"""The on-disk feature cache: content addressing, crash safety, concurrency, and HeadOnly through it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from crowd.train import feature_cache as fc
from crowd.train import feature_shard

KEY = fc.shard_key("model-x", "mean", 16, "fp32", "cpu")


def rows(n: int, width: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    ids = gen.integers(5, 1000, size=(n, width)).astype(np.int32)
    lengths = gen.integers(1, width + 1, size=n)
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int32)
    return ids * mask, mask


def fake_features(ids: np.ndarray) -> np.ndarray:
    """A deterministic stand-in encoder: features are a function of the row's ids."""
    return np.stack([np.sin(ids.sum(axis=1) * (k + 1) / 7.0) for k in range(4)], axis=1).astype(np.float32)


def test_row_digest_ignores_padding_and_unattended_ids():
    ids = np.array([[5, 6, 7, 0, 0], [5, 6, 7, 9, 9], [5, 6, 8, 0, 0], [5, 6, 7, 0, 0]])
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
    d = fc.row_digests(ids, mask)
    narrow = fc.row_digests(ids[:1, :3], mask[:1, :3])
    assert (d[0] == d[1]).all() and (d[0] == narrow[0]).all()  # padding width, unattended ids
    assert not (d[0] == d[2]).all() and not (d[0] == d[3]).all()  # an id, the mask


def test_second_lookup_hits_and_returns_the_stored_bytes(tmp_path):
    fc.reset_cache_stats()
    cache = fc.FeatureCache(tmp_path)
    ids, mask = rows(50)
    digests = fc.row_digests(ids, mask)
    calls = []

    def compute(sel):
        calls.append(len(sel))
        return fake_features(ids[sel])

    first = cache.features(KEY, digests[:30], compute)
    both = cache.features(KEY, digests, compute)
    assert calls == [30, 20]
    np.testing.assert_array_equal(first, fake_features(ids[:30]))
    np.testing.assert_array_equal(both, fake_features(ids))
    again = fc.FeatureCache(tmp_path).features(KEY, digests[::-1], compute)
    assert calls == [30, 20]
    np.testing.assert_array_equal(again, fake_features(ids)[::-1])
    stats = fc.cache_stats()
    assert (stats.requested, stats.hits, stats.written, stats.rows_on_disk) == (130, 80, 50, 50)
    assert stats.bytes_on_disk >= 50 * 4 * 4 and "hit" in str(stats) and stats.as_dict()["hit_rate"] > 0.6


def test_killed_writer_leaves_a_readable_cache(tmp_path, monkeypatch):
    cache = fc.FeatureCache(tmp_path)
    ids, mask = rows(40)
    digests = fc.row_digests(ids, mask)
    cache.features(KEY, digests[:20], lambda sel: fake_features(ids[sel]))
    shard = cache.shard(KEY)

    def killed(*args, **kwargs):  # dies after the feature rows are written, before the index moves
        raise KeyboardInterrupt

    monkeypatch.setattr(feature_shard, "write_npy", killed)
    with pytest.raises(KeyboardInterrupt):
        cache.features(KEY, digests, lambda sel: fake_features(ids[sel]))
    monkeypatch.undo()
    assert (shard.folder / "features.f32").stat().st_size > 20 * 16  # the orphan tail is there
    with open(shard.folder / "features.f32", "ab") as f:
        f.write(b"\x01\x02\x03")  # and a half row on top of it
    fresh = fc.FeatureShard(shard.folder, KEY)
    assert fresh.count == 20 and (fresh.lookup(digests)[20:] == -1).all()
    np.testing.assert_array_equal(fresh.read(np.arange(20)), fake_features(ids[:20]))
    out = cache.features(KEY, digests, lambda sel: fake_features(ids[sel]))
    np.testing.assert_array_equal(out, fake_features(ids))
    assert (shard.folder / "features.f32").stat().st_size == 40 * 16  # tail replaced, not kept


def test_concurrent_writers_store_each_row_once(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from crowd.train import feature_cache as fc
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_train_feature_cache import KEY, rows, fake_features
        ids, mask = rows(300)
        d = fc.row_digests(ids, mask)
        cache = fc.FeatureCache(sys.argv[1])
        order = np.random.default_rng(int(sys.argv[2])).permutation(300)
        for part in np.array_split(order, 30):
            out = cache.features(KEY, d[part], lambda sel: fake_features(ids[part][sel]))
            assert np.array_equal(out, fake_features(ids[part]))
        """
    )
    root = Path(__file__).resolve().parents[1]
    env = {"PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(s)], env=env) for s in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    shard = fc.FeatureCache(tmp_path).shard(KEY)
    ids, mask = rows(300)
    digests = fc.row_digests(ids, mask)
    unique = len(np.unique(digests, axis=0))
    assert shard.count == unique
    np.testing.assert_array_equal(shard.read(shard.lookup(digests)), fake_features(ids))


def test_size_cap_computes_but_stops_storing(tmp_path):
    fc.reset_cache_stats()
    cache = fc.FeatureCache(tmp_path, max_bytes=10 * 16)
    ids, mask = rows(30)
    digests = fc.row_digests(ids, mask)
    with pytest.warns(UserWarning, match="reached"):
        out = cache.features(KEY, digests, lambda sel: fake_features(ids[sel]))
    np.testing.assert_array_equal(out, fake_features(ids))
    assert cache.shard(KEY).count == 10 and fc.cache_stats().full


def test_unwritable_cache_warns_and_returns_computed_rows(tmp_path, monkeypatch):
    ids, mask = rows(5)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fc.FeatureShard, "append", disk_full)
    with pytest.warns(UserWarning, match="not written"):
        out = fc.FeatureCache(tmp_path).features(
            KEY, fc.row_digests(ids, mask), lambda sel: fake_features(ids[sel])
        )
    np.testing.assert_array_equal(out, fake_features(ids))


def test_shard_of_other_settings_is_refused(tmp_path):
    cache = fc.FeatureCache(tmp_path)
    ids, mask = rows(3)
    cache.features(KEY, fc.row_digests(ids, mask), lambda sel: fake_features(ids[sel]))
    folder = cache.shard(KEY).folder
    with pytest.raises(ValueError, match="holds features of"):
        fc.FeatureShard(folder, fc.shard_key("model-y", "mean", 16, "fp32", "cpu"))


def test_model_identity_follows_content_not_path(tiny_bert, tmp_path):
    copy = Path(shutil.copytree(tiny_bert, tmp_path / "copy"))
    assert fc.model_identity(copy) == fc.model_identity(tiny_bert)
    weights = next(p for p in copy.iterdir() if p.suffix == ".safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert fc.model_identity(copy) != fc.model_identity(tiny_bert)
    with pytest.raises(FileNotFoundError, match="config.json"):
        fc.model_identity(tmp_path)
