"""Alembic migrations of the ledger schema (run through ledger.migrate, not alembic.ini)."""
