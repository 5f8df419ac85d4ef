"""The compiled text -> signature path gives today's values, bit for bit, on any text.

Stored signatures outlive the code, so the numba kernels of store.dedup._shingles and
store.dedup._minhash are checked three ways: against the per-token path they replace (``tokenize`` +
``hashes_from_tokens``, the implementation every stored signature was made with), against
a plain-Python statement of the scheme (regex tokens of ``canonical``, xxh64, the window
fold in Python integers), and, for signing, against datasketch ``MinHash(hashfunc=int)``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import xxhash
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

import store.dedup._minhash as minhash_mod
import store.dedup._shingles as shingles_mod
from store._text import FOLD_TABLE, canonical, fold
from store.dedup._minhash import MAX_HASH, MinHasher
from store.dedup._shingles import hashes_from_tokens, shingle_hashes, tokenize

pytestmark = pytest.mark.quick


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    """Every test here runs on the compiled path, whatever this process signed before."""
    shingles_mod.KERNELS.compile()
    minhash_mod.KERNELS.compile()


def _compiled_hashes(text: str, n: int = 5) -> np.ndarray:
    assert shingles_mod.KERNELS.compiled
    return shingle_hashes(text, n)


def _per_token_hashes(text: str, n: int = 5) -> np.ndarray:
    return hashes_from_tokens(tokenize(text), n)


_M64 = (1 << 64) - 1


def _spec_hashes(text: str, n: int = 5) -> list[int]:
    """The scheme in plain Python: no numpy, no token cache, no fast tokenizer."""
    tokens = shingles_mod._TOKEN.findall(canonical(text))
    th = [xxhash.xxh64_intdigest(t.encode("utf-8")) for t in tokens]
    width = min(n, len(th))
    out = set()
    for i in range(len(th) - width + 1) if th else ():
        acc = th[i]
        for k in range(1, width):
            acc = (acc * 0x9E3779B97F4A7C15 + th[i + k]) & _M64
        acc ^= acc >> 33
        acc = (acc * 0xFF51AFD7ED558CCD) & _M64
        acc ^= acc >> 33
        acc = (acc * 0xC4CEB9FE1A85EC53) & _M64
        acc ^= acc >> 33
        out.add(((acc >> 32) ^ acc) & 0xFFFFFFFF)
    return sorted(out)


def _assert_same(text: str, n: int = 5) -> None:
    fast = _compiled_hashes(text, n)
    assert fast.dtype == np.uint32
    np.testing.assert_array_equal(fast, _per_token_hashes(text, n), err_msg=repr(text))
    assert fast.tolist() == _spec_hashes(text, n), repr(text)


# --------------------------------------------------------------------------- texts

_FOLD_KEYS = "".join(map(chr, FOLD_TABLE))
_POOLS = {
    "ascii word": "abcxyzABCXYZ0189_",
    "whitespace": " \t\n\r\x0b\x0c\x1c\x1f\x85\u2028\u2029\u3000\u00a0\u2009",
    "ascii punctuation": ".,;:!?'\"()-[]{}/\\@#$%^&*+=<>|~`",
    "controls": "\x00\x01\x7f\x9f",
    "latin and greek case": "éÈêËàÇñØåÆœßẞİıſΣσςΆǅǈŉ",
    "cyrillic": "ДжЁёЯяЇї",
    "cjk": "中文字東京人民银行〇々〆\u3400\u9fff\uf900",
    "cjk astral": "\U00020000\U0002a6d6\U00031340\U0003134f",
    "kana": "ひらがなカタカナｶﾀｶﾅﾞ\u31f0ー",
    "thai lao": "ข่าวไทยເລື່ອງ",
    "myanmar khmer": "ကမ္ဘာខ្មែរ",
    "rtl": "العربيةעברית\u200f\u200e\u061c",
    "combining": "\u0301\u0308\u0327\u20dd\u0345",
    "emoji": "😀👍🏽👨\u200d👩\u200d👧\ufe0f🇩🇪\U0001f9d1",
    "numbers": "٠١٢٣۴۵०१２３①²½Ⅻ𝟙",
    "compatibility": "ﬁﬂﾊﾟＡＢｃ㍿㌀™",
    "fold table": _FOLD_KEYS,
    "math astral": "\U0001d400\U0001d7ce",
    "lone surrogates": "\ud800\udbff\udc00\udfff",
}
_EVERY = "".join(_POOLS.values())

_PIECE = st.one_of(
    st.text(alphabet=st.sampled_from(_EVERY), max_size=12),
    st.sampled_from(list(_POOLS.values())).flatmap(
        lambda pool: st.text(alphabet=st.sampled_from(pool), min_size=1, max_size=12)
    ),
    st.text(max_size=8),  # anything hypothesis can draw
    st.sampled_from([" ", "  ", "\n", "-", "\u2014", "\u00ad", "\u200b"]),
)
_TEXTS = st.lists(_PIECE, max_size=25).map("".join)
_LONG_TOKENS = st.text(alphabet=st.sampled_from("abzé中ßİ_9\u00ad"), min_size=25, max_size=140)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(_TEXTS, st.integers(min_value=1, max_value=7))
def test_compiled_path_equals_per_token_path_on_mixed_scripts(text: str, n: int) -> None:
    _assert_same(text, n)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=6))
def test_compiled_path_equals_per_token_path_on_any_unicode(text: str, n: int) -> None:
    _assert_same(text, n)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LONG_TOKENS, min_size=1, max_size=8).map(" ".join))
def test_tokens_of_32_bytes_and_more(text: str) -> None:
    """xxh64 has a second code path from 32 input bytes on (four accumulators)."""
    _assert_same(text, 2)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a",
        "ä",
        "中",
        "\u200b",
        "\u00ad\u00ad",
        "foo\u00adbar",
        "foo\u200b bar\u200d",
        "\u200bfoo\u200b中\u200b国\u200bbar\u00ad",
        "Stra\u00dfe STRASSE stra\u00dfe",
        "İstanbul ıstanbul ISTANBUL",
        "ΟΔΟΣ οδος οδοσ",
        "ﬁnance ﬁnance Ｆｉｎａｎｃｅ",
        "e\u0301t\u00e9 e\u0301te\u0301",
        "東京タワーで会う Reuters報道 2024年",
        "ข่าวไทย วันนี้",
        "مرحبا بالعالم ١٢٣",
        "👨\u200d👩\u200d👧 family 🇩🇪 flag",
        "x" * 31 + " " + "y" * 32 + " " + "z" * 33 + " " + "é" * 40,
        "\ud800lone surrogate\udfff between",
        "tab\tseparated\x1cfields\x85and\u2028lines",
    ],
)
def test_compiled_path_on_edge_texts(text: str) -> None:
    for n in (1, 2, 5):
        _assert_same(text, n)


@pytest.mark.slow
def test_compiled_path_on_many_generated_texts() -> None:
    """Thousands of seeded texts: more ground than hypothesis covers in the same time."""
    rng = np.random.default_rng(17)
    pools = list(_POOLS.values())
    for _ in range(3000):
        parts = []
        for _ in range(int(rng.integers(0, 40))):
            pool = pools[int(rng.integers(len(pools)))]
            size = int(rng.integers(1, 9))
            parts.append("".join(pool[int(i)] for i in rng.integers(len(pool), size=size)))
            parts.append(" " if rng.random() < 0.7 else "")
        text = "".join(parts)
        n = int(rng.integers(1, 7))
        np.testing.assert_array_equal(
            _compiled_hashes(text, n), _per_token_hashes(text, n), err_msg=repr(text)
        )


def test_compiled_path_on_news_prose() -> None:
    paragraphs = [
        "The minister said \u201cwe will not retreat\u201d \u2014 and the markets fell 2.5%.",
        "Die Ministerin sagte, man werde \u201enicht zur\u00fcckweichen\u201c; der DAX fiel.",
        "El ministro dijo que \u00abno retrocederemos\u00bb y los mercados cayeron.",
        "\u041c\u0438\u043d\u0438\u0441\u0442\u0440 \u0437\u0430\u044f\u0432\u0438\u043b, "
        "\u0447\u0442\u043e \u0440\u044b\u043d\u043a\u0438 \u0443\u043f\u0430\u043b\u0438.",
        "\u5927\u81e3\u306f\u300c\u5f8c\u9000\u3057\u306a\u3044\u300d\u3068\u8ff0\u3079\u3001"
        "\u682a\u4fa1\u306f\u4e0b\u843d\u3057\u305f\u3002",
        "\u0642\u0627\u0644 \u0627\u0644\u0648\u0632\u064a\u0631 \u0625\u0646 "
        "\u0627\u0644\u0623\u0633\u0648\u0627\u0642 \u062a\u0631\u0627\u062c\u0639\u062a.",
    ]
    text = "\n\n".join(paragraphs * 3)
    _assert_same(text)
    assert len(_compiled_hashes(text)) > 50


# --------------------------------------------------------------------------- what the
# compiled path assumes about the fold, checked on the whole table


def test_fold_deletes_or_swaps_separators_only() -> None:
    """The kernel applies FOLD_TABLE after casefold, not before: valid for these entries only."""
    classes = shingles_mod._all_classes()
    for src, dst in FOLD_TABLE.items():
        if not dst:  # deleted: casefold must leave it alone, and the kernel drops it
            assert chr(src).casefold() == chr(src)
            assert classes[src] == shingles_mod._DROP
        else:  # swapped: before and after must both separate tokens
            for ch in chr(src).casefold() + dst.casefold():
                assert classes[ord(ch)] == shingles_mod._SEP, (hex(src), dst)


def test_no_character_casefolds_into_a_deleted_one() -> None:
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    folded = every.casefold()
    for src, dst in FOLD_TABLE.items():
        if not dst:
            assert folded.count(chr(src)) == 1, hex(src)


def test_ascii_fold_is_lower() -> None:
    ascii_chars = "".join(map(chr, range(128)))
    for ch in ascii_chars:
        assert unicodedata.normalize("NFKC", ch) == ch
        if ch != "`":
            assert fold(ch) == ch.lower()
    assert shingles_mod._ASCII_CLASSES[ord("`")] == shingles_mod._ASCII_CLASSES[ord("'")]


def test_canonical_is_folded_text_with_whitespace_collapsed() -> None:
    text = "  THE\u00a0Minister\u2019s  \u201cplan\u201d\t\u2014 \ufb01nal\u200b  "
    assert canonical(text) == 'the minister\'s "plan" - final'
    assert canonical(text) == " ".join(fold(text).split())


# --------------------------------------------------------------------------- kernels


def test_xxh64_kernel_equals_xxhash() -> None:
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, size=600, dtype=np.uint8)
    for length in [*range(0, 70), 95, 96, 97, 128, 255, 500]:
        for start in (0, 1, 7, 13):
            expected = xxhash.xxh64_intdigest(data[start : start + length].tobytes())
            assert shingles_mod._xxh64(data, start, length) == expected, (start, length)


def test_sort_unique_kernel_equals_numpy() -> None:
    rng = np.random.default_rng(6)
    for size in (0, 1, 2, 31, 32, 33, 257, 5000):
        values = rng.integers(0, 1 << 32, size=size, dtype=np.uint64).astype(np.uint32)
        values[: size // 3] = values[size // 3 : 2 * (size // 3)]  # duplicates
        values[:2] = [0, MAX_HASH][: len(values[:2])]
        np.testing.assert_array_equal(shingles_mod._sort_unique_u32(values), np.unique(values))


# --------------------------------------------------------------------------- signing


def _datasketch_values(doc: np.ndarray | list[int], num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)
    m.update_batch(list(doc))
    return m.hashvalues.astype(np.uint64)


@pytest.mark.parametrize(("num_perm", "seed"), [(1, 1), (7, 3), (128, 1), (200, 42)])
def test_compiled_signing_equals_datasketch_and_numpy(num_perm: int, seed: int) -> None:
    """Document sizes around the kernel's blocks of 8 hashes, plus empty ones and extremes."""
    rng = np.random.default_rng(num_perm)
    docs = [
        np.unique(rng.integers(0, 1 << 32, size=size, dtype=np.uint64)).astype(np.uint32)
        for size in [0, 1, 7, 8, 9, 15, 16, 17, 64, 0, 333, 1000]
    ]
    docs[1] = np.array([0], dtype=np.uint32)
    docs[2][0] = MAX_HASH
    hasher = MinHasher(num_perm, seed)
    sigs = hasher.signatures(docs)
    assert sigs.dtype == np.uint64 and sigs.shape == (len(docs), num_perm)
    lens = np.array([len(d) for d in docs])
    hasher._chunk_rows = 5  # numpy's chunks cut through documents
    work = np.full((len(docs), num_perm), MAX_HASH, dtype=np.uint32)
    numpy_sigs = hasher._signatures_numpy(np.concatenate(docs), lens, work)
    np.testing.assert_array_equal(sigs, numpy_sigs.astype(np.uint64))
    for doc, sig in zip(docs, sigs, strict=True):
        np.testing.assert_array_equal(sig, _datasketch_values(doc, num_perm, seed))


