"""The installed ``newsdedup`` console script, run as a user runs it (in a child process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def newsdedup_exe() -> str:
    """The installed console script beside this Python, as a user runs it."""
    exe = shutil.which("newsdedup", path=str(Path(sys.executable).parent))
    assert exe, "the newsdedup console script is not installed beside this Python"
    return exe


def newsdedup(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [newsdedup_exe(), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
