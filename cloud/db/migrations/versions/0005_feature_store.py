"""feature store: versioned feature views, timestamped offline rows, signed device snapshots

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_views",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("definition_hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_views")),
        sa.UniqueConstraint("name", "version", name="uq_feature_views_name_version"),
    )
    op.create_index("ix_feature_views_name", "feature_views", ["name"])
    op.create_table(
        "feature_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("view_name", sa.String(length=63), nullable=False),
        sa.Column("entity_key", sa.String(length=200), nullable=False),
        sa.Column("event_ts", sa.Float(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_rows")),
    )
    op.create_index("ix_feature_rows_view_entity_event", "feature_rows", ["view_name", "entity_key", "event_ts"])
    op.create_table(
        "feature_snapshots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("profile", sa.String(length=100), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("slice", sa.JSON(), nullable=False),
        sa.Column("views", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("storage_path", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_feature_snapshots_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_snapshots")),
    )
    op.create_index("ix_feature_snapshots_profile", "feature_snapshots", ["profile"])


def downgrade() -> None:
    op.drop_index("ix_feature_snapshots_profile", table_name="feature_snapshots")
    op.drop_table("feature_snapshots")
    op.drop_index("ix_feature_rows_view_entity_event", table_name="feature_rows")
    op.drop_table("feature_rows")
    op.drop_index("ix_feature_views_name", table_name="feature_views")
    op.drop_table("feature_views")