def test_text_to_signature_equals_datasketch_on_the_scheme() -> None:
    texts = [
        "The minister said \u201cwe will not retreat\u201d \u2014 and the markets fell.",
        "\u4e2d\u56fd\u4eba\u6c11\u94f6\u884c\u4eca\u5929\u5ba3\u5e03\u964d\u606f",
        "Stra\u00dfe \u00fcber Br\u00fccke, die Ministerin sagte: \u201ejetzt\u201c.",
        "",
        "one",
    ]
    hasher = MinHasher(128, 1)
    sigs = hasher.signatures([_compiled_hashes(t) for t in texts])
    for text, sig in zip(texts, sigs, strict=True):
        np.testing.assert_array_equal(sig, _datasketch_values(_spec_hashes(text), 128, 1))


# --------------------------------------------------------------------------- when to compile

_POLICY_CHILD = """
import sys
import store.dedup._minhash as mh
import store.dedup._shingles as sh
assert "numba" not in sys.modules, "importing store must not import numba"
sh._COMPILE_SECONDS = mh._COMPILE_SECONDS = float(sys.argv[1])
texts = ["a first short text to sign", "a second one, and a third one"]
sets = [sh.shingle_hashes(t) for t in texts]
sigs = mh.MinHasher(64).signatures(sets)
print(sh.KERNELS.compiled, mh.KERNELS.compiled, "numba" in sys.modules)
print(",".join(map(str, sets[0].tolist())), ",".join(map(str, sigs[1].tolist())))
"""


