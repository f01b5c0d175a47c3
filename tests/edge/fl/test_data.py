"""Client data: the held-out set is disjoint from training, partitions are skewed, edge stays flwr-free."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from frugalstack.edge.fl.data import (
    PartitionSource,
    load_intent_corpus,
    partition_corpus,
    partition_non_iid,
    save_partitions,
)
from frugalstack.edge.fl.devices import assign_devices


def test_held_out_texts_never_appear_in_training() -> None:
    from frugalstack.edge.fl.data import _intent_texts

    train, test, _ = _intent_texts()
    assert len(train) > 800 and len(test) > 300
    assert not {r[0].lower() for r in train} & {r[0].lower() for r in test}


def test_partitions_are_non_iid_in_labels_and_sizes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    corpus = load_intent_corpus()
    parts = partition_corpus(corpus, 20, alpha=0.3, mean_size=24, seed=3)
    sizes = np.array([len(p) for p in parts])
    assert sizes.max() >= 3 * sizes.min()

    def skew(ps: list[np.ndarray]) -> float:  # mean pairwise total-variation distance between devices' intents
        h = np.array([np.bincount(corpus.y_train[p], minlength=len(corpus.classes)) / len(p) for p in ps])
        return float((0.5 * np.abs(h[:, None, :] - h[None, :, :]).sum(axis=2)).mean())

    iid = partition_non_iid(corpus.y_train, 20, alpha=1000.0, mean_size=24, seed=3)
    assert skew(parts) > skew(iid) + 0.2
    path = save_partitions(corpus, parts, tmp_path / "p.npz")
    local = PartitionSource(str(path), 4).load()
    assert np.array_equal(local.y, corpus.y_train[parts[4]]) and local.x.shape == (len(parts[4]), 384)


def test_devices_come_from_the_shipped_profiles_with_speeds() -> None:
    devices = assign_devices(50, seed=0)
    assert {d.device_class for d in devices} >= {"phone", "laptop"}
    slow = min(devices, key=lambda d: d.relative_speed)
    assert slow.steps_done(20, 1.0) < 20 <= max(devices, key=lambda d: d.relative_speed).steps_done(20, 1.0)


def test_importing_edge_does_not_import_flwr() -> None:
    code = "import sys, frugalstack.edge, frugalstack.edge.fl; assert 'flwr' not in sys.modules, 'flwr imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_product_category_preferences_differ_between_devices() -> None:
    corpus = load_intent_corpus()
    assert corpus.categories is not None
    if corpus.categories.max() < 1:
        import pytest

        pytest.skip("the sample dataset (issue 4) with product categories is not installed")
    n_cats = int(corpus.categories.max()) + 1
    categories: np.ndarray = corpus.categories

    def spread(alpha: float) -> float:
        parts = partition_non_iid(corpus.y_train, 30, alpha=alpha, mean_size=40, seed=5, categories=corpus.categories)
        hs = []
        for p in parts:
            cats = categories[p]
            cats = cats[cats >= 0]
            if len(cats) >= 5:
                hs.append(np.bincount(cats, minlength=n_cats) / len(cats))
        h = np.array(hs)
        return float((0.5 * np.abs(h[:, None, :] - h[None, :, :]).sum(axis=2)).mean())

    assert spread(0.2) > spread(1000.0) + 0.1
