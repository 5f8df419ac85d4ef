"""What revisiting a page changes in the store: fetch times, validators, revised articles.

A cron crawl with ``[crawl] revisit_after`` fetches stored pages again. The frontier row of
a page remembers when it was last fetched and the ETag / Last-Modified its answer carried,
so the revisit is a conditional GET; an article whose text changed is updated in place
(its id, and so every cluster id that rests on it, stays) and goes on the ``resign``
queue, which the dedup pass drains (``store.dedup._pass``). Part of :class:`store.Store`;
the SQL is the dialect both backends share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store._models import ArticleRecord
from store._time import to_db_time, utcnow

from ._levels import LSH
from ._values import chunks

if TYPE_CHECKING:
    from contextlib import AbstractContextManager


class Revisits:
    """Mixed into :class:`store.Store`; relies on its DB-API surface."""

    if TYPE_CHECKING:
        _claim_lock: str

        def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
        def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
        def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
        def transaction(self) -> AbstractContextManager[None]: ...

    # -- the frontier -----------------------------------------------------------------

    def frontier_requeue_stale(self, fetched_before: datetime, limit: int | None) -> int:
        """Queue again up to ``limit`` done URLs last fetched before ``fetched_before``.

        Oldest fetch first, and bounded: a run asks for no more than its page budget, so
        the budget holds and a backlog of revisits is spread over runs. Queued revisits
        are claimed after every new URL (see ``store.backends._base._DUE``), so new pages are never
        starved by old ones. Returns how many were queued.
        """

        sql = (
            "SELECT url FROM frontier WHERE state = 'done' AND last_fetched < ?"
            " ORDER BY last_fetched, url"
        )
        params: list[Any] = [to_db_time(fetched_before)]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.transaction():
            urls = [r[0] for r in self._query(sql + self._claim_lock, params)]
            for chunk in chunks(urls):
                marks = ",".join("?" * len(chunk))
                self._execute(
                    "UPDATE frontier SET state = 'pending', next_attempt = NULL,"
                    f" last_error = NULL WHERE state = 'done' AND url IN ({marks})",
                    chunk,
                )
        return len(urls)

    def frontier_fetched(self, url: str, *, etag: str | None, last_modified: str | None) -> None:
        """Record a successful fetch (200 or 304) of a frontier URL and its validators.

        Validators are replaced, not merged: a server that stops sending an ETag must not
        be asked about a stale one forever.
        """

        self._execute(
            "UPDATE frontier SET last_fetched = ?, etag = ?, last_modified = ? WHERE url = ?",
            (to_db_time(utcnow()), etag, last_modified, url),
        )

    def frontier_validators(self, url: str) -> tuple[str | None, str | None, str | None]:
        """(etag, last_modified, last_fetched) remembered for a frontier URL."""
        rows = self._query(
            "SELECT etag, last_modified, last_fetched FROM frontier WHERE url = ?", (url,)
        )
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else (None, None, None)

    # -- articles -----------------------------------------------------------------------

    def revise_article(self, rec: ArticleRecord) -> bool | None:
        """Bring the stored article at ``rec.url`` up to date with a refetch of its page.

        ``None``: no article has that URL (the caller adds one). ``False``: unchanged —
        the same HTML, or the same extracted text; nothing is written, so a page that
        only changed its ads or its template lines learned since costs no re-signing.
        ``True``: the text changed; the row is updated in place (same id: clusters keep
        their ids) and queued for re-signing. The fetch time is kept: it is when the
        story was first seen, which the origin of a cluster is decided by.
        """

        rows = self._query("SELECT id, text, html_sha256 FROM articles WHERE url = ?", (rec.url,))
        if not rows:
            return None
        article_id, text, html_sha256 = int(rows[0][0]), rows[0][1], rows[0][2]
        if text == rec.text or (rec.html_sha256 and html_sha256 == rec.html_sha256):
            return False
        dropped = (
            json.dumps([{"rule": r, "text": t} for r, t in rec.dropped], ensure_ascii=False)
            if rec.dropped
            else None
        )
        self._execute(
            "UPDATE articles SET text = ?, title = ?, updated = ?, html_sha256 = ?,"
            " dropped = ?, fetched_url = ? WHERE id = ?",
            (
                rec.text,
                rec.title,
                to_db_time(rec.updated or rec.fetched),
                rec.html_sha256,
                dropped,
                rec.fetched_url,
                article_id,
            ),
        )
        self._execute("DELETE FROM page_lines WHERE article_id = ?", (article_id,))
        self._executemany(
            "INSERT INTO page_lines (article_id, host, line_key) VALUES (?, ?, ?)",
            [(article_id, rec.host, key) for key in dict.fromkeys(rec.line_keys)],
        )
        self._execute(
            "INSERT INTO resign (article_id) VALUES (?) ON CONFLICT DO NOTHING", (article_id,)
        )
        return True

    # -- the resign queue ---------------------------------------------------------------

    def resign_queue(self, limit: int | None = None) -> list[int]:
        """Ids of updated articles waiting to be signed again, oldest id first."""
        sql, params = "SELECT article_id FROM resign ORDER BY article_id", []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [int(r[0]) for r in self._query(sql, params)]

    def queue_resign(self, ids: Sequence[int]) -> None:
        """Queue articles to be signed again (their text or their learned boilerplate
        changed), in the transaction that changed it, so that a killed run loses nothing."""
        self._executemany(
            "INSERT INTO resign (article_id) VALUES (?) ON CONFLICT DO NOTHING", [(i,) for i in ids]
        )

    def resign_done(self, ids: Sequence[int]) -> None:

        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            self._execute(f"DELETE FROM resign WHERE article_id IN ({marks})", chunk)

    def signed_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of these articles have a signature."""

        found: set[int] = set()
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                int(r[0])
                for r in self._query(
                    f"SELECT article_id FROM signatures WHERE article_id IN ({marks})", chunk
                )
            )
        return found

    def stored_signature(self, article_id: int) -> bytes | None:
        rows = self._query("SELECT minhash FROM signatures WHERE article_id = ?", (article_id,))
        return bytes(rows[0][0]) if rows else None

    def drop_signature(self, article_id: int, band_keys: Iterable[tuple[int, int]]) -> None:
        """Forget an article's signature and the LSH bands filed under ``band_keys`` (its
        old signature's), keeping its cluster membership: the first step of re-signing it,
        in the transaction that signs it again. The band tables have no index by article,
        so the keys are what finds the rows."""
        rows = [(band, bucket, article_id) for band, bucket in band_keys]
        for table in LSH.tables:
            self._executemany(
                f"DELETE FROM {table} WHERE band = ? AND bucket = ? AND article_id = ?", rows
            )
        self._execute("DELETE FROM signatures WHERE article_id = ?", (article_id,))