def _policy_run(budget: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _POLICY_CHILD, budget],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return proc.stdout.splitlines()


@pytest.mark.slow
def test_compiles_only_once_the_per_token_path_has_cost_its_budget() -> None:
    never, at_once = _policy_run("inf"), _policy_run("0")
    assert never[0] == "False False False"
    # The first text spends the zero budget; the second is compiled, and signing follows.
    assert at_once[0] == "True True True"
    assert never[1] == at_once[1]
    expected = _compiled_hashes("a first short text to sign")
    assert never[1].split()[0] == ",".join(map(str, expected.tolist()))


def test_token_cache_overflow_does_not_change_per_token_hashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-token path's bounded cache, now that shingle_hashes may not go through it."""
    first = " ".join(f"w{i}" for i in range(300))
    second = " ".join(f"v{i}" for i in range(40))
    monkeypatch.setattr(shingles_mod, "_TOKEN_CACHE", {})
    monkeypatch.setattr(shingles_mod, "_TOKEN_CACHE_MAX", 50)
    assert _per_token_hashes(first).tolist() == _spec_hashes(first)
    assert len(shingles_mod._TOKEN_CACHE) == 300
    assert _per_token_hashes(second).tolist() == _spec_hashes(second)
    assert len(shingles_mod._TOKEN_CACHE) == 40  # over the bound: cleared, then refilled
    assert _per_token_hashes(first).tolist() == _spec_hashes(first)


