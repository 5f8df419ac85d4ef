"""The ``newsdedup`` command line: one module per command family, imported when used."""

from ._main import main

__all__ = ["main"]
