"""initial city schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:13:47.270821
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("geom", backend.db.types.Geometry(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("install_date", sa.Date(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('ok', 'warning', 'alarm', 'out_of_service', 'under_repair')",
            name=op.f("ck_assets_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("source", "source_id", name="uq_assets_source_key"),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index("ix_assets_kind_status", ["kind", "status"], unique=False)
        batch_op.create_index("ix_assets_lon_lat", ["lon", "lat"], unique=False)

    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("email", name=op.f("uq_citizens_email")),
    )
    op.create_table(
        "crews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "members",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("depot_lon", sa.Float(), nullable=True),
        sa.Column("depot_lat", sa.Float(), nullable=True),
        sa.Column("shift_start", sa.String(length=5), nullable=False),
        sa.Column("shift_end", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_heading", sa.Float(), nullable=True),
        sa.Column("last_seen_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('available', 'en_route', 'on_site', 'off_shift')",
            name=op.f("ck_crews_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crews")),
        sa.UniqueConstraint("name", name=op.f("uq_crews_name")),
    )
    op.create_table(
        "event_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_counter")),
    )
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=True),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_topic_seq", ["topic", "seq"], unique=False)
        batch_op.create_index("ix_events_ts", ["ts"], unique=False)

    op.create_table(
        "knowledge_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
    )
    op.create_table(
        "roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("road_class", sa.String(length=40), nullable=False),
        sa.Column("drivable", sa.Boolean(), nullable=False),
        sa.Column("oneway", sa.Integer(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("geom", backend.db.types.Geometry(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("oneway IN (-1, 0, 1)", name=op.f("ck_roads_oneway")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
        sa.UniqueConstraint("source", "source_id", name="uq_roads_source_key"),
    )
    with op.batch_alter_table("roads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roads_bbox", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('operator', 'dispatcher', 'shift_lead', 'admin')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=40), nullable=True),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=15), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("group_key", sa.String(length=120), nullable=True),
        sa.Column("raised_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acked_by", sa.String(length=80), nullable=True),
        sa.Column("acked_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shelved_until", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shelve_reason", sa.Text(), nullable=True),
        sa.Column("cleared_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('info', 'minor', 'major', 'critical')", name=op.f("ck_alarms_severity")
        ),
        sa.CheckConstraint(
            "state IN ('raised', 'acknowledged', 'shelved', 'cleared')",
            name=op.f("ck_alarms_state"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_alarms_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_asset_id", ["asset_id"], unique=False)
        batch_op.create_index("ix_alarms_state_severity", ["state", "severity"], unique=False)

    op.create_table(
        "asset_readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_readings_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_readings")),
    )
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_readings_asset_metric_ts", ["asset_id", "metric", "ts"], unique=False
        )

    op.create_table(
        "crew_positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crews.id"],
            name=op.f("fk_crew_positions_crew_id_crews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_positions")),
    )
    with op.batch_alter_table("crew_positions", schema=None) as batch_op:
        batch_op.create_index("ix_crew_positions_crew_ts", ["crew_id", "ts"], unique=False)

    op.create_table(
        "issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=120), nullable=False),
        sa.Column("service_code", sa.String(length=80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("requested_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expected_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("agency", sa.String(length=120), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'in_progress', 'closed')",
            name=op.f("ck_issues_status"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_issues_asset_id_assets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_issues_citizen_id_citizens"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
        sa.UniqueConstraint("source", "source_id", name="uq_issues_source_key"),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index("ix_issues_lon_lat", ["lon", "lat"], unique=False)
        batch_op.create_index(
            "ix_issues_status_requested", ["status", "requested_at"], unique=False
        )

    op.create_table(
        "citizen_interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_citizen_interactions_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("fk_citizen_interactions_issue_id_issues"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_interactions")),
    )
    with op.batch_alter_table("citizen_interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_citizen_interactions_citizen_ts", ["citizen_id", "ts"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=True),
        sa.Column("assigned_by", sa.String(length=80), nullable=True),
        sa.Column("assigned_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'assigned', 'en_route', 'on_site', 'done', 'cancelled')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name=op.f("ck_jobs_priority")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_jobs_asset_id_assets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["crew_id"], ["crews.id"], name=op.f("fk_jobs_crew_id_crews"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_jobs_issue_id_issues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_crew_id", ["crew_id"], unique=False)
        batch_op.create_index("ix_jobs_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "asset_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=True),
        sa.Column("source_id", sa.String(length=120), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("crew_id", sa.Integer(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('install', 'inspection', 'failure', 'repair', 'note', 'predecessor_failure', 'unmatched_failure')",
            name=op.f("ck_asset_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_events_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crews.id"],
            name=op.f("fk_asset_events_crew_id_crews"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_asset_events_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_events")),
        sa.UniqueConstraint("source", "source_id", "kind", name="uq_asset_events_source_key"),
    )
    with op.batch_alter_table("asset_events", schema=None) as batch_op:
        batch_op.create_index("ix_asset_events_asset_ts", ["asset_id", "ts"], unique=False)
    # The single counter row that hands out gap-free event sequence numbers.
    counter = sa.table(
        "event_counter", sa.column("id", sa.Integer), sa.column("last_seq", sa.BigInteger)
    )
    op.bulk_insert(counter, [{"id": 1, "last_seq": 0}])


def downgrade() -> None:

    with op.batch_alter_table("asset_events", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_events_asset_ts")

    op.drop_table("asset_events")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_due")
        batch_op.drop_index("ix_jobs_crew_id")

    op.drop_table("jobs")
    with op.batch_alter_table("citizen_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_interactions_citizen_ts")

    op.drop_table("citizen_interactions")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_status_requested")
        batch_op.drop_index("ix_issues_lon_lat")

    op.drop_table("issues")
    with op.batch_alter_table("crew_positions", schema=None) as batch_op:
        batch_op.drop_index("ix_crew_positions_crew_ts")

    op.drop_table("crew_positions")
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_readings_asset_metric_ts")

    op.drop_table("asset_readings")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_state_severity")
        batch_op.drop_index("ix_alarms_asset_id")

    op.drop_table("alarms")
    op.drop_table("users")
    with op.batch_alter_table("roads", schema=None) as batch_op:
        batch_op.drop_index("ix_roads_bbox")

    op.drop_table("roads")
    op.drop_table("knowledge_articles")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_ts")
        batch_op.drop_index("ix_events_topic_seq")

    op.drop_table("events")
    op.drop_table("event_counter")
    op.drop_table("crews")
    op.drop_table("citizens")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_lon_lat")
        batch_op.drop_index("ix_assets_kind_status")

    op.drop_table("assets")
