"""URL canonicalization: one spelling per resource.

The same article reaches the crawler under many spellings (tracking parameters from
newsletters and social shares, `HTTP://Example.COM:80/a?b=2&a=1#top`, AMP variants).
Deduplication, politeness keys and the "already fetched" check all need one spelling,
so every URL is folded here before it is queued or stored. Only the standard library is
used: the rules are small and we want them to be ours to audit.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "amp_to_canonical_guess",
    "canonicalize_url",
    "host_of",
    "is_http_url",
    "origin_of",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that identify a click, campaign or share, never the document. Compared
# case-insensitively; every `utm_*` key is dropped as well.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "ocid",
        "cmpid",
        "ncid",
        "smid",
        "sr_share",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatrack",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "wt.mc_id",
        "at_medium",
        "at_campaign",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    }
)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
# In query components '&' and '=' are structure, so a literal one stays escaped.
_QUERY_PART_SAFE = frozenset((_UNRESERVED | set(_SUB_DELIMS) | set(":@/?")) - set("&="))
_HEX = frozenset("0123456789abcdefABCDEF")
# Any character the loop below would change: not safe, or '%' (never safe). Most URLs have
# none, and one regex search in C is what tells so, instead of a Python step per character.
_NEEDS_WORK = {
    safe: re.compile("[^" + "".join(re.escape(c) for c in sorted(safe)) + "]")
    for safe in (_PATH_SAFE, _QUERY_PART_SAFE)
}


def _normalize_percent(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, escape what must be.

    Two spellings that RFC 3986 calls equivalent (`%7e` vs `~`, `%2f` vs `%2F`) must fold
    to one, while escapes of reserved characters keep their meaning and stay escaped.
    """
    needs_work = _NEEDS_WORK.get(safe)
    if needs_work is not None and needs_work.search(text) is None:
        return text  # every character safe, no escape: already in its one spelling
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            byte = int(text[i + 1 : i + 3], 16)
            decoded = chr(byte)
            out.append(decoded if decoded in _UNRESERVED else f"%{byte:02X}")
            i += 3
            continue
        if ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, so `/a/./b/../c` and `/a/c` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for seg in segments[1:] if path.startswith("/") else segments:
        if seg == ".":
            continue
        if seg == "..":
            if output:
                output.pop()
            continue
        output.append(seg)
    result = "/" + "/".join(output)
    if segments[-1] in (".", "..") and not result.endswith("/"):
        result += "/"
    return result


def _normalize_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if host.startswith("["):
        return host
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host


def _is_tracking(key: str) -> bool:
    k = unquote(key).strip().lower()
    return k.startswith("utm_") or k in TRACKING_PARAMS


def _normalize_query(query: str, *, drop: frozenset[str] = frozenset()) -> str:
    pairs: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if _is_tracking(key) or unquote(key).lower() in drop:
            continue
        nkey = _normalize_percent(key, _QUERY_PART_SAFE)
        pairs.append((nkey, _normalize_percent(value, _QUERY_PART_SAFE) if sep else None))
    # Stable sort by key then value so parameter order stops mattering.
    pairs.sort(key=lambda kv: (kv[0], kv[1] or ""))
    return "&".join(k if v is None else f"{k}={v}" for k, v in pairs)


def _split(url: str, base: str | None) -> SplitResult:
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    return urlsplit(url)


def _host_port(parts: SplitResult) -> tuple[str, int | None]:
    """Normalized host (IPv6 literals bracketed) and the port, None when absent or invalid."""
    host = _normalize_host(parts.hostname or "")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, port


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Return the one spelling of `url` (resolved against `base` when relative).

    Non-HTTP URLs are returned stripped but otherwise untouched: we never fetch them, so
    there is nothing to key. So are unparseable ones (``http://[/``: urlsplit raises), which
    `is_http_url` then rejects: one bad link in a feed, sitemap or page must cost that link,
    not the whole source or article (the ValueError used to escape and did).
    """
    try:
        parts = _split(url, base)
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit(parts)
    host, port = _host_port(parts)
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    path = _remove_dot_segments(_normalize_percent(parts.path, _PATH_SAFE)) or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def is_http_url(url: str) -> bool:
    """Only http(s) URLs with a host are ever fetched (no file:, ftp:, javascript:, data:)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def host_of(url: str) -> str:
    """Politeness key: lower-case host, plus `:port` only when the port is not the default.

    http:// and https:// on the same host share one key on purpose: they are one server.
    """
    parts = urlsplit(url.strip())
    host, port = _host_port(parts)
    scheme = parts.scheme.lower()
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{host}:{port}"
    return host


def origin_of(url: str) -> str:
    """`scheme://host[:port]`: robots.txt is scoped to exactly this (RFC 9309 §2.3)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{host_of(url)}"


_AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$")
_AMP_QUERY_KEYS = frozenset({"amp", "outputtype", "amp_js_v", "usqp"})


def amp_to_canonical_guess(url: str) -> str:
    """Best guess at the non-AMP URL of an AMP page, from URL shape alone.

    A guess: the page's own `<link rel=canonical>` is authoritative when available. Covers
    `/amp/` path segments, `.amp.html`, `?amp=1`/`?outputType=amp`, `amp.` host prefixes
    and Google AMP-cache URLs (`*.cdn.ampproject.org/c/s/host/path`).
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    path = parts.path
    scheme = parts.scheme.lower() or "https"
    netloc = parts.netloc
    if _AMP_CACHE.match(host):
        m = re.match(r"^/[a-z]/(s/)?([^/]+)(/.*)?$", path)
        if m:
            scheme = "https" if m.group(1) else "http"
            netloc = m.group(2)
            path = m.group(3) or "/"
    elif host.startswith("amp.") and host.count(".") >= 2:
        netloc = netloc.lower().replace("amp.", "", 1)
    if path.endswith(".amp.html"):
        path = path[: -len(".amp.html")] + ".html"
    elif path.endswith(".amp"):
        path = path[: -len(".amp")]
    segments = path.split("/")
    if "amp" in segments[1:]:
        segments = [s for i, s in enumerate(segments) if i == 0 or s != "amp"]
        path = "/".join(segments) or "/"
    query_parts = []
    for part in parts.query.split("&"):
        key, _, value = part.partition("=")
        k = unquote(key).lower()
        if k in _AMP_QUERY_KEYS and (k != "outputtype" or value.lower() == "amp"):
            continue
        if part:
            query_parts.append(part)
    rebuilt = urlunsplit((scheme, netloc, path, "&".join(query_parts), ""))
    return canonicalize_url(rebuilt)
