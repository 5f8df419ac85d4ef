"""Choosing a backend from the store location the user wrote in the config."""

from __future__ import annotations

from pathlib import Path

from ._base import Store
from ._sqlite import SQLiteStore


def open_store(location: str | Path, *, read_only: bool = False) -> Store:
    """``sqlite:///path``, ``postgresql://…`` or a plain file path (SQLite)."""
    text = str(location)
    if is_postgres(text):
        from ._postgres import PostgresStore  # psycopg is an optional extra

        return PostgresStore(text, read_only=read_only)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SQLiteStore(text, read_only=read_only)


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def lock_path(location: str | Path) -> Path | None:
    """Where the run lock for a store lives: beside the SQLite file.

    ``None`` for PostgreSQL: several crawlers sharing one database is the point there,
    and the database's own claims and advisory locks keep them apart instead.
    """
    text = str(location)
    if is_postgres(text):
        return None
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return Path(text + ".lock")
