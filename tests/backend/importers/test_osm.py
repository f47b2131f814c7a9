"""The OpenStreetMap importer on hand-written XML and on the real Helsinki extract."""

from __future__ import annotations

import bz2
import gzip
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from shapely import wkb
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Asset, Event, Road
from backend.importers.base import ImportOptions, ImportRefused, ImportSummary, read_head
from backend.importers.osm import (
    IMPORTER,
    detect_format,
    drivable_of,
    longest_run,
    oneway_of,
    parse_start_date,
)
from tests.conftest import ROOT, shared_file

# A tiny street corner: nodes 997-999 are referenced but absent, as at an extract's edge.
SMALL_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="60.1700" lon="24.9400"/>
  <node id="2" lat="60.1700" lon="24.9410"/>
  <node id="3" lat="60.1705" lon="24.9420"/>
  <node id="4" lat="60.1702" lon="24.9405">
    <tag k="highway" v="street_lamp"/>
    <tag k="ref" v="L-17"/>
    <tag k="start_date" v="2015-06"/>
  </node>
  <node id="5" lat="60.1703" lon="24.9415">
    <tag k="emergency" v="fire_hydrant"/>
    <tag k="fire_hydrant:type" v="pillar"/>
    <tag k="start_date" v="before 1990"/>
  </node>
  <node id="6" lat="60.1710" lon="24.9400"/>
  <node id="7" lat="60.1712" lon="24.9401"/>
  <node id="8" lat="60.1714" lon="24.9402"/>
  <node id="9" lat="60.1716" lon="24.9403"/>
  <node id="10" lat="60.1718" lon="24.9404"><tag k="highway" v="crossing"/></node>
  <way id="100">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/>
    <tag k="name" v="Testikatu"/>
    <tag k="oneway" v="yes"/>
  </way>
  <way id="101">
    <nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="footway"/>
  </way>
  <way id="102">
    <nd ref="8"/><nd ref="9"/>
    <tag k="highway" v="steps"/>
    <tag k="step_count" v="12"/>
  </way>
  <way id="103">
    <nd ref="3"/><nd ref="999"/>
    <tag k="highway" v="residential"/>
  </way>
  <way id="104">
    <nd ref="998"/><nd ref="7"/><nd ref="8"/><nd ref="997"/><nd ref="9"/>
    <tag k="highway" v="service"/>
  </way>
</osm>
"""


def write_small(tmp_path: Path, name: str = "corner.osm") -> Path:
    """The hand-written extract as a file."""
    path = tmp_path / name
    path.write_text(SMALL_OSM, encoding="utf-8")
    return path


def import_file(sessions: sessionmaker[Session], path: Path) -> ImportSummary:
    """Run the OSM importer on ``path`` in one transaction."""
    with sessions.begin() as session:
        return IMPORTER.run(path, session, ImportOptions())


def table_counts(engine: Engine) -> tuple[int, int, int]:
    """(roads, assets, events) rows stored."""
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Road)) or 0,
            session.scalar(select(func.count()).select_from(Asset)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
        )


def test_small_extract_rows(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    summary = import_file(sessions, write_small(tmp_path))

    assert summary.imported == {"roads": 4, "assets": 2}
    assert summary.skipped == {"way_missing_nodes": 1}
    assert summary.notes == {"roads_clipped": 1, "start_date_not_a_date": 1}
    with sessions() as session:
        roads = {r.source_id: r for r in session.scalars(select(Road))}
        assets = {a.source_id: a for a in session.scalars(select(Asset))}

    assert set(roads) == {"way/100", "way/101", "way/102", "way/104"}
    street = roads["way/100"]
    assert (street.source, street.name, street.road_class) == ("osm", "Testikatu", "residential")
    assert (street.drivable, street.oneway) == (True, 1)
    assert street.attributes == {"highway": "residential", "name": "Testikatu", "oneway": "yes"}
    assert list(street.geom.coords) == [(24.94, 60.17), (24.941, 60.17), (24.942, 60.1705)]
    # 133.7 m by the haversine formula; the ellipsoid differs by well under 1 %.
    assert street.length_m == pytest.approx(133.7, rel=0.01)
    assert (street.min_lon, street.max_lat) == (24.94, 60.1705)
    assert (roads["way/101"].drivable, roads["way/101"].oneway) == (False, 0)
    assert roads["way/102"].drivable is False
    assert roads["way/102"].attributes["step_count"] == "12"
    # Clipped at both missing nodes: the longest present run is 7-8.
    assert list(roads["way/104"].geom.coords) == [(24.9401, 60.1712), (24.9402, 60.1714)]
    assert roads["way/104"].drivable is True

    assert set(assets) == {"node/4", "node/5"}
    lamp, hydrant = assets["node/4"], assets["node/5"]
    assert (lamp.kind, lamp.name, lamp.lon, lamp.lat) == ("street_light", "L-17", 24.9405, 60.1702)
    assert lamp.install_date == date(2015, 6, 1)
    assert (lamp.source, lamp.status, lamp.geom) == ("osm", "ok", None)
    assert (hydrant.kind, hydrant.name, hydrant.install_date) == ("hydrant", None, None)
    assert hydrant.attributes == {
        "emergency": "fire_hydrant",
        "fire_hydrant:type": "pillar",
        "start_date": "before 1990",
    }


def test_reimport_changes_nothing(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = write_small(tmp_path)
    import_file(sessions, path)
    again = import_file(sessions, path)

    assert again.imported == {"roads": 0, "assets": 0}
    assert again.unchanged == {"roads": 4, "assets": 2}
    assert table_counts(engine)[:2] == (4, 2)


@pytest.mark.parametrize("compress", ["gzip", "bzip2"])
def test_compressed_xml_by_content(
    sessions: sessionmaker[Session], tmp_path: Path, compress: str
) -> None:
    # Misleading names on purpose: the content decides the format.
    path = tmp_path / "corner.dat"
    raw = SMALL_OSM.encode()
    path.write_bytes(gzip.compress(raw) if compress == "gzip" else bz2.compress(raw))

    assert IMPORTER.sniff(path, read_head(path))
    summary = import_file(sessions, path)
    assert summary.imported == {"roads": 4, "assets": 2}


def test_ways_as_assets_and_areas(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "square.osm"
    path.write_text(
        """<osm version="0.6">
  <node id="1" lat="60.0" lon="25.0"/><node id="2" lat="60.0" lon="25.002"/>
  <node id="3" lat="60.001" lon="25.002"/><node id="4" lat="60.001" lon="25.0"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="highway" v="pedestrian"/><tag k="area" v="yes"/><tag k="name" v="Tori"/>
    <tag k="leisure" v="playground"/><tag k="start_date" v="1999"/></way>
  <way id="2"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="service"/><tag k="access" v="no"/><tag k="junction" v="roundabout"/></way>
  <way id="3"><nd ref="2"/><nd ref="3"/><nd ref="77"/>
    <tag k="power" v="substation"/></way>
  <way id="4"><nd ref="1"/><tag k="highway" v="footway"/></way>
  <way id="5"><nd ref="1"/><nd ref="1"/><tag k="highway" v="footway"/></way>
  <node id="9" lat="95.0" lon="25.0"><tag k="highway" v="street_lamp"/></node>
