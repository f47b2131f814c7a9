"""The 311 CSV importer: Boston's export, other cities by mapping, every skip reason, DST."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Event, Issue
from backend.importers.base import ImportOptions, ImportRefused, ImportSummary, read_head
from backend.importers.open311_csv import IMPORTER, parse_us_12h, to_utc
from backend.importers.open311_mapping import (
    BOSTON,
    Open311Mapping,
    mapping_from_options,
    normalise_channel,
)
from backend.importers.registry import detect, import_files
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[3]

BOSTON_HEADER = [
    "",
    "CASE_ENQUIRY_ID",
    "OPEN_DT",
    "TARGET_DT",
    "CLOSED_DT",
    "OnTime_Status",
    "CASE_STATUS",
    "CLOSURE_REASON",
    "CASE_TITLE",
    "SUBJECT",
    "REASON",
    "TYPE",
    "QUEUE",
    "Department",
    "SubmittedPhoto",
    "ClosedPhoto",
    "Location",
    "fire_district",
    "pwd_district",
    "city_council_district",
    "police_district",
    "neighborhood",
    "neighborhood_services_district",
    "ward",
    "precinct",
    "land_usage",
    "LOCATION_STREET_NAME",
    "LOCATION_ZIPCODE",
    "Property_Type",
    "Property_ID",
    "LATITUDE",
    "LONGITUDE",
    "Source",
    "Geocoded_Location",
]


def boston_row(n: int, **values: str) -> dict[str, str]:
    """A plausible Boston row; ``n`` makes the id and the point unique."""
    lat, lon = f"{42.30 + n * 0.0007:.4f}", f"{-71.10 + n * 0.0007:.4f}"
    row = dict.fromkeys(BOSTON_HEADER, "")
    row.update(
        {
            "": str(469000 + n),
            "CASE_ENQUIRY_ID": str(101001240000 + n),
            "OPEN_DT": "03/02/2015 09:15:00 AM",
            "TARGET_DT": "03/17/2015 08:30:00 AM",
            "CLOSED_DT": "03/03/2015 04:00:00 PM",
            "OnTime_Status": "ONTIME",
            "CASE_STATUS": "Closed",
            "CLOSURE_REASON": "Case Closed Case Resolved",
            "CASE_TITLE": "Street Light Outages",
            "SUBJECT": "Public Works Department",
            "REASON": "Street Lights",
            "TYPE": "Street Light Outages",
            "QUEUE": "PWDx_Street Light Outages",
            "Department": "PWDx",
            "Location": f"{n + 1} Ipswich St  Boston  MA  02215",
            "LATITUDE": lat,
            "LONGITUDE": lon,
            "Source": "Citizens Connect App",
            "Geocoded_Location": f"({lat}, {lon})",
        }
    )
    row.update(values)
    return row


def write_csv(
    path: Path, rows: list[dict[str, str]], header: list[str] = BOSTON_HEADER, delimiter: str = ","
) -> Path:
    """A CSV the way the city writes it (quoted where needed, LF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run(engine: Engine, path: Path, options: ImportOptions | None = None) -> ImportSummary:
    """Import one file with the importer itself, in one transaction."""
    with sessionmaker(engine).begin() as session:
        return IMPORTER.run(path, session, options or ImportOptions())


def issues(engine: Engine) -> dict[str, Issue]:
    """Every stored issue by source id."""
    with Session(engine) as session:
        return {i.source_id: i for i in session.scalars(select(Issue))}


def count(engine: Engine, model: Any = Issue) -> int:
    """Rows in ``model``'s table."""
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python main.py import ...`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "main.py", "import", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


# --- recognising files ---------------------------------------------------------


def test_sniffs_boston_header_and_nothing_else(tmp_path: Path) -> None:
    boston = write_csv(tmp_path / "Street Light Outages.csv", [boston_row(1)])
    assert IMPORTER.sniff(boston, read_head(boston))
    assert detect(boston) is IMPORTER
    other = write_csv(tmp_path / "other.csv", [{"id": "1"}], header=["id", "opened", "what"])
    assert not IMPORTER.sniff(other, read_head(other))
    with pytest.raises(ImportRefused, match="not a format"):
        detect(other)
    # One Boston column missing: not Boston any more.
    partial = write_csv(tmp_path / "p.csv", [boston_row(1)], header=BOSTON_HEADER[:-4])
    assert not IMPORTER.sniff(partial, read_head(partial))
    geojson = tmp_path / "x.geojson"
    geojson.write_text('{"type": "FeatureCollection", "features": []}')
    assert not IMPORTER.sniff(geojson, read_head(geojson))
    assert IMPORTER.name == "open311_csv" and IMPORTER.order == 50


def test_header_matching_no_mapping_is_refused_by_run(tmp_path: Path) -> None:
    other = write_csv(tmp_path / "other.csv", [{"id": "1"}], header=["id", "opened"])
    with pytest.raises(ImportRefused, match="matches no 311 column mapping"):
        IMPORTER.run(other, None, ImportOptions())  # type: ignore[arg-type]


# --- Boston rows ------------------------------------------------------------------


def test_boston_rows_become_open311_issues(engine: Engine, tmp_path: Path) -> None:
    rows = [
        boston_row(
            1,
            OPEN_DT="01/01/2015 12:25:23 AM",
            TARGET_DT="01/16/2015 08:30:00 AM",
            CLOSED_DT="01/02/2015 04:17:43 PM",
            CASE_TITLE="PRINTED",
            CLOSURE_REASON="Case Closed Duplicate of Existing Case",
            Location="145-151 Ipswich St  Boston  MA  02215",
        ),
        boston_row(
            2,
            OPEN_DT="07/04/2015 12:30:00 PM",
            TARGET_DT="",
            CLOSED_DT="",
            CASE_STATUS="Open",
            CLOSURE_REASON="",
            Source="Constituent Call",
            Department="",
            QUEUE="BTDT_Traffic Signal_Repair",
        ),
        boston_row(3, Source="City Worker App", CASE_ENQUIRY_ID="101001249999.0"),
    ]
    path = write_csv(tmp_path / "Street Light Outages.csv", rows)
    summary = run(engine, path)
    assert summary.imported["issues"] == 3 and not summary.skipped
    assert summary.notes["tz"] == "America/New_York" and summary.notes["tz_from"] == "location"
    got = issues(engine)
    first = got["101001240001"]
    assert first.source == "boston-311" and first.category == "Street Light Outages"
    # 12-hour clock: 12:25 AM is just after midnight, EST is UTC-5.
    assert first.requested_at == utc(2015, 1, 1, 5, 25, 23)
    assert first.requested_at.tzinfo is not None
    assert first.expected_at == utc(2015, 1, 16, 13, 30)
    assert first.closed_at == first.updated_at == utc(2015, 1, 2, 21, 17, 43)
    assert first.status == "closed" and first.channel == "app" and first.agency == "PWDx"
    assert first.description == "PRINTED"
    assert first.status_notes == "Case Closed Duplicate of Existing Case"
    assert first.address == "145-151 Ipswich St, Boston, MA, 02215"
    assert (first.lat, first.lon) == (42.3007, -71.0993)
    assert set(first.attributes) == {"_col1", *BOSTON_HEADER[1:]}
    assert first.attributes["Source"] == "Citizens Connect App"
    assert first.attributes["Location"] == "145-151 Ipswich St  Boston  MA  02215"
    second = got["101001240002"]
    # 12:30 PM is half past noon, EDT is UTC-4 in July.
    assert second.requested_at == second.updated_at == utc(2015, 7, 4, 16, 30)
    assert second.status == "open" and second.closed_at is None and second.expected_at is None
    assert second.channel == "phone" and second.agency == "BTDT_Traffic Signal_Repair"
    assert second.status_notes is None
    # An id written as a float keeps its digits only; a city worker's app is an employee report.
    assert got["101001249999"].channel == "employee"


def test_every_skip_reason_is_counted_and_good_rows_survive(engine: Engine, tmp_path: Path) -> None:
    good = [boston_row(n) for n in range(1, 41)]
    placeholder = [
        boston_row(100 + n, LATITUDE="42.3594", LONGITUDE="-71.0587", Location=f"{n} Main St")
        for n in range(12)
    ]
    bad = {
        "missing_id": boston_row(201, CASE_ENQUIRY_ID=" "),
        "duplicate_id": boston_row(202, CASE_ENQUIRY_ID=good[0]["CASE_ENQUIRY_ID"]),
        "missing_coordinates": boston_row(203, LATITUDE=""),
        "bad_coordinates": boston_row(204, LATITUDE="95.2"),
        "outside_city_extent": boston_row(205, LATITUDE="40.7128", LONGITUDE="-74.0060"),
        "missing_category": boston_row(206, TYPE=""),
        "missing_requested_at": boston_row(207, OPEN_DT=""),
        "bad_date": boston_row(208, OPEN_DT="02/30/2015 09:00:00 AM"),
        "nonexistent_local_time": boston_row(209, OPEN_DT="03/08/2015 02:30:00 AM"),
        "implausible_date": boston_row(210, CLOSED_DT="01/01/1900 12:00:00 AM"),
        "closed_before_opened": boston_row(211, CLOSED_DT="03/01/2015 09:00:00 AM"),
    }
    path = write_csv(tmp_path / "mixed.csv", good[:20] + placeholder + list(bad.values()))
    # Two lines the csv writer would never write: a short row and a broken quote.
    with path.open("a", encoding="utf-8") as fh:
        fh.write("469999,101001240999,03/02/2015 09:15:00 AM\n")
        fh.write('469998,"101001240998"x,03/02/2015 09:15:00 AM\n')
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(
            [[r.get(c, "") for c in BOSTON_HEADER] for r in good[20:]]
        )
    summary = run(engine, path)
    expected = dict.fromkeys(bad, 1) | {
        "placeholder_geocode": 12,
        "wrong_field_count": 1,
        "malformed_row": 1,
    }
    assert dict(summary.skipped) == expected
    assert summary.imported["issues"] == len(good) == 40
    data_rows = len(good) + len(placeholder) + len(bad) + 2
    assert summary.imported["issues"] + sum(summary.skipped.values()) == data_rows
    assert set(issues(engine)) == {r["CASE_ENQUIRY_ID"] for r in good}
    assert summary.notes["placeholder_geocodes"] == ["42.3594,-71.0587 (12 rows)"]
    assert set(summary.notes["skipped_lines"]["mixed.csv"]) == set(expected)


def test_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [boston_row(n) for n in range(5)])
    assert run(engine, path).imported["issues"] == 5
    before = {k: (v.id, v.requested_at, v.attributes) for k, v in issues(engine).items()}
    again = run(engine, path)
    assert again.imported["issues"] == 0 and again.unchanged["issues"] == 5
    assert {k: (v.id, v.requested_at, v.attributes) for k, v in issues(engine).items()} == before


# --- placeholder geocodes ---------------------------------------------------------


def test_placeholder_rule_tells_a_fallback_point_from_a_hotspot(
    engine: Engine, tmp_path: Path
) -> None:
    spread = [boston_row(n) for n in range(1, 500)]
    hotspot = [
        boston_row(
            600 + n, LATITUDE="42.3312", LONGITUDE="-71.0749", Location="Hampden St & Melnea"
        )
        for n in range(35)
    ]
    # 12 of 566 rows (2.1 %) at one point, none with an address: a placeholder by share.
    unplaced = [
        boston_row(700 + n, LATITUDE="42.3500", LONGITUDE="-71.0500", Location="")
        for n in range(12)
    ]
    # 10 rows naming 5 different places at one point: a geocoder fallback by addresses.
    fallback = [
        boston_row(800 + n, LATITUDE="42.3600", LONGITUDE="-71.0600", Location=f"{n % 5} Elm St")
        for n in range(10)
    ]
    # 10 rows naming 4 places: under both thresholds, kept.
    few = [
        boston_row(900 + n, LATITUDE="42.3700", LONGITUDE="-71.0700", Location=f"{n % 4} Oak St")
        for n in range(10)
    ]
    path = write_csv(tmp_path / "p.csv", spread + hotspot + unplaced + fallback + few)
    summary = run(engine, path)
    assert dict(summary.skipped) == {"placeholder_geocode": 22}
    assert summary.imported["issues"] == 499 + 35 + 10
    assert sorted(summary.notes["placeholder_geocodes"]) == [
        "42.35,-71.05 (12 rows)",
        "42.36,-71.06 (10 rows)",
    ]


# --- time zones and DST -------------------------------------------------------------


def test_dst_fall_back_reads_the_repeated_hour_consistently(engine: Engine, tmp_path: Path) -> None:
    rows = [
        # Closed "earlier" on the wall clock: only the second 01:10 (EST) follows the opening.
        boston_row(1, OPEN_DT="11/01/2015 01:30:00 AM", CLOSED_DT="11/01/2015 01:10:00 AM"),
        # Both in the repeated hour, in order: both first occurrences (EDT).
        boston_row(2, OPEN_DT="11/01/2015 01:20:00 AM", CLOSED_DT="11/01/2015 01:40:00 AM"),
        boston_row(3, OPEN_DT="11/01/2015 02:30:00 AM", CLOSED_DT="11/01/2015 12:30:00 PM"),
    ]
    path = write_csv(tmp_path / "fall.csv", rows)
    summary = run(engine, path, ImportOptions(tz="America/New_York"))
    assert summary.notes["tz_from"] == "option" and summary.notes["ambiguous_local_times"] == 2
    got = issues(engine)
    one, two, three = (got[f"10100124000{n}"] for n in (1, 2, 3))
    assert one.requested_at == utc(2015, 11, 1, 5, 30)
    assert one.closed_at == utc(2015, 11, 1, 6, 10)
    assert one.attributes["_import"] == {"ambiguous_local_time": ["OPEN_DT", "CLOSED_DT"]}
    assert (two.requested_at, two.closed_at) == (utc(2015, 11, 1, 5, 20), utc(2015, 11, 1, 5, 40))
    assert three.requested_at == utc(2015, 11, 1, 7, 30) and "_import" not in three.attributes


def test_to_utc_finds_gaps_and_folds() -> None:
    zone = ZoneInfo("America/New_York")
    assert to_utc(datetime(2015, 3, 8, 2, 30), zone).problem == "nonexistent_local_time"
    assert to_utc(datetime(2015, 3, 8, 3, 30), zone).utc == utc(2015, 3, 8, 7, 30)
    fold = to_utc(datetime(2015, 11, 1, 1, 30), zone)
    assert (fold.problem, fold.utc, fold.later) == (
        "ambiguous",
        utc(2015, 11, 1, 5, 30),
        utc(2015, 11, 1, 6, 30),
    )
    aware = datetime(2015, 11, 1, 1, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert to_utc(aware, zone).utc == utc(2015, 10, 31, 23, 30)


def test_twelve_hour_clock_parser_agrees_with_strptime() -> None:
    fmt = "%m/%d/%Y %I:%M:%S %p"
    for text in ("01/01/2015 12:25:23 AM", "12/31/2015 12:00:00 PM", "2/8/2015 1:02:03 pm"):
        assert parse_us_12h(text) == datetime.strptime(text, fmt)
    for text in ("02/29/2015 01:00:00 AM", "01/01/2015 13:00:00 PM", "01/01/2015 00:10:00 AM"):
        with pytest.raises(ValueError):
            parse_us_12h(text)


def test_tz_option_wins_and_an_unknown_zone_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [boston_row(1, OPEN_DT="01/01/2015 12:25:23 AM")])
    with pytest.raises(ImportRefused, match="unknown time zone"):
        run(engine, path, ImportOptions(tz="Mars/Olympus"))
    assert count(engine) == 0
    summary = run(engine, path, ImportOptions(tz="UTC"))
    assert summary.notes["tz"] == "UTC" and summary.notes["tz_from"] == "option"
    assert issues(engine)["101001240001"].requested_at == utc(2015, 1, 1, 0, 25, 23)


# --- other cities ---------------------------------------------------------------------

SPRINGFIELD_HEADER = ["ticket", "opened", "closed", "state", "service", "code", "lat", "lng", "via"]
SPRINGFIELD_MAPPING: dict[str, Any] = {
    "name": "springfield-311",
    "source_id": "ticket",
    "requested_at": "opened",
    "closed_at": "closed",
    "status": "state",
    "category": "service",
    "service_code": "code",
    "lat": "lat",
    "lon": "lng",
    "channel": "via",
    "date_format": ["iso", "%d.%m.%Y %H:%M"],
    "closed_values": ["Resolved", "Closed"],
    "channels": {"Kiosk": "in-person"},
    "delimiter": ";",
    "extent": [-72.7, 42.0, -72.4, 42.2],
}


def springfield_csv(path: Path) -> Path:
    """A made-up city's export: other names, ';', ISO and day-first dates."""
    rows = [
        # Springfield, MA: the zone comes from the location (America/New_York).
        "S-1;2015-01-10T08:00:00;10.01.2015 17:45;Resolved;Pothole;PH;42.10;-72.59;Mobile App",
        "S-2;2015-06-01T12:00:00+00:00;;Open;Graffiti;GR;42.11;-72.58;Kiosk",
        # Outside the mapping's extent.
        "S-3;2015-06-01T12:00:00;;In progress;Graffiti;GR;42.50;-72.58;Web",
    ]
    path.write_text(";".join(SPRINGFIELD_HEADER) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_custom_mapping_imports_another_city(engine: Engine, tmp_path: Path) -> None:
    path = springfield_csv(tmp_path / "springfield.csv")
    assert not IMPORTER.sniff(path, read_head(path))
    with pytest.raises(ImportRefused, match="not a format"):
        detect(path)
    options = ImportOptions(mapping=SPRINGFIELD_MAPPING)
    assert detect(path, options) is IMPORTER
    result = import_files(engine, [path], options)
    summary = result.per_file[str(path)]
    assert summary.imported["issues"] == 2
    assert dict(summary.skipped) == {"outside_city_extent": 1}
    assert summary.notes["mapping"] == "springfield-311" and summary.notes["tz_from"] == "location"
    got = issues(engine)
    s1, s2 = got["S-1"], got["S-2"]
    assert s1.source == "springfield-311" and s1.category == "Pothole" and s1.service_code == "PH"
    assert s1.requested_at == utc(2015, 1, 10, 13, 0)  # naive ISO: local EST
    assert s1.closed_at == utc(2015, 1, 10, 22, 45)  # day-first second format
    assert s1.status == "closed" and s1.channel == "app"
    assert s2.requested_at == utc(2015, 6, 1, 12, 0)  # the offset in the value wins
    assert s2.status == "open" and s2.channel == "in-person" and s2.address is None
    values = [
        "S-2",
        "2015-06-01T12:00:00+00:00",
        "",
        "Open",
        "Graffiti",
        "GR",
        "42.11",
        "-72.58",
        "Kiosk",
    ]
    assert s2.attributes == dict(zip(SPRINGFIELD_HEADER, values, strict=True))


def test_mappings_are_validated() -> None:
    assert mapping_from_options(None) is None
    # A mapping for another importer (water mains) is not a 311 mapping.
    assert mapping_from_options({"pipe_id": "ID", "install_date": "D"}) is None
    with pytest.raises(ImportRefused, match="unknown keys"):
        mapping_from_options({**SPRINGFIELD_MAPPING, "lattitude": "lat"})
    with pytest.raises(ImportRefused, match="required keys"):
        mapping_from_options({k: v for k, v in SPRINGFIELD_MAPPING.items() if k != "name"})
    with pytest.raises(ImportRefused, match="extent"):
        mapping_from_options({**SPRINGFIELD_MAPPING, "extent": [1, 2, 0, 3]})
    mapping = Open311Mapping.from_dict({**SPRINGFIELD_MAPPING, "agency": "code"})
    assert mapping.agency == ("code",) and mapping.closed_values == {"resolved", "closed"}
    assert BOSTON.matches(BOSTON_HEADER) and not BOSTON.matches([])


def test_channels_are_normalised() -> None:
    expected = {
        "Citizens Connect App": "app",
        "City Worker App": "employee",
        "Employee Generated": "employee",
        "Constituent Call": "phone",
        "Self Service": "self-service",
        "Twitter": "twitter",
        "Maximo Integration": "integration",
        "E-mail": "email",
        "Carrier pigeon": "other",
        "": None,
    }
    assert {raw: normalise_channel(raw) for raw in expected} == expected


def test_cli_with_a_mapping_file(engine: Engine, db_url: str, tmp_path: Path) -> None:
    path = springfield_csv(tmp_path / "springfield.csv")
    mapping = tmp_path / "springfield.json"
    mapping.write_text(json.dumps(SPRINGFIELD_MAPPING))
    result = cli(str(path), "--db", db_url, "--mapping", str(mapping))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"]["issues"] == 2
    assert set(issues(engine)) == {"S-1", "S-2"}


# --- truncated and corrupt files -----------------------------------------------------


def cut_mid_row(tmp_path: Path) -> Path:
    """A Boston file whose last row stops after a few fields, with no line end."""
    path = write_csv(tmp_path / "cut.csv", [boston_row(n) for n in range(5)])
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "469999,101001249999,03/02/2015 09:15:00 AM,", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("cut", "truncated: the last row"),
        ("nul", "binary data"),
        ("quote", "never closed"),
        ("latin1", "cannot decode"),
    ],
)
def test_a_damaged_file_is_refused_whole(
    engine: Engine, tmp_path: Path, damage: str, message: str
) -> None:
    if damage == "cut":
        path = cut_mid_row(tmp_path)
    else:
        path = write_csv(tmp_path / "d.csv", [boston_row(n) for n in range(5)])
        raw = path.read_bytes()
        tail = {
            "nul": b"\x00\x00\x00\x00",
            "quote": b'469999,101001249999,"03/02/2015 09:15:00 AM,\n1,2\n',
            "latin1": "469999,101001249999,Caf\xe9\n".encode("latin-1"),
        }[damage]
        path.write_bytes(raw + tail)
    result = import_files(engine, [path], ImportOptions())
    assert message in result.refused[str(path)]
    assert count(engine) == 0
    assert count(engine, Event) == 0


def test_a_short_last_row_with_a_line_end_is_only_a_bad_row(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "short.csv", [boston_row(n) for n in range(5)])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("469999,101001249999,03/02/2015 09:15:00 AM\n")
    summary = run(engine, path)
    assert summary.imported["issues"] == 5 and dict(summary.skipped) == {"wrong_field_count": 1}


def test_cli_refuses_a_truncated_file_with_exit_code_2(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    good = write_csv(tmp_path / "good.csv", [boston_row(n) for n in range(100, 103)])
    result = cli(str(cut_mid_row(tmp_path)), str(good), "--db", db_url)
    assert result.returncode == 2
    assert "truncated" in result.stderr and "cut.csv" in result.stderr
    # The good file still went in; nothing of the cut one did.
    assert set(issues(engine)) == {str(101001240000 + n) for n in range(100, 103)}


# --- the real Boston export -------------------------------------------------------------

BOSTON_FILES = {
    # file: (rows, imported, placeholder geocodes at City Hall 42.3594 -71.0587)
    "Street Light Outages.csv": (7956, 6917, 1039),
    "Traffic Signal Repair.csv": (2096, 2065, 31),
    "Catchbasin.csv": (405, 385, 20),
}


@pytest.mark.slow
def test_the_real_boston_files_import_whole(engine: Engine) -> None:
    paths = [shared_file("boston-311", name) for name in BOSTON_FILES]
    result = import_files(engine, paths, ImportOptions())
    assert not result.refused
    for path in paths:
        rows, imported, placeholders = BOSTON_FILES[path.name]
        summary = result.per_file[str(path)]
        assert summary.imported["issues"] == imported
        assert dict(summary.skipped) == {"placeholder_geocode": placeholders}
        assert imported + placeholders == rows
        assert summary.notes["placeholder_geocodes"] == [f"42.3594,-71.0587 ({placeholders} rows)"]
        assert summary.notes["tz"] == "America/New_York"
    got = issues(engine)
    assert len(got) == 6917 + 2065 + 385
    first = got["101001240735"]  # the first row: 01/01/2015 12:25:23 AM in Boston
    assert first.requested_at == utc(2015, 1, 1, 5, 25, 23)
    assert first.closed_at == utc(2015, 1, 2, 21, 17, 43)
    assert first.expected_at == utc(2015, 1, 16, 13, 30)
    assert (first.status, first.channel, first.agency) == ("closed", "app", "PWDx")
    summer = got["101001422910"]  # 07/04/2015 02:14:00 PM, daylight time
    assert summer.requested_at == utc(2015, 7, 4, 18, 14)
    assert (summer.channel, summer.category) == ("phone", "Traffic Signal Repair")
    still_open = got["101001241786"]
    assert still_open.status == "open" and still_open.closed_at is None
    assert still_open.updated_at == still_open.requested_at == utc(2015, 1, 4, 0, 31)
    assert "101001422904" not in got  # geocoded to City Hall: a placeholder
    assert all(i.requested_at.tzinfo is not None for i in got.values())
    with Session(engine) as session:
        by = {
            col.key: {k: n for k, n in session.execute(select(col, func.count()).group_by(col))}
            for col in (Issue.status, Issue.channel, Issue.agency)
        }
    assert by["status"] == {"closed": 8105, "open": 1262}
    assert by["channel"] == {
        "app": 3325,
        "employee": 2194,
        "phone": 3124,
        "self-service": 645,
        "integration": 70,
        "twitter": 9,
    }
    assert by["agency"] == {
        "PWDx": 6169,
        "BTDT": 2200,
        "INFO": 632,
        "BWSC": 350,
        "PARK": 10,
        "ISD": 6,
    }
    again = import_files(engine, paths, ImportOptions())
    assert again.total.imported["issues"] == 0
    assert again.total.unchanged["issues"] == 9367
    assert count(engine) == 9367
