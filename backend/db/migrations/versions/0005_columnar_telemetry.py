"""columnar telemetry: readings and crew positions stored as blocks of columns

Raw readings move from one row per reading (``asset_readings``) to one row
per ingested batch (``asset_reading_blocks``), sealed into per-asset
``asset_reading_segments``; ``asset_latest_readings`` keeps the newest sealed
reading per asset and metric. Crew positions move to ``crew_position_blocks``.
Existing rows are carried over in both directions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 16:00:51.795537
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types
from backend.db.migrations.columnar_data import (
    blocks_to_crew_rows,
    crew_rows_to_blocks,
    reading_rows_to_blocks,
    stored_readings_to_rows,
)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_reading_blocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts_min", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ts_max", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asset_id", sa.LargeBinary(), nullable=False),
        sa.Column("metric", sa.LargeBinary(), nullable=False),
        sa.Column("ts", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_reading_blocks")),
    )
    with op.batch_alter_table("asset_reading_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_asset_reading_blocks_ts_max", ["ts_max"], unique=False)

    op.create_table(
        "crew_position_blocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts_min", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ts_max", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("crew_id", sa.LargeBinary(), nullable=False),
        sa.Column("ts", sa.LargeBinary(), nullable=False),
        sa.Column("lon", sa.LargeBinary(), nullable=False),
        sa.Column("lat", sa.LargeBinary(), nullable=False),
        sa.Column("heading", sa.LargeBinary(), nullable=False),
        sa.Column("speed_mps", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_position_blocks")),
    )
    with op.batch_alter_table("crew_position_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_crew_position_blocks_ts_max", ["ts_max"], unique=False)

    op.create_table(
        "asset_latest_readings",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_latest_readings_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "metric", name=op.f("pk_asset_latest_readings")),
    )
    op.create_table(
        "asset_reading_segments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("hour", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ts", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_reading_segments_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_reading_segments")),
    )
    with op.batch_alter_table("asset_reading_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_reading_segments_asset_metric_hour",
            ["asset_id", "metric", "hour"],
            unique=False,
        )
        batch_op.create_index("ix_asset_reading_segments_hour", ["hour"], unique=False)

    bind = op.get_bind()
    reading_rows_to_blocks(bind)
    crew_rows_to_blocks(bind)
    with op.batch_alter_table("crew_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crew_positions_crew_ts"))

    op.drop_table("crew_positions")
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_readings_asset_metric_ts"))
        batch_op.drop_index(batch_op.f("ix_asset_readings_ts"))

    op.drop_table("asset_readings")


def downgrade() -> None:
    op.create_table(
        "asset_readings",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("asset_id", sa.INTEGER(), nullable=False),
        sa.Column("metric", sa.VARCHAR(length=40), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.FLOAT(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_readings_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_readings")),
    )
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_readings_ts"), ["ts"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_asset_readings_asset_metric_ts"),
            ["asset_id", "metric", "ts"],
            unique=False,
        )

    op.create_table(
        "crew_positions",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("crew_id", sa.INTEGER(), nullable=False),
        sa.Column("ts", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.FLOAT(), nullable=False),
        sa.Column("lat", sa.FLOAT(), nullable=False),
        sa.Column("heading", sa.FLOAT(), nullable=True),
        sa.Column("speed_mps", sa.FLOAT(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crews.id"],
            name=op.f("fk_crew_positions_crew_id_crews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_positions")),
    )
    with op.batch_alter_table("crew_positions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crew_positions_crew_ts"), ["crew_id", "ts"], unique=False
        )

    bind = op.get_bind()
    stored_readings_to_rows(bind)
    blocks_to_crew_rows(bind)
    with op.batch_alter_table("asset_reading_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_reading_segments_hour")
        batch_op.drop_index("ix_asset_reading_segments_asset_metric_hour")

    op.drop_table("asset_reading_segments")
    op.drop_table("asset_latest_readings")
    with op.batch_alter_table("crew_position_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_crew_position_blocks_ts_max")

    op.drop_table("crew_position_blocks")
    with op.batch_alter_table("asset_reading_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_reading_blocks_ts_max")

    op.drop_table("asset_reading_blocks")
