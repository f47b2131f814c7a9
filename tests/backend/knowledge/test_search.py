"""The full-text index itself: built by the migration over existing rows, kept in step, dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, inspect, text, update
from sqlalchemy.orm import Session

from backend.db.migrate import downgrade, upgrade
from backend.db.models import KnowledgeArticle
from backend.demo_city.generate import build_demo_city
from backend.knowledge.search import FTS_TABLE, TSV_COLUMN, Filters, search
from backend.service.processor import CommandProcessor

T = datetime(2026, 1, 5, tzinfo=UTC)


def ids(engine: Engine, query: str, filters: Filters | None = None) -> list[int]:
    with Session(engine) as s:
        return [h.article_id for h in search(s, query, filters or Filters(), 10)]


def test_upgrade_indexes_articles_written_before_it(engine: Engine) -> None:
    downgrade(engine, "0005")
    columns = {c["name"] for c in inspect(engine).get_columns("knowledge_articles")}
    assert "version" not in columns and TSV_COLUMN not in columns
    assert FTS_TABLE not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO knowledge_articles (title, body, tags, updated_at) "
                "VALUES ('Old pump notes', 'Bearings wear out.', '[\"pump\"]', :t)"
            ),
            {"t": T.isoformat() if engine.dialect.name == "sqlite" else T},
        )
    upgrade(engine)
    assert ids(engine, "bearing") == [1]
    with Session(engine) as s:
        article = s.get(KnowledgeArticle, 1)
        assert article is not None and article.version == 1 and article.asset_kinds == []


def test_index_follows_updates_and_deletes_made_outside_the_commands(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        s.add_all(
            [
                KnowledgeArticle(title="Lamp", body="photocell fuse driver", updated_at=T),
                KnowledgeArticle(title="Main", body="valve hammer", updated_at=T, tags=["water"]),
            ]
        )
    assert ids(engine, "fuses") == [1]
    with Session(engine) as s, s.begin():
        s.execute(update(KnowledgeArticle).where(KnowledgeArticle.id == 1).values(body="cable"))
    assert ids(engine, "fuse") == []
    assert ids(engine, "cables") == [1]
    # Tags are indexed words too (weighted between title and body).
    assert ids(engine, "water") == [2]
    with Session(engine) as s, s.begin():
        s.execute(delete(KnowledgeArticle).where(KnowledgeArticle.id == 2))
    assert ids(engine, "valve") == []
    assert ids(engine, "lamp cable") == [1]


def _result(p: CommandProcessor, name: str, user: str, **args: Any) -> dict[str, Any]:
    outcome = p.execute({"name": name, "user": user, "args": args}, msg_id="m")
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def test_demo_city_procedures_answer_an_operators_questions(engine: Engine) -> None:
    build_demo_city(engine, seed=7, as_of=T)
    p = CommandProcessor(engine)

    def first(query: str) -> str:
        return str(_result(p, "search_articles", "ben", query=query)["articles"][0]["title"])

    assert first("pump tripped") == "Pump trip: restoring a pumping station"
    assert first("transformer overheating") == "Transformer overheating: load and oil temperature"
    assert first("isolate main breaks") == "Water main break: isolating the section"
    assert first("many lamps dark") == "Street light outages in a batch: one fault, many lamps"
    assert first("dark signal police") == "Signal dark at an intersection"
    hot = _result(p, "articles_for", "ben", asset_kind="transformer", metric="oil_temperature")
    assert hot["articles"][0]["title"].startswith("Transformer overheating")
    assert "105 °C" in hot["articles"][0]["body"]
