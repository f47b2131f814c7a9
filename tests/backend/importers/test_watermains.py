"""Water main inventory and break importers on small files written here, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.db.models import Asset, AssetEvent
from backend.importers.base import ImportOptions, ImportRefused
from backend.importers.registry import import_files

INVENTORY_HEADER = (
    "OBJECTID,WATMAINID,STATUS,PRESSURE_ZONE,ROADSEGMENTID,MAP_LABEL,PIPE_SIZE,MATERIAL,"
    "LINED,LINED_DATE,INSTALLATION_DATE,Shape__Length"
)
INVENTORY_ROWS = [
    "1,100,ACTIVE,KIT 4,7,100m 150mm CI,150,CI,NO,,1950/01/01 00:00:00+00,100.5",
    # id 200 was reused: the current PVC pipe was laid in 2010
    "2,200,ACTIVE,KIT 4,7,80m 150mm PVC,150,PVC,NO,,2010/06/01 00:00:00+00,80",
    "3,300,ACTIVE,KIT 5,9,20m 200mm DI,200,DI,NO,,1980/01/01 00:00:00+00,20",
    "4,,ACTIVE,KIT 5,9,no id,200,DI,NO,,1980/01/01 00:00:00+00,20",
    "5,400,ACTIVE,KIT 5,9,bad date,200,DI,NO,,someday,20",
]
BREAKS_HEADER = (
    "X,Y,OBJECTID,WATBREAKINCIDENTID,INCIDENT_DATE,BREAK_TYPE,BREAK_NATURE,"
    "BREAK_APPARENT_CAUSE,REPAIR_TYPE,ROADSEGMENTID,CIVIC_NUMBER,STREET,ASSETID"
)
BREAKS_ROWS = [
    "-80.50,43.40,1,11,2001/03/26 00:00:00+00,MAIN,CIRCUMFERENTIAL,AGE,CLAMP,7,12,KING ST,100",
    "-80.52,43.42,2,12,2010/02/01 10:30:00+00,MAIN,UNKNOWN,OTHER,,7,14,KING ST,100",
    # before pipe 200's install date: its predecessor's break
    "-80.40,43.30,3,13,2005/05/05 00:00:00+00,MAIN,CORROSION,CORROSION,,7,20,KING ST,200",
    "-80.41,43.31,4,14,2015/01/01 00:00:00+00,MAIN,UNKNOWN,OTHER,,7,22,KING ST,200",
    # a pipe the inventory does not have
    "-80.45,43.45,5,15,2012/07/07 00:00:00+00,MAIN,UNKNOWN,OTHER,,8,1,QUEEN ST,999",
    "-80.45,43.45,6,16,not a date,MAIN,UNKNOWN,OTHER,,8,1,QUEEN ST,100",
    "-80.45,43.45,7,,2012/07/07 00:00:00+00,MAIN,UNKNOWN,OTHER,,8,1,QUEEN ST,100",
    "500,43.45,8,18,2012/07/07 00:00:00+00,MAIN,UNKNOWN,OTHER,,8,1,QUEEN ST,100",
]


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """A CSV as the city exports it: UTF-8 with a BOM, CRLF lines."""
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    inventory = write_csv(tmp_path / "Water_Mains.csv", INVENTORY_HEADER, INVENTORY_ROWS)
    breaks = write_csv(tmp_path / "Water_Main_Breaks.csv", BREAKS_HEADER, BREAKS_ROWS)
    return inventory, breaks


def events_by_source_id(engine: Engine) -> dict[str, AssetEvent]:
    with Session(engine) as session:
        return {e.source_id: e for e in session.scalars(select(AssetEvent))}


def pipes_by_id(engine: Engine) -> dict[str, Asset]:
    with Session(engine) as session:
        return {a.source_id: a for a in session.scalars(select(Asset))}


def check_links(engine: Engine) -> None:
    """The reused-id rule and the unmatched break, whatever the import order."""
    pipes = pipes_by_id(engine)
    events = events_by_source_id(engine)
    assert set(events) == {"11", "12", "13", "14", "15"}
    assert events["11"].kind == events["12"].kind == "failure"
    assert events["11"].asset_id == pipes["100"].id
    assert events["13"].kind == "predecessor_failure"
    assert events["13"].asset_id == pipes["200"].id
    assert events["14"].kind == "failure" and events["14"].asset_id == pipes["200"].id
    assert events["15"].kind == "unmatched_failure" and events["15"].asset_id is None
    assert events["15"].attributes["ASSETID"] == "999"
    # Pipes take the mean location of their breaks; one without breaks keeps none.
    assert pipes["100"].lon == pytest.approx(-80.51) and pipes["100"].lat == pytest.approx(43.41)
    assert pipes["300"].lon is None and pipes["300"].lat is None


def test_both_files_in_one_command(engine: Engine, files: tuple[Path, Path]) -> None:
    inventory, breaks = files
    result = import_files(engine, [breaks, inventory], ImportOptions())  # order is fixed inside
    assert not result.refused
    total = result.total.as_dict()
    assert total["imported"]["assets"] == 3
    assert total["imported"]["failures"] == 3
    assert total["imported"]["predecessor_failures"] == 1
    assert total["imported"]["unmatched_failures"] == 1
    assert total["skipped"] == {
        "bad_break_date": 1,
        "bad_coordinates": 1,
        "bad_install_date": 1,
        "missing_break_id": 1,
        "missing_pipe_id": 1,
    }
    breaks_notes = result.per_file[str(breaks)].notes
    assert breaks_notes["pipes_located"] == 2
    assert breaks_notes["pipes_still_without_location"] == 1
    assert breaks_notes["pipes_still_without_location_first_ids"] == ["300"]
    check_links(engine)
    pipe = pipes_by_id(engine)["100"]
    assert pipe.kind == "water_main" and pipe.source == "kitchener-watermains"
    assert pipe.install_date is not None and pipe.install_date.year == 1950
    assert pipe.attributes["PRESSURE_ZONE"] == "KIT 4"  # every source column kept
    event = events_by_source_id(engine)["11"]
    assert event.ts.tzinfo is not None and event.ts.year == 2001
    assert "clamp" in (event.description or "") and event.attributes["STREET"] == "KING ST"

    again = import_files(engine, [inventory, breaks], ImportOptions()).total.as_dict()
    assert again["imported"]["assets"] == 0 and again["imported"]["asset_events"] == 0
    assert again["unchanged"] == {"assets": 3, "asset_events": 5}
    check_links(engine)


def test_inventory_after_breaks_relinks(engine: Engine, files: tuple[Path, Path]) -> None:
    inventory, breaks = files
    first = import_files(engine, [breaks], ImportOptions()).total.as_dict()
    assert first["imported"]["unmatched_failures"] == 5
    assert first["imported"]["failures"] == 0
    second = import_files(engine, [inventory], ImportOptions()).total.as_dict()
    assert second["notes"]["relinked_failures"] == 3
    assert second["notes"]["relinked_predecessor_failures"] == 1
    assert second["notes"]["pipes_without_location"] == 1
    check_links(engine)
    third = import_files(engine, [breaks], ImportOptions()).total.as_dict()
    assert third["imported"]["asset_events"] == 0
    check_links(engine)


def test_column_mapping(engine: Engine, tmp_path: Path) -> None:
    inventory = write_csv(
        tmp_path / "pipes.csv",
        "pipe_id,install_date,material,DIAM_MM",
        ["A1,1962,CI,150", "A2,1999-05-01,PVC,200"],
    )
    mapping = {"source": "othertown", "diameter": "DIAM_MM"}
    result = import_files(engine, [inventory], ImportOptions(mapping=mapping))
    assert result.total.as_dict()["imported"]["assets"] == 2
    pipes = pipes_by_id(engine)
    assert pipes["A1"].source == "othertown"
    assert pipes["A1"].install_date is not None and pipes["A1"].install_date.year == 1962
    assert pipes["A2"].attributes["DIAM_MM"] == "200"

    with pytest.raises(ImportRefused, match="unknown keys"):
        from backend.importers.watermains import resolve_columns

        resolve_columns(ImportOptions(mapping={"pipe": "X"}))


def test_cli_import_last_line(
    db_url: str, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from main import main

    inventory, breaks = files
    main(["import", str(inventory), str(breaks), "--db", db_url])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["imported"]["assets"] == 3
    assert last["imported"]["predecessor_failures"] == 1
