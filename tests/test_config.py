"""A config mistake is one line naming the key and what it expected, and exit 2.

Each case below was a traceback, a silent default or a wrong behaviour before the config
was validated whole: a string delay failed every source with a TypeError (exit 1, which a
systemd unit with SuccessExitStatus=1 takes for success), ``obey_robots = "no"`` meant
true, and ``allow_hosts = "127.0.0.1"`` was accepted and then refused loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import ConfigError, load_config
from crawler.cli import main
from crawler.normalize import RulesError, load_rules
from store import DedupConfig, Thresholds, UsageError

pytestmark = pytest.mark.quick

SOURCE = '[[sources]]\nurl = "https://example.com/feed.xml"\n'

# (config text, the key the message must name, a word of what was expected)
BAD = [
    ('[crawl]\nper_host_delay = "fast"\n', "crawl.per_host_delay", "float"),
    ('[crawl]\nconcurrency = "16"\n', "crawl.concurrency", "int"),
    ("[crawl]\nconcurrency = -1\n", "crawl.concurrency", ">= 1"),
    ("[crawl]\nconcurrency = 0\n", "crawl.concurrency", ">= 1"),
    ('[crawl]\nobey_robots = "no"\n', "crawl.obey_robots", "bool"),
    ('[crawl]\nallow_hosts = "127.0.0.1"\n', "crawl.allow_hosts", "array"),
    ("[crawl]\ntimeout = 0\n", "crawl.timeout", "> 0"),
    ("[crawl]\nmax_bytes = 10\n", "crawl.max_bytes", ">= 1024"),
    ('[crawl]\nrevisit_after = "soon"\n', "revisit_after", "duration"),
    ("[crawl]\nper_host_dealy = 1.0\n", "crawl.per_host_dealy", "unknown key"),
    ("[dedup]\nlsh_threshold = 3\n", "dedup.lsh_threshold", "< 1"),
    ("[dedup]\njaccard_threshold = 0\n", "dedup.jaccard_threshold", "> 0"),
    ("[dedup]\nnum_perm = 4\n", "dedup.num_perm", ">= 16"),
    ('[report]\nformat = "pdf"\n', "report.format", "pdf"),
    ('[report]\nformats = ["html", "docx"]\n', "report.formats", "docx"),
    ("[report]\nkeep = 0\n", "report.keep", ">= 1"),
    ("[normalize]\ntemplate_min_share = 2\n", "normalize.template_min_share", "<= 1"),
    ('[[sources]]\nurl = "https://a.example/"\nkind = "rss"\n', "sources[0].kind", "rss"),
    ('[[sources]]\nkind = "feed"\n', "sources[0]", "url"),
    ("unknown_table = 1\n", "unknown_table", "unknown key"),
    ('store = { path = "a.db", url = "sqlite:///b.db" }\n', "store", "not both"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsdedup.toml"
    # Top-level keys and tables first: after [[sources]], a key would belong to the source.
    path.write_text(text + SOURCE if not text.startswith("[[sources]]") else text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "key", "expected"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_value_names_its_key_and_what_was_expected(tmp_path, text, key, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert key in message and expected in message, message
    assert str(tmp_path / "newsdedup.toml") in message


@pytest.mark.parametrize(("text", "key", "expected"), BAD[:6], ids=[b[1] for b in BAD[:6]])
def test_the_command_line_exits_2_with_one_line_and_no_traceback(
    tmp_path, capsys, text, key, expected
):
    code = main(["crawl", "--config", str(write(tmp_path, text))])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("newsdedup: config error:") and key in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_unknown_key_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="known keys: .*per_host_delay"):
        load_config(write(tmp_path, "[crawl]\nper_host_dealy = 1.0\n"))


def test_good_values_load_with_paths_resolved(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            '[crawl]\nrevisit_after = "6h"\nper_host_delay = 2\n[report]\ndirectory = "reports"\n',
        )
    )
    assert cfg.crawl.revisit_after == 6 * 3600 and cfg.crawl.per_host_delay == 2.0
    assert cfg.store == str(tmp_path / "newsdedup.db")
    assert cfg.report.directory == str(tmp_path / "reports")
    assert cfg.sources[0].kind == "feed"


def test_dedup_defaults_are_the_engines_own():
    """Defined once: the config's [dedup] defaults are read off the engine's."""
    engine = load_config_defaults().dedup.engine()
    assert engine == DedupConfig()
    assert engine.thresholds == Thresholds()


def load_config_defaults():
    from crawler import Config

    return Config()


def test_a_bad_rules_file_is_a_config_error_naming_the_file(tmp_path):
    bad_regex = tmp_path / "bad.toml"
    bad_regex.write_text(
        '[[rules]]\nname = "x"\nkind = "link"\npattern = "(unclosed"\n', encoding="utf-8"
    )
    with pytest.raises(RulesError) as caught:
        load_rules([bad_regex])
    assert isinstance(caught.value, UsageError) and str(bad_regex) in str(caught.value)


def test_a_misspelt_rules_table_is_refused(tmp_path):
    typo = tmp_path / "typo.toml"
    typo.write_text('[[rule]]\nname = "x"\nkind = "link"\npattern = "^x"\n', encoding="utf-8")
    with pytest.raises(RulesError, match="rule"):
        load_rules([typo])
