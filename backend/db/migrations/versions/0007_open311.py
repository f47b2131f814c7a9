"""citizen notices: delivery state of outbound citizen interactions

A notice to a citizen (their issue was fixed) is recorded when the issue
closes and delivered by a separate step; these columns hold that step's
state: ``delivery`` (pending, sent, failed), when it was delivered, how
many attempts it took and the last error.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("delivered_at", backend.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_citizen_interactions_delivery", ["delivery"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("citizen_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_interactions_delivery")
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery")
