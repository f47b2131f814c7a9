"""GeoReport v2 fields ↔ commands: the pure translation, without HTTP or a backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.open311.mapping import (
    Open311Error,
    Service,
    format_time,
    idempotency_key,
    merge_services,
    parse_new_request,
    parse_query,
    parse_time,
    services_from_config,
    slug,
    to_georeport,
)
from backend.open311.services import builtin_services

POTHOLE = Service("pothole", "Pothole", group="Highways", priority=3, skills=("roads",))
SERVICES = {"pothole": POTHOLE, "graffiti": Service("graffiti", "Graffiti")}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {k.replace("__", "[").replace("_x", "]"): v if isinstance(v, list) else [v]
            for k, v in fields.items()}  # fmt: skip


def refused(status: int, text: str, **fields: str) -> None:
    with pytest.raises(Open311Error) as info:
        parse_new_request(form(**fields), SERVICES)
    assert info.value.status == status and text in info.value.description
    assert info.value.body() == [{"code": status, "description": info.value.description}]


def test_a_full_post_becomes_report_issue_arguments() -> None:
    fields = {
        "service_code": ["pothole"],
        "lat": ["60.17"],
        "long": ["24.94"],
        "description": ["  deep hole  "],
        "email": ["aino@example.org"],
        "first_name": ["Aino"],
        "last_name": ["Virtanen"],
        "phone": ["+358401234567"],
        "media_url": ["https://example.org/hole.jpg"],
        "attribute[depth]": ["deep"],
        "attribute[lanes][]": ["1", "2"],
        "attribute[empty]": [""],
        "api_key": ["secret"],
    }
    new = parse_new_request(fields, SERVICES)
    assert new.contact == "email"
    assert new.args == {
        "category": "Pothole",
        "service_code": "pothole",
        "description": "deep hole",
        "lon": 24.94,
        "lat": 60.17,
        "agency": "Highways",
        "channel": "open311",
        "media_url": "https://example.org/hole.jpg",
        "attributes": {"depth": "deep", "lanes": ["1", "2"]},
        "citizen": {"name": "Aino Virtanen", "email": "aino@example.org", "phone": "+358401234567"},
        "job": {"title": "Pothole: 60.17000, 24.94000", "priority": 3, "skills": ["roads"]},
    }


def test_an_address_alone_places_it_and_a_data_only_service_makes_no_job() -> None:
    new = parse_new_request(
        {"service_code": ["graffiti"], "address_string": ["Main St 1"], "phone": ["555"]}, SERVICES
    )
    assert new.contact == "sms"
    assert new.args["address"] == "Main St 1" and "lat" not in new.args
    assert "job" not in new.args and new.args["citizen"]["name"] is None


def test_bad_posts_are_refused_with_the_reason() -> None:
    refused(400, "service_code is required", lat="60", long="24")
    refused(400, "unknown service_code 'nope'", service_code="nope", lat="60", long="24")
    refused(400, "lat 91 is out of range", service_code="pothole", lat="91", long="24")
    refused(400, "long -181 is out of range", service_code="pothole", lat="60", long="-181")
    refused(400, "lat 'north' is not a number", service_code="pothole", lat="north", long="24")
    refused(400, "is out of range", service_code="pothole", lat="nan", long="24")
    refused(400, "together", service_code="pothole", lat="60")
    refused(400, "a location is required", service_code="pothole")
    refused(400, "not a place", service_code="pothole", lat="0", long="0")
    refused(400, "not an e-mail", service_code="pothole", lat="60", long="24", email="x")
    refused(400, "http(s) URL", service_code="pothole", lat="60", long="24", media_url="file:/x")
    refused(400, "longer than 4000", service_code="pothole", lat="60", long="24",
            description="x" * 4001)  # fmt: skip
    too_many = {f"attribute[a{i}]": ["v"] for i in range(51)}
    with pytest.raises(Open311Error, match="at most 50"):
        parse_new_request(
            {"service_code": ["pothole"], "lat": ["60"], "long": ["24"], **too_many}, SERVICES
        )


def test_times_read_w3c_and_write_utc() -> None:
    assert parse_time("2026-03-01T08:00:00Z", "d") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert parse_time("2026-03-01T10:00:00+02:00", "d") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert parse_time("2026-03-01", "d") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_time("2026-03-01T08:00:00", "d") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    for bad in ("yesterday", "2026-13-01", "2026-03-01T25:00:00Z", ""):
        with pytest.raises(Open311Error, match="not a W3C date-time"):
            parse_time(bad, "start_date")
    assert format_time(datetime(2026, 3, 1, 8, 0, 0, 123, tzinfo=UTC)) == (
        "2026-03-01T08:00:00+00:00"
    )
    assert format_time(None) is None


def test_queries_default_to_ninety_days_and_ids_override_everything() -> None:
    assert parse_query({}, SERVICES, NOW) == {"limit": 1000, "start": NOW - timedelta(days=90)}
    end = datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_query({"end_date": "2026-05-01", "status": "closed"}, SERVICES, NOW) == {
        "limit": 1000,
        "start": end - timedelta(days=90),
        "end": end,
        "status": "closed",
    }
    both = parse_query({"status": "open,closed", "service_code": "pothole"}, SERVICES, NOW)
    assert "status" not in both and both["category"] == "Pothole"
    assert parse_query({"service_request_id": "3, 5", "status": "x"}, SERVICES, NOW) == {
        "ids": [3, 5]
    }
    for params, text in (
        ({"status": "pending"}, "status must be"),
        ({"start_date": "2026-02-30"}, "not a W3C"),
        ({"start_date": "2026-05-02", "end_date": "2026-05-01"}, "before start_date"),
        ({"service_request_id": "3,abc"}, "not a request id"),
    ):
        with pytest.raises(Open311Error, match=text):
            parse_query(params, SERVICES, NOW)


def test_idempotency_keys() -> None:
    args = {"category": "Pothole", "lat": 60.0}
    key = idempotency_key(args, None, NOW)
    assert key == idempotency_key(dict(reversed(args.items())), None, NOW)
    assert key != idempotency_key({**args, "lat": 60.1}, None, NOW)
    assert key != idempotency_key(args, None, NOW + timedelta(days=1))
    token = idempotency_key(args, "client-42", NOW)
    assert token == idempotency_key({"other": 1}, "client-42", NOW + timedelta(days=3))
    assert len(token) <= 120 and len(key) <= 120


def test_services_merge_configuration_with_the_data() -> None:
    seen = [
        {"service_code": "pothole", "category": "Pothole", "agency": None, "count": 5},
        {"service_code": None, "category": "Street Light Out", "agency": "Lighting", "count": 2},
        {"service_code": None, "category": "Graffiti", "agency": None, "count": 1},
        {"service_code": "tree", "category": "Fallen Tree", "agency": None, "count": 1},
    ]
    merged = merge_services([POTHOLE, SERVICES["graffiti"]], seen)
    assert [(s.code, s.name, s.group) for s in merged] == [
        ("pothole", "Pothole", "Highways"),
        ("graffiti", "Graffiti", ""),
        ("street_light_out", "Street Light Out", "Lighting"),
        ("tree", "Fallen Tree", ""),
    ]
    assert slug("  Hydrant: leak! ") == "hydrant_leak" and slug("!!") == "other"
    assert merged[0].to_georeport()["metadata"] is False
    codes = {s.code for s in builtin_services()}
    assert {"pothole", "streetlight_out", "main_break"} <= codes
    loaded = services_from_config([{"service_code": "x", "service_name": "X", "priority": 2}])
    assert loaded[0].priority == 2
    with pytest.raises(ValueError, match="priority"):
        services_from_config([{"service_code": "x", "service_name": "X", "priority": 9}])
    with pytest.raises(ValueError, match="required"):
        services_from_config([{"service_code": "x"}])


def test_a_request_reads_as_georeport() -> None:
    row = {
        "id": 7,
        "category": "Street Light Out",
        "service_code": None,
        "status": "in_progress",
        "status_notes": None,
        "requested_at": datetime(2026, 3, 1, 8, tzinfo=UTC),
        "updated_at": None,
        "lat": 60.1,
        "lon": 24.9,
    }
    out = to_georeport(row)
    assert out["service_request_id"] == "7" and out["status"] == "open"
    assert out["service_code"] == "street_light_out" and out["long"] == 24.9
    assert out["requested_datetime"] == "2026-03-01T08:00:00+00:00"
    assert to_georeport({**row, "status": "closed"})["status"] == "closed"
