"""Paging through ``get_roads``: every page, hex WKB decoded, a missing answer ends it."""

from __future__ import annotations

from typing import Any

from backend.protocol.roads import road_pages


def test_pages_until_the_last_and_decodes_geometry() -> None:
    pages = {
        0: {"roads": [{"id": 1, "geom": "0102"}, {"id": 2, "geom": "ff"}], "next_after_id": 2},
        2: {"roads": [{"id": 3, "geom": "00"}], "next_after_id": 0},
    }
    calls: list[dict[str, Any]] = []

    def fetch(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        return pages[args["after_id"]]

    roads = list(road_pages(fetch, drivable_only=True))
    assert [r["id"] for r in roads] == [1, 2, 3]
    assert roads[0]["geom"] == b"\x01\x02"
    assert calls == [{"drivable_only": True, "after_id": 0}, {"drivable_only": True, "after_id": 2}]


def test_no_answer_ends_the_paging() -> None:
    assert list(road_pages(lambda args: None)) == []
