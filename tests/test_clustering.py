"""What the clustering must do whatever the input: properties over generated corpora.

The corpora are republisher variations (``crawler.fixtures.variations``) of the bundled
fixture web's stories: outlets with footers and bylines, trims, copy edits, lede-only
copies, updates, roundups, follow-ups and quoted paragraphs, with ground truth.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store
from crawler.fixtures.variations import fixture_stories, generate
from store import ArticleRecord, CorpusRecord, dedup_store, dedup_texts, open_store
from store.dedup import BoilerplateRules, DedupConfig, pairwise_scores
from store.dedup._batch import sample_key

pytestmark = pytest.mark.quick

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@cache
def corpus(seed: int = 1, size: int = 60) -> tuple[CorpusRecord, ...]:
    records = generate(list(fixture_stories((1, 2))), seed, size)
    return tuple(
        CorpusRecord(
            r.id,
            r.text,
            r.url,
            datetime.fromisoformat(r.published),
            r.title,
            r.cluster,
            r.publisher,
        )
        for r in records
    )


def partition(labels: dict[str, str]) -> frozenset[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for rid, label in labels.items():
        groups.setdefault(label, set()).add(rid)
    return frozenset(frozenset(g) for g in groups.values())


def batch_partition(records, cfg: DedupConfig | None = None) -> frozenset[frozenset[str]]:
    return partition({r.id: r.cluster for r in dedup_texts(list(records), cfg)})


@pytest.mark.parametrize("parts", [1, 3])
def test_a_file_clusters_as_the_same_records_in_memory_in_any_partition_count(
    tmp_path, monkeypatch, parts
):
    """``dedup --input`` streams its records through spill files and sorts candidate keys
    a hash partition at a time; neither may change a row of what ``dedup_texts`` gives for
    the same records in memory (with the default partition count)."""
    import json

    from crawler.cli._main import main
    from store.dedup import _batch

    records = corpus(2, 80)
    expected = [
        {
            "id": r.id,
            "cluster": r.cluster,
            "origin_id": r.origin_id,
            "url": r.url,
            "similarity": r.similarity,
            "containment": r.containment,
            "reuses": r.reuses,
        }
        for r in dedup_texts(list(records))
    ]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "id": r.id,
                    "text": r.text,
                    "url": r.url,
                    "title": r.title,
                    "published": r.published.isoformat(),
                    "publisher": r.publisher,
                }
            )
            + "\n"
            for r in records
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(_batch, "_PARTS", parts)
    assert main(["-q", "dedup", "--input", str(src), "--output", str(out)]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [{"reuses": [], **g} for g in got] == [
        {k: round(v, 4) if isinstance(v, float) else v for k, v in e.items()} for e in expected
    ]
    assert len({g["cluster"] for g in got}) < len(got)  # the corpus has copies to join


def test_the_generated_corpus_is_clustered_well():
    """Not a tuning target (see benchmarks/bench_clustering.py), a floor: the engine must
    find most copies of the fixture stories and link none of the hard negatives."""
    records = corpus()
    rows = dedup_texts(list(records))
    scores = pairwise_scores({r.id: r.cluster for r in rows}, {r.id: r.label for r in records})
    assert scores.precision >= 0.95 and scores.recall >= 0.9, scores


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_partition(rnd):
    records = list(corpus())
    expected = batch_partition(records)
    rnd.shuffle(records)
    assert batch_partition(records) == expected


def _add(st_: store.Store, records) -> None:
    with st_.transaction():
        for r in records:
            st_.add_article(
                ArticleRecord(
                    url=r.url,
                    host="h",
                    text=r.text,
                    fetched=T0,
                    publisher=r.publisher,
                    published=r.published,
                )
            )


def _store_partition(st_: store.Store, records) -> frozenset[frozenset[str]]:
    by_url = {r.url: r.id for r in records}
    ids = st_.article_ids()
    of = st_.clusters_of(ids)
    return partition({by_url[a.url]: str(of[a.id]) for a in st_.articles(ids)})


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.randoms(use_true_random=False))
def test_a_cron_history_ends_in_the_clusters_of_one_pass(tmp_path_factory, rnd):
    """Records arriving in batches over many runs (each run: store, then dedup) end in the
    partition one batch pass over all of them gives."""
    records = list(corpus())
    rnd.shuffle(records)
    path = tmp_path_factory.mktemp("cron") / "s.db"
    with open_store(path) as st_:
        at = 0
        while at < len(records):
            step = rnd.randint(1, 15)
            _add(st_, records[at : at + step])
            dedup_store(st_, batch_size=rnd.choice((3, 7, 1000)))
            at += step
        assert _store_partition(st_, records) == batch_partition(records)
        assert st_.consistency_errors() == []
        # and a rebuild of the store agrees with both
        dedup_store(st_, rebuild=True)
        assert _store_partition(st_, records) == batch_partition(records)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_remembering_crowded_anchors_changes_no_pair_and_no_cluster(tmp_path, monkeypatch, seed):
    """With the pass's limit on an anchor's holders cut to 3, so that the generated
    corpus's stock sentences cross it, a cron history stores the same verified pairs and
    clusters whether anchors found over it are remembered or read again every run (as
    before ``crowded_anchors``); re-signed articles drop theirs on the way."""
    import store.dedup._pass as engine

    monkeypatch.setattr(engine, "MAX_KEY_RECORDS", 3)
    records = list(corpus(seed + 1))
    rnd = random.Random(seed)
    rnd.shuffle(records)
    steps = [(rnd.randint(1, 12), rnd.choice((5, 1000))) for _ in records]

    def history(path) -> tuple:
        with open_store(path) as st_:
            at = 0
            for step, batch_size in steps:
                if at >= len(records):
                    break
                _add(st_, records[at : at + step])
                dedup_store(st_, batch_size=batch_size)
                at += step
            assert st_.consistency_errors() == []
            edges = sorted(st_._query("SELECT a, b, a_in_b, b_in_a, copy FROM edges"))
            crowded = st_._count("crowded_anchors")
            return _store_partition(st_, records), edges, crowded

    remembered = history(tmp_path / "remembered.db")
    real = store.backends._sqlite.SQLiteStore.anchor_matches
    monkeypatch.setattr(
        store.backends._sqlite.SQLiteStore,
        "anchor_matches",
        lambda self, anchors, crowd=None: real(self, anchors),
    )
    read_again = history(tmp_path / "read-again.db")
    assert remembered[2] > 0 and read_again[2] == 0
    assert remembered[:2] == read_again[:2]


def test_an_article_whose_every_key_is_too_common_is_signed_alone(tmp_path, monkeypatch):
    """A press release stored more times than a key may pair (``MAX_KEY_RECORDS``): every
    band and anchor of the next copy is too common to pair, so it has no candidate; the
    pass must sign it as a story of its own, not fail on it (it did: a KeyError)."""
    import store.dedup._pass as engine

    monkeypatch.setattr(engine, "MAX_KEY_RECORDS", 3)
    text = corpus()[0].text
    records = [
        CorpusRecord(f"r{n}", text, f"http://wire{n}.test/a", T0, "t", "c", f"wire{n}")
        for n in range(5)
    ]
    with open_store(tmp_path / "s.db") as st_:
        _add(st_, records)
        assert dedup_store(st_).signed == 5
        assert len(set(st_.clusters_of(st_.article_ids()).values())) == 5
        assert st_.consistency_errors() == []


def _story(seed: int, words: int = 220) -> list[str]:
    vocab = [f"w{i}" for i in range(3000)]
    rnd = random.Random(seed)
    paragraphs = []
    for _ in range(words // 40):
        sentences = [
            " ".join(rnd.choice(vocab) for _ in range(rnd.randint(9, 16))) + "." for _ in range(3)
        ]
        paragraphs.append(" ".join(sentences))
    return paragraphs


FOOTER = [
    "Subscribe to our morning briefing for the news that matters to the Harbor region, "
    "delivered before breakfast every weekday.",
    "This article was produced by the Harbor Ledger newsroom and may not be republished "
    "without permission of the editors.",
]


def test_an_outlets_footer_is_learned_and_ignored():
    """Five unrelated stories of one outlet share its footer and nothing else; a verbatim
    copy of one under another outlet's footer must still cluster with it."""
    records = [
        {
            "id": f"h{i}",
            "url": f"https://harbor.example/{i}",
            "text": "\n\n".join(_story(i) + FOOTER),
        }
        for i in range(5)
    ]
    records.append(
        {
            "id": "copy",
            "url": "https://other.example/c",
            "text": "\n\n".join(_story(0) + ["Read the Other Gazette every day."]),
        }
    )
    recs = [CorpusRecord(r["id"], r["text"], r["url"]) for r in records]
    rows = {r.id: r for r in store.cluster_corpus(recs, explain=True)}
    assert rows["copy"].cluster == rows["h0"].cluster
    assert len({rows[f"h{i}"].cluster for i in range(5)}) == 5
    assert rows["h1"].ignored == FOOTER


