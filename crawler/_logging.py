"""Logs for two readers: a person at a terminal, and a log collector reading cron output.

On a TTY, short human lines; otherwise one JSON object per line, so that a failure's URL
and reason can be grepped or shipped without parsing prose.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JSONLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(*, verbose: bool = False, quiet: bool = False,
                  json_lines: bool | None = None) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler.setFormatter(JSONLineFormatter() if json_lines
                         else logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("newsdedup")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
