"""The incremental dedup pass over a store: the batch engine's partition, one run at a time.

A cron history (many small runs) must end in the clusters one ``dedup --input`` over all
the articles gives (``_batch``). Every input of the batch engine is a function of the set
of articles, so a run recomputes exactly what its new articles can change, in batches of
``batch_size`` articles, each batch in one transaction (a killed run loses a batch at most):

1. the new articles' lines are stored, and the boilerplate decision of every line they
   hold is taken again (``_boilerplate.decide`` on the same holder sample the batch engine
   reads); articles holding a line whose decision flipped are *dirty*, like the new ones
   and those a revisit updated;
2. dirty articles are signed again: content, MinHash signature, LSH bands, anchors;
3. their candidates (LSH bands and anchors, stored ones included) are verified, and their
   stored pairs replaced;
4. every component reachable from them over copy-level pairs, and from the clusters they
   were in, is clustered again (``_leaders``); clusters keep their ids where they keep
   most of their articles, so a story users have seen keeps its id when a fuller version
   becomes its representative.

Work is proportional to the new articles and the components they touch, not to the store.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from store._exceptions import StoreError
from store._models import StoredArticle
from store._time import to_db_time
from store.backends import Store

from ._batch import sample_key, scope_of
from ._boilerplate import BoilerplateRules, RecordLines, decide
from ._clusters import probable_origin
from ._config import ENGINE, DedupConfig, DedupResult
from ._content import Content, content_of
from ._graph import MAX_KEY_RECORDS, STRONG, WEAK, holds_few_anchors
from ._leaders import Item, cluster_component
from ._lines import first_lines
from ._lsh import band_buckets
from ._minhash import MinHasher, signature_from_bytes, signature_to_bytes
from ._units import units_of
from ._verify import Match, compare, soft_copies

log = logging.getLogger("newsdedup.dedup")

# How many rows a write tier of the LSH index takes before the next one takes new rows,
# or the pass folds the tiers into ``lsh_bands`` (``recent_limit``, ``tiers_per_fold``):
# RECENT_SHARE of the index's rows, at most RECENT_CAP. A compaction costs a sweep over
# the main index plus its own rows (at 1M articles, 37M rows: 4.4 s of CPU for 1.5M rows,
# 7.6 s for 3M), so a tier in proportion to the index costs each run about the same at
# any size; the cap keeps the tier, whose inserts grow dearer as it grows, in the page
# cache. While that share is under RECENT_FLOOR the store has no tier: a small index
# lives in the page cache, where a run's bands cost less filed straight into it than
# filed twice (at 10k articles, 0.10 s of CPU a run against 0.16 s through a tier of any
# size; at 1M, 0.6-0.7 s against 0.3).
RECENT_SHARE = 1 / 16
RECENT_FLOOR = 150_000
RECENT_CAP = 3_000_000
# The share of the index a fold moves into the main tables, in as many full tiers as
# that takes (``tiers_per_fold``).
FOLD_SHARE = RECENT_SHARE


# Lines decided from one read of their sampled holders' lines (``decide_lines``).
_DECIDED_TOGETHER = 1_000

# Contents kept per pass: a component re-clustered twice in one run is read once.
_CACHE_LIMIT = 50_000


def dedup_store(
    store: Store, cfg: DedupConfig | None = None, *, rebuild: bool = False, batch_size: int = 1000
) -> DedupResult:
    """Sign and cluster every article not signed yet, and whatever they change.

    The whole pass runs under the store's dedup lock: two passes reading the same new
    articles would each found clusters for them.
    """
    cfg = cfg or DedupConfig()
    with store.dedup_lock():
        return _Pass(store, cfg).run(rebuild=rebuild, batch_size=batch_size)


def stored_content(
    store: Store,
    article_id: int,
    cfg: DedupConfig | None = None,
) -> tuple[StoredArticle, Content]:
    """An article of the store and its content, less the boilerplate learned for its host."""
    cfg = cfg or DedupConfig()
    found = store.articles([article_id])
    if not found:
        raise StoreError(f"{store.location}: no article with id {article_id}")
    art = found[0]
    keys = store.boilerplate_keys(scope_of(art.url, art.publisher))
    return art, content_of(art.text, keys, cfg.shingle_size)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic collector off for one batch, back on after it, however it ends.

    A batch of 1,000 new articles builds tens of thousands of row tuples, shingle sets and
    candidate maps, all freed by reference counting; the collector still ran over them
    about 950 times a batch (five of them full collections) for nothing: 0.26 s of a
    1.79 s pass at 10k articles and 0.25 s at 3M. A pass without it leaves 758 objects in
    reference cycles, which the collector takes once it is back on.
    """
    if not gc.isenabled():  # the caller's choice stands
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Pass:
    def __init__(self, store: Store, cfg: DedupConfig) -> None:
        self.store, self.cfg, self.t = store, cfg, cfg.thresholds
        self.hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
        self.result = DedupResult()
        self.contents: dict[int, Content] = {}
        self.articles: dict[int, StoredArticle] = {}
        self.boilerplate: dict[str, frozenset[int]] = {}
        self.previous: dict[int, int] = {}  # on a rebuild: the clusters before it

    # -- the run ------------------------------------------------------------------------

    def run(self, *, rebuild: bool, batch_size: int) -> DedupResult:
        store = self.store
        if not rebuild and self._older_engine():
            log.warning(
                "%s: signatures are from an older dedup engine; signing every "
                "article again, once (clusters keep their ids)",
                store.location,
            )
            rebuild = True
        if rebuild:
            self.previous = store.all_memberships()
            with store.transaction():
                store.clear_dedup()
        new = store.article_ids(unsigned_only=True)
        queued = store.resign_queue()
        # The write tiers (LSH bands, anchors, lines) are on where the main index is large
        # enough (``recent_limit``); each takes new rows until the LSH one reaches the
        # limit, and the last the pass may fill is folded with the others.
        work = bool(new or queued)
        slot, recent = store.write_tier(self.cfg.lsh.bands) if work else (0, 0)
        indexed = store.band_index_rows(self.cfg.lsh.bands, recent) if work else 0
        limit = recent_limit(indexed)
        tiers = min(store.write_tiers, tiers_per_fold(indexed, limit))
        if limit:
            store.seal_tiers(slot)
        # 1. lines of new and updated articles, then every decision they may change; an
        # article whose boilerplate flipped joins the resign queue in the same transaction,
        # so a run killed before signing it again leaves it queued for the next one.
        touched: set[tuple[str, int]] = set()
        added: dict[tuple[str, int], set[int] | None] = {}  # new holders, by line
        for start in range(0, len(new) + len(queued), batch_size):
            chunk = (new + queued)[start : start + batch_size]
            with _cyclic_gc_paused(), store.transaction():
                touched |= self._store_lines(
                    chunk, set(queued) & set(chunk), added, slot=slot if limit else None
                )
        with _cyclic_gc_paused(), store.transaction():
            store.queue_resign(sorted(self._relearn(touched, added) - set(new)))
        # 2-4. sign, link and cluster, a batch per transaction
        pending = sorted(set(new) | set(store.resign_queue()))
        fresh = set(new)
        for start in range(0, len(pending), batch_size):
            if recent and recent >= limit:
                slot, recent = self._next_tier(slot, tiers), 0
            batch = pending[start : start + batch_size]
            with _cyclic_gc_paused(), store.transaction():
                recent += self._sign(batch, fresh & set(batch), slot=slot if limit else None)
                moved = self._link(batch)
                self._recluster(sorted(set(batch) | moved), new=fresh)
                store.resign_done([i for i in batch if i not in fresh])
        self.result.signed = len(new)
        self.result.resigned = len(pending) - len(new)
        if recent and recent >= limit and slot + 1 >= tiers:  # the next pass moves on
            self._next_tier(slot, tiers)
        return self.result

    def _older_engine(self) -> bool:
        schemes = self.store.signature_schemes()
        if not schemes or self.cfg.scheme in schemes:
            return False
        if all(not s.startswith(f"minhash-{ENGINE};") for s in schemes):
            return True
        raise StoreError(
            f"{self.store.location}: stored signatures use {sorted(schemes)[0]!r} but the "
            f"config asks for {self.cfg.scheme!r}; run `newsdedup dedup --rebuild` to "
            f"re-sign everything"
        )

    def _next_tier(self, slot: int, tiers: int) -> int:
        """The write tier the next rows go to, tier ``slot`` being full: the next one
        while the pass may fill ``tiers`` of them, else the first, once every tier is
        folded into the main tables, a key range per transaction (a pass killed during
        the fold keeps the rows moved, and the next one finishes it)."""
        if slot + 1 < tiers:
            self.result.tiers_filled += 1
            self.store.seal_tiers(slot + 1)
            return slot + 1
        self.store.compact_tiers()
        self.result.compactions += 1
        return 0

    # -- 1. lines and boilerplate ---------------------------------------------------------

    def _article(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        missing = [i for i in dict.fromkeys(ids) if i not in self.articles]
        for art in self.store.articles(missing):
            self.articles[art.id] = art
        return {i: self.articles[i] for i in ids if i in self.articles}

    def _store_lines(
        self,
        ids: list[int],
        queued: set[int],
        added: dict[tuple[str, int], set[int] | None],
        *,
        slot: int | None,
    ) -> set[tuple[str, int]]:
        """Store the lines of these articles; the (scope, key) pairs whose holders changed.
        ``added`` gets each pair's new holders, or None for a pair that may have lost one
        (a queued article's lines are dropped first).

        A queued article may have been updated by a revisit: its lines are read again from
        its text (for one queued by a boilerplate change, that changes nothing).
        """
        touched = set(self.store.drop_lines(sorted(queued))) if queued else set()
        for pair in touched:
            added[pair] = None
        for i in queued:  # the text may have changed: read it again
            self.articles.pop(i, None)
            self.contents.pop(i, None)
        rows = []
        for art in self._article(ids).values():
            scope = scope_of(art.url, art.publisher)
            sample = sample_key(art.url)
            u = units_of(art.text)
            first = first_lines(u)
            for key, tokens in zip(u.keys[first].tolist(), u.ntok[first].tolist(), strict=True):
                rows.append((art.id, scope, key, tokens, sample))
                touched.add((scope, key))
                if art.id in queued:
                    added[scope, key] = None
                elif (gained := added.setdefault((scope, key), set())) is not None:
                    gained.add(art.id)
        self.store.put_lines(rows, slot=slot)
        return touched

    def _relearn(
        self, touched: set[tuple[str, int]], added: dict[tuple[str, int], set[int] | None]
    ) -> set[int]:
        """Decide every touched line again; the articles holding one whose decision flipped."""
        flipped = decide_lines(
            self.store, self.cfg.boilerplate, touched, self._boilerplate, added=added
        )
        dirty: set[int] = set()
        for scope, flips in flipped.items():
            self.boilerplate.pop(scope, None)
            self.result.boilerplate += len(flips)
            dirty |= self.store.holders(scope, flips)
        for i in dirty:
            self.contents.pop(i, None)
        return dirty

    def _boilerplate(self, scope: str) -> frozenset[int]:
        if scope not in self.boilerplate:
            self.boilerplate[scope] = self.store.boilerplate_keys(scope)
        return self.boilerplate[scope]

    def _content(self, ids: Sequence[int]) -> dict[int, Content]:
        missing = [i for i in ids if i not in self.contents]
        if len(self.contents) + len(missing) > _CACHE_LIMIT:
            self.contents.clear()
            self.articles.clear()
        for i, art in self._article(missing).items():
            scope = scope_of(art.url, art.publisher)
            self.contents[i] = content_of(art.text, self._boilerplate(scope), self.cfg.shingle_size)
        return {i: self.contents[i] for i in ids if i in self.contents}

    # -- 2. signatures, bands, anchors ------------------------------------------------------

    def _sign(self, ids: list[int], fresh: set[int], *, slot: int | None) -> int:
        """Sign these articles and file their bands and anchors: in write tier ``slot``
        (returns the band rows filed there), or the main tables (None)."""
        store, cfg = self.store, self.cfg
        old = [i for i in ids if i not in fresh]
        for i in old:  # bands are found by the keys of the signature they were filed under
            stored = store.stored_signature(i)
            keys = (
                []
                if stored is None
                else [
                    (band, int(key))
                    for band, key in enumerate(
                        band_buckets(signature_from_bytes(stored)[None, :], cfg.lsh)[0]
                    )
                ]
            )
            store.drop_signature(i, keys)
        store.drop_anchors(old)
        cons = self._content(ids)
        sigs = self.hasher.signatures([cons[i].shingles for i in ids]) if ids else []
        buckets = band_buckets(np.asarray(sigs), cfg.lsh) if ids else []
        store.put_signatures(
            [
                (i, cfg.scheme, len(cons[i].shingles), signature_to_bytes(s))
                for i, s in zip(ids, sigs, strict=True)
            ]
        )
        bands = sorted(
            (band, int(key), i)
            for i, row in zip(ids, buckets, strict=True)
            if len(cons[i].shingles) >= self.t.min_shingles
            for band, key in enumerate(row)
        )
        if slot is not None:
            store.put_bands(bands, slot=slot)
        else:
            store.put_band_index(bands)
        anchored = [i for i in ids if len(cons[i].shingles) >= self.t.min_shingles]
        store.put_anchors(sorted((int(a), i) for i in anchored for a in cons[i].anchors), slot=slot)
        store.put_few_anchors(
            sorted(
                (int(a), i)
                for i in anchored
                if holds_few_anchors(len(cons[i].anchors))
                for a in cons[i].anchors
            )
        )
        self.result.too_short += sum(
            len(cons[i].shingles) < self.t.min_shingles for i in ids if i in fresh
        )
        self._bands = {
            i: [(band, int(key)) for band, key in enumerate(row)]
            for i, row in zip(ids, buckets, strict=True)
        }
        return len(bands) if slot is not None else 0

    # -- 3. verified pairs ------------------------------------------------------------------

    def _link(self, ids: list[int]) -> set[int]:
        """Verify these articles' candidates and store their pairs; then decide again every
        soft pair whose inputs they changed. Returns the articles a decision moved."""
        store, t = self.store, self.t
        store.drop_edges(ids)
        cons = self._content(ids)
        signed = [i for i in ids if len(cons[i].shingles) >= t.min_shingles]
        candidates = self._candidates(signed, cons)
        others = sorted({o for cs in candidates.values() for o in cs})
        cons |= self._content(others)
        rows = []
        dirty = set(ids)
        for i in signed:
            for o in sorted(candidates[i]):
                if o in dirty and o < i:
                    continue  # the pair is seen from both sides; keep one
                a, b = min(i, o), max(i, o)
                self.result.compared += 1
                m = compare(cons[a].verify, cons[b].verify)
                if m.verified(t) or max(m.a_in_b, m.b_in_a) >= t.reuse:
                    rows.append((a, b, m.a_in_b, m.b_in_a, m.verified(t)))
        store.put_edges(rows)
        return self._soft_pairs(ids)

    def _candidates(self, signed: list[int], cons: dict[int, Content]) -> dict[int, set[int]]:
        """Each signed article's candidates: stored articles sharing an LSH bucket with it,
        or anchors enough (``_graph``: two, or one where either side has few)."""
        store = self.store
        weight: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        mine = set(signed)
        band_keys = sorted({k for i in signed for k in self._bands[i]})
        for holders in store.band_matches(band_keys).values():
            _pair_up(holders, mine, weight, lambda i: STRONG)
        anchors = sorted({int(a) for i in signed for a in cons[i].anchors})
        few = {i for i in signed if holds_few_anchors(len(cons[i].anchors))}
        for holders in store.anchor_matches(anchors, crowd=MAX_KEY_RECORDS).values():
            _pair_up(holders, mine, weight, lambda i: STRONG if i in few else WEAK)
        # where one shared anchor decides, whether the stored side holds few
        light = {o for ws in weight.values() for o, w in ws.items() if w < STRONG}
        held_few = store.few_anchor_holders(anchors) & light if light else set()
        # every signed article, even one whose every key is too common to pair (an exact
        # copy of more than MAX_KEY_RECORDS stored articles): no key then put it in ``weight``
        return {
            i: {o for o, w in weight[i].items() if w >= STRONG or o in held_few} for i in signed
        }

    def _soft_pairs(self, ids: list[int]) -> set[int]:
        """A soft pair is a copy unless the rest of its smaller side is another story
        (``_verify.soft_copies``); that rest and its neighbours change when any of the
        articles or their neighbours do, so every soft pair of ``ids`` and of their
        neighbours is decided again. Returns both ends of each pair whose decision changed."""
        store, t = self.store, self.t
        dirty = set(ids)
        near = {x for a, b, *_ in store.edges_of(ids) for x in (a, b)} | dirty
        soft: list[tuple[int, int]] = []
        flag: dict[frozenset[int], tuple[int, int, float, float, bool]] = {}
        for a, b, a_in_b, b_in_a, copy in store.edges_of(sorted(near)):
            part, whole = (a, b) if a_in_b >= b_in_a else (b, a)
            if _match(a_in_b, b_in_a).soft(t) and (part in near or whole in dirty):
                soft.append((part, whole))
                flag[frozenset((a, b))] = (a, b, a_in_b, b_in_a, copy)
        neighbours: dict[int, set[int]] = defaultdict(set)
        for a, b, *_ in store.edges_of(sorted({part for part, _ in soft})):
            neighbours[a].add(b)
            neighbours[b].add(a)
        if not soft:
            return set()
        cons = self._content(
            sorted(
                {x for part, _ in soft for x in neighbours[part]}
                | {x for pair in soft for x in pair}
            )
        )
        accepted = soft_copies(soft, neighbours.__getitem__, lambda i: cons[i].verify, t)
        changed = [
            (a, b, x, y, key in accepted)
            for key, (a, b, x, y, copy) in flag.items()
            if (key in accepted) != copy
        ]
        store.put_edges(changed)
        return {x for a, b, *_ in changed for x in (a, b)}

    # -- 4. clusters -----------------------------------------------------------------------

    def _recluster(self, dirty: list[int], new: set[int]) -> None:
        store = self.store
        before = {**store.clusters_of(dirty)}
        region = self._closure(
            set(dirty)
            | set(
                a
                for ids in store.cluster_members(sorted(set(before.values()))).values()
                for a in ids
            )
        )
        before |= store.clusters_of(sorted(region))
        cons = self._content(sorted(region))
        arts = self._article(sorted(region))
        edges = store.edges_of(sorted(region), copies_only=True)
        accepted = {frozenset((a, b)) for a, b, *_ in edges}
        comps = _components(sorted(region), [(a, b) for a, b, *_ in edges])
        groups: list[list[int]] = []
        leaders: dict[int, int] = {}
        for comp in comps:
            items = [
                Item(
                    i,
                    cons[i].verify,
                    len(cons[i].shingles),
                    to_db_time(arts[i].published) or "~",
                    cons[i].digest,
                )
                for i in comp
            ]
            leader_of = cluster_component(items, self.t, accepted)
            by_leader: dict[int, list[int]] = defaultdict(list)
            for i in comp:
                by_leader[leader_of[i]].append(i)
            for lead, members in by_leader.items():
                groups.append(sorted(members))
                leaders[len(groups) - 1] = lead
        origins = [probable_origin([arts[i] for i in members]).id for members in groups]
        ids = self._cluster_ids(groups, before, origins)
        placed, reps = [], {}
        for g, (members, cid) in enumerate(zip(groups, ids, strict=True)):
            reps[cid] = leaders[g]
            origin = origins[g]
            for i in members:
                m = compare(cons[origin].verify, cons[i].verify)
                placed.append(
                    (i, cid, 1.0 if i == origin else m.jaccard, 1.0 if i == origin else m.a_in_b)
                )
        retired = sorted(set(before.values()) - set(ids))
        store.replace_clusters(placed, reps, retired)
        self._count(groups, ids, before, new, retired)

    def _closure(self, seeds: set[int]) -> set[int]:
        """Every article reachable from ``seeds`` over copy-level pairs."""
        seen, frontier = set(seeds), sorted(seeds)
        while frontier:
            nxt = set()
            for a, b, *_ in self.store.edges_of(frontier, copies_only=True):
                nxt.update((a, b))
            frontier = sorted(nxt - seen)
            seen |= nxt
        return seen

    def _cluster_ids(
        self, groups: list[list[int]], before: dict[int, int], origins: list[int]
    ) -> list[int]:
        """A cluster keeps the id most of its articles had (bigger clusters choose first).
        A new cluster takes its origin's article id when no cluster has it (a lone article's
        cluster is its own id, as before clusters had ids of their own), else a fresh one."""
        prior = {**self.previous, **before}
        order = sorted(range(len(groups)), key=lambda g: (-len(groups[g]), groups[g][0]))
        taken: set[int] = set()
        ids: list[int | None] = [None] * len(groups)
        for g in order:
            votes = Counter(prior[i] for i in groups[g] if i in prior)
            for cid, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
                if cid not in taken:
                    ids[g] = cid
                    taken.add(cid)
                    break
        for g in order:
            if ids[g] is None and origins[g] not in taken and self.store.cluster_free(origins[g]):
                ids[g] = origins[g]
                taken.add(origins[g])
        fresh = iter(self.store.next_cluster_ids(sum(i is None for i in ids)))
        return [i if i is not None else next(fresh) for i in ids]

    def _count(
        self,
        groups: list[list[int]],
        ids: list[int],
        before: dict[int, int],
        new: set[int],
        retired: list[int],
    ) -> None:
        r = self.result
        size_before = Counter(before.values())
        r.reclustered += sum(len(g) for g in groups)
        r.merged += sum(size_before[c] > 1 for c in retired)
        for members, cid in zip(groups, ids, strict=True):
            r.new_clusters += len(members) > 1 and size_before[cid] < 2
            for i in members:
                if i in new:
                    r.joined += len(members) > 1
                elif before.get(i) != cid:
                    r.moved += 1


def tiers_per_fold(indexed: int, limit: int) -> int:
    """Write tiers of ``limit`` rows, in front of an index of ``indexed``, that a pass
    fills before it folds them into the main tables: as many as hold FOLD_SHARE of the
    index (the store has a few, ``Store.write_tiers``): one while a tier holds that
    share, more as the cap holds it under it.

    A fold rewrites the main tables' leaves its rows land in. On a freshly built 10M
    store, whose tables lie in key order on disk, three tiers folded together cost
    148 s of CPU against 74 s for one: the tables were rewritten once for the three.
    On one folded before, twice the RAM, the fold's CPU follows the rows instead: 27 s
    for 7 runs' rows, 54 s for 17, 262 s for 246 (three tiers), 471 s for 492 (six,
    measured on 10688f9), about 0.9 s for each run's rows past the first few dozen;
    and each full tier left in front of the main tables cost every run that read
    through it about 0.3 s there. So more tiers than the store's three did not pay
    (benchmarks/RESULTS.md). Since a full tier has a key filter (schema 17) it costs a
    run next to nothing, but six tiers of half the rows, folded as often as three,
    still cost a 10M run the same CPU (``_levels.TIERS``)."""
    if not limit:
        return 1
    return max(1, round(indexed * FOLD_SHARE / limit))


def recent_limit(indexed: int) -> int:
    """Rows the LSH write tier takes, in front of a main index of ``indexed`` rows, before a
    pass compacts it; 0: no tier, bands go straight into the main index."""
    limit = indexed * RECENT_SHARE
    return 0 if limit < RECENT_FLOOR else int(min(limit, RECENT_CAP))


def decide_lines(
    store: Store,
    rules: BoilerplateRules,
    touched: set[tuple[str, int]],
    known: Callable[[str], frozenset[int]],
    *,
    added: Mapping[tuple[str, int], set[int] | None] | None = None,
) -> dict[str, list[int]]:
    """Decide every touched (scope, line key) again and store each decision that changed;
    the keys that flipped, by scope. ``known(scope)`` is what the store held before.

    A line's decision reads every scope holding it (a line common elsewhere is not an
    outlet's own), so all scopes of a touched key are decided again.

    ``added``, where given, holds each touched line's holders that arrived since its
    stored decision (None where some may have gone). A decision whose sample none of them
    entered is known without reading the sample's lines (``_stands``): at a million
    articles an outlet's footer has thousands of holders, its sample is the same 64 run
    after run, and reading their lines again was most of the pass's line reads.
    """
    scopes_of: dict[int, set[str]] = defaultdict(set)
    for scope, key in touched:
        scopes_of[key].add(scope)
    keys = sorted(scopes_of)
    holders = store.line_holders(keys)
    verdicts: dict[tuple[str, int], bool] = {}
    sampled: list[tuple[str, int]] = []
    for key in keys:
        by_scope = holders.get(key, {})
        total = sum(by_scope.values())
        for scope in sorted(set(by_scope) | scopes_of[key]):
            here = by_scope.get(scope, 0)
            # a line that few hold, or other outlets hold as much: decide() says no without
            # reading the holders, so the sample is not read
            common = bool(scope) and (total - here) * 2 > here
            if here >= rules.min_records and not common:
                sampled.append((scope, key))
            else:
                verdicts[scope, key] = False
    # by scope, so that one outlet's footer lines, whose samples share their holders, are
    # decided together and each holder's lines read once
    sampled.sort()
    for lo in range(0, len(sampled), _DECIDED_TOGETHER):
        samples = {}
        for scope, key in sampled[lo : lo + _DECIDED_TOGETHER]:
            sample = store.holder_sample(scope, key, rules.sample)
            arrived = _arrived(added, scopes_of[key], key)
            before = key in known(scope)
            if arrived is not None and _stands(scope, sample, holders[key], arrived, before, rules):
                verdicts[scope, key] = before
            else:
                samples[scope, key] = sample
        lines = _sample_lines(store, samples)
        for (scope, key), sample in samples.items():
            here = holders[key][scope]
            elsewhere = sum(holders[key].values()) - here
            held = [lines[a] for a, _ in sample]
            verdicts[scope, key] = decide(scope, held, here, elsewhere, rules)
    flipped: dict[str, list[int]] = defaultdict(list)
    for (scope, key), verdict in sorted(verdicts.items()):
        if verdict != (key in known(scope)):
            store.set_boilerplate(scope, key, verdict)
            flipped[scope].append(key)
    return flipped


def _arrived(
    added: Mapping[tuple[str, int], set[int] | None] | None, scopes: set[str], key: int
) -> dict[str, set[int]] | None:
    """The holders of ``key`` that arrived since its decisions, by scope; None where that
    is not known for every touched scope."""
    if added is None:
        return None
    out = {}
    for scope in scopes:
        gained = added.get((scope, key))
        if gained is None:
            return None
        out[scope] = gained
    return out


def _stands(
    scope: str,
    sample: list[tuple[int, int]],
    held: dict[str, int],
    arrived: dict[str, set[int]],
    before: bool,
    rules: BoilerplateRules,
) -> bool:
    """Is the stored decision ``before`` still right, without reading the sample's lines?

    ``decide`` is: enough holders here, few elsewhere (the counts), and a block under the
    share limit in the sample's lines. It is called where the counts pass now. The stored
    decision was taken with some of the arrived holders, none, or all (a run killed after
    deciding leaves its articles to arrive again), and holders' lines do not change. If no
    arrived holder entered the sample, the sample is the one that decision read, so its
    share test gives what it gave then: passed where the decision was yes, failed where
    it was no and the counts passed then. They passed then if they pass with every
    arrival here left out and every one elsewhere counted. Otherwise the lines are read.
    """
    mine = arrived.get(scope, set())  # a scope not touched gained none
    if any(a in mine for a, _ in sample):
        return False
    if before:
        return True
    here = held.get(scope, 0) - len(mine)
    elsewhere = sum(held.values()) - held.get(scope, 0)
    return here >= rules.min_records and not (scope and elsewhere * 2 > here)


def _sample_lines(
    store: Store, samples: dict[tuple[str, int], list[tuple[int, int]]]
) -> dict[int, RecordLines]:
    """Every sampled holder's lines, read and built once: an outlet's footer is several
    lines with the same holders sampled, and each holder's lines are a random read of
    ``article_lines`` (at a million articles, most of a run's line reads). A holder is
    sampled only within its own scope, under its own sample key."""
    keyed = {a: (scope, s) for (scope, _), sample in samples.items() for a, s in sample}
    held = store.lines_held(sorted(keyed))
    out = {}
    for a, (scope, sample) in keyed.items():
        rows = held.get(a, [])
        out[a] = RecordLines(
            scope,
            sample,
            np.array([k for k, _ in rows], dtype=np.int64),
            np.array([n for _, n in rows], dtype=np.int64),
        )
    return out


def _match(a_in_b: float, b_in_a: float) -> Match:
    """The figures of a stored pair (Jaccard follows from the two coverages)."""
    jaccard = 1 / (1 / a_in_b + 1 / b_in_a - 1) if a_in_b and b_in_a else 0.0
    return Match(jaccard, max(a_in_b, b_in_a), a_in_b, b_in_a)


def _pair_up(
    holders: list[int],
    mine: set[int],
    out: dict[int, dict[int, int]],
    weight: Callable[[int], int],
) -> None:
    """Add what one shared key weighs to each pair of its holders with an end in ``mine``:
    the larger of the two ends' weights (``_graph.weighted_pair_codes``)."""
    if len(holders) > MAX_KEY_RECORDS:
        return
    for i in holders:
        if i in mine:
            row = out[i]
            for h in holders:
                if h != i:
                    row[h] += max(weight(i), weight(h))


def _components(ids: Sequence[int], edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent = {i: i for i in ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = defaultdict(list)
    for i in ids:
        out[find(i)].append(i)
    return [sorted(v) for _, v in sorted(out.items())]