</osm>
""",
        encoding="utf-8",
    )
    summary = import_file(sessions, path)

    assert summary.imported == {"roads": 2, "assets": 1}
    assert summary.skipped == {
        "asset_way_missing_nodes": 1,
        "way_too_few_nodes": 1,
        "way_degenerate": 1,
        "node_invalid_location": 1,
    }
    with sessions() as session:
        roads = {r.source_id: r for r in session.scalars(select(Road))}
        playground = session.scalars(select(Asset)).one()
    assert (roads["way/1"].drivable, roads["way/1"].name) == (False, "Tori")
    assert (roads["way/2"].drivable, roads["way/2"].oneway) == (False, 1)
    assert (playground.source_id, playground.kind) == ("way/1", "playground")
    assert (playground.lon, playground.lat) == pytest.approx((25.001, 60.0005))
    assert playground.install_date == date(1999, 1, 1)
    assert playground.geom is not None and playground.geom.geom_type == "Polygon"


def test_rules() -> None:
    assert oneway_of({"oneway": "-1"}, "residential") == -1
    assert oneway_of({"oneway": "reverse"}, "residential") == -1
    assert oneway_of({"oneway": "TRUE"}, "residential") == 1
    assert oneway_of({}, "motorway") == 1
    assert oneway_of({"oneway": "no"}, "motorway") == 0
    assert oneway_of({"junction": "roundabout"}, "tertiary") == 1
    assert oneway_of({"oneway": "reversible"}, "primary") == 0
    assert oneway_of({}, "primary") == 0

    assert drivable_of({}, "residential") is True
    assert drivable_of({"access": "private"}, "service") is True
    assert drivable_of({"access": "no"}, "service") is False
    assert drivable_of({"access": "no", "motor_vehicle": "yes"}, "service") is True
    assert drivable_of({"vehicle": "no"}, "unclassified") is False
    assert drivable_of({"area": "yes"}, "service") is False
    for road_class in ("footway", "steps", "platform", "cycleway", "path", "pedestrian", "trail"):
        assert drivable_of({}, road_class) is False

    assert parse_start_date("2014") == date(2014, 1, 1)
    assert parse_start_date("2008-07") == date(2008, 7, 1)
    assert parse_start_date(" 1982-07-01 ") == date(1982, 7, 1)
    for vague in ("before 1815", "1890s", "2013..2014", "2012?", "1865;1890", "2019-02-30", ""):
        assert parse_start_date(vague) is None

    a, b, c = (0.0, 0.0), (1.0, 0.0), (2.0, 0.0)
    assert longest_run([a, None, b, c, None, a]) == [b, c]
    assert longest_run([a, a, None, b]) == [a]
    assert longest_run([None, None]) == []


def test_detect_format(tmp_path: Path) -> None:
    pbf = shared_file("helsinki-osm", "Helsinki.osm.pbf")
    assert detect_format(pbf, read_head(pbf)) == "pbf"
    samples = {
        b'<?xml version="1.0"?>\n<osm version="0.6"></osm>': "osm",
        b"  <osm version='0.6'>\n</osm>": "osm",
        b'<?xml version="1.0"?><osmChange version="0.6"></osmChange>': None,
        b'<?xml version="1.0"?><gpx version="1.1"></gpx>': None,
        b'{"type": "FeatureCollection", "features": []}': None,
        b"id,lat,lon\n1,60.1,24.9\n": None,
    }
    for content, expected in samples.items():
        path = tmp_path / "sample.osm.pbf"
        path.write_bytes(content)
        assert detect_format(path, read_head(path)) == expected, content


def refused_cases(tmp_path: Path) -> list[Path]:
    """A PBF cut in half, a text file named like a PBF, and an XML file cut short."""
    data = shared_file("helsinki-osm", "Helsinki.osm.pbf").read_bytes()
    truncated = tmp_path / "Helsinki-truncated.osm.pbf"
    truncated.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.osm.pbf"
    text.write_text("these are meeting notes, not a map\n" * 20, encoding="utf-8")
    cut_xml = tmp_path / "cut.osm"
    cut_xml.write_text(SMALL_OSM[: SMALL_OSM.index("<way")], encoding="utf-8")
    return [truncated, text, cut_xml]


def test_broken_files_refused(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    for path in refused_cases(tmp_path):
        with pytest.raises(ImportRefused, match=path.name):
            import_file(sessions, path)
    assert not IMPORTER.sniff(tmp_path / "notes.osm.pbf", read_head(tmp_path / "notes.osm.pbf"))
    assert table_counts(engine) == (0, 0, 0)


def test_cli_refuses_broken_files(engine: Engine, db_url: str, tmp_path: Path) -> None:
    for path in refused_cases(tmp_path)[:2]:
        proc = subprocess.run(
            [sys.executable, "main.py", "import", str(path), "--db", db_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert path.name in proc.stderr and "Traceback" not in proc.stderr
    assert table_counts(engine) == (0, 0, 0)


# Measured on the 2019 extract as shipped; see the module docstring of backend.importers.osm.
HELSINKI_ROADS = 2577
HELSINKI_DRIVABLE = 894
HELSINKI_ASSETS = {
    "street_light": 586,
    "bench": 162,
    "traffic_signal": 135,
    "bus_stop": 92,
    "utility_pole": 84,
    "parking_meter": 81,
    "bicycle_parking": 52,
    "hydrant": 37,
    "waste_basket": 36,
    "public_toilet": 18,
    "bike_share_station": 15,
    "waste_container": 14,
    "life_ring": 9,
    "fountain": 8,
    "street_cabinet": 8,
    "ev_charger": 4,
    "playground": 4,
    "speed_camera": 2,
    "recycling_point": 2,
    "substation": 1,
}
HELSINKI_SKIPPED = {"way_missing_nodes": 73, "asset_way_missing_nodes": 2}


@pytest.mark.slow
def test_helsinki_whole(engine: Engine, sessions: sessionmaker[Session]) -> None:
    path = shared_file("helsinki-osm", "Helsinki.osm.pbf")
    assert IMPORTER.sniff(path, read_head(path))
    summary = import_file(sessions, path)

    assert summary.imported == {"roads": HELSINKI_ROADS, "assets": sum(HELSINKI_ASSETS.values())}
    assert summary.skipped == HELSINKI_SKIPPED
    assert summary.notes["roads_clipped"] == 118
    with sessions() as session:
        drivable = session.scalar(select(func.count()).select_from(Road).where(Road.drivable))
        kinds = Counter(session.scalars(select(Asset.kind)))
        classes = Counter(session.scalars(select(Road.road_class)))
        bounds = session.execute(
            select(
                func.min(Road.min_lon),
                func.min(Road.min_lat),
                func.max(Road.max_lon),
                func.max(Road.max_lat),
            )
        ).one()
        sample = session.scalars(select(Road).where(Road.name == "Mannerheimintie")).first()
    assert drivable == HELSINKI_DRIVABLE
    assert kinds == HELSINKI_ASSETS
    assert (classes["footway"], classes["steps"], classes["residential"]) == (1069, 141, 231)
    assert all(classes[c] == 0 for c in ("motorway", "trunk"))
    # Every kept node lies in the extract's box (24.935-24.954 E, 60.164-60.180 N).
    assert bounds[0] >= 24.935 and bounds[1] >= 60.164
    assert bounds[2] <= 24.954 and bounds[3] <= 60.180
    assert sample is not None and sample.drivable and sample.road_class == "primary"
    assert wkb.loads(wkb.dumps(sample.geom)).is_valid

    again = import_file(sessions, path)
    assert again.imported == {"roads": 0, "assets": 0}
    assert again.unchanged == {"roads": HELSINKI_ROADS, "assets": sum(HELSINKI_ASSETS.values())}
    assert table_counts(engine)[:2] == (HELSINKI_ROADS, sum(HELSINKI_ASSETS.values()))
