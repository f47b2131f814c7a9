"""Knowledge-base commands: save an article (versioned), search, and "what to do" for an alarm.

Articles are not live entities (consoles do not hold them in their replica):
a save appends one ``knowledge.saved`` event on topic ``knowledge/<id>`` for
the audit log and for the conflict reply's "changed by whom", and readers
ask with ``search_articles`` / ``get_article`` / ``articles_for``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from backend.db.models import Alarm, Asset, KnowledgeArticle
from backend.knowledge.search import MAX_QUERY, Filters, json_list_has, search
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, check_version, get_row
from backend.service.entities import row_state

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_LIST = 30
MAX_LABEL = 80
MAX_RESULTS = 100
#: What ``articles_for`` gives per matching field, so the most specific article comes first.
WEIGHTS = {"rule": 4, "metric": 2, "asset_kind": 1, "service_code": 1}
LIST_FIELDS = ("tags", "asset_kinds", "service_codes", "alarm_rules")


def article_topic(article_id: int) -> str:
    """The audit topic of an article (not a bus entity kind: consoles keep no replica of it)."""
    return f"knowledge/{int(article_id)}"


def _labels(args: dict[str, Any], name: str) -> list[str] | None:
    """A list argument of short labels, trimmed and de-duplicated in order (None when absent)."""
    values = arg(args, name, list, required=False)
    if values is None:
        return None
    if len(values) > MAX_LIST:
        raise CommandError("bad_args", f"{name} holds at most {MAX_LIST} items", {"argument": name})
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or not 0 < len(v.strip()) <= MAX_LABEL:
            raise CommandError(
                "bad_args",
                f"each of {name} must be a non-empty string of at most {MAX_LABEL} characters",
                {"argument": name},
            )
        if v.strip() not in out:
            out.append(v.strip())
    return out


def _text(args: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = arg(args, name, str, required=required)
    if value is None:
        return None
    if not value.strip():
        raise CommandError("bad_args", f"{name} must not be blank", {"argument": name})
    if len(value) > limit:
        raise CommandError(
            "bad_args", f"{name} is longer than {limit} characters", {"argument": name}
        )
    return value.strip() if name == "title" else value


def save_article(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Create an article, or edit one at the version its editor saw.

    Args: ``title`` and ``body`` (markdown); optional ``tags``, ``asset_kinds``,
    ``service_codes``, ``alarm_rules`` (``metric`` or ``metric:rule``, e.g.
    ``oil_temperature`` or ``vibration:drift``). To edit: ``article_id`` and
    ``version``; fields left out keep their value. A stale version is a
    ``conflict`` naming who saved in between.
    """
    article_id = arg(args, "article_id", int, required=False)
    title = _text(args, "title", MAX_TITLE, required=article_id is None)
    body = _text(args, "body", MAX_BODY, required=article_id is None)
    lists = {name: _labels(args, name) for name in LIST_FIELDS}
    if article_id is None:
        if "version" in args:
            raise CommandError(
                "bad_args", "a new article has no version; give article_id to edit one"
            )
        article = KnowledgeArticle(title=title, body=body, version=1)
        for name, values in lists.items():
            setattr(article, name, values or [])
        ctx.session.add(article)
    else:
        article = get_row(ctx, KnowledgeArticle, article_id, "article")
        t = article_topic(article.id)
        check_version(ctx, article, arg(args, "version", int), t, f"article {article.id}")
        if title is not None:
            article.title = title
        if body is not None:
            article.body = body
        for name, values in lists.items():
            if values is not None:
                setattr(article, name, values)
        article.version += 1
    article.updated_at = ctx.now
    article.updated_by = ctx.user.name
    ctx.session.flush()
    ctx.emit(
        "knowledge.saved",
        article_topic(article.id),
        {"article_id": article.id, "version": article.version, "title": article.title},
    )
    return {"article_id": article.id, "version": article.version}


def _summary(article: KnowledgeArticle) -> dict[str, Any]:
    state = row_state(article)
    state.pop("body")
    return state


def _limit(args: dict[str, Any], default: int) -> int:
    limit = arg(args, "limit", int, required=False, default=default)
    if not 1 <= limit <= MAX_RESULTS:
        raise CommandError("bad_args", f"limit must be 1..{MAX_RESULTS}")
    return int(limit)


