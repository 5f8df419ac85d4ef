"""Bring your own corpus: cluster JSONL, Parquet (or, through a reader, WARC) records.

The records go through the engine's batch form (``_batch``): the same boilerplate learning,
signatures, candidates, verification and clustering as a crawl's store, so a data team's
dedup of an existing corpus and a crawl's clusters can be compared one to one. Input is
validated whole before anything is computed, and the output is written to a temporary file
and renamed into place, so a bad line is reported by number and leaves no half-written
output behind.

Formats ``store`` cannot parse itself (WARC needs the crawler's extraction, and ``store``
never imports ``crawler``) come in through a *record reader*: a function from one file path
to the corpus records in it (plain dicts, checked here like JSONL lines) and one
``ReadReport`` per file saying what it skipped and what damage ended it early.
"""

from __future__ import annotations

import json
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from store._exceptions import CorpusError, StoreError
from store._time import to_db_time

from ._batch import Unit, UnitTable, ignored_lines, place_all, sample_key, scope_of
from ._config import DedupConfig
from ._scratch import partial_file

# Undated records sort after dated ones when the origin (earliest) is chosen.
UNDATED = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class CorpusRecord:
    id: str
    text: str
    url: str | None = None
    published: datetime | None = None
    title: str | None = None
    label: str | None = None  # a ground-truth ``cluster`` field, if the corpus has one
    publisher: str | None = None  # the scope of boilerplate learning when there is no url


def record_from_dict(raw: Any, where: str) -> CorpusRecord:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    rid, text = raw.get("id"), raw.get("text")
    if rid is None or isinstance(rid, bool | dict | list):
        raise CorpusError(f"{where}: missing or invalid 'id'")
    if not isinstance(text, str):
        raise CorpusError(f"{where}: 'text' must be a string")
    published = raw.get("published")
    if published is not None:
        try:
            published = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
        except ValueError:
            raise CorpusError(
                f"{where}: 'published' is not an ISO-8601 date: {published!r}"
            ) from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    url = raw.get("url")
    if url is not None and not isinstance(url, str):
        raise CorpusError(f"{where}: 'url' must be a string")
    publisher = raw.get("publisher")
    if publisher is not None and not isinstance(publisher, str):
        raise CorpusError(f"{where}: 'publisher' must be a string")
    label = raw.get("cluster")
    return CorpusRecord(
        str(rid),
        text,
        url,
        published,
        raw.get("title"),
        None if label is None else str(label),
        publisher,
    )


def _jsonl(path: Path) -> Iterator[CorpusRecord]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with fh:
        try:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
                yield record_from_dict(raw, f"{path}:{n}")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _parquet(path: Path) -> Iterator[CorpusRecord]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CorpusError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=10_000)
        n = 0
        for batch in batches:  # a batch at a time: a corpus bigger than memory still reads
            for raw in batch.to_pylist():
                n += 1
                yield record_from_dict(raw, f"{path}: row {n}")
    except CorpusError:
        raise
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise CorpusError(f"{path}: not a readable Parquet file ({exc})") from None


@dataclass
class ReadReport:
    """What a record reader says about one file besides its records (its last item).

    ``problems`` are what could not be read, such as damage that ended the file early (a
    truncated archive): the records read before it are kept and clustered, and the caller
    reports the problems and exits 1, as ``import-warc`` does.
    """

    path: str
    read: int = 0  # entries looked at (e.g. HTML pages)
    skipped: int = 0  # entries that gave no record (a page with no article text)
    problems: list[str] = field(default_factory=list)  # each names the file and where


