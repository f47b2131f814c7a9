"""Full-text search over knowledge articles with each database's own engine.

Why the engines and not a search library: the articles already live in the
database, and both engines rank, stem and highlight well for a few thousand
articles; a second store would have to be kept in step by hand.

* SQLite: an FTS5 *external-content* table ``knowledge_fts`` over
  ``knowledge_articles`` (the text is stored once), the ``porter`` stemmer
  over ``unicode61``, kept in step by three triggers; ranked by ``bm25`` with
  the title weighted 10 times the body; ``snippet()`` for the excerpt.
* PostgreSQL: a generated ``tsvector`` column ``search_vector`` (title weight
  A, tags B, body C, English stemming) with a GIN index; ranked by
  ``ts_rank`` (A counts 1.0, C 0.2); ``ts_headline`` for the excerpt.

Both take the same query language: the words of the user's text, all of
them required (punctuation and operators are dropped, so no input is a
syntax error). Matches in snippets are wrapped in ``«`` and ``»``.

The migration ``0006`` calls :func:`create_search`; these objects are not
in the SQLAlchemy models, so schema comparison skips them with
:func:`include_name`. A later migration that makes SQLite *recreate*
``knowledge_articles`` (a batch ``ALTER``) drops the triggers and must call
:func:`create_search` again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

FTS_TABLE = "knowledge_fts"
TSV_COLUMN = "search_vector"
TSV_INDEX = "ix_knowledge_articles_search_vector"
TRIGGERS = ("knowledge_fts_ai", "knowledge_fts_ad", "knowledge_fts_au")
MARK_START, MARK_END = "«", "»"
#: Longest query text accepted, in characters (a search box, not a document).
MAX_QUERY = 500
_WORD = re.compile(r"\w+", re.UNICODE)


def include_name(name: str | None, type_: str, parent_names: Any = None) -> bool:
    """Alembic ``include_name`` hook: leave the search objects out of schema comparison.

    FTS5 keeps shadow tables (``knowledge_fts_data``, ``_idx``, ``_docsize``,
    ``_config``); PostgreSQL has the generated column and its index.
    """
    if name is None:
        return True
    if type_ == "table" and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "column" and name == TSV_COLUMN) and not (
        type_ == "index" and name == TSV_INDEX
    )


_SQLITE_DDL = (
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        title, body, tags,
        content='knowledge_articles', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER knowledge_fts_ai AFTER INSERT ON knowledge_articles BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, body, tags)
        VALUES (new.id, new.title, new.body, new.tags);
    END""",
    f"""CREATE TRIGGER knowledge_fts_ad AFTER DELETE ON knowledge_articles BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, tags)
        VALUES ('delete', old.id, old.title, old.body, old.tags);
    END""",
    f"""CREATE TRIGGER knowledge_fts_au AFTER UPDATE ON knowledge_articles BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, tags)
        VALUES ('delete', old.id, old.title, old.body, old.tags);
        INSERT INTO {FTS_TABLE}(rowid, title, body, tags)
        VALUES (new.id, new.title, new.body, new.tags);
    END""",
    # Index the rows already there.
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)

_POSTGRES_DDL = (
    f"""ALTER TABLE knowledge_articles ADD COLUMN {TSV_COLUMN} tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(title, '')), 'A')
            || setweight(jsonb_to_tsvector('english', tags, '["string"]'), 'B')
            || setweight(to_tsvector('english', coalesce(body, '')), 'C')
        ) STORED""",
    f"CREATE INDEX {TSV_INDEX} ON knowledge_articles USING gin ({TSV_COLUMN})",
)


def create_search(conn: Connection) -> None:
    """Create the full-text index for ``conn``'s dialect (and index existing rows)."""
    ddl = _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL
    for statement in ddl:
        conn.execute(text(statement))


def drop_search(conn: Connection) -> None:
    """Drop what :func:`create_search` made."""
    if conn.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))
    else:
        conn.execute(text(f"DROP INDEX IF EXISTS {TSV_INDEX}"))
        conn.execute(text(f"ALTER TABLE knowledge_articles DROP COLUMN IF EXISTS {TSV_COLUMN}"))


