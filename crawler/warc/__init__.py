"""Web archives: every response of a crawl written as WARC records (warcio), and WARC files
(ours, or Common Crawl's CC-NEWS) read back into pages and into corpus records."""

from ._archive import ArchivedPage, WarcProblem, WarcWriter, read_warc
from ._records import ArchiveOptions, is_warc, warc_inputs, warc_records

__all__ = [
    "ArchiveOptions",
    "ArchivedPage",
    "WarcProblem",
    "WarcWriter",
    "is_warc",
    "read_warc",
    "warc_inputs",
    "warc_records",
]
