"""Small builders of test inputs: story texts, article pages, RSS feeds and corpora.

One definition each, shared by the test modules that used to carry their own copies. Every
builder is deterministic and returns exactly what the copies it replaced returned (same
bytes for the same arguments), so no test's input changed when it moved here.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_VOCAB = [f"w{i}" for i in range(3000)]

HARBOUR_PARAGRAPHS = [
    "The harbour authority approved a plan on Tuesday to deepen the northern channel, "
    "allowing larger container ships to dock for the first time since the port opened.",
    "Officials said the dredging would begin in the spring and take about eighteen months, "
    "at a cost the authority put at 240 million euros, shared with the regional government.",
    "Shipping companies have lobbied for the change for a decade, arguing that the port was "
    "losing business to rivals further along the coast that can already take bigger vessels.",
    "Environmental groups said they would study the plan closely, warning that sediment "
    "released by the works could harm the oyster beds that support several local families.",
]
# The feed of the Port Gazette, where the harbour story is published.
GAZETTE_FEED = {
    "title": "Gazette",
    "description": "news",
    "pub_date": "Mon, 02 Mar 2026 08:00:00 GMT",
}


def story(seed: int, words: int = 400) -> str:
    """A story of at least ``words`` words drawn from a 3000-word vocabulary: two seeds give
    texts far apart in MinHash terms, one seed always the same text."""
    rnd = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(" ".join(rnd.choice(_VOCAB) for _ in range(rnd.randint(8, 20))) + ".")
    return " ".join(sentences)


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    lang: str | None = "en",
    head: str = "",
    nav: str = "",
    footer: str = "",
    doctype: bool = True,
) -> str:
    """An article page in the plainest markup an extractor meets: the title twice (``<title>``
    and ``<h1>``) and one ``<p>`` per paragraph inside ``<article>``; ``nav`` and ``footer``
    are chrome around it, ``head`` goes before the title (a charset ``<meta>``, say)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    opening = ("<!doctype html>" if doctype else "") + (
        f"<html lang='{lang}'>" if lang else "<html>"
    )
    return (
        f"{opening}<head>{head}<title>{title}</title></head><body>{nav}"
        f"<article><h1>{title}</h1>{body}</article>{footer}</body></html>"
    )


def gazette_article(title: str, extra: str = "") -> str:
    """The harbour story in the Port Gazette's chrome, each paragraph ending in ``extra``."""
    return article_page(
        title,
        [f"{p} {extra}" for p in HARBOUR_PARAGRAPHS],
        nav="<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>",
        footer="<footer>© Port Gazette. All rights reserved.</footer>",
    )


def rss(
    base: str,
    paths: list[str],
    *,
    title: str = "t",
    description: str | None = None,
    pub_date: str | None = None,
) -> str:
    """An RSS 2.0 feed of the pages at ``paths`` on the site ``base``, each item titled by its
    path; ``pub_date`` (an RFC 822 date) is given to every item."""
    when = f"<pubDate>{pub_date}</pubDate>" if pub_date else ""
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link>{when}</item>" for p in paths)
    about = f"<description>{description}</description>" if description is not None else ""
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>{base}/</link>{about}{items}</channel></rss>"
    )


# -- corpora for `dedup --input` and `spark-dedup` ----------------------------------------------


def corpus_records() -> list[dict]:
    """Five records: a wire story, a copy with an intro, half a copy, another story and a text
    too short to cluster, with the story each belongs to under ``cluster``."""
    wire, other = story(11), story(12)
    return [
        {"id": "a", "text": wire, "published": "2026-03-02T08:00:00Z", "cluster": "s1"},
        {
            "id": "b",
            "text": "A local intro sentence for readers. " + wire,
            "published": "2026-03-02T06:00:00Z",
            "cluster": "s1",
        },
        {"id": "c", "text": wire[: len(wire) // 2], "cluster": "s1"},
        {"id": "d", "text": other, "cluster": "s2"},
        {"id": "e", "text": "Too short to cluster.", "cluster": "s3"},
    ]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_bad_jsonl(path: Path, line: str) -> None:
    """Two good records, then ``line`` as line 3: the error must name that line."""
    good = [json.dumps(r) for r in corpus_records()[:2]]
    path.write_text("\n".join([*good, line]) + "\n", encoding="utf-8")
