"""The shared layer machinery: feature table, batched events, refused records."""

from __future__ import annotations

import numpy as np
import pytest

from layers.assets.model import AssetLayerModel
from layers.base import FeatureTable, LayerChange, LayerInputError, to_epoch
from layers.projection import LocalProjection
from tests.layers import synthetic as syn


def _model() -> AssetLayerModel:
    return AssetLayerModel(LocalProjection(*syn.CENTRE))


def test_feature_table_stays_packed_after_removal() -> None:
    t = FeatureTable(np.dtype([("id", "i8"), ("v", "f8")]), capacity=2)
    for i in range(5):
        r, new = t.ensure(i)
        assert new
        t.rows["v"][r] = i * 10
    assert t.remove([1, 42]) == [1]
    assert len(t) == 4
    assert sorted(t.rows["id"].tolist()) == [0, 2, 3, 4]
    for fid in (0, 2, 3, 4):
        assert t.rows["v"][t.row(fid)] == fid * 10


def test_hold_delivers_one_merged_change() -> None:
    m = _model()
    seen: list[LayerChange] = []
    m.changed.connect(seen.append)
    with m.changed.hold():
        m.upsert(syn.assets(3))
        m.upsert([{"id": 2, "status": "alarm"}])
        m.set_opacity(0.5)
    assert len(seen) == 1
    assert seen[0].ids == {1, 2, 3} and seen[0].structure and seen[0].style == {"opacity"}


def test_bad_records_are_refused_and_good_ones_kept() -> None:
    m = _model()
    good = syn.assets(2)
    with pytest.raises(LayerInputError) as err:
        m.upsert([good[0], {"kind": "pump"}, {"id": 9, "lon": "east", "lat": 1}, good[1]])
    assert len(err.value.errors) == 2
    assert sorted(m.ids.tolist()) == [1, 2]
    assert 9 not in m.records


def test_times_parse_iso_and_datetimes() -> None:
    assert to_epoch(syn.NOW) == to_epoch(syn.NOW.isoformat()) == syn.NOW.timestamp()
    assert to_epoch("2025-06-02T14:00:00Z") == syn.NOW.timestamp()
    assert np.isnan(to_epoch(None))
