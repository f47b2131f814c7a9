"""failure risk: asset_risk (latest 30-day failure probability and reasons per asset)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "asset_risk",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("p30", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("as_of", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scored_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("backtest", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_risk_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_risk")),
    )
    with op.batch_alter_table("asset_risk", schema=None) as batch_op:
        batch_op.create_index("ix_asset_risk_p30", ["p30"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("asset_risk", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_risk_p30")
    op.drop_table("asset_risk")
