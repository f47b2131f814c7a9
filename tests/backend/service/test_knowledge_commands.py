"""The knowledge base through real commands on SQLite and PostgreSQL: save, search, articles_for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Alarm, Asset, Event
from backend.service.processor import CommandProcessor, Outcome
from tests.backend.service.seed import T0, seed_city


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    seed_city(engine)
    return CommandProcessor(engine)


_keys = iter(range(10**6))


def run(p: CommandProcessor, name: str, user: str = "sam", **args: Any) -> Outcome:
    key = f"k{next(_keys)}" if name == "save_article" else None
    return p.execute({"name": name, "user": user, "key": key, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def save(p: CommandProcessor, **args: Any) -> int:
    return int(ok(run(p, "save_article", **args))["article_id"])


def titles(p: CommandProcessor, **args: Any) -> list[str]:
    return [a["title"] for a in ok(run(p, "search_articles", **args))["articles"]]


def test_title_match_ranks_above_body_match(processor: CommandProcessor) -> None:
    # The body-only article says "valve" more often, and is saved first.
    save(
        processor,
        title="Hydrant flushing",
        body="Open the valve, then the second valve, then check each valve for leaks.",
    )
    save(processor, title="Valve exercising programme", body="Turn every line quarterly.")
    save(processor, title="Graffiti", body="Photograph it and send G crew.")
    assert titles(processor, query="valve") == ["Valve exercising programme", "Hydrant flushing"]


def test_stemming_and_snippets(processor: CommandProcessor) -> None:
    save(
        processor,
        title="Isolating a main",
        body="When the main breaks, close the two nearest valves slowly to avoid water hammer.",
    )
    save(processor, title="Potholes", body="Mark the hole, cone it, and report its depth.")
    for query in ("breaks", "break", "Breaking", "closing valve"):
        hits = ok(run(processor, "search_articles", query=query))["articles"]
        assert [h["title"] for h in hits] == ["Isolating a main"], query
    hit = ok(run(processor, "search_articles", query="hammer"))["articles"][0]
    assert "«hammer»" in hit["snippet"]
    assert "body" not in hit and hit["version"] == 1 and hit["score"] > 0
    # Every word must match; FTS syntax in user text is just words, never an error.
    assert titles(processor, query="valves pothole") == []
    assert titles(processor, query='"valves" OR (NEAR) -hammer*') == []
    assert titles(processor, query="valves NEAR hammer") == []
    assert titles(processor, query="valves* hammer^") == ["Isolating a main"]


def test_filters_by_tag_asset_kind_and_service_code(processor: CommandProcessor) -> None:
    save(
        processor,
        title="Pump trip",
        body="Swap to the standby pump.",
        tags=["pump", "procedure"],
        asset_kinds=["pump"],
    )
    save(
        processor,
        title="Lamp out",
        body="Check the photocell; a pump of water in the column means a leak.",
        tags=["street_light", "procedure"],
        asset_kinds=["street_light"],
        service_codes=["streetlight_out"],
    )
    assert titles(processor, query="pump") == ["Pump trip", "Lamp out"]
    assert titles(processor, query="pump", asset_kind="street_light") == ["Lamp out"]
    assert titles(processor, query="pump", tags=["pump", "procedure"]) == ["Pump trip"]
    assert titles(processor, query="pump", tags=["pump", "street_light"]) == []
    assert titles(processor, service_code="streetlight_out") == ["Lamp out"]
    # No words: the filtered articles, newest first, with the body's opening as snippet.
    browse = ok(run(processor, "search_articles", tags=["procedure"]))["articles"]
    assert [a["title"] for a in browse] == ["Lamp out", "Pump trip"]
    assert browse[1]["snippet"] == "Swap to the standby pump."


def test_edit_needs_the_version_seen_and_reindexes(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    aid = save(processor, title="Signal dark", body="Call the police for traffic control.")
    edited = ok(
        run(processor, "save_article", user="dana", article_id=aid, version=1, body="Send S crew.")
    )
    assert edited == {"article_id": aid, "version": 2}
    # Sam saw version 1 and saves on top of Dana's edit: refused, and told who and what.
    stale = run(processor, "save_article", article_id=aid, version=1, title="Signal out")
    assert stale.code == "conflict"
    details = stale.body["details"]
    assert details["changed_by"] == "dana" and details["current_version"] == 2
    assert details["entity"]["body"] == "Send S crew."
    article = ok(run(processor, "get_article", article_id=aid))["article"]
    assert (article["title"], article["version"], article["updated_by"]) == (
        "Signal dark",
        2,
        "dana",
    )
    # The index followed the edit: the old body's words are gone, the new ones found.
    assert titles(processor, query="police") == []
    assert titles(processor, query="crew") == ["Signal dark"]
    with sessions() as s:
        events = s.scalars(select(Event).where(Event.topic == f"knowledge/{aid}")).all()
        assert [(e.type, e.actor, e.body["version"]) for e in events] == [
            ("knowledge.saved", "sam", 1),
            ("knowledge.saved", "dana", 2),
        ]


def test_bad_input_is_refused_and_changes_nothing(processor: CommandProcessor) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("save_article", {"body": "no title"}, "bad_args"),
        ("save_article", {"title": "  ", "body": "blank title"}, "bad_args"),
        ("save_article", {"title": "x" * 201, "body": "b"}, "bad_args"),
        ("save_article", {"title": "t", "body": "b", "tags": "pump"}, "bad_args"),
        ("save_article", {"title": "t", "body": "b", "tags": ["ok", 3]}, "bad_args"),
        ("save_article", {"title": "t", "body": "b", "version": 1}, "bad_args"),
        ("save_article", {"article_id": 999, "version": 1, "title": "t"}, "not_found"),
        ("search_articles", {"query": 3}, "bad_args"),
        ("search_articles", {"query": "x" * 501}, "bad_args"),
        ("search_articles", {"limit": 0}, "bad_args"),
        ("articles_for", {}, "bad_args"),
        ("articles_for", {"rule": "limit"}, "bad_args"),
        ("articles_for", {"alarm_id": 999}, "not_found"),
    ]
    for name, args, code in cases:
        assert run(processor, name, **args).code == code, (name, args)
    aid = save(processor, title="Valve", body="b")
    assert run(processor, "save_article", article_id=aid, title="u").code == "bad_args"
    # An operator reads but does not write procedures.
    assert run(processor, "save_article", user="olga", title="x", body="b").code == "forbidden"
    assert ok(run(processor, "search_articles", user="olga", query="valves"))["articles"]
    assert ok(run(processor, "get_article", article_id=aid))["article"]["version"] == 1
    assert titles(processor) == ["Valve"]


def test_articles_for_an_alarm_put_the_most_specific_first(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    general = save(processor, title="Pumps in general", body="b", asset_kinds=["pump"])
    vibration = save(
        processor, title="Vibration", body="b", asset_kinds=["pump"], alarm_rules=["vibration"]
    )
    drift = save(
        processor,
        title="Vibration drift",
        body="b",
        asset_kinds=["pump"],
        alarm_rules=["vibration:drift"],
    )
    save(processor, title="Lamps", body="b", asset_kinds=["street_light"], alarm_rules=["power"])
    with sessions.begin() as s:
        asset = s.get(Asset, 1)
        assert asset is not None and asset.kind == "pump"
        alarm = Alarm(
            asset_id=1,
            metric="vibration",
            rule="drift",
            severity="major",
            message="m",
            raised_at=T0,
        )
        s.add(alarm)
        s.flush()
        alarm_id = alarm.id
    result = ok(run(processor, "articles_for", alarm_id=alarm_id))
    assert result["subject"] == {
        "asset_kind": "pump",
        "metric": "vibration",
        "rule": "drift",
        "service_code": None,
    }
    assert [a["id"] for a in result["articles"]] == [drift, vibration, general]
    assert [a["match"] for a in result["articles"]] == [5, 3, 1]
    assert result["articles"][0]["body"] == "b"
    by_kind = ok(run(processor, "articles_for", asset_kind="pump", limit=2))["articles"]
    assert len(by_kind) == 2
    assert ok(run(processor, "articles_for", service_code="nothing"))["articles"] == []
