"""Choosing a backend from the store location the user wrote in the config."""

from __future__ import annotations

from pathlib import Path

from ._base import Store
from ._exceptions import StoreError
from ._sqlite import SQLiteStore


def open_store(location: str | Path, *, read_only: bool = False) -> Store:
    """``sqlite:///path``, ``postgresql://…`` or a plain file path (SQLite)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{text}: the PostgreSQL backend is not available in this version")
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    return SQLiteStore(text, read_only=read_only)


def lock_path(location: str | Path) -> Path:
    """Where the run lock for a store lives: beside the SQLite file."""
    text = str(location)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    return Path(text + ".lock")
