"""Logs for two readers: a person at a terminal, and a log collector reading cron output.

On a TTY, short human lines; otherwise one JSON object per line, so that a failure's URL
and reason can be grepped or shipped without parsing prose. A log call passes its facts
(``url``, ``source``, ``status``, ``reason``...) as ``extra``; the JSON line carries them as
fields, and the human line already says them in its message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# What every LogRecord has; anything else on a record came from a call's ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields a log call attached, JSON-safe."""
    fields = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        ok = value is None or isinstance(value, str | int | float | bool | list | dict)
        fields[key] = value if ok else str(value)
    return fields


class JSONLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record_fields(record).items():
            doc.setdefault(key, value)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


# Per-page lines (fetched, stored, skipped and why) go to this child logger: too many for a
# default cron log, exactly what ``-v`` is for. Failed pages are warnings and always show.
PAGE_LOGGER = "newsdedup.page"


def setup_logging(*, verbosity: int = 0, quiet: bool = False, log_format: str = "auto") -> None:
    """Levels: ``-q`` warnings only; default run and per-source lines; ``-v`` adds a line
    per page; ``-vv`` debug detail."""
    level = logging.WARNING if quiet else logging.DEBUG if verbosity >= 2 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    json_lines = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler.setFormatter(
        JSONLineFormatter() if json_lines else logging.Formatter("%(levelname)s %(message)s")
    )
    root = logging.getLogger("newsdedup")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger(PAGE_LOGGER).setLevel(
        logging.NOTSET if verbosity >= 1 and not quiet else logging.WARNING
    )
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