def test_per_token_path_is_the_plain_regex() -> None:
    text = "It\u2019s \u201cnews\u201d \u2014 \u6771\u4eac 2024\u5e74, ok?"
    assert tokenize(text) == re.findall(shingles_mod._TOKEN, canonical(text))


@pytest.mark.slow
def test_compiled_kernels_are_cached_in_the_users_cache_not_beside_the_package(tmp_path):
    """An installed package must not gain files at run time: numba's cache beside
    ``store/dedup`` outlived an uninstall and shadowed the next (editable) install."""
    import os
    import time
    from pathlib import Path

    import store.dedup as dedup_pkg

    beside = Path(dedup_pkg.__file__).parent / "__pycache__"
    start = time.time() - 1
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    child = (
        "import store.dedup._shingles as sh, store.dedup._minhash as mh\n"
        "sh._COMPILE_SECONDS = mh._COMPILE_SECONDS = 0.0\n"
        "sets = [sh.shingle_hashes(t) for t in ['one text to sign here', 'and another']]\n"
        "mh.MinHasher(64).signatures(sets)\n"
        "assert sh.KERNELS.compiled and mh.KERNELS.compiled\n"
    )
    subprocess.run([sys.executable, "-c", child], env=env, check=True, timeout=300)
    assert list((tmp_path / "newsdedup" / "numba").rglob("*.nbi"))
    fresh = [p for p in beside.glob("*.nb[ic]") if p.stat().st_mtime >= start]
    assert not fresh, fresh
