"""The installed version, read from the package metadata so that it is written once."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsdedup")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
