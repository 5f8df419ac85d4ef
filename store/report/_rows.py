"""One row per cluster member: the shape every tabular report format shares.

``docs/report-schema.md`` documents these columns; CSV, JSON Lines and Parquet write the
same rows, so a data team can switch format without remapping fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from store._models import Cluster, Member
from store._time import to_db_time

REPORT_VERSION = 3  # docs/report-schema.md: bump on any change to a column or field
MEMBER_COLUMNS = (
    "cluster_id",
    "article_id",
    "is_origin",
    "publisher",
    "host",
    "url",
    "title",
    "published",
    "fetched",
    "similarity",
    "copied",
    "reuses",
    "report_version",
)


def member_row(c: Cluster, m: Member) -> dict[str, Any]:
    a = m.article
    return {
        "cluster_id": c.id,
        "article_id": a.id,
        "is_origin": a.id == c.origin_id,
        "publisher": a.publisher or a.host,
        "host": a.host,
        "url": a.url,
        "title": a.title,
        "published": to_db_time(a.published),
        "fetched": to_db_time(a.fetched),
        "similarity": round(m.similarity, 4),
        "copied": round(m.containment, 4),
        "reuses": [
            {"cluster_id": cid, "share": round(share, 4)}
            for cid, share in sorted(m.reuses.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "report_version": REPORT_VERSION,
    }


def render_csv(clusters: Sequence[Cluster]) -> str:
    """CSV rows; ``reuses`` as ``cluster:share`` pairs joined by ``;`` (a cell is flat)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MEMBER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for c in clusters:
        for m in c.members:
            row = member_row(c, m)
            row["reuses"] = ";".join(f"{r['cluster_id']}:{r['share']}" for r in row["reuses"])
            writer.writerow(row)
    return buf.getvalue()
