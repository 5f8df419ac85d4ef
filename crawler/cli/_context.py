"""What every command derives from its arguments: the config, the run lock, the store.

Kept apart from the commands so that each command module only says what it does, and so
that the rules cron depends on (one run at a time per SQLite store, a killed run's claims
released) are written once.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from store import ConfigError

if TYPE_CHECKING:  # the store and the config (numpy) load when a command runs
    from crawler._config import Config
    from store import Store


def config_from(args: argparse.Namespace) -> Config:
    """The ``--config`` file (or the defaults), with ``--store`` overriding its store."""
    from crawler._config import Config, load_config

    cfg = load_config(args.config) if getattr(args, "config", None) else Config()
    if getattr(args, "store", None):
        cfg.store = args.store
    return cfg


def run_lock(location: str) -> AbstractContextManager[object]:
    """The file lock for a SQLite store; none for PostgreSQL, where many runs may share it."""
    from store import RunLock, lock_path

    path = lock_path(location)
    return RunLock(path) if path is not None else nullcontext()


@contextmanager
def locked_store(cfg: Config) -> Iterator[Store]:
    """The store, opened for writing under the run lock."""
    from store import open_store

    with run_lock(cfg.store), open_store(cfg.store) as store:
        yield store


@contextmanager
def crawling(args: argparse.Namespace) -> Iterator[tuple[Config, Store]]:
    """What crawl and run share: a config with sources, the run lock, the open store, and
    the claims of a run that died without releasing them."""
    cfg = config_from(args)
    if not cfg.sources:
        raise ConfigError(f"{args.config}: no [[sources]] to crawl")
    with locked_store(cfg) as store:
        _release_dead_claims(cfg.store, store)
        yield cfg, store


def _release_dead_claims(location: str, store: Store) -> None:
    """Under a SQLite run lock no other crawler is alive: any claim left is a killed run's,
    and would otherwise hide its URLs from this run until the lease ran out."""
    from store import lock_path

    if lock_path(location) is not None:
        with store.transaction():
            store.frontier_release_all()


def add_config_arguments(sp: argparse.ArgumentParser, *, required: bool = False) -> None:
    sp.add_argument(
        "--config",
        "-c",
        required=required,
        metavar="FILE",
        help="TOML config file (sources, store, politeness, dedup settings)",
    )
    sp.add_argument(
        "--store", metavar="PATH_OR_URL", help="store path or URL (overrides the config's)"
    )
