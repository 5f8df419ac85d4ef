"""Labelled clustering corpora from real article bodies: a dev half and a test half.

Base stories are the hand-checked bodies of ``extraction-benchmark`` (``articleBody``,
mostly English) and ``publisher-benchmark`` (``body``, 25 languages). Each base text goes
to the dev or the test half by a stable hash of its id, and the two halves are expanded
with different seeds by ``crawler.fixtures.variations``, so a setting chosen on dev is
reported on stories and draws it has never seen. Base texts that already share text with
an earlier one (a publisher's recurring paragraphs, a story printed twice) are left out:
the ground truth says every base text is its own story, and that must be true.

    python benchmarks/clustering_corpus.py --out DIR [--shared ../shared] [--records 200]

writes ``DIR/{dev,test}-SEED.jsonl`` lines ``{id, text, url, publisher, published, title,
cluster, kind, ops, reuses, source, params}`` in a random arrival order; ``newsdedup dedup
--input`` and ``newsdedup eval --input`` read them (they ignore the extra fields).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from crawler.fixtures.variations import (
    BaseStory,
    VariantRecord,
    generate,
    in_order,
    split_paragraphs,
)
from store.dedup import compare, shingle_hashes

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared"
DEV_SEEDS = (1, 2, 3)
TEST_SEEDS = (1001, 1002, 1003)
# A base text sharing this much of its shingles with an earlier one is not its own story.
OVERLAP_LIMIT = 0.2


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _title_from(url: str, body: str) -> str:
    """Extraction ground truth has no title: the URL's slug if it reads as one, else the
    opening words of the body."""
    path = [p for p in urlsplit(url).path.split("/") if p]
    slug = re.sub(r"\.\w+$", "", path[-1]) if path else ""
    words = [w for w in re.split(r"[-_]+", slug) if w.isalpha()]
    if len(words) >= 3:
        return " ".join(words).capitalize()
    return " ".join(body.split()[:12])


def load_base_stories(shared: Path) -> list[BaseStory]:
    """Every base story of both benchmarks, in a stable order (by id)."""
    stories: list[BaseStory] = []
    ext = json.loads((shared / "extraction-benchmark" / "ground-truth.json").read_text("utf-8"))
    for key, doc in sorted(ext.items()):
        body, url = doc.get("articleBody") or "", doc.get("url") or ""
        host = urlsplit(url).hostname
        stories.append(
            BaseStory(
                id=f"ext-{key[:16]}",
                title=_title_from(url, body),
                paragraphs=split_paragraphs(body),
                outlet=host,
                host=host,
                language=None,
            )
        )
    pub = json.loads((shared / "publisher-benchmark" / "ground-truth.json").read_text("utf-8"))
    for key, doc in sorted(pub.items()):
        body = doc.get("body") or ""
        host = urlsplit(doc.get("url") or "").hostname
        stories.append(
            BaseStory(
                id=f"pub-{key}",
                title=doc.get("title") or "",
                paragraphs=split_paragraphs(body),
                outlet=doc.get("publisher_name") or doc.get("publisher"),
                host=host,
                language=doc.get("language") or None,
                published=_when(doc.get("published")),
            )
        )
    return stories


def distinct(stories: Sequence[BaseStory], limit: float = OVERLAP_LIMIT) -> list[BaseStory]:
    """Stories whose text does not overlap an earlier kept one (containment below limit)."""
    kept: list[tuple[BaseStory, object]] = []
    for story in stories:
        sh = shingle_hashes("\n".join(story.paragraphs))
        if len(sh) and all(compare(sh, other).containment < limit for _, other in kept):
            kept.append((story, sh))
    return [s for s, _ in kept]


def half_of(story_id: str) -> str:
    """``dev`` or ``test``, from a hash that no code change or Python version moves."""
    return "dev" if hashlib.sha256(story_id.encode()).digest()[0] % 2 == 0 else "test"


def split(stories: Iterable[BaseStory]) -> dict[str, list[BaseStory]]:
    halves: dict[str, list[BaseStory]] = {"dev": [], "test": []}
    for s in stories:
        halves[half_of(s.id)].append(s)
    return halves


def build(stories: Sequence[BaseStory], seed: int, records: int) -> list[VariantRecord]:
    """One corpus, in the seed's random arrival order."""
    return in_order(generate(stories, seed, records), seed)


def write_jsonl(records: Iterable[VariantRecord], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r.as_json(), ensure_ascii=False) + "\n")


def corpora(
    shared: Path,
    records: int,
    dev_seeds: Sequence[int] = DEV_SEEDS,
    test_seeds: Sequence[int] = TEST_SEEDS,
) -> dict[str, list[tuple[int, list[VariantRecord]]]]:
    """``{"dev": [(seed, records)], "test": [...]}`` from the shared benchmarks."""
    halves = split(distinct(load_base_stories(shared)))
    return {
        "dev": [(s, build(halves["dev"], s, records)) for s in dev_seeds],
        "test": [(s, build(halves["test"], s, records)) for s in test_seeds],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="folder holding extraction-benchmark/ and publisher-benchmark/",
    )
    ap.add_argument("--out", type=Path, required=True, help="folder for the JSONL files")
    ap.add_argument("--records", type=int, default=200, help="records per corpus (about)")
    ap.add_argument("--dev-seeds", type=int, nargs="+", default=list(DEV_SEEDS))
    ap.add_argument("--test-seeds", type=int, nargs="+", default=list(TEST_SEEDS))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for half, runs in corpora(args.shared, args.records, args.dev_seeds, args.test_seeds).items():
        for seed, recs in runs:
            path = args.out / f"{half}-{seed}.jsonl"
            write_jsonl(recs, path)
            print(f"{path}: {len(recs)} records, {len({r.cluster for r in recs})} stories")


if __name__ == "__main__":
    main()