def query_words(query: str) -> list[str]:
    """The words of a user's query (lower case), the only part either engine is given."""
    return [w.lower() for w in _WORD.findall(query)]


@dataclass(frozen=True, slots=True)
class Filters:
    """Narrowing conditions: every tag in ``tags``, and the asset kind / service code if given."""

    tags: tuple[str, ...] = ()
    asset_kind: str | None = None
    service_code: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked article: ``score`` higher is better (comparable within one search only)."""

    article_id: int
    score: float
    snippet: str


def json_list_has(dialect: str, column: str, param: str) -> str:
    """SQL: the JSON list in ``column`` holds the string bound as ``:param``."""
    if dialect == "sqlite":
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = :{param})"
    return f"{column} @> jsonb_build_array(CAST(:{param} AS text))"


def _filter_sql(dialect: str, filters: Filters) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, tag in enumerate(filters.tags):
        clauses.append(json_list_has(dialect, "a.tags", f"tag{i}"))
        params[f"tag{i}"] = tag
    if filters.asset_kind is not None:
        clauses.append(json_list_has(dialect, "a.asset_kinds", "asset_kind"))
        params["asset_kind"] = filters.asset_kind
    if filters.service_code is not None:
        clauses.append(json_list_has(dialect, "a.service_codes", "service_code"))
        params["service_code"] = filters.service_code
    return clauses, params


def search(session: Session, query: str, filters: Filters, limit: int) -> list[Hit]:
    """Articles matching every word of ``query`` (and ``filters``), best first.

    An empty query (no words) lists the filtered articles, newest first, with
    the start of each body as its snippet.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    words = query_words(query)
    clauses, params = _filter_sql(dialect, filters)
    params["limit"] = limit
    if not words:
        return _browse(conn, clauses, params)
    if dialect == "sqlite":
        # Each word quoted: FTS5 operators and punctuation in user text stay plain words.
        params["q"] = " ".join(f'"{w}"' for w in words)
        where = " AND ".join([f"{FTS_TABLE} MATCH :q", *clauses])
        sql = f"""
            SELECT a.id, -bm25({FTS_TABLE}, 10.0, 1.0, 4.0) AS score,
                   snippet({FTS_TABLE}, 1, '{MARK_START}', '{MARK_END}', ' … ', 24) AS snippet
            FROM {FTS_TABLE} JOIN knowledge_articles a ON a.id = {FTS_TABLE}.rowid
            WHERE {where}
            ORDER BY score DESC, a.id
            LIMIT :limit"""
    else:
        params["q"] = " ".join(words)
        where = " AND ".join([f"a.{TSV_COLUMN} @@ q.query", *clauses])
        # Headlines only for the page of hits: ts_headline re-parses the body.
        sql = f"""
            WITH q AS (SELECT plainto_tsquery('english', :q) AS query),
            hits AS (
                SELECT a.id, a.body, ts_rank(a.{TSV_COLUMN}, q.query) AS score, q.query
                FROM knowledge_articles a, q
                WHERE {where}
                ORDER BY score DESC, a.id
                LIMIT :limit)
            SELECT id, score,
                   ts_headline('english', body, query,
                       'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=8,
                        MaxFragments=2, FragmentDelimiter=" … "') AS snippet
            FROM hits ORDER BY score DESC, id"""
    rows = conn.execute(text(sql), params).all()
    return [Hit(int(r.id), float(r.score), str(r.snippet)) for r in rows]


def _browse(conn: Connection, clauses: list[str], params: dict[str, Any]) -> list[Hit]:
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"""SELECT a.id, a.body FROM knowledge_articles a {where}
              ORDER BY a.updated_at DESC, a.id LIMIT :limit"""
    rows = conn.execute(text(sql), params).all()
    return [Hit(int(r.id), 0.0, _opening(str(r.body))) for r in rows]


def _opening(body: str, words: int = 24) -> str:
    parts = body.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
