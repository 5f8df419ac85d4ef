"""Shingling and batch MinHash: set semantics, stability, and bit-identity with datasketch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

import store.dedup._shingles as shingles_mod
from store._text import canonical
from store.dedup._minhash import (
    MAX_HASH,
    MinHasher,
    signature_from_bytes,
    signature_to_bytes,
)
from store.dedup._shingles import hashes_from_tokens, shingle_hashes, tokenize

pytestmark = pytest.mark.quick

# --------------------------------------------------------------------------- helpers


def _random_docs(rng: np.random.Generator, count: int, max_len: int) -> list[np.ndarray]:
    docs = []
    for _ in range(count):
        raw = rng.integers(0, 1 << 32, size=int(rng.integers(0, max_len)), dtype=np.uint64)
        docs.append(np.unique(raw.astype(np.uint32)))
    return docs


def _datasketch_values(doc: np.ndarray, num_perm: int, seed: int, scheme: str) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme=scheme)
    m.update_batch(doc.tolist())
    return m.hashvalues.astype(np.uint64)


# --------------------------------------------------------------------------- MinHash


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize(("num_perm", "seed"), [(64, 1), (128, 1), (128, 7), (256, 12345)])
def test_signatures_equal_datasketch_row_by_row(scheme: str, num_perm: int, seed: int) -> None:
    rng = np.random.default_rng(num_perm * 1000 + seed)
    docs = _random_docs(rng, 120, 400)
    docs[0] = np.empty(0, dtype=np.uint32)
    docs[1] = np.array([0], dtype=np.uint32)
    docs[2] = np.array([MAX_HASH], dtype=np.uint32)
    docs[-1] = np.empty(0, dtype=np.uint32)
    hasher = MinHasher(num_perm=num_perm, seed=seed, scheme=scheme)
    sigs = hasher.signatures(docs)
    assert sigs.shape == (len(docs), num_perm)
    assert sigs.dtype == np.uint64
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(sigs[i], _datasketch_values(doc, num_perm, seed, scheme))


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_chunk_boundaries_do_not_change_values(scheme: str) -> None:
    """Documents straddling one or many chunks must reduce to the same minimum."""
    rng = np.random.default_rng(3)
    docs = _random_docs(rng, 60, 900)
    docs[10] = np.empty(0, dtype=np.uint32)
    reference = MinHasher(128, 1, scheme).signatures(docs)
    tiny = MinHasher(128, 1, scheme)
    tiny._chunk_rows = 7
    np.testing.assert_array_equal(tiny.signatures(docs), reference)
    for i in (0, 10, 59):
        np.testing.assert_array_equal(reference[i], _datasketch_values(docs[i], 128, 1, scheme))


def test_default_matches_datasketch_default_scheme() -> None:
    doc = shingle_hashes("the quick brown fox jumps over the lazy dog again and again")
    m = MinHash(num_perm=128, seed=1, hashfunc=int)
    m.update_batch(doc.tolist())
    np.testing.assert_array_equal(MinHasher().signature(doc), m.hashvalues.astype(np.uint64))
    assert MinHasher().scheme == m.scheme


def test_empty_batch_and_all_empty_docs() -> None:
    hasher = MinHasher(64)
    assert hasher.signatures([]).shape == (0, 64)
    sigs = hasher.signatures([np.empty(0, dtype=np.uint32)] * 3)
    assert sigs.shape == (3, 64)
    assert (sigs == MAX_HASH).all()


def test_rejects_non_32_bit_input() -> None:
    with pytest.raises(ValueError):
        MinHasher(64).signatures([np.array([1 << 33], dtype=np.uint64)])


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_leanminhash_from_bytes_gives_datasketch_jaccard(scheme: str) -> None:
    base = np.arange(0, 2000, dtype=np.uint32) * np.uint32(2654435761)
    docs = [np.unique(base[:1500]), np.unique(base[500:]), np.unique(base[1400:1600])]
    hasher = MinHasher(128, 5, scheme)
    sigs = hasher.signatures(docs)
    direct = []
    for doc in docs:
        m = MinHash(num_perm=128, seed=5, hashfunc=int, scheme=scheme)
        m.update_batch(doc.tolist())
        direct.append(m)
    for i in range(3):
        blob = signature_to_bytes(sigs[i])
        assert len(blob) == 128 * 4
        back = signature_from_bytes(blob)
        assert back.dtype == np.uint64
        np.testing.assert_array_equal(back, sigs[i])
        lean = hasher.to_datasketch(back)
        assert isinstance(lean, LeanMinHash)
        assert lean == LeanMinHash(direct[i])
        for j in range(3):
            expected = direct[i].jaccard(direct[j])
            assert lean.jaccard(hasher.to_datasketch(sigs[j])) == expected
            assert MinHasher.jaccard(back, sigs[j]) == expected
    assert MinHasher.jaccard(sigs[0], sigs[1]) == pytest.approx(0.5, abs=0.2)


def test_signature_bytes_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        signature_to_bytes(np.array([1 << 32], dtype=np.uint64))
    with pytest.raises(ValueError):
        signature_from_bytes(b"\x00\x01\x02")


def test_minhasher_validates_arguments() -> None:
    with pytest.raises(ValueError):
        MinHasher(0)
    with pytest.raises(ValueError):
        MinHasher(128, scheme="affine64")
    with pytest.raises(ValueError):
        MinHasher(64).to_datasketch(np.zeros(32, dtype=np.uint64))


# --------------------------------------------------------------------------- shingling

_STRAIGHT = (
    'The minister said "we will not retreat" - and the markets fell. '
    "It's the third time this year the central bank's rate decision surprised analysts."
)
_CURLY = (
    "THE Minister said \u201cwe will not retreat\u201d \u2014 and the\u00a0markets  fell. "
    "It\u2019s the third time this year the central bank\u2019s rate decision surprised "
    "analysts."
)


def test_typography_only_edits_give_identical_shingles() -> None:
    a, b = shingle_hashes(_STRAIGHT), shingle_hashes(_CURLY)
    assert len(a) > 10
    np.testing.assert_array_equal(a, b)


def test_word_edit_changes_shingles() -> None:
    a = shingle_hashes(_STRAIGHT)
    b = shingle_hashes(_STRAIGHT.replace("markets", "stocks"))
    assert not np.array_equal(a, b)
    assert len(np.intersect1d(a, b)) > 0


def test_shingles_are_sorted_unique_uint32() -> None:
    h = shingle_hashes("one two three four five six " * 20 + "seven eight")
    assert h.dtype == np.uint32
    assert np.all(np.diff(h.astype(np.int64)) > 0)
    # 6 distinct windows inside the repetition, plus the 2 that reach "seven" / "eight".
    assert len(h) == 6 + 2


def test_cjk_text_tokenizes_to_characters() -> None:
    assert tokenize("東京タワーで会う") == ["東", "京", "タ", "ワ", "ー", "で", "会", "う"]
    assert tokenize("Reuters報道 2024年") == ["reuters", "報", "道", "2024", "年"]
    assert tokenize("ข่าวไทย") == list("ข่าวไทย")


def test_cjk_shingles_are_character_ngrams() -> None:
    text = "中国人民银行今天宣布降息"
    chars = list(text)
    expected = hashes_from_tokens(chars, 3)
    np.testing.assert_array_equal(shingle_hashes(text, 3), expected)
    assert len(shingle_hashes(text, 3)) == len(chars) - 2


def test_short_and_empty_texts() -> None:
    assert shingle_hashes("").size == 0
    assert shingle_hashes("  \u00a0 ... !!").size == 0
    one = shingle_hashes("Breaking news")
    assert one.shape == (1,)
    assert not np.array_equal(one, shingle_hashes("news breaking"))
    np.testing.assert_array_equal(one, shingle_hashes("BREAKING \u2014 news"))
    assert shingle_hashes("a b c d e", 5).shape == (1,)
    assert shingle_hashes("a b c d e f", 5).shape == (2,)


def test_word_order_matters_within_a_shingle() -> None:
    assert not np.array_equal(shingle_hashes("a b c d e"), shingle_hashes("e d c b a"))


_MIXED = st.text(
    alphabet=st.sampled_from(
        list("ab Z_9.,'-\t\n")
        + [
            "\u00e9",
            "\u00df",
            "\u0131",
            "\u4e2d",
            "\u6587",
            "\u30ab",
            "\u0e01",
            "\u0e48",
            "\u00a0",
            "\u2014",
            "\u201c",
            "\uff21",
            "\u2460",
            "\u00b2",
            "\u0645",
            "\u0434",
            "\U00020001",
            "\u00bf",
            "\u20ac",
            "\u0301",
        ]
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_MIXED)
def test_fast_tokenizer_equals_plain_regex(text: str) -> None:
    assert tokenize(text) == shingles_mod._TOKEN.findall(canonical(text))


def test_token_cache_overflow_does_not_change_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the token-list path, which the cache serves (the compiled path has none).
    text = " ".join(f"w{i}" for i in range(300))
    expected = shingle_hashes(text)
    monkeypatch.setattr(shingles_mod, "_TOKEN_CACHE", {})
    monkeypatch.setattr(shingles_mod, "_TOKEN_CACHE_MAX", 50)
    np.testing.assert_array_equal(hashes_from_tokens(tokenize(text)), expected)
    assert len(shingles_mod._TOKEN_CACHE) <= 300


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError):
        shingle_hashes("a b c", 0)


_CHILD = (
    "import sys, numpy as np\n"
    "from store.dedup import MinHasher, shingle_hashes\n"
    "h = shingle_hashes(sys.argv[1])\n"
    "s = MinHasher(64).signature(h)\n"
    "print(','.join(map(str, h.tolist())) + '|' + ','.join(map(str, s.tolist())))\n"
)


def test_hashes_are_stable_across_processes() -> None:
    text = _CURLY + " 东京 and more words to make several shingles"
    results = set()
    for hashseed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, text],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        )
        results.add(proc.stdout.strip())
    h = shingle_hashes(text)
    here = ",".join(map(str, h.tolist())) + "|"
    here += ",".join(map(str, MinHasher(64).signature(h).tolist()))
    results.add(here)
    assert len(results) == 1


def test_known_hash_values_are_pinned() -> None:
    """Stored signatures outlive the code: the hash of a fixed text must never drift."""
    assert shingle_hashes("a b").tolist() == [959570644]
    assert shingle_hashes("a b c d e f g").tolist() == [20896524, 1171447922, 1705687729]
