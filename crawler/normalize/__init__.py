"""Stripping the boilerplate publishers wrap around a story.

Rules are data (``rules/boilerplate.toml``, extendable by the user's own files): link lines
such as "ALSO READ:", captions, taglines, pagination. Each dropped line is kept with the
rule that dropped it, so ``extract --explain`` and the HTML report can show it. Lines a
site prints on most of its pages (template lines) are learned per host (``_sitelines``).
"""

from ._boilerplate import Dropped, NormalizedArticle, normalize
from ._rules import LineRule, RulesError, RuleSet, load_rules
from ._sitelines import learn_template_lines, line_key, template_keys

__all__ = [
    "Dropped",
    "LineRule",
    "NormalizedArticle",
    "RuleSet",
    "RulesError",
    "learn_template_lines",
    "line_key",
    "load_rules",
    "normalize",
    "template_keys",
]
