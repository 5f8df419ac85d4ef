"""One fetched or archived page to one stored article: the step crawls and archives share.

A function of the page and the host's template lines only (no store, no crawler state), so
a crawl, ``import-warc`` and the corpus readers of WARC files give the same text, title,
dates and URL for the same bytes — and so the crawl can run it in worker processes
(:class:`RecordPool`): a :class:`PageJob` carries everything one page needs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import pickle
import signal
import struct
import traceback
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection

from crawler.extract import ExtractedPage, extract_html
from crawler.normalize import RuleSet, line_key, load_rules, normalize
from store import ArticleRecord, utcnow

from ._urls import canonicalize_url, host_of

log = logging.getLogger("newsdedup.crawl")


def article_key(page: ExtractedPage, url: str) -> str:
    """The URL a page is stored under: its own rel=canonical when that stays on its site."""
    key = canonicalize_url(url)
    if page.canonical_url:
        canonical = canonicalize_url(page.canonical_url, base=url)
        if host_of(canonical) == host_of(url):  # never let a page claim another site's URL
            key = canonical
    return key


def page_record(
    page: ExtractedPage,
    body: bytes,
    url: str,
    rules: RuleSet,
    template_lines: Collection[str],
    *,
    publisher: str | None = None,
    published: datetime | None = None,
    fetched: datetime | None = None,
) -> ArticleRecord | None:
    """Normalize an extracted page; ``None`` when it holds no article text (an index page)."""
    art = normalize(page, rules, template_lines=template_lines)
    if not art.body:
        return None
    host = host_of(url)
    return ArticleRecord(
        url=article_key(page, url),
        host=host,
        text=art.text,
        fetched=fetched or utcnow(),
        publisher=publisher or page.site_name or host,
        title=art.title or page.title,
        byline=art.byline,
        agency=art.agency,
        published=art.published or page.published or published,
        updated=art.updated or page.updated,
        language=page.language,
        fetched_url=url,
        html_sha256=hashlib.sha256(body).hexdigest(),
        line_keys=[line_key(p) for p in page.paragraphs],
        dropped=[(d.rule, d.text) for d in art.dropped],
    )


@dataclass(frozen=True, slots=True)
class PageJob:
    """One fetched page and what its record depends on besides the bytes.

    The host's template lines travel with the page because they are learned from the
    store, which only the crawl's own process opens; a worker never sees the store.
    """

    body: bytes
    url: str
    encoding: str | None
    template_lines: frozenset[str]
    publisher: str | None = None
    published: datetime | None = None
    fetched: datetime | None = None

    def __reduce__(self) -> tuple:
        """Pickle as a constructor call: a slotted dataclass's own state goes through
        ``dataclasses.fields()`` in Python, which made up most of the cost of sending a
        page to a worker, in the crawl's process that a pool waits on."""
        return (
            PageJob,
            (
                self.body,
                self.url,
                self.encoding,
                self.template_lines,
                self.publisher,
                self.published,
                self.fetched,
            ),
        )


def job_record(job: PageJob, rules: RuleSet) -> ArticleRecord | None:
    """Extract and normalize one page: the same call in the crawl's process and in a worker."""
    page = extract_html(job.body, job.url, encoding=job.encoding, fetched=job.fetched)
    return page_record(
        page,
        job.body,
        job.url,
        rules,
        job.template_lines,
        publisher=job.publisher,
        published=job.published,
        fetched=job.fetched,
    )


_worker_rules: RuleSet | None = None  # a worker's rules, loaded once when it starts
_FRAME = struct.Struct("!Q")  # every message on a pipe: its length, then its pickle


class WorkerDied(RuntimeError):
    """An extraction worker exited (killed, crashed) with pages still out to it."""


def _start_worker(rule_files: tuple[str, ...]) -> None:
    """Set up a worker: its own rules, and signals left to the crawl's process.

    A new session keeps a terminal's Ctrl-C (sent to the whole process group) from killing
    workers mid-page: the crawl's process handles the signal and lets its pages finish,
    then closes the job pipe, which is what ends a worker (also when that process dies).
    """
    global _worker_rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()
    _worker_rules = load_rules(rule_files)


def _serve(jobs: Connection, answers: Connection, rule_files: tuple[str, ...]) -> None:
    """A worker's life: say it is ready, then answer each job with its record or its
    exception, until EOF."""
    _start_worker(rule_files)
    with (
        open(jobs.fileno(), "rb", closefd=False) as inp,
        open(answers.fileno(), "wb", closefd=False) as out,
    ):
        ready = pickle.dumps((True, None, None))
        out.write(_FRAME.pack(len(ready)) + ready)
        out.flush()
        while len(head := inp.read(_FRAME.size)) == _FRAME.size:
            job = pickle.loads(inp.read(_FRAME.unpack(head)[0]))
            try:
                answer: tuple = (True, job_record(job, _worker_rules), None)
            except Exception as exc:
                answer = (False, exc, traceback.format_exc())
            try:
                data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its repr does
                data = pickle.dumps((False, RuntimeError(repr(answer[1])), answer[2]))
            try:
                out.write(_FRAME.pack(len(data)) + data)
                out.flush()
            except BrokenPipeError:  # the crawl's process is gone
                return