def search_articles(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Ranked full-text search, best first, each hit with a snippet (matches in « »).

    Args (all optional): ``query`` (every word must match, stemmed: "breaks"
    finds "break"), ``tags`` (an article must carry them all), ``asset_kind``,
    ``service_code``, ``limit`` (default 20). No query words: the filtered
    articles, newest first.
    """
    query = arg(args, "query", str, required=False, default="")
    if len(query) > MAX_QUERY:
        raise CommandError("bad_args", f"query is longer than {MAX_QUERY} characters")
    filters = Filters(
        tags=tuple(_labels(args, "tags") or ()),
        asset_kind=arg(args, "asset_kind", str, required=False),
        service_code=arg(args, "service_code", str, required=False),
    )
    hits = search(ctx.session, query, filters, _limit(args, 20))
    rows = {
        a.id: a
        for a in ctx.session.scalars(
            select(KnowledgeArticle).where(KnowledgeArticle.id.in_([h.article_id for h in hits]))
        )
    }
    return {
        "articles": [
            {**_summary(rows[h.article_id]), "score": round(h.score, 6), "snippet": h.snippet}
            for h in hits
        ]
    }


def get_article(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """One article in full, with the ``version`` an edit must name. Args: ``article_id``."""
    article = get_row(ctx, KnowledgeArticle, arg(args, "article_id", int), "article", lock=False)
    return {"article": row_state(article)}


def articles_for(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """What to do: the articles about an alarm, an asset kind or a kind of report.

    Args: ``alarm_id`` (its asset's kind, metric and rule), or any of
    ``asset_kind``, ``metric``, ``rule``, ``service_code``; optional ``limit``
    (default 5). Articles naming the alarm's ``metric:rule`` come first, then
    its metric, then the kind or service code alone. Each has its full body.
    """
    subject = _subject(ctx, args)
    if not any(subject.values()):
        raise CommandError(
            "bad_args", "give alarm_id, or at least one of asset_kind, metric, service_code"
        )
    conn = ctx.session.connection()
    dialect = conn.dialect.name
    wanted = {
        "asset_kind": ("a.asset_kinds", subject["asset_kind"]),
        "service_code": ("a.service_codes", subject["service_code"]),
        "metric": ("a.alarm_rules", subject["metric"]),
        "rule": (
            "a.alarm_rules",
            f"{subject['metric']}:{subject['rule']}"
            if subject["metric"] and subject["rule"]
            else None,
        ),
    }
    terms = {name: (column, value) for name, (column, value) in wanted.items() if value}
    score = " + ".join(
        f"CASE WHEN {json_list_has(dialect, column, name)} THEN {WEIGHTS[name]} ELSE 0 END"
        for name, (column, _) in terms.items()
    )
    sql = f"""SELECT id, score FROM (SELECT a.id, {score} AS score, a.updated_at
              FROM knowledge_articles a) s
              WHERE score > 0 ORDER BY score DESC, updated_at DESC, id LIMIT :limit"""
    params = {name: value for name, (_, value) in terms.items()} | {"limit": _limit(args, 5)}
    ranked = conn.execute(text(sql), params).all()
    rows = {
        a.id: a
        for a in ctx.session.scalars(
            select(KnowledgeArticle).where(KnowledgeArticle.id.in_([r.id for r in ranked]))
        )
    }
    return {
        "subject": subject,
        "articles": [{**row_state(rows[r.id]), "match": int(r.score)} for r in ranked],
    }


def _subject(ctx: CommandContext, args: dict[str, Any]) -> dict[str, str | None]:
    alarm_id = arg(args, "alarm_id", int, required=False)
    subject: dict[str, str | None] = {
        "asset_kind": arg(args, "asset_kind", str, required=False),
        "metric": arg(args, "metric", str, required=False),
        "rule": arg(args, "rule", str, required=False),
        "service_code": arg(args, "service_code", str, required=False),
    }
    if alarm_id is not None:
        alarm = get_row(ctx, Alarm, alarm_id, "alarm", lock=False)
        kind = None
        if alarm.asset_id is not None:
            kind = ctx.session.scalar(select(Asset.kind).where(Asset.id == alarm.asset_id))
        subject |= {"asset_kind": kind, "metric": alarm.metric, "rule": alarm.rule}
    if subject["rule"] and not subject["metric"]:
        raise CommandError("bad_args", "rule needs the metric it applies to")
    return subject
