"""Writing one section of benchmarks/RESULTS.md without disturbing the others.

Each benchmark owns one ``## heading`` section; re-running it replaces that section in
place, so the file always holds the latest figure of every benchmark side by side.
"""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(heading: str, body: str, path: Path = RESULTS) -> None:
    replace_section(f"## {heading}\n\n{body.strip()}\n", path)


def replace_section(section: str, path: Path = RESULTS) -> None:
    """``section`` is the whole text of one section, starting with its ``## heading`` line."""
    heading = section.splitlines()[0].removeprefix("## ")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