class _Worker:
    """One worker process and its two pipes, read and written by the event loop.

    No threads: a job is pickled and written by the loop (buffered when the pipe is full),
    answers are read when the pipe is readable. A worker works through its jobs in order,
    so its answers resolve its futures in order.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        rule_files: tuple[str, ...],
        on_exit: Callable[[_Worker], None],
    ) -> None:
        self.ready = False  # the first answer says the worker started
        self.on_exit = on_exit
        ctx = multiprocessing.get_context("spawn")
        jobs_in, jobs_out = ctx.Pipe(duplex=False)
        answers_in, answers_out = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_serve,
            args=(jobs_in, answers_out, rule_files),
            name="newsdedup-extract",
            daemon=True,
        )
        self.process.start()
        jobs_in.close()  # the worker's ends: EOF reaches each side when the other is gone
        answers_out.close()
        self.loop, self.alive = loop, True
        self.waiting: deque[asyncio.Future] = deque()
        self._conns = (jobs_out, answers_in)
        self._out_fd, self._in_fd = jobs_out.fileno(), answers_in.fileno()
        os.set_blocking(self._out_fd, False)
        os.set_blocking(self._in_fd, False)
        self._out, self._in = bytearray(), bytearray()
        self._writing = False
        loop.add_reader(self._in_fd, self._read)

    def send(self, job: PageJob) -> asyncio.Future[ArticleRecord | None]:
        data = pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
        future = self.loop.create_future()
        self.waiting.append(future)
        self._out += _FRAME.pack(len(data))
        self._out += data
        if not self._writing:
            self._write()
        return future

    def _write(self) -> None:
        try:
            del self._out[: os.write(self._out_fd, self._out)]
        except BlockingIOError:
            pass
        except OSError:  # the worker is gone; its pipe's EOF fails what it had
            self._out.clear()
        if self._out and not self._writing:
            self.loop.add_writer(self._out_fd, self._write)
        elif not self._out and self._writing:
            self.loop.remove_writer(self._out_fd)
        self._writing = bool(self._out)

    def _read(self) -> None:
        try:
            data = os.read(self._in_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        self._in += data
        while len(self._in) >= _FRAME.size:
            end = _FRAME.size + _FRAME.unpack_from(self._in)[0]
            if len(self._in) < end:
                break
            try:
                ok, value, trace = pickle.loads(self._in[_FRAME.size : end])
            except Exception as exc:  # a record that does not unpickle here fails its page
                ok, value, trace = False, exc, ""
            del self._in[:end]
            if not self.ready:
                self.ready = True
                continue
            future = self.waiting.popleft()
            if future.cancelled():
                continue
            if ok:
                future.set_result(value)
            else:
                value.add_note(f"in an extraction worker:\n{trace}")
                future.set_exception(value)

    def _lost(self) -> None:
        self._detach()
        self.process.join(1.0)
        self.on_exit(self)
        why = WorkerDied(
            f"extraction worker {self.process.pid} exited "
            f"(code {self.process.exitcode}) with pages out to it"
        )
        while self.waiting:
            if not (future := self.waiting.popleft()).done():
                future.set_exception(why)

    def _detach(self) -> None:
        if self.alive:
            self.alive = False
            self.loop.remove_reader(self._in_fd)
            if self._writing:
                self.loop.remove_writer(self._out_fd)
            for conn in self._conns:
                conn.close()

    def close(self, grace: float) -> None:
        """Close the pipes (the worker ends after its current page), then wait for it."""
        self._detach()
        self.process.join(grace)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        for future in self.waiting:
            future.cancel()


class RecordPool:
    """:func:`job_record` in worker processes, started on the first job.

    Workers are spawned, not forked: the crawl's process runs an event loop, HTTP
    connections and a database handle, none of which a fork may safely inherit. Each
    loads the rules once. They start with the first job, so a crawl with nothing new to
    fetch pays nothing for them, and a worker that dies is replaced, so one page that
    crashes the parser costs only the pages out with it.
    """

    def __init__(self, workers: int, rule_files: Sequence[str]) -> None:
        self.workers = workers
        self.rule_files = tuple(str(f) for f in rule_files)
        self.broken: str | None = None  # why workers cannot start; then submit refuses
        self._pool: list[_Worker] = []

    def submit(self, job: PageJob) -> asyncio.Future[ArticleRecord | None]:
        """The job's record, from the worker with the fewest jobs; call in the event loop.

        Raises :class:`WorkerDied` once a worker has died before it was ready: one that
        cannot start (a script that runs the crawl without an ``if __name__ ==
        "__main__"`` guard, which spawning imports again) would fail every page.
        """
        if self.broken is not None:
            raise WorkerDied(self.broken)
        if len(self._pool) < self.workers:
            loop = asyncio.get_running_loop()
            self._pool.append(_Worker(loop, self.rule_files, self._exited))
        return min(self._pool, key=lambda w: len(w.waiting)).send(job)

    def _exited(self, worker: _Worker) -> None:
        """A worker's pipe closed under it: replace it, unless it never started."""
        if worker in self._pool:
            self._pool.remove(worker)
        if not worker.ready and self.broken is None:
            self.broken = (
                f"extraction worker {worker.process.pid} exited with code "
                f"{worker.process.exitcode} before it was ready"
            )
            log.warning("%s; extracting in the crawl's own process instead", self.broken)

    def close(self, grace: float = 10.0) -> None:
        """Close every worker's pipes, which ends it after its current page (if any, its
        answer is not read); kill one still busy ``grace`` seconds later."""
        pool, self._pool = self._pool, []
        for worker in pool:
            worker._detach()
        for worker in pool:
            worker.close(grace)
