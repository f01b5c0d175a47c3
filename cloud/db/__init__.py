"""Database layer: SQLAlchemy 2 tables (same code on SQLite and PostgreSQL) and Alembic migrations."""

from frugalstack.cloud.db import tables_data, tables_ops, tables_registry, tables_security
from frugalstack.cloud.db.base import Base
from frugalstack.cloud.db.engine import Database
from frugalstack.cloud.features import tables as feature_tables  # noqa: F401  (registers the tables)

__all__ = ["Base", "Database", "tables_data", "tables_ops", "tables_registry", "tables_security"]
