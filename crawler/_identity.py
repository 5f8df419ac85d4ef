"""How the crawler names itself to servers: one user agent, for every request it makes.

Operators match it in their logs and in robots.txt groups, so there is exactly one
default, used by the config, the fetcher and ``newsdedup extract URL`` alike.
"""

from __future__ import annotations

from store import __version__

USER_AGENT = f"newsdedup/{__version__} (+https://github.com/newsdedup/newsdedup)"