class Spill(Sequence[str]):
    """Texts written once to a temporary file, read back in order or by index.

    A corpus of a million news articles is gigabytes of text; the engine reads it twice in
    order and then a component at a time, so the texts can wait on disk (the operating
    system's page cache keeps the hot part) instead of in the process's memory.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        # closed by close(); the file lives as long as the spill, not a with-block
        self._file = tempfile.TemporaryFile(dir=directory, prefix="newsdedup-texts-")  # noqa: SIM115
        self._offsets = array("q", [0])

    def append(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self._file.write(data)
        self._offsets.append(self._offsets[-1] + len(data))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        lo, hi = self._offsets[i], self._offsets[i + 1]
        self._file.flush()
        return os.pread(self._file.fileno(), hi - lo, lo).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        self._file.flush()
        self._file.seek(0)
        for i in range(len(self)):
            yield self._file.read(self._offsets[i + 1] - self._offsets[i]).decode(
                "utf-8", "surrogatepass"
            )

    def close(self) -> None:
        self._file.close()


def _checked(
    records: list[CorpusRecord], source: str | Path, reports: Sequence[ReadReport] = ()
) -> list[CorpusRecord]:
    seen: set[str] = set()
    for r in records:
        if r.id in seen:
            raise CorpusError(f"{source}: duplicate id {r.id!r}")
        seen.add(r.id)
    if not records:
        raise CorpusError(no_records_message(source, reports))
    return records


def no_records_message(source: str | Path, reports: Sequence[ReadReport] = ()) -> str:
    """The "no records" error, naming damage that may explain it (a file cut at its start)."""
    return "; ".join([f"{source}: no records", *(p for r in reports for p in r.problems)])


def read_corpus(path: str | Path) -> list[CorpusRecord]:
    """Every record, validated; duplicate ids are an error (outputs are keyed by id)."""
    return _checked(list(corpus_records(path)), path)


def corpus_records(path: str | Path) -> Iterator[CorpusRecord]:
    """The records of a JSONL or Parquet file, validated one at a time as they are read."""
    path = Path(path)
    return _parquet(path) if path.suffix == ".parquet" else _jsonl(path)


# A reader yields the records of one file (dicts shaped like JSONL lines), then its report.
RecordReader = Callable[[str], Iterable["dict[str, Any] | ReadReport"]]


def reader_records(
    path: str,
    items: Iterable[dict[str, Any] | ReadReport],
) -> Iterator[CorpusRecord | ReadReport]:
    """A reader's output checked like JSONL lines; an invalid record is a CorpusError."""
    n = 0
    for item in items:
        if isinstance(item, ReadReport):
            yield item
            continue
        n += 1
        yield record_from_dict(item, f"{path}: record {n}")


def read_with(
    paths: Sequence[str],
    reader: RecordReader,
    source: str | None = None,
) -> tuple[list[CorpusRecord], list[ReadReport]]:
    """Every record of ``paths`` in order (file order, then the reader's), and the reports."""
    reports: list[ReadReport] = []
    records = list(records_with(paths, reader, reports))
    return _checked(records, source or source_name(paths), reports), reports


def records_with(
    paths: Sequence[str],
    reader: RecordReader,
    reports: list[ReadReport],
) -> Iterator[CorpusRecord]:
    """The records of ``paths`` through ``reader``, as they come; reports go to ``reports``."""
    for path in paths:
        for item in reader_records(path, reader(path)):
            if isinstance(item, ReadReport):
                reports.append(item)
            else:
                yield item


def source_name(paths: Sequence[str]) -> str:
    """How messages name a multi-file input."""
    return paths[0] if len(paths) == 1 else f"{len(paths)} input files"


@dataclass
class CorpusAssignment:
    id: str
    cluster: str  # the id of the cluster's representative: its fullest record
    origin_id: str  # the cluster's probable origin: its earliest record
    similarity: float  # Jaccard of content with the origin's
    containment: float  # share of the origin's content this record carries
    url: str | None = None  # the input record's, when it had one
    reuses: list[dict[str, Any]] = field(default_factory=list)  # [{cluster, share}]
    ignored: list[str] | None = None  # lines left out as boilerplate (with --explain)


def assignment_line(row: CorpusAssignment) -> str:
    """One output line; optional fields only when they say something."""
    doc = {
        k: v
        for k, v in row.__dict__.items()
        if not (k in ("url", "ignored") and v is None) and not (k == "reuses" and not v)
    }
    return json.dumps(doc, ensure_ascii=False)


def cluster_corpus(
    records: Sequence[CorpusRecord],
    cfg: DedupConfig | None = None,
    *,
    explain: bool = False,
    texts: Sequence[str] | None = None,
) -> list[CorpusAssignment]:
    """Cluster records with the engine (``_batch``); rows in input order, ids the corpus's.

    The same records give the same rows in any order: clusters are named by their fullest
    record, origins by their earliest, and every tie is broken by content, not position.
    ``texts`` (a :class:`Spill`) replaces the records' own texts when they were spilled.
    """
    return list(iter_assignments(records, cfg, explain=explain, texts=texts))


def iter_assignments(
    records: Sequence[CorpusRecord],
    cfg: DedupConfig | None = None,
    *,
    explain: bool = False,
    texts: Sequence[str] | None = None,
) -> Iterator[CorpusAssignment]:
    """:func:`cluster_corpus`'s rows one at a time, for writing as they come."""
    index = CorpusIndex()
    for r in records:
        index.add(r)
    return index.assignments(
        texts if texts is not None else [r.text for r in records], cfg, explain=explain
    )


