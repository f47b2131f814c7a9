"""Asset layer model: deltas touch only the features they name; filters; selection."""

from __future__ import annotations

from shapely.geometry import box

from layers.assets.model import AssetLayerModel
from layers.base import LayerChange
from layers.projection import LocalProjection
from tests.layers import synthetic as syn


def _model(n: int = 500) -> AssetLayerModel:
    m = AssetLayerModel(LocalProjection(*syn.CENTRE))
    m.replace_all(syn.assets(n))
    return m


def test_upsert_changes_only_named_rows() -> None:
    m = _model()
    before = m.table.rows.copy()
    seen: list[LayerChange] = []
    m.changed.connect(seen.append)
    m.upsert(
        [{"id": 7, "status": "alarm"}, {"id": 300, "lon": syn.CENTRE[0], "lat": syn.CENTRE[1]}]
    )
    after = m.table.rows
    changed = {int(i) for i in after["id"][after != before]}
    assert changed == {7, 300}
    assert m.vocab["status"].names[after["status_code"][m.table.row(7)]] == "alarm"
    assert abs(after["x"][m.table.row(300)]) < 1e-6  # the projection centre is (0, 0)
    assert seen == [LayerChange("assets", frozenset({7, 300}), False)]
    assert m.record(7)["name"] == "Asset 7"  # a partial record merges into the old one


def test_remove_and_replace_all_announce_structure() -> None:
    m = _model(10)
    seen: list[LayerChange] = []
    m.changed.connect(seen.append)
    m.remove([3, 4, 99])
    assert seen[-1].ids == {3, 4} and seen[-1].structure
    m.replace_all(syn.assets(4))
    assert len(m) == 4 and seen[-1].structure and seen[-1].ids >= {1, 2, 3, 4, 10}


def test_filters_are_style_changes_and_hide_features() -> None:
    m = _model()
    seen: list[LayerChange] = []
    m.changed.connect(seen.append)
    m.set_hidden("kind", {"hydrant"})
    assert seen == [LayerChange("assets", style=frozenset({"filters"}))]
    kinds = [m.record(int(i))["kind"] for i in m.ids[m.shown_mask()]]
    assert "hydrant" not in kinds and len(kinds) == 400
    m.set_value_shown("kind", "hydrant", True)
    assert m.shown_mask().all()


def test_selection_in_polygon_and_nearest() -> None:
    m = _model()
    area = box(-300, -300, 300, 300)
    inside = set(m.ids_in(area))
    x, y = m.xy()
    expected = {
        int(i) for i, a, b in zip(m.ids, x, y, strict=True) if abs(a) < 300 and abs(b) < 300
    }
    assert inside == expected and inside
    fid = next(iter(inside))
    r = m.table.row(fid)
    assert m.nearest(float(x[r]) + 1, float(y[r]), 5.0) == fid
    m.set_hidden("status", {m.record(fid)["status"]})
    assert fid not in m.ids_in(area)


def test_legend_lists_every_status_with_counts() -> None:
    m = _model()
    legend = {(e.field, e.value): e for e in m.legend()}
    statuses = [v for f, v in legend if f == "status"]
    assert statuses == ["ok", "warning", "alarm", "out_of_service", "under_repair"]
    assert sum(e.count for (f, _), e in legend.items() if f == "status") == 500
    assert not legend[("status", "out_of_service")].filled  # shape backs the colour
