"""devices report their over-the-air outcome: ota_status, ota_error, ota_reported_at

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("ota_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("ota_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ota_reported_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("ota_reported_at")
        batch.drop_column("ota_error")
        batch.drop_column("ota_status")
