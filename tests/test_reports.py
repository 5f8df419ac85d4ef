"""Reports: selection, every output format, the diff, the report directory, and the CLI.

Most tests run against a real demo store (the fixture news web crawled over loopback),
so the figures checked are those a user of ``newsdedup report`` would see.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import store as S
import store.report as R
from crawler._config import Config, ConfigError, ReportSettings, parse_config
from crawler._pipeline import write_report_dir
from crawler.cli._demo import demo
from crawler.cli._main import main
from store.report._files import report_name
from store.report._markdown import render_markdown
from store.report._terminal import render_table

pytestmark = pytest.mark.quick

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
WIRE = " ".join(
    f"Sentence {i} of the wire story says that the council voted on item {i * 7}."
    for i in range(40)
)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-demo")
    assert demo(out, as_json=True) == 0
    return out / "demo.db"


@pytest.fixture(scope="module")
def full(demo_store) -> S.Report:
    with S.open_store(demo_store) as st:
        return S.build_report(st, with_dropped=True)


def _add(st: S.Store, name: str, text: str, hours: float, **kw) -> int | None:
    with st.transaction():
        return st.add_article(
            S.ArticleRecord(
                url=kw.pop("url", f"http://news.test/{name}"),
                host="news.test",
                text=text,
                fetched=T0 + timedelta(hours=hours),
                published=T0 + timedelta(hours=hours),
                publisher=name,
                **kw,
            )
        )


# -- selection -----------------------------------------------------------------------


def test_parse_when_accepts_dates_times_and_ages():
    now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert R.parse_when("36h", now=now) == now - timedelta(hours=36)
    assert R.parse_when("2w", now=now) == now - timedelta(weeks=2)
    assert R.parse_when("2026-03-03") == datetime(2026, 3, 3, tzinfo=UTC)
    assert R.parse_when("2026-03-03", end=True) == datetime(2026, 3, 4, tzinfo=UTC)
    assert R.parse_when("2026-03-03T10:00+02:00").utcoffset() == timedelta(hours=2)
    with pytest.raises(S.SelectionError, match="not a date"):
        R.parse_when("yesterday")


def test_selection_filters_whole_clusters(full):
    clusters = full.clusters
    assert len(clusters) >= 10
    times = sorted({m.article.first_seen for c in clusters for m in c.members})
    cut = times[len(times) // 2]
    late = R.select_clusters(clusters, S.Selection(since=cut))
    assert 0 < len(late) < len(clusters)
    for c in late:  # whole clusters: members before the cut stay in
        assert any(m.article.first_seen >= cut for m in c.members)
    early = R.select_clusters(clusters, S.Selection(until=cut))
    assert {c.id for c in early} | {c.id for c in late} == {c.id for c in clusters}

    name = clusters[0].members[-1].article.publisher
    by_pub = R.select_clusters(clusters, S.Selection(publishers=(name.upper()[:8],)))
    assert by_pub and all(
        any((m.article.publisher or "").upper().startswith(name.upper()[:8]) for m in c.members)
        for c in by_pub
    )

    one = R.select_clusters(clusters, S.Selection(cluster_ids=(clusters[3].id,)))
    assert [c.id for c in one] == [clusters[3].id]
    assert len(R.select_clusters(clusters, S.Selection(limit=2))) == 2
    big = R.select_clusters(clusters, S.Selection(min_size=5))
    assert big and all(c.size >= 5 for c in big) and len(big) < len(clusters)


def test_sort_by_size_and_by_recency(full):
    by_size = R.select_clusters(full.clusters, S.Selection(sort="size"))
    assert [c.size for c in by_size] == sorted((c.size for c in by_size), reverse=True)
    recent = R.select_clusters(full.clusters, S.Selection(sort="recency"))
    latest = [max(m.article.first_seen for m in c.members) for c in recent]
    assert latest == sorted(latest, reverse=True)
    with pytest.raises(S.SelectionError):
        R.select_clusters(full.clusters, S.Selection(sort="alphabet"))


def test_fetched_time_field_uses_fetch_times(full):
    fetched = sorted(m.article.fetched for c in full.clusters for m in c.members)
    after_all = fetched[-1] + timedelta(seconds=1)
    assert (
        R.select_clusters(full.clusters, S.Selection(since=after_all, time_field="fetched")) == []
    )
    # The demo fetched everything minutes ago; the stories were published in March 2026.
    assert len(
        R.select_clusters(full.clusters, S.Selection(since=fetched[0], time_field="fetched"))
    ) == len(full.clusters)


# -- overview and machine formats -----------------------------------------------------


def test_overview_matches_the_store(demo_store, full):
    with S.open_store(demo_store) as st:
        articles = st.article_count()
        rows = st.membership_rows(2)
    ov = full.overview
    assert ov.articles == articles
    assert ov.syndicated == len(rows)
    assert ov.clusters == len({r[1] for r in rows})
    assert ov.share_syndicated == pytest.approx(len(rows) / articles)
    assert sum(n for _, n in ov.top_origins) <= ov.clusters
    assert sum(r.copies for r in ov.top_republishers) <= ov.syndicated - ov.clusters


def test_json_document_has_version_and_figures(full):
    doc = json.loads(S.render(full, "json"))
    assert doc["version"] == R.REPORT_VERSION == 3
    assert doc["articles"] == full.overview.articles
    assert doc["cluster_count"] == len(doc["clusters"]) == full.overview.clusters
    for c in doc["clusters"]:
        assert [m["is_origin"] for m in c["members"]].count(True) == 1
        assert c["members"][0]["article_id"] == c["origin_id"]
        assert list(c["members"][0]) == list(R.MEMBER_COLUMNS)


def _check_rows(df: pd.DataFrame, report: S.Report) -> None:
    assert list(df.columns) == list(R.MEMBER_COLUMNS)
    assert len(df) == report.overview.syndicated
    assert df.groupby("cluster_id")["is_origin"].sum().eq(1).all()
    assert set(df["report_version"]) == {R.REPORT_VERSION}
    assert df["copied"].between(0, 1).all() and df["similarity"].between(0, 1).all()
    origin_rows = df[df["is_origin"].astype(bool)]
    assert (origin_rows["copied"] == 1.0).all()


def test_csv_jsonl_and_parquet_load_in_pandas_with_the_documented_columns(full, tmp_path):
    csv_df = pd.read_csv(io.StringIO(S.render(full, "csv")))
    _check_rows(csv_df, full)
    jl = pd.read_json(io.StringIO(S.render(full, "jsonl")), lines=True)
    _check_rows(jl, full)
    path = tmp_path / "r.parquet"
    path.write_bytes(S.render(full, "parquet"))
    pq = pd.read_parquet(path)
    _check_rows(pq, full)
    assert str(pq["published"].dtype).startswith("datetime64") and "UTC" in str(
        pq["published"].dtype
    )
    assert pq["is_origin"].dtype == bool
    assert pq["url"].tolist() == csv_df["url"].tolist() == jl["url"].tolist()


def test_schema_doc_lists_every_column():
    doc = (Path(__file__).parents[1] / "docs" / "report-schema.md").read_text(encoding="utf-8")
    for column in R.MEMBER_COLUMNS:
        assert f"`{column}`" in doc
    assert f"version {R.REPORT_VERSION}" in doc.lower()


# -- text formats ---------------------------------------------------------------------


def test_terminal_table_is_plain_when_piped_and_coloured_on_a_tty(full):
    plain = render_table(full, color=False)
    assert "\x1b[" not in plain
    assert "origin:" in plain and "Headline" in plain
    first = full.clusters[0]
    assert re.search(rf"^\s*{first.id}\s*\|\s*{first.size}\s*\|", plain, re.MULTILINE)
    coloured = render_table(full, color=True)
    assert "\x1b[" in coloured


def test_markdown_summary_escapes_table_breakers(tmp_path):
    with S.open_store(tmp_path / "s.db") as st:
        _add(st, "Wire | Agency", WIRE, 0, title="Vote <b>passes</b> | *big* news")
        _add(st, "Copier", WIRE + " Our own closing line.", 2, title="copy")
        S.dedup_store(st)
        md = render_markdown(S.build_report(st))
    row = next(line for line in md.splitlines() if "passes" in line)
    assert row.count(" | ") == 5  # six cells: the headline's own pipe was escaped
    assert "\\<b\\>" in md and "\\*big\\*" in md and "<b>" not in md


# -- the diff -------------------------------------------------------------------------


def test_diff_marks_copied_added_and_cut_words():
    origin = "Alpha beta gamma delta.\n\nSecond paragraph stays.\n\nThird goes away."
    copy = "Breaking: Alpha beta gamma delta.\n\nSecond paragraph stays.\n\nOur note."
    d = R.diff_texts(origin, copy)
    kinds = [r.kind for r in d.rows]
    assert kinds == ["changed", "same", "changed"]
    first = d.rows[0]
    assert [(s.kind, s.text) for s in first.right[0]] == [
        ("added", "Breaking:"),
        ("same", "Alpha beta gamma delta."),
    ]
    assert [(s.kind, s.text) for s in d.rows[2].left[0]] == [("cut", "Third goes away.")]
    assert (d.copied_words, d.added_words, d.cut_words) == (7, 3, 3)


def test_diff_sees_through_typography_but_shows_each_sides_own():
    d = R.diff_texts('New Zealand\'s "grid" held.', "New Zealand’s “grid” held.")
    assert d.added_words == d.cut_words == 0
    assert d.rows[0].right[0][0].text == "New Zealand’s “grid” held."


# -- boilerplate kept for the report ---------------------------------------------------


def test_crawler_stores_the_boilerplate_it_removed(demo_store, full):
    with S.open_store(demo_store) as st:
        dropped = st.dropped_lines(st.article_ids())
    assert dropped, "the demo pages carry boilerplate; some must be recorded"
    rules = {rule for lines in dropped.values() for rule, _ in lines}
    assert "dateline" in rules
    assert full.dropped and set(full.dropped) <= set(dropped)


def test_dropped_lines_round_trip_and_old_rows_have_none(tmp_path):
    with S.open_store(tmp_path / "s.db") as st:
        a = _add(st, "a", WIRE, 0, dropped=[("link-line:en", "READ MORE: x"), ("byline", "By Z")])
        b = _add(st, "b", WIRE, 1)
        assert st.dropped_lines([a, b]) == {
            a: [("link-line:en", "READ MORE: x"), ("byline", "By Z")]
        }


# -- report directory, config and CLI ---------------------------------------------------


def test_report_directory_keeps_the_last_n(full, tmp_path):
    out = tmp_path / "reports"
    (out).mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    for hour in range(4):
        when = datetime(2026, 3, 5, hour, tzinfo=UTC)
        written = S.write_report_set(full, out, ["html", "json"], keep=2, when=when)
        assert [p.name for p in written] == [report_name(when, "html"), report_name(when, "json")]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            report_name(datetime(2026, 3, 5, h, tzinfo=UTC), f)
            for h in (2, 3)
            for f in ("html", "json")
        ]
        + ["notes.txt"]
    )
    latest = json.loads(
        (out / report_name(datetime(2026, 3, 5, 3, tzinfo=UTC), "json")).read_text(encoding="utf-8")
    )
    assert latest["cluster_count"] == full.overview.clusters


@pytest.mark.slow
def test_run_writes_reports_to_the_configured_directory(demo_store, tmp_path):
    cfg = Config(
        store=str(demo_store), report=ReportSettings(directory=str(tmp_path / "r"), keep=3)
    )
    with S.open_store(demo_store) as st:
        paths = write_report_dir(cfg, st)
    assert sorted(p.suffix for p in paths) == [".html", ".json"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert write_report_dir(Config(store=str(demo_store)), st) == []  # off by default


def test_report_config_is_validated(tmp_path):
    cfg = parse_config({"report": {"directory": "reports", "keep": 5}}, tmp_path)
    assert cfg.report.directory == str(tmp_path / "reports")
    assert cfg.report.formats == ["html", "json"]
    parse_config({"report": {"format": "markdown"}}, tmp_path)
    with pytest.raises(ConfigError, match="format"):
        parse_config({"report": {"format": "parquet"}}, tmp_path)  # run prints it
    with pytest.raises(ConfigError, match="formats"):
        parse_config({"report": {"formats": ["pdf"]}}, tmp_path)
    with pytest.raises(ConfigError, match="keep"):
        parse_config({"report": {"keep": 0}}, tmp_path)


def test_cli_report_formats_and_outputs(demo_store, full, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    store = str(demo_store)
    assert main(["report", "--store", store, "--format", "html"]) == 0
    assert "newsdedup-report.html" in capsys.readouterr().err
    html = (tmp_path / "newsdedup-report.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'id="stat-articles"' in html
    assert main(["report", "--store", store, "-f", "parquet", "-o", "x.parquet"]) == 0
    assert len(pd.read_parquet(tmp_path / "x.parquet")) == full.overview.syndicated
    assert main(["report", "--store", store, "-f", "markdown", "--limit", "2"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## newsdedup report") and md.count("\n| ") == 3
    first = full.clusters[0].id
    assert main(["report", "--store", store, "-f", "jsonl", "--cluster", str(first)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["cluster_id"] for r in rows} == {first} and len(rows) == full.clusters[0].size
    assert main(["report", "--store", store, "--since", "last tuesday"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["report", "--store", store, "--cluster", str(first)]) == 0
    text = capsys.readouterr().out
    assert "every copy in time order" in text and "\x1b[" not in text
