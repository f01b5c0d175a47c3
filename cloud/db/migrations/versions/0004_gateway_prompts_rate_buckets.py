"""gateway usage may keep the prompt (opt-in per use case); rate-limit buckets shared by workers

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("use_case_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("prompt_text", sa.Text(), nullable=True))
        batch.create_index("ix_usage_records_use_case_id", ["use_case_id"])
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_buckets")),
    )
    op.create_index("ix_rate_buckets_updated", "rate_buckets", ["updated"])


def downgrade() -> None:
    op.drop_index("ix_rate_buckets_updated", table_name="rate_buckets")
    op.drop_table("rate_buckets")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_index("ix_usage_records_use_case_id")
        batch.drop_column("prompt_text")
        batch.drop_column("use_case_id")