def _footer_corpus() -> list[CorpusRecord]:
    """An outlet's stories under its footer, a few more hosts holding one footer line (so
    that the line's counts elsewhere decide it on the way), and copies of its stories."""
    out = [
        CorpusRecord(f"h{i}", "\n\n".join(_story(i) + FOOTER), f"https://harbor.example/{i}")
        for i in range(14)
    ]
    out += [
        CorpusRecord(f"o{i}", "\n\n".join(_story(100 + i) + FOOTER[:1]), f"https://o{i}.example/")
        for i in range(5)
    ]
    out += [
        CorpusRecord(f"c{i}", "\n\n".join(_story(i) + [f"Read Paper {i}."]), f"https://c{i}.test/")
        for i in range(3)
    ]
    return out


class _KilledAfterLearning(store.dedup._pass._Pass):  # noqa: SLF001
    """A pass that dies once its boilerplate decisions are committed, before signing."""

    def _sign(self, *args, **kwargs):
        raise KeyboardInterrupt


def _learned(path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT scope, key FROM boilerplate ORDER BY scope, key").fetchall()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_cron_history_learns_the_boilerplate_of_one_pass_reading_only_changed_samples(
    tmp_path, seed
):
    """With a sample of 3 holders, most runs add holders outside a footer line's sample:
    its decision is then kept without reading the sample's lines. Runs that die after
    deciding (their articles arrive again) included, the history must end in what deciding
    everything afresh gives, and in the clusters of one batch pass.

    Seed 0 is a history written to catch a shortcut that keeps a decision whenever its
    sample is unchanged: the other hosts' copies of one footer line; four of the outlet's
    stories (that line: no, held as much elsewhere); six more at once, none in the
    sample (yes: only the sample's lines tell); then the rest one by one."""
    cfg = DedupConfig(boilerplate=BoilerplateRules(sample=3))
    records = _footer_corpus()
    rnd = random.Random(seed)
    if seed:
        rnd.shuffle(records)
        steps, at = [], 0
        while at < len(records):
            n = rnd.randint(1, 4)
            steps.append((records[at : at + n], rnd.random() < 0.3))
            at += n
    else:
        outlet = sorted((r for r in records if "harbor" in r.url), key=lambda r: sample_key(r.url))
        others = [r for r in records if r.url.startswith("https://o")]
        rest = [r for r in records if r not in outlet and r not in others]
        steps = [(others, False), (outlet[:4], False), (outlet[4:10], False)]
        steps += [([r], False) for r in outlet[10:] + rest]
    path = tmp_path / "s.db"
    lines_read = 0

    def trace(sql: str) -> None:
        nonlocal lines_read
        lines_read += sql.startswith("SELECT article_id, key, tokens FROM article_lines")

    with open_store(path) as st_:
        st_._conn.set_trace_callback(trace)  # noqa: SLF001
        for step, dies in steps:  # a run that dies leaves its articles to the next run
            _add(st_, step)
            if dies:
                with pytest.raises(KeyboardInterrupt), st_.dedup_lock():
                    _KilledAfterLearning(st_, cfg).run(rebuild=False, batch_size=1000)
            else:
                dedup_store(st_, cfg)
        dedup_store(st_, cfg)
        # a last article of the outlet, outside every footer line's sample
        url = next(
            u
            for u in (f"https://harbor.example/late{n}" for n in range(1000))
            if sample_key(u) > max(sample_key(r.url) for r in records if "harbor" in r.url)
        )
        late = CorpusRecord("late", "\n\n".join(_story(50) + FOOTER), url)
        _add(st_, [late])
        lines_read = 0
        dedup_store(st_, cfg)
        assert lines_read == 0, "footer lines decided again from their unchanged samples"
        learned = _learned(path)
        assert {scope for scope, _ in learned} == {"harbor.example"}
        assert len(learned) == len(FOOTER)
        assert _store_partition(st_, [*records, late]) == batch_partition([*records, late], cfg)
        dedup_store(st_, cfg, rebuild=True)
        assert _learned(path) == learned


