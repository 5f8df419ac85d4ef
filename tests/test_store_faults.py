"""The store under faults: disk full, read-only, locked, from a newer version, corrupt.

Each fault is met by the real CLI in a child process. The contract: a clear message that
names the store file, exit code 3 (or, for a lock released in time, waiting and success),
and nothing already written is lost: the articles committed before the fault are all
still there, byte for byte, and the store still passes `newsdedup check` afterwards.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.builders import article_page
from tests.cli import newsdedup_exe
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.slow

PAGES = [f"/news/{i}.html" for i in range(8)]
WORDS = ("tide", "grain", "rail", "vote", "storm", "bank", "port", "crop", "mine", "court")


def page(i: int) -> str:
    paras = [
        f"Report {i}.{p}: " + " ".join(WORDS[(i + p + k) % 10] for k in range(40)) + "."
        for p in range(4)
    ]
    return article_page(f"Report {i}", paras, lang=None, doctype=False)


@pytest.fixture(scope="module")
def site():
    with ScriptedServer() as srv:
        items = "".join(f"<item><title>{p}</title><link>{srv.url(p)}</link></item>" for p in PAGES)
        srv.routes["/feed.xml"] = Reply(
            body=f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>",
            content_type="application/rss+xml",
        )
        srv.routes["/robots.txt"] = Reply(
            body="User-agent: *\nAllow: /\n", content_type="text/plain"
        )
        for i, p in enumerate(PAGES):
            srv.routes[p] = Reply(body=page(i))
        yield srv


def setup_store(site: ScriptedServer, folder: Path, pages: int = 3) -> Path:
    """A config and a store that already holds `pages` articles."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "c.toml"
    cfg.write_text(
        f'store = {{ path = "s.db" }}\n[crawl]\nper_host_delay = 0.0\n'
        f'timeout = 2.0\nmax_retries = 0\nallow_hosts = ["127.0.0.1"]\n'
        f'[[sources]]\nurl = "{site.url("/feed.xml")}"\nkind = "feed"\n',
        encoding="utf-8",
    )
    done = cli("crawl", "--config", str(cfg), "--max-pages", str(pages))
    assert done.returncode == 0, done.stderr
    return cfg


def cli(
    *args: str,
    prefix: list[str] | None = None,
    preexec=None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), newsdedup_exe(), "-q", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def content(db: Path) -> dict[str, str]:
    """url -> text of every stored article: what must survive any fault."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT url, text FROM articles"))
    finally:
        con.close()


def assert_nothing_lost(cfg: Path, before: dict[str, str]) -> None:
    after = content(cfg.parent / "s.db")
    assert before.items() <= after.items(), "an article committed before the fault is gone"
    check = cli("check", "--config", str(cfg))
    assert check.returncode == 0, check.stdout + check.stderr


# -- disk full ---------------------------------------------------------------------------


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_mid_crawl_is_exit_3_and_keeps_what_was_written(site, tmp_path):
    cfg = setup_store(site, tmp_path)
    db = tmp_path / "s.db"
    before = content(db)
    # Room for the WAL index and a page or two of log: the crawl runs out mid-way.
    limit = 40 * 1024
    done = cli("crawl", "--config", str(cfg), preexec=_file_size_limit(limit))
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "store error" in done.stderr and str(db) in done.stderr
    assert "no space left" in done.stderr or "full" in done.stderr
    assert "Traceback" not in done.stderr
    assert_nothing_lost(cfg, before)
    # Space again: the next run stores the rest.
    again = cli("crawl", "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    assert len(content(db)) == len(PAGES)


# -- read-only -----------------------------------------------------------------------------


def _unprivileged() -> list[str]:
    """Root without capabilities: file permissions bind it like any user (chmod alone
    does not stop root). setpriv keeps uid 0, so it can still read the venv."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root's capabilities")
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def _read_only(folder: Path) -> None:
    for p in folder.iterdir():
        p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


def test_read_only_store_is_exit_3_and_untouched(site, tmp_path):
    folder = tmp_path / "ro"
    cfg = setup_store(site, folder)
    db = folder / "s.db"
    before, raw = content(db), db.read_bytes()
    _read_only(folder)
    try:
        done = cli("crawl", "--config", str(cfg), prefix=_unprivileged())
        report = cli("report", "--config", str(cfg), prefix=_unprivileged())
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.chmod(0o644)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "store error" in done.stderr and str(folder) in done.stderr
    assert "read-only" in done.stderr or "permission" in done.stderr.lower()
    assert "Traceback" not in done.stderr
    assert db.read_bytes() == raw
    assert_nothing_lost(cfg, before)
    assert report.returncode in (0, 3)  # reading is allowed to work; if not, a clear error
    assert "Traceback" not in report.stderr


# -- locked ---------------------------------------------------------------------------------


def _hold_write_lock(db: Path, seconds: float, ready: threading.Event) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    con.execute("ROLLBACK")
    con.close()


def _crawl_while_locked(cfg, db, *, seconds: float):
    """Run `newsdedup crawl` while another connection holds the store's write lock."""
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db, seconds, ready))
    holder.start()
    ready.wait(10)
    try:
        return cli("crawl", "--config", str(cfg))
    finally:
        holder.join()


def test_store_locked_past_the_busy_timeout_is_exit_3_naming_the_file(site, tmp_path):
    cfg = setup_store(site, tmp_path)
    db = tmp_path / "s.db"
    before = content(db)
    done = _crawl_while_locked(cfg, db, seconds=14.0)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert f"{db}: the store is locked by another process" in done.stderr
    assert_nothing_lost(cfg, before)


def test_store_locked_briefly_waits_and_succeeds(site, tmp_path):
    cfg = setup_store(site, tmp_path)
    db = tmp_path / "s.db"
    before = content(db)
    done = _crawl_while_locked(cfg, db, seconds=1.5)
    assert done.returncode == 0, done.stderr
    assert len(content(db)) == len(PAGES)
    assert_nothing_lost(cfg, before)


# -- newer schema, corrupt file ------------------------------------------------------------


def test_store_from_a_newer_version_is_exit_3_and_untouched(site, tmp_path):
    cfg = setup_store(site, tmp_path)
    db = tmp_path / "s.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 999")
    con.close()
    before, raw = content(db), db.read_bytes()
    for command in (
        ["crawl", "--config", str(cfg)],
        ["dedup", "--config", str(cfg)],
        ["check", "--config", str(cfg)],
    ):
        done = cli(*command)
        assert done.returncode == 3, (command, done.stderr)
        assert str(db) in done.stderr and "newer newsdedup" in done.stderr
    assert db.read_bytes() == raw
    assert content(db) == before


def test_corrupt_store_is_exit_3_on_check_and_crawl(site, tmp_path):
    cfg = setup_store(site, tmp_path)
    db = tmp_path / "s.db"
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096
    data[2 * 4096 : 3 * 4096] = b"\xde\xad\xbe\xef" * 1024  # scribble over a b-tree page
    db.write_bytes(bytes(data))
    for command in (["check", "--config", str(cfg)], ["crawl", "--config", str(cfg)]):
        done = cli(*command)
        assert done.returncode == 3, (command, done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert str(db) in done.stdout + done.stderr
