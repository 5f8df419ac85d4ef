from __future__ import annotations

import pytest

from crawler._urls import (
    amp_to_canonical_guess,
    canonicalize_url,
    host_of,
    is_http_url,
    origin_of,
)
from crawler.fetch._netguard import NetGuard, address_refusal

pytestmark = pytest.mark.quick


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&utm_MEDIUM=y&id=7", "https://example.com/a?id=7"),
        (
            "https://example.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ocid=5&cmpid=6&_ga=7"
            "&igshid=8&msclkid=9",
            "https://example.com/a",
        ),
        ("https://example.com/a?b=2&a=1&c=0", "https://example.com/a?a=1&b=2&c=0"),
        ("https://example.com/a?b=2&&a=1&", "https://example.com/a?a=1&b=2"),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://example.com/a b/\u00fc", "https://example.com/a%20b/%C3%BC"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a?q=%e2%82%ac", "https://example.com/a?q=%E2%82%AC"),
        ("https://example.com/a?flag", "https://example.com/a?flag"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://m\u00fcnchen.de/", "https://xn--mnchen-3ya.de/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ],
)
def test_canonicalize_table(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


def test_canonicalize_is_idempotent() -> None:
    url = "HTTPS://Ex.com:443/a/../b%7e?z=1&utm_campaign=q&a=%2f#x"
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


def test_canonicalize_resolves_relative() -> None:
    assert canonicalize_url("../x?b=1&a=2", "http://h.com/a/b/c") == "http://h.com/a/x?a=2&b=1"
    assert canonicalize_url("//cdn.h.com/p", "https://h.com/") == "https://cdn.h.com/p"
    assert canonicalize_url("/p#frag", "https://h.com/a/b") == "https://h.com/p"


def test_non_http_left_alone() -> None:
    assert canonicalize_url("mailto:a@b.c") == "mailto:a@b.c"


@pytest.mark.parametrize(
    ("amp", "expected"),
    [
        ("https://ex.com/news/story/amp/", "https://ex.com/news/story/"),
        ("https://ex.com/amp/news/story", "https://ex.com/news/story"),
        ("https://ex.com/news/story.amp.html", "https://ex.com/news/story.html"),
        ("https://ex.com/s?amp=1&id=3", "https://ex.com/s?id=3"),
        ("https://ex.com/s?outputType=amp", "https://ex.com/s"),
        ("https://amp.ex.com/s", "https://ex.com/s"),
        ("https://ex-com.cdn.ampproject.org/c/s/ex.com/s/x", "https://ex.com/s/x"),
        ("https://ex.com/plain", "https://ex.com/plain"),
    ],
)
def test_amp_guess(amp: str, expected: str) -> None:
    assert amp_to_canonical_guess(amp) == expected


def test_host_and_origin() -> None:
    assert host_of("https://EX.com:443/a") == "ex.com"
    assert host_of("http://ex.com/a") == host_of("https://ex.com/b")  # one server, one key
    assert host_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert origin_of("HTTPS://Ex.com/a/b") == "https://ex.com"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://ex.com/", True),
        ("http://ex.com", True),
        ("ftp://ex.com/f", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("http:///nohost", False),
    ],
)
def test_is_http_url(url: str, ok: bool) -> None:
    assert is_http_url(url) is ok


@pytest.mark.parametrize(
    ("addr", "word"),
    [
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "non-public"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_address_refusal(addr: str, word: str) -> None:
    reason = address_refusal(addr)
    assert reason is not None and word in reason


def test_public_address_allowed() -> None:
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None


def test_allow_list_ip_cidr_and_name() -> None:
    guard = NetGuard(["127.0.0.1", "10.1.0.0/16", "intranet.local"])
    assert guard.address_allowed("127.0.0.1") is None
    assert guard.address_allowed("10.1.2.3") is None
    assert guard.address_allowed("10.2.0.1") is not None
    assert guard.address_allowed("127.0.0.2") is not None
