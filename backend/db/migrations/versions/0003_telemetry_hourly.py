"""telemetry storage: asset_readings_hourly (downsampled history) and a time index on readings

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_readings_hourly",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("hour", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_readings_hourly_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "asset_id", "metric", "hour", name=op.f("pk_asset_readings_hourly")
        ),
    )
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.create_index("ix_asset_readings_ts", ["ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("asset_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_readings_ts")
    op.drop_table("asset_readings_hourly")