class TextColumn(Sequence["str | None"]):
    """Strings (or ``None``) kept as one UTF-8 buffer and offsets: a million ids and urls
    in the bytes they take, not a million string objects."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._offsets = array("q", [0])
        self._present = bytearray()

    def append(self, value: str | None) -> None:
        if value is not None:
            self._data += value.encode("utf-8", "surrogatepass")
        self._offsets.append(len(self._data))
        self._present.append(value is not None)

    def __len__(self) -> int:
        return len(self._present)

    def __getitem__(self, i: int) -> str | None:  # type: ignore[override]
        if not self._present[i]:
            return None
        return self._data[self._offsets[i] : self._offsets[i + 1]].decode("utf-8", "surrogatepass")


class CorpusIndex:
    """What the output rows need of each record besides its text, in columns: a million
    records' ids, urls, scopes and times, not a million record objects."""

    def __init__(self) -> None:
        self.ids = TextColumn()
        self.urls = TextColumn()
        self.units = UnitTable()
        self._id_hashes = array("q")

    def add(self, r: CorpusRecord) -> None:
        self.ids.append(r.id)
        self.urls.append(r.url)
        self.units.append(unit_of(r))
        self._id_hashes.append(sample_key(r.id))

    def __len__(self) -> int:
        return len(self.ids)

    def duplicate_id(self) -> str | None:
        """The first id (in input order) that an earlier record already has, if any. Ids are
        compared by hash first, so no set of a million strings is built."""
        if len(self) < 2:
            return None
        hashes = np.frombuffer(self._id_hashes, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        later = sorted({int(order[k + 1]) for k in same.tolist()})
        first_seen: dict[str, int] = {}
        for i in sorted({int(order[k]) for k in same.tolist()} | set(later)):
            rid = self.ids[i]
            if rid in first_seen:
                return rid
            first_seen[rid] = i
        return None

    def assignments(
        self, texts: Sequence[str], cfg: DedupConfig | None = None, *, explain: bool = False
    ) -> Iterator[CorpusAssignment]:
        placed, learned = place_all(texts, self.units, cfg)
        ids = self.ids
        for i in range(len(ids)):
            ignored = ignored_lines(texts[i], self.units[i], learned) if explain else None
            yield assignment_of(
                ids[i],
                self.urls[i],
                int(placed.leader[i]),
                int(placed.origin[i]),
                float(placed.similarity[i]),
                float(placed.containment[i]),
                placed.reuses.get(i, {}),
                ids,
                ignored,
            )


def unit_of(r: CorpusRecord) -> Unit:
    """A record as the engine needs it besides its text."""
    return Unit(
        sample_key(r.url or f"corpus:{r.id}"),
        scope_of(r.url, r.publisher),
        to_db_time(r.published) or "~",
    )


def assignment_of(
    rid: str,
    url: str | None,
    leader: int,
    origin: int,
    similarity: float,
    containment: float,
    reuses: Mapping[int, float],
    ids: Mapping[int, str] | Sequence[str | None],
    ignored: list[str] | None = None,
) -> CorpusAssignment:
    """One record's output row; ``ids`` gives the corpus id of every record it names."""
    linked = [
        {"cluster": ids[target], "share": round(share, 4)}
        for target, share in sorted(reuses.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return CorpusAssignment(
        rid,
        ids[leader] or "",
        ids[origin] or "",
        round(similarity, 4),
        round(containment, 4),
        url,
        linked,
        ignored,
    )


def index_corpus(
    records: Iterable[CorpusRecord],
    spill: Spill,
    source: str | Path,
    reports: Sequence[ReadReport] = (),
) -> CorpusIndex:
    """Stream validated records into an index, their texts into ``spill``."""
    index = CorpusIndex()
    for r in records:
        spill.append(r.text)
        index.add(r)
    if not len(index):
        raise CorpusError(no_records_message(source, reports))
    if (dup := index.duplicate_id()) is not None:
        raise CorpusError(f"{source}: duplicate id {dup!r}")
    return index


def dedup_texts(
    records: Iterable[str | Mapping[str, Any] | CorpusRecord], config: DedupConfig | None = None
) -> list[CorpusAssignment]:
    """Cluster texts in memory with the engine of ``newsdedup dedup --input``; rows in order.

    Each record is a plain string (its id is then its position, as a string), a mapping
    shaped like a JSONL line (``{"id", "text"[, "url", "published", "title",
    "publisher"]}``) or a :class:`CorpusRecord`. Invalid records raise
    :class:`CorpusError` naming the record.
    """
    checked: list[CorpusRecord] = []
    for n, raw in enumerate(records):
        if isinstance(raw, CorpusRecord):
            checked.append(raw)
        elif isinstance(raw, str):
            checked.append(CorpusRecord(str(n), raw))
        else:
            checked.append(record_from_dict(raw, f"record {n}"))
    return cluster_corpus(_checked(checked, "dedup_texts"), config)


def write_assignments(rows: Iterable[CorpusAssignment], output: str | Path) -> tuple[int, int]:
    """JSON lines, written atomically (a reader never sees half a file), as ``rows`` come;
    returns the number of records and of clusters written."""
    output = Path(output)
    try:
        fd, tmp = partial_file(output)
    except OSError as exc:
        raise StoreError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    records = clusters = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(assignment_line(r) + "\n")
                records += 1
                clusters += r.cluster == r.id  # a cluster is named by one of its records
            fh.flush()
            os.replace(tmp, output)  # still locked: no sweeper takes it before the rename
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return records, clusters
