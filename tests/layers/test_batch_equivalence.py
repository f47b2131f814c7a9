"""Bulk upserts end exactly where applying the same records one at a time ends.

Random sequences of batches (partial records, repeated ids, bad records,
unknown vocabulary values, removals and snapshots in between) go to one model
as batches and to a twin one record at a time; after every step both must hold
the same records, the same vocabularies and the same per-feature columns, and
those must be what a plain record-by-record reference (dict merges and the
field rules written out per record, below) says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from layers import palette
from layers.assets.model import AssetLayerModel
from layers.base import FeatureTable, LayerInputError, LayerModel, to_epoch
from layers.crews.model import CrewLayerModel
from layers.issues.model import IssueLayerModel
from layers.projection import LocalProjection
from tests.layers import synthetic as syn

Op = tuple[str, Any]


def _clock() -> Any:
    return syn.NOW


def _lon(rng: np.random.Generator) -> Any:
    r = rng.random()
    if r < 0.08:
        return None
    if r < 0.12:
        return "east"  # refused
    if r < 0.16:
        return str(syn.CENTRE[0] + 0.01)  # a number as text converts
    if r < 0.18:
        return float("nan")
    return syn.CENTRE[0] + float(rng.uniform(-0.02, 0.02))


def _lat(rng: np.random.Generator) -> Any:
    r = rng.random()
    if r < 0.08:
        return None
    if r < 0.11:
        return [42.0]  # refused
    return syn.CENTRE[1] + float(rng.uniform(-0.02, 0.02))


def _when(rng: np.random.Generator) -> Any:
    r = rng.random()
    t = syn.NOW - timedelta(seconds=float(rng.exponential(3 * 86400.0)))
    if r < 0.1:
        return None
    if r < 0.15:
        return "yesterday"  # refused
    if r < 0.5:
        return t.isoformat()
    return t


def _pick(rng: np.random.Generator, values: tuple[Any, ...]) -> Any:
    return values[int(rng.integers(len(values)))]


FIELDS: dict[str, dict[str, Callable[[np.random.Generator], Any]]] = {
    "assets": {
        "kind": lambda g: _pick(g, (*syn.ASSET_KINDS, "kiosk", None, "", 7)),
        "status": lambda g: _pick(g, (*syn.ASSET_STATUSES, "flooded", None, "")),
        "lon": _lon,
        "lat": _lat,
        "name": lambda g: f"Asset {int(g.integers(1000))}",
    },
    "issues": {
        "category": lambda g: _pick(g, (*syn.CATEGORIES, "Rats", None)),
        "status": lambda g: _pick(g, ("open", "open", "acknowledged", "closed", None)),
        "requested_at": _when,
        "lon": _lon,
        "lat": _lat,
        "address": lambda g: f"{int(g.integers(100))} Main St",
    },
    "crews": {
        "status": lambda g: _pick(g, (*syn.CREW_STATUSES, "lunch", None)),
        "last_lon": _lon,
        "last_lat": _lat,
        "last_heading": lambda g: _pick(g, (0.0, 90.0, 725.0, -45.0, None, "north")),
        "last_seen_at": _when,
        "name": lambda g: f"Crew {int(g.integers(50))}",
    },
}


def _record(kind: str, fid: Any, rng: np.random.Generator) -> Any:
    r = rng.random()
    if r < 0.02:
        return {"name": "no id"}  # refused
    if r < 0.03:
        return None  # not even a dict: refused
    fields = FIELDS[kind]
    names = list(fields)
    if rng.random() < 0.35:  # a full record
        chosen = names
    else:  # a partial one
        chosen = [n for n in names if rng.random() < 0.35] or [names[0]]
    rec: dict[str, Any] = {"id": str(fid) if rng.random() < 0.03 else fid}
    for n in chosen:
        rec[n] = fields[n](rng)
    return rec


def _ops(kind: str, seed: int, steps: int = 14, n_ids: int = 30) -> Iterator[Op]:
    rng = np.random.default_rng(seed)
    for step in range(steps):
        if step == 6:
            yield "replace_all", [_record(kind, i, rng) for i in range(1, n_ids, 2)]
            continue
        size = int(rng.integers(1, 40))
        yield "upsert", [_record(kind, int(rng.integers(1, n_ids)), rng) for _ in range(size)]
        if rng.random() < 0.4:
            yield "remove", [int(i) for i in rng.integers(1, n_ids, 4)]


def _model(kind: str) -> LayerModel:
    p = LocalProjection(*syn.CENTRE)
    cls = {"assets": AssetLayerModel, "issues": IssueLayerModel, "crews": CrewLayerModel}[kind]
    return cls(p, clock=_clock)


def _bulk(m: LayerModel, op: Op) -> list[str]:
    name, arg = op
    try:
        if name == "remove":
            m.remove(arg)
        else:
            getattr(m, name)(arg)
    except LayerInputError as exc:
        return exc.errors
    return []


def _one_by_one(m: LayerModel, op: Op) -> list[str]:
    name, arg = op
    if name == "remove":
        for fid in arg:
            m.remove([fid])
        return []
    if name == "replace_all":
        m.replace_all([])
    errors: list[str] = []
    for rec in arg:
        try:
            m.upsert([rec])
        except LayerInputError as exc:
            errors += exc.errors
    return errors


def _by_id(m: LayerModel) -> np.ndarray:
    rows = m.table.rows
    return rows[np.argsort(rows["id"], kind="stable")]


def assert_same_state(a: LayerModel, b: LayerModel) -> None:
    """Same records, vocabularies, per-feature columns, and a consistent id index."""
    assert a.records == b.records
    assert {f: v.names for f, v in a.vocab.items()} == {f: v.names for f, v in b.vocab.items()}
    ra, rb = _by_id(a), _by_id(b)
    assert ra.dtype == rb.dtype and len(ra) == len(rb)
    for f in ra.dtype.names or ():
        np.testing.assert_array_equal(ra[f], rb[f], err_msg=f)
    for m in (a, b):
        assert sorted(m.records) == sorted(m.ids.tolist())
        for fid, rec in m.records.items():
            row = m.table.row(fid)
            assert m.table.rows["id"][row] == fid
            assert m.table.objects[row] is rec  # the row points at the stored record


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _reference_columns(kind: str, rec: dict[str, Any], p: LocalProjection) -> dict[str, Any]:
    """A feature's columns from its merged record, one rule at a time (raises when refused)."""
    now = syn.NOW.timestamp()
    out: dict[str, Any] = {}
    if kind == "issues":
        ts = to_epoch(rec.get("requested_at"))
        out["requested_ts"] = ts
        out["age_band"] = palette.age_band(now - ts) if np.isfinite(ts) else 0
    if kind == "crews":
        h = rec.get("last_heading")
        out["heading"] = float("nan") if h is None else float(h) % 360.0
        seen = to_epoch(rec.get("last_seen_at"))
        out["seen_ts"] = seen
        out["stale"] = not np.isfinite(seen) or now - seen > 120.0
        quiet = np.isfinite(seen) and now - seen > 120.0
        out["stale_min"] = int((now - seen) // 60) if quiet else -1
    prefix = "last_" if kind == "crews" else ""
    lon, lat = _float(rec.get(prefix + "lon")), _float(rec.get(prefix + "lat"))
    if not (np.isfinite(lon) and np.isfinite(lat)):
        lon = lat = float("nan")
    out["lon"], out["lat"] = lon, lat
    if np.isfinite(lon):
        x, y = p.forward(lon, lat)
        out["x"], out["y"] = float(x), float(y)
    else:
        out["x"] = out["y"] = float("nan")
    defaults = {
        "assets": {"kind": "unknown", "status": "ok"},
        "issues": {"category": "Other", "status": "open"},
        "crews": {"status": "available"},
    }[kind]
    for f, default in defaults.items():
        out[f] = str(rec.get(f) or default)
    return out


def _reference_fold(kind: str, ref: dict[int, dict[str, Any]], op: Op) -> None:
    """Apply an operation to plain merged records, one record at a time."""
    name, arg = op
    if name == "remove":
        for fid in arg:
            ref.pop(fid, None)
        return
    if name == "replace_all":
        ref.clear()
    p = LocalProjection(*syn.CENTRE)
    for rec in arg:
        try:
            fid = int(rec["id"])
        except (KeyError, TypeError, ValueError):
            continue
        merged = {**ref.get(fid, {}), **rec}
        if kind == "issues" and str(merged.get("status") or "open") == "closed":
            ref.pop(fid, None)
            continue
        try:
            _reference_columns(kind, merged, p)
        except (TypeError, ValueError):
            continue
        ref[fid] = merged


def assert_follows_reference(kind: str, m: LayerModel, ref: dict[int, dict[str, Any]]) -> None:
    """The model holds the reference's records, and each row is what its record says."""
    assert m.records == ref
    rows = m.table.rows
    for fid, rec in ref.items():
        want = _reference_columns(kind, rec, m.projection)
        row = rows[m.table.row(fid)]
        for f, v in want.items():
            if f in m.vocab:
                assert m.vocab[f].names[row[f + "_code"]] == v, (fid, f)
            elif isinstance(v, float):
                np.testing.assert_allclose(row[f], v, rtol=0, atol=1e-9, err_msg=f"{fid} {f}")
            else:
                assert row[f] == v, (fid, f)


@pytest.mark.parametrize("kind", ["assets", "issues", "crews"])
@pytest.mark.parametrize("seed", range(8))
def test_batches_end_as_one_record_at_a_time(kind: str, seed: int) -> None:
    bulk, single = _model(kind), _model(kind)
    ref: dict[int, dict[str, Any]] = {}
    for op in _ops(kind, seed):
        errors_bulk = _bulk(bulk, op)
        errors_single = _one_by_one(single, op)
        _reference_fold(kind, ref, op)
        assert sorted(errors_bulk) == sorted(errors_single)
        assert_same_state(bulk, single)
        assert_follows_reference(kind, bulk, ref)


def test_the_scenarios_really_mix_everything() -> None:
    """The random batches do hold what the equivalence test claims to cover."""
    ops = [op for seed in range(8) for op in _ops("assets", seed)]
    batches = [arg for name, arg in ops if name == "upsert"]
    recs = [r for b in batches for r in b if isinstance(r, dict) and "id" in r]
    assert any(name == "remove" for name, _ in ops)
    assert any(
        len({r["id"] for r in b if isinstance(r, dict) and "id" in r}) < len(b) for b in batches
    )
    assert any(set(r) == {"id", "status"} for r in recs)
    assert any(r.get("lon") == "east" for r in recs)
    assert any(r.get("kind") == "kiosk" for r in recs)
    m, errors = _model("assets"), []
    for op in ops[:20]:
        errors += _bulk(m, op)
    assert errors and len(m) > 0


def test_same_state_is_a_real_check() -> None:
    a, b = _model("assets"), _model("assets")
    a.upsert(syn.assets(5))
    b.upsert(syn.assets(5))
    assert_same_state(a, b)
    b.upsert([{"id": 3, "status": "alarm"}])
    with pytest.raises(AssertionError):
        assert_same_state(a, b)


def test_a_snapshot_load_matches_records_one_at_a_time() -> None:
    recs = syn.assets(2000)
    a, b = _model("assets"), _model("assets")
    a.replace_all(recs)
    for r in recs:
        b.upsert([r])
    assert_same_state(a, b)
    assert np.array_equal(a.table.rows, b.table.rows)  # same row order too


def test_partial_updates_merge_into_copies_never_the_callers_dicts() -> None:
    m = _model("assets")
    recs = syn.assets(3)
    m.replace_all(recs)
    m.upsert([{"id": 2, "status": "alarm"}])
    assert recs[1]["status"] != "alarm" or syn.assets(3)[1]["status"] == "alarm"
    assert m.record(2)["status"] == "alarm" and m.record(2)["name"] == "Asset 2"
    assert m.record(2) is not recs[1]


def test_status_changes_do_not_reproject() -> None:
    class Counting(LocalProjection):
        calls = 0

        def forward(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
            Counting.calls += 1
            return super().forward(lon, lat)

    m = AssetLayerModel(Counting(*syn.CENTRE))
    m.replace_all(syn.assets(500))
    assert Counting.calls == 1  # the whole load in one projection call
    m.upsert([{"id": i, "status": "alarm"} for i in range(1, 400)])
    assert Counting.calls == 1
    m.upsert([{"id": 5, "lon": syn.CENTRE[0]}, {"id": 6, "name": "renamed"}])
    assert Counting.calls == 2
    assert m.record(6)["name"] == "renamed"


def test_crew_trail_keeps_every_position_of_a_burst() -> None:
    m = _model("crews")
    m.upsert([{"id": 1, "last_lon": syn.CENTRE[0], "last_lat": syn.CENTRE[1]}])
    burst = [
        {"id": 1, "last_lon": syn.CENTRE[0] + 0.001 * k, "last_lat": syn.CENTRE[1]}
        for k in range(1, 11)
    ]
    m.upsert(burst)  # one id, ten positions: each one is a trail point, as one at a time
    row = m.table.row(1)
    assert m.table.rows["trail_n"][row] == 8
    x, _ = m.projection.forward(syn.CENTRE[0] + 0.01, syn.CENTRE[1])
    assert m.table.rows["trail"][row][-1][0] == pytest.approx(float(x))


def test_feature_table_index_follows_random_changes() -> None:
    rng = np.random.default_rng(4)
    t = FeatureTable(np.dtype([("id", "i8"), ("v", "f8")]), capacity=4)
    t.tail_limit = 8  # merge the one-at-a-time ids into the sorted index often
    ref: dict[int, float] = {}
    for _ in range(300):
        r = rng.random()
        ids = [int(i) for i in rng.integers(0, 200, int(rng.integers(1, 30)))]
        if r < 0.3:
            for fid in ids[:3]:
                row, new = t.ensure(fid)
                assert new == (fid not in ref)
                t.rows["v"][row] = ref.setdefault(fid, float(rng.random()))
                t.objects[row] = ("obj", fid)
        elif r < 0.6:
            distinct = list(dict.fromkeys(ids))
            rows, new = t.ensure_many(np.array(distinct))
            assert new.tolist() == [fid not in ref for fid in distinct]
            for fid, row in zip(distinct, rows.tolist(), strict=True):
                t.rows["v"][row] = ref.setdefault(fid, float(rng.random()))
                t.objects[row] = ("obj", fid)
        else:
            gone = t.remove(ids)
            assert gone == list(dict.fromkeys(i for i in ids if i in ref))
            for fid in gone:
                del ref[fid]
        assert len(t) == len(ref)
        assert sorted(t.rows["id"].tolist()) == sorted(ref)
        for fid, v in ref.items():
            row = t.row(fid)
            assert fid in t and t.rows["v"][row] == v and t.objects[row] == ("obj", fid)
        probe = np.array([*ref, 500, -1], dtype=np.int64)
        assert t.rows["id"][t.rows_of(probe)].tolist() == list(ref)
        assert 500 not in t and "7" not in t
    with pytest.raises(KeyError):
        t.row(500)
