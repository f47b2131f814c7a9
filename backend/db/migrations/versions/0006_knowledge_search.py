"""knowledge base: article versions and subjects, and full-text search

Adds to ``knowledge_articles`` the optimistic-lock ``version``, who last
saved it, and what it is about (asset kinds, service codes, alarm rules);
then the dialect's full-text index (:mod:`backend.knowledge.search`): FTS5
with triggers on SQLite, a generated tsvector column with a GIN index on
PostgreSQL. Existing articles are indexed as part of the upgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.knowledge.search import create_search, drop_search

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTS = ("asset_kinds", "service_codes", "alarm_rules")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        for name in LISTS:
            batch_op.add_column(
                sa.Column(name, _json(), nullable=False, server_default=sa.text("'[]'"))
            )
        batch_op.add_column(sa.Column("updated_by", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    create_search(op.get_bind())


def downgrade() -> None:
    drop_search(op.get_bind())
    with op.batch_alter_table("knowledge_articles", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("updated_by")
        for name in reversed(LISTS):
            batch_op.drop_column(name)