@pytest.mark.xfail(
    strict=True,
    reason="known limitation: a story an outlet publishes in several versions, each with "
    "its own added paragraphs, looks like that outlet's chrome to boilerplate learning "
    "(held by 3+ of its records, under host_share of each): its shared paragraphs are "
    "ignored and the versions are not clustered. Lowering host_share fixes this case but "
    "costs precision on short stories under long footers (dev F1 0.993 -> 0.983 at 0.6)",
)
def test_an_outlets_versions_of_one_story_are_not_taken_for_its_chrome():
    """Five versions of one story on one host, each the same four paragraphs and two of
    its own (a wire story run in several sections with different local additions), among
    the outlet's unrelated stories: the versions are one story."""
    base = _story(30, 160)
    records = [
        CorpusRecord(f"v{i}", "\n\n".join(base + _story(40 + i, 80)), f"https://one.example/v{i}")
        for i in range(5)
    ]
    records += [
        CorpusRecord(f"o{i}", "\n\n".join(_story(50 + i)), f"https://one.example/o{i}")
        for i in range(6)
    ]
    rows = {r.id: r for r in store.cluster_corpus(records, explain=True)}
    assert len({rows[f"v{i}"].cluster for i in range(5)}) == 1
    assert not rows["v0"].ignored


def test_a_story_quoting_one_paragraph_of_another_never_joins_it():
    source = _story(10, 400)
    quoting = _story(11, 240)
    quoting.insert(1, source[3])
    rows = dedup_texts(
        [
            {"id": "source", "text": "\n\n".join(source), "published": "2026-03-01T08:00:00+00:00"},
            {
                "id": "quoting",
                "text": "\n\n".join(quoting),
                "published": "2026-03-02T08:00:00+00:00",
            },
        ]
    )
    assert rows[0].cluster != rows[1].cluster


