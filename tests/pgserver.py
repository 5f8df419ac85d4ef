"""A throwaway, real PostgreSQL 15 server for tests and benchmarks.

initdb into a fresh temp dir, start on 127.0.0.1 and a free port with trust auth and no
fsync, hand out one new database per test, and remove it all at the end. PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` OS user.
Where the binaries are missing, :func:`start_or_skip` skips the calling tests with the
reason rather than failing them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("NEWSDEDUP_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> list[str]:
    """The command prefix that runs a server binary as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    raise PostgresUnavailable("running as root and no runuser to switch to 'postgres'")


class PostgresServer:
    """One server in its own temp dir; ``start()``, then ``create_database()`` per test."""

    def __init__(self, bin_dir: Path = PG_BIN) -> None:
        self.bin_dir = bin_dir
        self.port = 0
        self.root: Path | None = None
        self._names = itertools.count(1)
        self._running = False

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        out = subprocess.run(
            [*_as_server_user(), *args], capture_output=True, text=True, timeout=120
        )
        if out.returncode:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {out.stderr or out.stdout}")

    def start(self) -> PostgresServer:
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (self.bin_dir / tool).exists():
                raise PostgresUnavailable(f"no PostgreSQL 15 server binaries in {self.bin_dir}")
        prefix = _as_server_user()
        if prefix:
            try:
                import pwd

                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and no 'postgres' user") from exc
        # /tmp itself, not pytest's per-user dir: that one is closed to the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="newsdedup-pg-"))
        if prefix:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        for _ in range(3):  # the free port may be taken between finding and binding it
            self.port = _free_port()
            opts = (
                f"-p {self.port} -h 127.0.0.1 -k {self.root} -F "
                "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
            )
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
            except PostgresUnavailable:
                continue
            self._running = True
            return self
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise PostgresUnavailable(f"the server would not start:\n{log}")

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        if self._running:
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                )
            self._running = False
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_or_skip() -> PostgresServer:
    """A started server, or ``pytest.skip`` with the reason none can be had here."""
    import pytest

    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install newsdedup[postgres])")
    server = PostgresServer()
    try:
        return server.start()
    except PostgresUnavailable as exc:
        server.stop()
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
