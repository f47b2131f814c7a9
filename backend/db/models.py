"""The city's record: SQLAlchemy 2.0 typed models, one module for the whole schema.

Geometry is WGS84 lon/lat. Points keep plain ``lon``/``lat`` columns (fast to
filter and to ship over the bus); lines and areas keep WKB in ``geom`` plus a
bounding box for cheap spatial filtering without PostGIS. Every time is a
timezone-aware UTC :class:`~backend.db.types.UTCDateTime`.

Schema changes go through Alembic (``backend/db/migrations``); a test checks
that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.db.types import Geometry, JSONType, UTCDateTime

# Explicit constraint names, so migrations are stable on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ASSET_STATUSES = ("ok", "warning", "alarm", "out_of_service", "under_repair")
ASSET_EVENT_KINDS = (
    "install",
    "inspection",
    "failure",
    "repair",
    "note",
    "predecessor_failure",
    "unmatched_failure",
)
ISSUE_STATUSES = ("open", "acknowledged", "in_progress", "closed")
JOB_STATUSES = ("new", "assigned", "en_route", "on_site", "done", "cancelled")
CREW_STATUSES = ("available", "en_route", "on_site", "off_shift")
ROLES = ("operator", "dispatcher", "shift_lead", "admin")
ALARM_STATES = ("raised", "acknowledged", "shelved", "cleared")
SEVERITIES = ("info", "minor", "major", "critical")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


# BigInteger ids that are still SQLite rowid aliases (autoincrement) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        BaseGeometry: Geometry(),
    }


class Asset(Base):
    """A maintained thing: pump, transformer, street light, signal, hydrant, water main..."""

    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_assets_source_key"),
        CheckConstraint(_in("status", ASSET_STATUSES), name="status"),
        Index("ix_assets_kind_status", "kind", "status"),
        Index("ix_assets_lon_lat", "lon", "lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[str] = mapped_column(String(120))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[BaseGeometry | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="ok")
    install_date: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime | None] = mapped_column()


class AssetReadingBlock(Base):
    """One ingested batch of raw readings, stored as columns: the write path of telemetry.

    A batch of 5,000 readings is one row (its columns as little-endian arrays,
    see :mod:`backend.service.readings`), so ingest costs a row per batch, not
    an index entry per reading. Blocks are sealed into per-asset
    :class:`AssetReadingSegment` rows once their 10-minute window is over.
    """

    __tablename__ = "asset_reading_blocks"
    __table_args__ = (Index("ix_asset_reading_blocks_ts_max", "ts_max"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts_min: Mapped[datetime] = mapped_column()
    ts_max: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column()
    metrics: Mapped[list[str]] = mapped_column()  # names; ``metric`` holds indexes into it
    asset_id: Mapped[bytes] = mapped_column(LargeBinary)  # <i8
    metric: Mapped[bytes] = mapped_column(LargeBinary)  # <u2
    ts: Mapped[bytes] = mapped_column(LargeBinary)  # <i8 microseconds since the epoch, UTC
    value: Mapped[bytes] = mapped_column(LargeBinary)  # <f8


class AssetReadingSegment(Base):
    """One asset's raw readings of one metric within one UTC hour, as two columns.

    The read path: an asset's week of history is a few hundred rows found by
    index. A reading that arrives after its hour was sealed makes another
    segment for the same hour; readers merge them.
    """

    __tablename__ = "asset_reading_segments"
    __table_args__ = (
        Index("ix_asset_reading_segments_asset_metric_hour", "asset_id", "metric", "hour"),
        Index("ix_asset_reading_segments_hour", "hour"),  # compaction walks by hour
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(40))
    hour: Mapped[datetime] = mapped_column()  # start of the UTC hour
    count: Mapped[int] = mapped_column()
    ts: Mapped[bytes] = mapped_column(LargeBinary)  # <i8 microseconds, ascending
    value: Mapped[bytes] = mapped_column(LargeBinary)  # <f8


class AssetLatestReading(Base):
    """The newest sealed reading per asset and metric (snapshots add the unsealed blocks)."""

    __tablename__ = "asset_latest_readings"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    ts: Mapped[datetime] = mapped_column()
    value: Mapped[float] = mapped_column(Float)


class AssetReadingHourly(Base):
    """Downsampled telemetry: one row per asset, metric and UTC hour beyond the raw window."""

    __tablename__ = "asset_readings_hourly"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)  # start of the hour, UTC
    count: Mapped[int] = mapped_column()
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)


class AssetEvent(Base):
    """Something that happened to an asset: install, inspection, failure, repair, note.

    ``asset_id`` is empty for an ``unmatched_failure`` (its asset is not in the
    inventory); such events keep their source key so nothing is lost.
    """

    __tablename__ = "asset_events"
    __table_args__ = (
        UniqueConstraint("source", "source_id", "kind", name="uq_asset_events_source_key"),
        CheckConstraint(_in("kind", ASSET_EVENT_KINDS), name="kind"),
        Index("ix_asset_events_asset_ts", "asset_id", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    ts: Mapped[datetime] = mapped_column()
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(80))
    source_id: Mapped[str | None] = mapped_column(String(120))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id", ondelete="SET NULL"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Road(Base):
    """A road segment (centerline) with the fields a routing graph needs.

    ``oneway``: 0 both ways, 1 along the geometry, -1 against it.
    """

    __tablename__ = "roads"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_roads_source_key"),
        CheckConstraint("oneway IN (-1, 0, 1)", name="oneway"),
        Index("ix_roads_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str | None] = mapped_column(String(200))
    road_class: Mapped[str] = mapped_column(String(40))
    drivable: Mapped[bool] = mapped_column(Boolean, default=True)
    oneway: Mapped[int] = mapped_column(default=0)
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[BaseGeometry] = mapped_column()
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Citizen(Base):
    """A person who reports issues; one record of all their interactions."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column()
    notify: Mapped[bool] = mapped_column(Boolean, default=True)