def test_partial_reuse_is_linked_not_merged():
    """A follow-up that reuses two background paragraphs is reported as reusing that share
    of the first story, and stays a story of its own."""
    first = _story(20, 400)
    follow = _story(21, 280) + first[-2:]
    rows = dedup_texts(
        [
            {"id": "first", "text": "\n\n".join(first), "published": "2026-03-01T08:00:00+00:00"},
            {"id": "follow", "text": "\n\n".join(follow), "published": "2026-03-03T08:00:00+00:00"},
        ]
    )
    assert rows[0].cluster != rows[1].cluster
    assert [r["cluster"] for r in rows[1].reuses] == ["first"]
    assert 0.2 <= rows[1].reuses[0]["share"] <= 0.4
    assert rows[0].reuses == []  # the earlier story reuses nothing of the later one


def _story_text(seed: int, words: int = 300) -> list[str]:
    """A story as sentences, one a paragraph: each of them an anchor."""
    return [sentence for p in _story(seed, words) for sentence in p.split(". ")]


STOCK = "The company did not immediately respond to a request for comment on Monday."


@pytest.mark.parametrize(
    ("first", "second", "compared"),
    [
        # two long stories sharing one stock sentence: not even compared, for such a
        # sentence's holders grow with the store
        (_story_text(31) + [STOCK], _story_text(32) + [STOCK], 0),
        # sharing two sentences: compared
        (_story_text(31) + [STOCK], _story_text(32) + [STOCK, _story_text(31)[4]], 1),
        # one shared sentence is a fifth of a short record: compared, whichever is stored
        (_story_text(31) + [STOCK], _story_text(33, 40) + [STOCK], 1),
        (_story_text(33, 40) + [STOCK], _story_text(31) + [STOCK], 1),
    ],
    ids=["long-long-one", "long-long-two", "long-then-short", "short-then-long"],
)
def test_which_records_sharing_sentences_are_compared(tmp_path, first, second, compared):
    with open_store(tmp_path / "s.db") as st_:
        for n, paragraphs in enumerate((first, second)):
            with st_.transaction():
                st_.add_article(
                    ArticleRecord(
                        url=f"https://h{n}.example/story",
                        host=f"h{n}.example",
                        text="\n\n".join(paragraphs),
                        fetched=T0,
                    )
                )
            result = dedup_store(st_)  # one article a run: the second finds the first stored
        assert result.compared == compared


