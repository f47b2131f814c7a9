"""The GeoJSON importer: roads and asset layers, bad features, refusals, Cambridge whole files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import MultiLineString
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Asset, Event, Road
from backend.importers.base import ImportOptions, ImportRefused, ImportSummary, read_head
from backend.importers.geojson import IMPORTER
from backend.importers.registry import detect, import_files
from tests.conftest import ROOT, shared_file

# --- helpers ---------------------------------------------------------------


def feature(
    geometry: dict[str, Any] | None, props: dict[str, Any] | None = None, fid: Any = None
) -> dict[str, Any]:
    """A GeoJSON Feature; ``fid`` None leaves the ``id`` member out."""
    out: dict[str, Any] = {"type": "Feature", "geometry": geometry, "properties": props}
    if fid is not None:
        out["id"] = fid
    return out


def line(*coords: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def write_layer(
    folder: Path, filename: str, features: list[dict[str, Any]], **members: Any
) -> Path:
    """Write a FeatureCollection to ``folder/filename`` (``folder`` is created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    doc = {"type": "FeatureCollection", **members, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def run_import(
    sessions: sessionmaker[Session], path: Path, options: ImportOptions | None = None
) -> ImportSummary:
    with sessions.begin() as session:
        return IMPORTER.run(path, session, options or ImportOptions())


def roads_by_id(sessions: sessionmaker[Session]) -> dict[str, Road]:
    with sessions() as session:
        return {r.source_id: r for r in session.scalars(select(Road))}


def assets_by_id(sessions: sessionmaker[Session]) -> dict[str, Asset]:
    with sessions() as session:
        return {a.source_id: a for a in session.scalars(select(Asset))}


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# Cambridge centerline properties (TRANS_Centerlines schema), one-way coded by Direction.
def cambridge_props(street: str, direction: str | None, major: int | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Street": street,
        "FromNode": 1097.0,
        "ToNode": 1094.0,
        "Restriction": "F",
        "ID": street.replace(" ", "_"),
    }
    if direction is not None:
        props["Direction"] = direction
    if major is not None:
        props["MajorRoad"] = major
    return props


A, B, C = (-71.1000, 42.3700), (-71.1010, 42.3705), (-71.1020, 42.3712)

# --- sniffing --------------------------------------------------------------


def test_sniff_by_content_not_extension(tmp_path: Path) -> None:
    disguised = write_layer(tmp_path, "roads.txt", [feature(line(A, B), {}, 1)])
    assert IMPORTER.sniff(disguised, read_head(disguised))
    assert detect(disguised) is IMPORTER
    lone = tmp_path / "one.json"
    lone.write_text(json.dumps(feature(point(*A), {"HYDRANT_ID": "H1"}, 1)))
    assert IMPORTER.sniff(lone, read_head(lone))
    for name, body in {
        "plain.json": '{"a": 1}',
        "list.geojson": "[1, 2]",
        "table.csv": "type,Feature\n1,2\n",
    }.items():
        path = tmp_path / name
        path.write_text(body)
        assert not IMPORTER.sniff(path, read_head(path)), name


# --- roads -----------------------------------------------------------------


def test_cambridge_oneway_both_ways_and_classes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_layer(
        tmp_path / "cambridge",
        "TRANS_Centerlines.geojson",
        [
            feature(line(A, B), cambridge_props("Massachusetts Ave", "1", major=1), 1),
            feature(line(B, C), cambridge_props("Cambridge St", "-1", major=2), 2),
            feature(line(A, C), cambridge_props("Walker St", "0"), 3),
            feature(line(C, A), cambridge_props("Eastern Connector", None, major=0), 4),
            feature(line(A, B), cambridge_props("Weeks Footbridge", "0"), 5),
        ],
    )
    summary = run_import(sessions, path)
    assert summary.imported["roads"] == 5
    assert summary.notes["oneway_unknown"] == 1
    roads = roads_by_id(sessions)
    assert {k: (r.oneway, r.road_class, r.drivable) for k, r in roads.items()} == {
        "1": (1, "primary", True),
        "2": (-1, "secondary", True),
        "3": (0, "residential", True),
        "4": (0, "residential", True),
        "5": (0, "footway", False),
    }
    mass = roads["1"]
    assert mass.source == "cambridge/TRANS_Centerlines"
    assert mass.name == "Massachusetts Ave"
    # every source attribute kept as it came, floats and all
    assert mass.attributes == cambridge_props("Massachusetts Ave", "1", major=1)
    assert 95 < mass.length_m < 105  # about 100 m between A and B
    assert (mass.min_lon, mass.max_lat) == (B[0], B[1])


def test_generic_line_layer_and_multilinestring(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    multi = {"type": "MultiLineString", "coordinates": [[list(A), list(B)], [list(B), list(C)]]}
    path = write_layer(
        tmp_path / "town",
        "streets.geojson",
        [
            feature(multi, {"name": "Two Part Rd", "highway": "Tertiary"}, "w1"),
            feature(line(A, B), {"class": "footway"}, "w2"),
            feature(line(B, C), {"oneway": "yes"}, "w3"),
            feature(line(C, A), {"road_class": "residential", "oneway": "-1"}, "w4"),
        ],
    )
    summary = run_import(sessions, path)
    assert summary.imported["roads"] == 4 and not summary.skipped
    roads = roads_by_id(sessions)
    geom = roads["w1"].geom
    assert isinstance(geom, MultiLineString) and len(geom.geoms) == 2
    assert roads["w1"].road_class == "tertiary" and roads["w1"].name == "Two Part Rd"
    assert roads["w1"].length_m > roads["w2"].length_m  # both parts counted
    assert (roads["w2"].road_class, roads["w2"].drivable) == ("footway", False)
    assert (roads["w3"].road_class, roads["w3"].oneway) == ("unclassified", 1)
    assert roads["w4"].oneway == -1


# --- bad features ----------------------------------------------------------


def test_bad_features_are_skipped_with_reasons(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    good = feature(line(A, B), {"highway": "residential"}, 1)
    path = write_layer(
        tmp_path / "town",
        "mixed.geojson",
        [
            good,
            feature(None, {"highway": "residential"}, 2),
            {"type": "Feature", "id": 3, "properties": {}},  # no geometry member at all
            feature(line(A, A), {}, 4),  # degenerate
            feature({"type": "LineString", "coordinates": []}, {}, 5),
            feature(line(A, (200.0, 42.0)), {}, 6),
            feature(point(0.0, 0.0), {}, 7),
            feature(
                {"type": "Polygon", "coordinates": [[list(A), list(B), list(C), list(A)]]}, {}, 8
            ),
            feature({"type": "MultiPoint", "coordinates": [list(A), list(B)]}, {}, 9),
            feature({"type": "LineString", "coordinates": [["x", 1], [2, 3]]}, {}, 10),
            feature({"type": "Circle", "coordinates": [1, 2]}, {}, 11),
            feature(line(B, C), {"highway": "residential"}),  # no id anywhere
            {"type": "Topology"},
            feature(point(*A), {"HYDRANT_ID": "H1"}, 12),
            feature({"type": "MultiPoint", "coordinates": [list(B)]}, {"HYDRANT_ID": "H2"}, 13),
            feature(point(*C), ["not", "an", "object"], 14),  # type: ignore[arg-type]
        ],
    )
    summary = run_import(sessions, path)
    assert dict(summary.skipped) == {
        "missing_geometry": 2,
        "invalid_geometry": 3,
        "empty_geometry": 1,
        "out_of_range_coordinates": 1,
        "placeholder_coordinates": 1,
        "unsupported_geometry_polygon": 1,
        "unsupported_geometry_multipoint": 1,
        "no_feature_id": 1,
        "not_a_feature": 1,
        "invalid_properties": 1,
    }
    assert summary.imported == {"roads": 1, "assets": 2}
    assert summary.notes["features"] == 16 == sum(summary.skipped.values()) + 3
    assert set(roads_by_id(sessions)) == {"1"}
    # a mixed layer: its points are hydrants (HYDRANT_ID), the MultiPoint of one is a point
    assets = assets_by_id(sessions)
    assert {k: (a.kind, a.name) for k, a in assets.items()} == {
        "12": ("hydrant", "H1"),
        "13": ("hydrant", "H2"),
    }
    assert (assets["13"].lon, assets["13"].lat) == B


# --- point asset layers ----------------------------------------------------


def test_point_layer_dates_status_float_ids_and_reimport(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ms_1955 = -463_449_600_000  # 1955-04-26 (before 1970: negative, and fine)
    ms_911 = -33_418_828_800_000  # 0911-01-01: the Cambridge hydrant layer's bogus date
    ms_2999 = 32_472_144_000_000  # 2999-01-01: in the future
    hydrants: list[tuple[dict[str, Any], Any]] = [
        ({"OBJECTID": 1094.0, "INSTALLDATE": ms_1955, "LIFECYCLESTATUS": "ACT"}, None),
        ({"OBJECTID": 2.0, "INSTALLDATE": ms_911, "LIFECYCLESTATUS": "ABN"}, None),
        ({"INSTALLDATE": ms_2999, "LIFECYCLESTATUS": "MITFL", "HYDRANT_ID": "3138.2"}, 7.0),
        ({"INSTALLDATE": "2014-06-30", "LIFECYCLESTATUS": "XYZ", "GlobalID": "{AB-1}"}, None),
        ({"INSTALLDATE": "sometime", "ENABLED": 0}, "h-5"),
        ({"INSTALLDATE": None}, 6),
    ]
    path = write_layer(
        tmp_path / "cambridge",
        "INFRA_Hydrants.geojson",
        [
            feature(point(A[0] + i / 1000, A[1]), props, fid)
            for i, (props, fid) in enumerate(hydrants)
        ],
    )
    summary = run_import(sessions, path)
    assert summary.imported["assets"] == 6 and not summary.skipped
    assert summary.notes["implausible_install_date"] == 2
    assert summary.notes["unparseable_install_date"] == 1
    assert summary.notes["unknown_lifecycle_status"] == 1
    assets = assets_by_id(sessions)
    # float ids normalised; string ids kept as they are
    assert set(assets) == {"1094", "2", "7", "{AB-1}", "h-5", "6"}
    got = {k: (a.kind, a.status, a.install_date) for k, a in assets.items()}
    assert got == {
        "1094": ("hydrant", "ok", date(1955, 4, 26)),
        "2": ("hydrant", "out_of_service", None),  # date dropped, asset kept
        "7": ("hydrant", "ok", None),
        "{AB-1}": ("hydrant", "ok", date(2014, 6, 30)),
        "h-5": ("hydrant", "out_of_service", None),
        "6": ("hydrant", "ok", None),
    }
    assert assets["7"].name == "3138.2"
    assert assets["2"].attributes["INSTALLDATE"] == ms_911  # the source value stays
    assert assets["1094"].source == "cambridge/INFRA_Hydrants"

    again = run_import(sessions, path)
    assert again.imported["assets"] == 0 and again.unchanged["assets"] == 6
    assert count(sessions, Asset) == 6


def test_non_ascii_names_round_trip(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = write_layer(
        tmp_path / "helsinki",
        "Katuvalot (2019).geojson",
        [
            feature(point(24.95, 60.17), {"name": "Sörnäisten rantatie 1", "omistaja": "Städt"}, 1),
            feature(
                line((24.95, 60.17), (24.96, 60.171)),
                {"name": "Ōkubo-dōri", "highway": "primary"},
                2,
            ),
        ],
        name="Katuvalot ÄÖ",
    )
    summary = run_import(sessions, path, ImportOptions(kind="street_light"))
    assert summary.imported == {"roads": 1, "assets": 1}
    asset = assets_by_id(sessions)["1"]
    assert (asset.source, asset.name, asset.kind) == (
        "helsinki/Katuvalot ÄÖ",
        "Sörnäisten rantatie 1",
        "street_light",
    )
    assert asset.attributes["omistaja"] == "Städt"
    assert roads_by_id(sessions)["2"].name == "Ōkubo-dōri"


def test_kind_from_option_properties_file_name_or_osm_tags(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "city"
    lights = write_layer(folder, "poles.geojson", [feature(point(*A), {"FixtureType": "A2"}, 1)])
    signals = write_layer(folder, "Traffic Signals.geojson", [feature(point(*B), {"ID": 1.0}, 1)])
    osm = write_layer(
        folder,
        "export.geojson",
        [
            feature(point(*A), {"emergency": "fire_hydrant"}, "node/1"),
            feature(point(*B), {"highway": "traffic_signals"}, "node/2"),
            feature(point(*C), {"amenity": "bench"}, "node/3"),
        ],
    )
    forced = write_layer(folder, "things.geojson", [feature(point(*C), {"FixtureType": "x"}, 1)])
    run_import(sessions, lights)
    run_import(sessions, signals)
    osm_summary = run_import(sessions, osm)
    run_import(sessions, forced, ImportOptions(kind="pump"))
    with sessions() as session:
        kinds = {(a.source, a.source_id): a.kind for a in session.scalars(select(Asset))}
    assert kinds == {
        ("city/poles", "1"): "street_light",
        ("city/Traffic Signals", "1"): "traffic_signal",
        ("city/export", "node/1"): "hydrant",
        ("city/export", "node/2"): "traffic_signal",
        ("city/things", "1"): "pump",
    }
    assert osm_summary.skipped == {"unknown_asset_kind": 1}


def test_unknown_kind_and_bad_kind_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_layer(tmp_path / "city", "points.geojson", [feature(point(*A), {"a": 1}, 1)])
    with pytest.raises(ImportRefused, match="--kind"):
        run_import(sessions, path)
    with pytest.raises(ImportRefused, match="snake_case"):
        run_import(sessions, path, ImportOptions(kind="Street Light"))
    assert count(sessions, Asset) == 0


def test_duplicate_ids_in_one_file(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = write_layer(
        tmp_path / "city",
        "hydrants.geojson",
        [feature(point(*A), {}, 5), feature(point(*B), {}, 5.0), feature(point(*C), {}, 6)],
    )
    summary = run_import(sessions, path)
    assert summary.imported["assets"] == 2
    assert summary.skipped == {"duplicate_assets_id": 1}


# --- refusals --------------------------------------------------------------


def _truncated(tmp_path: Path) -> Path:
    whole = write_layer(
        tmp_path / "city",
        "hydrants.geojson",
        [feature(point(*A), {"HYDRANT_ID": f"H{i}"}, i) for i in range(50)],
    )
    text = whole.read_text()
    whole.write_text(text[: len(text) // 2])
    return whole


def test_truncated_json_is_refused_and_writes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _truncated(tmp_path)
    assert detect(path) is IMPORTER
    with pytest.raises(ImportRefused, match="truncated or corrupt"):
        run_import(sessions, path)
    assert count(sessions, Asset) == 0


def test_other_refusals(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    folder = tmp_path / "city"
    projected = write_layer(
        folder,
        "feet.geojson",
        [feature(point(765_000.0, 2_960_000.0), {}, 1)],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2249"}},
    )
    with pytest.raises(ImportRefused, match="EPSG::2249"):
        run_import(sessions, projected, ImportOptions(kind="hydrant"))
    wgs84 = write_layer(
        folder,
        "ok.geojson",
        [feature(point(*A), {}, 1)],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    )
    assert run_import(sessions, wgs84, ImportOptions(kind="hydrant")).imported["assets"] == 1
    no_list = folder / "broken.geojson"
    no_list.write_text('{"type": "FeatureCollection", "features": {}}')
    with pytest.raises(ImportRefused, match="features"):
        run_import(sessions, no_list)
    bare = folder / "bare.geojson"
    bare.write_text('{"type": "Point", "coordinates": [1, 2]}')
    with pytest.raises(ImportRefused, match="not a GeoJSON FeatureCollection"):
        run_import(sessions, bare)


def test_truncated_file_via_registry_rolls_back_only_itself(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    good = write_layer(tmp_path / "city", "signals.geojson", [feature(point(*B), {}, 1)])
    bad = _truncated(tmp_path)
    result = import_files(engine, [good, bad], ImportOptions())
    assert list(result.refused) == [str(bad)]
    assert result.total.imported["assets"] == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1  # the good file's


def test_cli_refuses_truncated_file_with_exit_code_2(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    path = _truncated(tmp_path)
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "main.py", "import", str(path), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "truncated or corrupt" in result.stderr
    assert count(sessions, Asset) == 0


def test_cli_imports_a_layer(sessions: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    path = write_layer(tmp_path / "city", "lights.geojson", [feature(point(*A), {}, 1)])
    result = subprocess.run(
        [sys.executable, "main.py", "import", str(path), "--db", db_url, "--kind", "street_light"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"]["assets"] == 1
    assert assets_by_id(sessions)["1"].kind == "street_light"


# --- the real Cambridge layers ---------------------------------------------

CAMBRIDGE = {
    # file stem: (table, features, imported, notes)
    "TRANS_Centerlines": ("roads", 2643, 2643, {"oneway_unknown": 51}),
    "INFRA_Hydrants": ("assets", 1960, 1960, {"implausible_install_date": 4}),
    "INFRA_StreetLights": ("assets", 6117, 6117, {}),
    "TRAFFIC_Signals": ("assets", 785, 785, {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("stem", list(CAMBRIDGE))
def test_cambridge_layer_imports_whole(sessions: sessionmaker[Session], stem: str) -> None:
    table, features, imported, notes = CAMBRIDGE[stem]
    path = shared_file("cambridge", f"{stem}.geojson")
    summary = run_import(sessions, path)
    assert summary.imported[table] == imported
    # every feature accounted for: imported or skipped with a reason
    assert imported + sum(summary.skipped.values()) == features == summary.notes["features"]
    assert {k: v for k, v in summary.notes.items() if k != "features"} == notes
    again = run_import(sessions, path)
    assert sum(again.imported.values()) == 0
    assert again.unchanged[table] == imported
    assert count(sessions, Road if table == "roads" else Asset) == imported


@pytest.mark.slow
def test_cambridge_details(sessions: sessionmaker[Session]) -> None:
    for stem in CAMBRIDGE:
        run_import(sessions, shared_file("cambridge", f"{stem}.geojson"))
    with sessions() as session:
        classes = dict(
            session.execute(select(Road.road_class, func.count()).group_by(Road.road_class)).all()
        )
        oneway = dict(
            session.execute(select(Road.oneway, func.count()).group_by(Road.oneway)).all()
        )
        kinds = dict(session.execute(select(Asset.kind, func.count()).group_by(Asset.kind)).all())
        hydrant_status = dict(
            session.execute(
                select(Asset.status, func.count())
                .where(Asset.kind == "hydrant")
                .group_by(Asset.status)
            ).all()
        )
        dated = session.scalar(
            select(func.count()).where(Asset.kind == "hydrant", Asset.install_date.is_not(None))
        )
        oldest = session.scalar(select(func.min(Asset.install_date)))
        cambridge_st = session.scalars(select(Road).where(Road.source_id == "1")).one()
        nameless = session.scalar(select(func.count()).where(Road.name.is_(None)))
    assert classes == {"primary": 284, "secondary": 633, "residential": 1725, "footway": 1}
    assert oneway == {1: 435, -1: 502, 0: 1706}
    assert kinds == {"hydrant": 1960, "street_light": 6117, "traffic_signal": 785}
    assert hydrant_status == {"ok": 1956, "out_of_service": 4}  # the four ABN hydrants
    assert dated == 1889 - 4  # 71 have no INSTALLDATE; 0911, 1800 and 2 x 1833 dropped
    assert oldest == date(1867, 1, 1)
    assert (cambridge_st.name, cambridge_st.road_class, cambridge_st.oneway) == (
        "Cambridge St",
        "secondary",
        0,
    )
    assert cambridge_st.attributes["ToNode"] == 1094.0
    assert nameless == 0