class Issue(Base):
    """A service request (Open311 GeoReport v2): reported by a citizen, a sensor or staff."""

    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_issues_source_key"),
        CheckConstraint(_in("status", ISSUE_STATUSES), name="status"),
        Index("ix_issues_status_requested", "status", "requested_at"),
        Index("ix_issues_lon_lat", "lon", "lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(120))  # Open311 service_name
    service_code: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()
    expected_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    channel: Mapped[str | None] = mapped_column(String(40))
    agency: Mapped[str | None] = mapped_column(String(120))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)


class CitizenInteraction(Base):
    """One contact with a citizen: a report, a call, a notice sent, a reply."""

    __tablename__ = "citizen_interactions"
    __table_args__ = (Index("ix_citizen_interactions_citizen_ts", "citizen_id", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    ts: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))  # report, call, notice, reply...
    body: Mapped[str | None] = mapped_column(Text)


class Crew(Base):
    """A field crew: members, skills, depot, shift and where it was last seen."""

    __tablename__ = "crews"
    __table_args__ = (CheckConstraint(_in("status", CREW_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    members: Mapped[list[str]] = mapped_column(default=list)
    skills: Mapped[list[str]] = mapped_column(default=list)
    depot_lon: Mapped[float | None] = mapped_column(Float)
    depot_lat: Mapped[float | None] = mapped_column(Float)
    shift_start: Mapped[str] = mapped_column(String(5), default="07:00")  # local HH:MM
    shift_end: Mapped[str] = mapped_column(String(5), default="19:00")
    status: Mapped[str] = mapped_column(String(20), default="available")
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_heading: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)


class CrewPositionBlock(Base):
    """One batch of crews' reported positions as columns: their trails and the replayable timeline.

    Like :class:`AssetReadingBlock`, a batch is one row; ``heading`` and
    ``speed_mps`` are NaN where the device did not report them.
    """

    __tablename__ = "crew_position_blocks"
    __table_args__ = (Index("ix_crew_position_blocks_ts_max", "ts_max"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts_min: Mapped[datetime] = mapped_column()
    ts_max: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column()
    crew_id: Mapped[bytes] = mapped_column(LargeBinary)  # <i8
    ts: Mapped[bytes] = mapped_column(LargeBinary)  # <i8 microseconds since the epoch, UTC
    lon: Mapped[bytes] = mapped_column(LargeBinary)  # <f8
    lat: Mapped[bytes] = mapped_column(LargeBinary)  # <f8
    heading: Mapped[bytes] = mapped_column(LargeBinary)  # <f8, NaN = unknown
    speed_mps: Mapped[bytes] = mapped_column(LargeBinary)  # <f8, NaN = unknown


class Job(Base):
    """A work order: what to do, where, with which skills, by when, and by whom.

    ``version`` is the optimistic lock: a command that changes a job names the
    version its user saw, and a stale one is refused.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        Index("ix_jobs_status_due", "status", "due_at"),
        Index("ix_jobs_crew_id", "crew_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=3)  # 1 most urgent
    skills: Mapped[list[str]] = mapped_column(default=list)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="new")
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id", ondelete="SET NULL"))
    assigned_by: Mapped[str | None] = mapped_column(String(80))
    assigned_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)


class User(Base):
    """A console user and the role that decides what they may do."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Alarm(Base):
    """A condition on an asset that needs a person: raised, acknowledged, shelved, cleared."""

    __tablename__ = "alarms"
    __table_args__ = (
        CheckConstraint(_in("state", ALARM_STATES), name="state"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        Index("ix_alarms_state_severity", "state", "severity"),
        Index("ix_alarms_asset_id", "asset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    metric: Mapped[str | None] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(15), default="raised")
    message: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str | None] = mapped_column(String(120))
    raised_at: Mapped[datetime] = mapped_column()
    acked_by: Mapped[str | None] = mapped_column(String(80))
    acked_at: Mapped[datetime | None] = mapped_column()
    shelved_until: Mapped[datetime | None] = mapped_column()
    shelve_reason: Mapped[str | None] = mapped_column(Text)
    cleared_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)


class KnowledgeArticle(Base):
    """A staff knowledge-base article (how to fix X, who to call for Y)."""

    __tablename__ = "knowledge_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column()


class EventCounter(Base):
    """The single row that hands out ``events.seq`` values.

    Incrementing it in the writing transaction takes a row lock, so concurrent
    writers queue and the sequence has no gaps and no reordering at commit.
    """

    __tablename__ = "event_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Event(Base):
    """One committed change: outbox for the live bus, audit log and timeline in one.

    ``seq`` is gap-free and global (see :class:`EventCounter`).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_topic_seq", "topic", "seq"),
        Index("ix_events_ts", "ts"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column()
    type: Mapped[str] = mapped_column(String(60))
    topic: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str | None] = mapped_column(String(80))
    msg_id: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CommandLog(Base):
    """An applied command's idempotency key and the reply it got.

    Written in the command's own transaction, so a retried command (same key)
    is answered from here and never applied twice, even across a crash.
    """

    __tablename__ = "command_log"
    __table_args__ = (Index("ix_command_log_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    command: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(80))
    reply: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column()


class BusCursor(Base):
    """How far a publisher has sent the outbox (``events.seq``); it resumes there on restart."""

    __tablename__ = "bus_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column()


class AssetRisk(Base):
    """An asset's latest failure-risk score (one row per scored asset, replaced on rescoring).

    Not a live entity: consoles read it with ``get_risk``; each rescoring appends
    one ``risk.scored`` event for the audit log.
    """

    __tablename__ = "asset_risk"
    __table_args__ = (Index("ix_asset_risk_p30", "p30"),)

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    p30: Mapped[float] = mapped_column(Float)  # probability of a failure in the next 30 days
    score: Mapped[float] = mapped_column(Float)  # relative hazard against the average asset
    rank: Mapped[int] = mapped_column()  # 1 = riskiest of its source
    reasons: Mapped[list[str]] = mapped_column(default=list)
    length_m: Mapped[float | None] = mapped_column(Float)  # linear assets (water mains)
    model: Mapped[str] = mapped_column(String(60))
    as_of: Mapped[datetime] = mapped_column()  # the history's time the score stands at
    scored_at: Mapped[datetime] = mapped_column()
    #: The score the model gave at its evaluation cutoff and the failures after it:
    #: ``{cutoff, until, score, failures}`` (what a renewal plan would have avoided).
    backtest: Mapped[dict[str, Any] | None] = mapped_column()
