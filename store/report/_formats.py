"""Machine-readable reports: one JSON document, or one row per cluster member.

Every row format (JSON Lines, CSV, Parquet) carries the same columns, in the order of
``MEMBER_COLUMNS``, so that a notebook can switch between them without renaming anything;
the layout is documented in docs/report-schema.md and versioned by ``REPORT_VERSION``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from store._exceptions import MissingDependency
from store._models import Cluster
from store._time import to_db_time

from ._build import Report, publisher_of, spread_hours
from ._rows import MEMBER_COLUMNS, REPORT_VERSION, member_row, render_csv

__all__ = [
    "json_document",
    "member_rows",
    "render_csv",
    "render_json_report",
    "render_jsonl",
    "parquet_bytes",
    "write_parquet",
]


def member_rows(clusters: Sequence[Cluster]) -> Iterator[dict[str, Any]]:
    for c in clusters:
        for m in c.members:
            yield member_row(c, m)


def json_document(report: Report) -> dict[str, Any]:
    """The whole report as one JSON-able document (``--format json``)."""
    ov = report.overview
    return {
        "version": REPORT_VERSION,
        "generated": to_db_time(ov.generated),
        "selection": ov.selection,
        "articles": ov.articles,
        "cluster_count": ov.clusters,
        "syndicated": ov.syndicated,
        "share_syndicated": round(ov.share_syndicated, 4),
        "top_origins": [{"publisher": n, "clusters": k} for n, k in ov.top_origins],
        "top_republishers": [
            {"publisher": r.name, "copies": r.copies, "mean_copied": round(r.mean_copied, 4)}
            for r in ov.top_republishers
        ],
        "clusters": [
            {
                "id": c.id,
                "size": c.size,
                "origin_id": c.origin_id,
                "origin_publisher": publisher_of(c.origin.article),
                "headline": c.origin.article.title,
                "first_seen": to_db_time(c.origin.article.first_seen),
                "spread_hours": round(spread_hours(c), 2),
                "members": [member_row(c, m) for m in c.members],
                "reused_by": [
                    {
                        "article_id": a.id,
                        "cluster_id": cid,
                        "publisher": publisher_of(a),
                        "url": a.url,
                        "title": a.title,
                        "share": round(share, 4),
                    }
                    for a, cid, share in c.reused_by
                ],
            }
            for c in report.clusters
        ],
    }


def render_json_report(report: Report) -> str:
    return json.dumps(json_document(report), indent=2, ensure_ascii=False) + "\n"


def render_jsonl(clusters: Sequence[Cluster]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in member_rows(clusters))


def _pyarrow() -> Any:
    """pyarrow, an optional extra that only the Parquet format needs."""
    try:
        import pyarrow as pa
        import pyarrow.parquet  # noqa: F401  (the submodule parquet_bytes writes with)
    except ImportError:
        raise MissingDependency(
            "the parquet report needs pyarrow: pip install 'newsdedup[parquet]'"
        ) from None
    return pa


def _arrow_table(clusters: Sequence[Cluster]) -> Any:
    pa = _pyarrow()

    ts = pa.timestamp("s", tz="UTC")
    schema = pa.schema(
        [
            ("cluster_id", pa.int64()),
            ("article_id", pa.int64()),
            ("is_origin", pa.bool_()),
            ("publisher", pa.string()),
            ("host", pa.string()),
            ("url", pa.string()),
            ("title", pa.string()),
            ("published", ts),
            ("fetched", ts),
            ("similarity", pa.float64()),
            ("copied", pa.float64()),
            ("reuses", pa.list_(pa.struct([("cluster_id", pa.int64()), ("share", pa.float64())]))),
            ("report_version", pa.int32()),
        ],
        metadata={"newsdedup.report_version": str(REPORT_VERSION)},
    )
    assert tuple(schema.names) == MEMBER_COLUMNS
    columns: dict[str, list[Any]] = {name: [] for name in MEMBER_COLUMNS}
    for c in clusters:
        for m in c.members:
            row = member_row(c, m)
            row["published"] = m.article.published
            row["fetched"] = m.article.fetched
            for name in MEMBER_COLUMNS:
                columns[name].append(row[name])
    return pa.Table.from_pydict(columns, schema=schema)


def parquet_bytes(clusters: Sequence[Cluster]) -> bytes:
    table = _arrow_table(clusters)
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_parquet(clusters: Sequence[Cluster], path: str | Path) -> None:
    Path(path).write_bytes(parquet_bytes(clusters))