def _edited(paragraph: str, rnd: random.Random, edits: int = 3) -> str:
    """A copy desk's pass: a few words of the paragraph swapped for others."""
    words = paragraph.split()
    for _ in range(edits):
        words[rnd.randrange(len(words))] = f"edit{rnd.randrange(99)}"
    return " ".join(words)


@pytest.mark.parametrize("kind", ["trim", "lede", "edited"])
def test_copies_join_their_story(kind):
    body = _story(30, 600)
    rnd = random.Random(30)
    copy = {
        "trim": body[: len(body) // 2],
        "lede": body[:1],
        "edited": [_edited(p, rnd) for p in body],
    }[kind]
    rows = dedup_texts(["\n\n".join(body), "\n\n".join(copy)])
    assert rows[0].cluster == rows[1].cluster


def test_compare_two_files_shows_figures_and_shared_passages(tmp_path, capsys):
    import json

    from crawler.cli import main

    source = _story(40, 400)
    (tmp_path / "a.txt").write_text("\n\n".join(source), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n\n".join(_story(41, 200) + source[:2]), encoding="utf-8")
    assert main(["compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "partial reuse"
    # two paragraphs: about 19 % of A (69 of 366 words) and 26 % of B (69 of 263)
    assert 0.12 <= doc["a_in_b"] <= 0.26 and 0.2 <= doc["b_in_a"] <= 0.33
    shared = " ".join(source[:2])
    assert [p["a"] for p in doc["passages"]] == [shared] and doc["passages"][0]["a_word"] == 0
    assert main(["compare", str(tmp_path / "a.txt"), str(tmp_path / "a.txt")]) == 0
    assert "-> copies" in capsys.readouterr().out


def test_compare_two_articles_of_a_store(tmp_path, capsys):
    from crawler.cli import main

    body = "\n\n".join(_story(50, 400))
    with open_store(tmp_path / "s.db") as st_:
        with st_.transaction():
            ids = [
                st_.add_article(
                    ArticleRecord(url=f"https://e{i}.example/a", host="h", text=text, fetched=T0)
                )
                for i, text in enumerate((body, "Intro.\n\n" + body))
            ]
        dedup_store(st_)
    assert main(["compare", str(ids[0]), str(ids[1]), "--store", str(tmp_path / "s.db")]) == 0
    out = capsys.readouterr().out
    assert f"article {ids[0]}" in out and "-> copies" in out
    assert main(["compare", "999", str(ids[1]), "--store", str(tmp_path / "s.db")]) == 3
    assert "no article with id 999" in capsys.readouterr().err


def test_reports_carry_partial_reuse_both_ways(tmp_path):
    """In the store's reports a follow-up lists the story it reuses, and the story lists it."""
    import json

    from store.report import build_report, render

    first = _story(60, 400)
    texts = {
        "first": "\n\n".join(first),
        "copy": "Local intro.\n\n" + "\n\n".join(first),
        "follow": "\n\n".join(_story(61, 280) + first[-2:]),
    }
    with open_store(tmp_path / "s.db") as st_:
        with st_.transaction():
            for hour, (name, text) in enumerate(texts.items()):
                st_.add_article(
                    ArticleRecord(
                        url=f"https://{name}.example/a",
                        host=name,
                        text=text,
                        fetched=T0.replace(hour=hour),
                    )
                )
        dedup_store(st_)
        clusters = {
            c.origin.article.url.split("//")[1].split(".")[0]: c
            for c in store.load_clusters(st_, min_size=1)
        }
        story = clusters["first"]
        assert story.size == 2
        follow = clusters["follow"].members[0]
        assert list(follow.reuses) == [story.id] and 0.2 <= follow.reuses[story.id] <= 0.4
        assert [(a.url, cid) for a, cid, _ in story.reused_by] == [
            ("https://follow.example/a", clusters["follow"].id)
        ]
        rows = [json.loads(line) for line in render(build_report(st_), "jsonl").splitlines()]
        assert all(r["reuses"] == [] for r in rows)  # the story's copies reuse nothing
        doc = json.loads(render(build_report(st_), "json"))
        assert [r["url"] for r in doc["clusters"][0]["reused_by"]] == ["https://follow.example/a"]
