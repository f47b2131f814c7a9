"""Batched upserts: one pass per batch, same results as record by record."""

from __future__ import annotations

import numpy as np
import pytest

from layers.assets.model import AssetLayerModel
from layers.base import FeatureTable, LayerInputError
from layers.projection import LocalProjection
from tests.layers import synthetic as syn


def test_ensure_many_appends_new_ids_once() -> None:
    t = FeatureTable(np.dtype([("id", "i8"), ("v", "f8")]), capacity=2)
    t.ensure(7)
    rows, new = t.ensure_many(np.array([7, 8, 9]))
    assert rows.tolist() == [0, 1, 2] and new.tolist() == [False, True, True]
    assert t.rows["id"].tolist() == [7, 8, 9] and t.row(9) == 2


def test_batch_matches_one_by_one_and_moves_reproject() -> None:
    p = LocalProjection(*syn.CENTRE)
    recs = syn.assets(300)
    a, b = AssetLayerModel(p), AssetLayerModel(p)
    a.upsert(recs)
    for r in recs:
        b.upsert([r])
    assert np.array_equal(a.table.rows, b.table.rows)
    x0, y0 = a.xy()[0].copy(), a.xy()[1].copy()
    # A status-only change keeps the position; a move reprojects just that asset.
    a.upsert([{"id": 1, "status": "alarm"}, {"id": 2, "lon": syn.CENTRE[0], "lat": syn.CENTRE[1]}])
    x, y = a.xy()
    r1, r2 = a.table.row(1), a.table.row(2)
    assert (x[r1], y[r1]) == (x0[r1], y0[r1])
    assert abs(x[r2]) < 1e-6 and abs(y[r2]) < 1e-6
    assert a.record(1)["status"] == "alarm" and a.record(1)["name"] == "Asset 1"


def test_repeated_ids_in_one_batch_fold_in_order() -> None:
    m = AssetLayerModel(LocalProjection(*syn.CENTRE))
    m.upsert(syn.assets(3))
    m.upsert([{"id": 2, "status": "alarm"}, {"id": 2, "kind": "pump"}, {"id": 4, "lon": None}])
    assert m.record(2)["status"] == "alarm" and m.record(2)["kind"] == "pump"
    assert np.isnan(m.xy()[0][m.table.row(4)])
    with pytest.raises(LayerInputError):
        m.upsert([{"id": 3, "lon": "east"}, {"id": 5, "lon": -71.1, "lat": 42.37}])
    assert 5 in m.records and m.record(3)["lon"] != "east"
