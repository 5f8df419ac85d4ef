"""Extraction failure kinds seen on real publishers' pages, each on small hand-written pages
in several languages: a class word that deleted the article, JSON-LD bodies that were
teasers, articles split over sibling containers, missing ledes, neighbouring articles."""

from __future__ import annotations

import pytest

from crawler.extract import extract_html
from crawler.normalize import normalize

pytestmark = pytest.mark.quick

# Hand-written article paragraphs, one set per language.
DE = [
    "Der Stadtrat hat am Dienstagabend nach langer Debatte beschlossen, die alte Markthalle "
    "am Fluss zu sanieren, statt sie abzureißen und durch einen Neubau zu ersetzen.",
    "Die Kosten werden auf rund zwölf Millionen Euro geschätzt; ein Drittel davon soll aus "
    "einem Förderprogramm des Landes kommen, wie die Bürgermeisterin mitteilte.",
    "Händler, die bisher auf dem Parkplatz vor der Halle verkaufen, sollen während der "
    "Bauzeit einen Ersatzstandort in der Nähe des Bahnhofs erhalten.",
    "Die Opposition kritisierte den Zeitplan als zu ehrgeizig und verlangte, dass der Rat "
    "jedes halbe Jahr über den Stand der Arbeiten unterrichtet wird.",
]
EN = [
    "The harbour authority said on Monday that the new ferry terminal would open two months "
    "later than planned because a supplier had delivered faulty steel beams.",
    "Engineers found cracks in several of the beams during a routine inspection in March, "
    "and all of them will now be replaced at the supplier's expense, officials said.",
    "Passengers will continue to use the temporary terminal on the north quay, where extra "
    "seating and a covered walkway were added last winter.",
    "Local businesses near the old pier said the delay would cost them another summer of "
    "visitors, and asked the council for a reduction in their rates.",
]
TR = [
    "Belediye, şehir merkezindeki tarihi çarşının restorasyonunun yaz sonunda tamamlanacağını "
    "açıkladı ve esnafa geçici dükkanlar için başvuru çağrısında bulundu.",
    "Yetkililer, çalışmalar sırasında bulunan eski su kanallarının da korunarak ziyaretçilere "
    "açılacağını, bunun için ayrı bir proje hazırlandığını söyledi.",
    "Çarşıda yüzyıllardır faaliyet gösteren bakırcılar, restorasyonun ardından eski "
    "yerlerine dönebilmek için sabırsızlandıklarını dile getirdi.",
]
ES = [
    "El ayuntamiento aprobó este jueves un plan para ampliar los carriles bici del centro de "
    "la ciudad, que conectarán los principales barrios con la estación de tren.",
    "Las obras comenzarán en septiembre y durarán unos ocho meses, según el calendario "
    "presentado por la concejala de Movilidad en rueda de prensa.",
    "Los comerciantes de la zona pidieron que los trabajos se realicen por tramos para no "
    "cortar el acceso a sus tiendas durante la campaña de Navidad.",
]

SIDEBAR = (
    "<div class='sidebar'><h3>More News</h3><ul>"
    + "".join(
        f"<li><a href='/n{i}'>Another headline about something else entirely, number {i}</a></li>"
        for i in range(8)
    )
    + "</ul></div>"
)
# A "More News" list that no class marks: what is left when the article goes with chrome.
MORE_NEWS = (
    "<div class='list'><h2>More News</h2>"
    + "".join(
        f"<div class='item'><h3><a href='/m{i}'>Council debates the budget, part {i}</a></h3>"
        f"<p>The council met again on Thursday to discuss next year's budget, and the "
        f"debate went on until late in the evening, part {i} of our coverage.</p></div>"
        for i in range(4)
    )
    + "</div>"
)
PROMO = (
    "<div class='promo-box'><p>Subscribe today and read every story on every device for just "
    "one euro in the first month, cancel at any time.</p></div>"
)


def _page(article: str, lang: str = "en", head: str = "", title: str = "A headline") -> str:
    return (
        f"<html lang='{lang}'><head><title>{title} - Site</title>{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<main><h1>{title}</h1>{article}</main>{MORE_NEWS}{SIDEBAR}"
        "<footer><p>© Site 2025</p></footer></body></html>"
    )


def _ps(paras: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paras)


def _body(html: str, url: str | None = None) -> list[str]:
    return normalize(extract_html(html, url)).body


# ----------------------------------------------------------- one class word must not veto


def test_paywall_wrapper_is_content_en():
    html = _page(f"<div class='post-paywall'>{_ps(EN)}</div>{PROMO}")
    assert _body(html) == EN


def test_paywall_no_access_wrapper_de():
    html = _page(
        f"<div class='paywallNoAccessWrapper'><div class='text'>{_ps(DE)}</div></div>",
        lang="de",
    )
    assert _body(html) == DE


def test_utility_class_overflow_hidden_tr():
    html = _page(
        f"<div class='wrapper px-5 overflow-hidden'><div class='cms'>{_ps(TR)}</div></div>",
        lang="tr",
    )
    assert _body(html) == TR


def test_hidden_suffix_in_id_is_not_hidden_de():
    # The second half of a metered article sits in an element whose id says "hidden".
    html = _page(
        f"<div class='post-text'><p>{DE[0]}</p><div id='post-text-hidden' class='hideable'>"
        f"{_ps(DE[1:])}</div></div>",
        lang="de",
    )
    assert _body(html) == DE


def test_main_column_named_sidebar_es():
    html = _page(f"<div class='sidebar-1'><article>{_ps(ES)}</article></div>", lang="es")
    assert _body(html) == ES


def test_real_chrome_still_goes():
    comments = (
        "<div class='comments'>"
        + "".join(f"<p>{p}</p>" for p in [EN[0].upper(), EN[1].upper(), EN[2].upper()])
        + "</div>"
    )
    html = _page(f"<div class='story'>{_ps(EN)}</div>{comments}{PROMO}")
    body = _body(html)
    assert body == EN
    assert not any("Another headline" in p for p in body)


def test_hidden_duplicate_copy_goes():
    # A hidden second rendering of the same text (mobile layout) must not be kept.
    html = _page(f"<div class='story'>{_ps(EN)}</div><div style='display:none'>{_ps(EN[:2])}</div>")
    assert _body(html) == EN


# ------------------------------------------------------ articles split over sibling boxes


def test_sections_in_separate_wrappers_are_merged_de():
    # Each section sits in its own module a few levels down, with teaser boxes between.
    def module(paras: list[str], heading: str = "") -> str:
        h = f"<h2>{heading}</h2>" if heading else ""
        return (
            f"<div class='con'><div class='modCon'><div class='mod'><div class='box'>{h}"
            f"{_ps(paras)}</div></div></div></div>"
        )

    teaser = (
        "<div class='con teaserbox'><div class='modCon'><a href='/x'>Mehr zum Thema: "
        "Markthallen in anderen Städten</a></div></div>"
    )
    html = _page(
        f"<div class='section'>{module(DE[:1])}{teaser}{module(DE[1:3], 'Kosten')}{teaser}"
        f"{module(DE[3:], 'Kritik')}</div>",
        lang="de",
    )
    assert _body(html) == [DE[0], "Kosten", DE[1], DE[2], "Kritik", DE[3]]


def test_metered_second_half_after_the_body_en():
    html = _page(
        f"<div class='article-body'>{_ps(EN[:2])}</div>"
        f"<div class='premium-remainder'>{_ps(EN[2:])}</div>"
    )
    assert _body(html) == EN


def test_next_article_on_the_page_is_cut_es():
    other = [
        "La próxima semana se celebrará en el puerto la feria anual de embarcaciones, con "
        "más de doscientos expositores llegados de toda Europa.",
        "La organización espera superar los cuarenta mil visitantes y ha reforzado el "
        "transporte público durante los cuatro días que dura el evento.",
    ]
    html = (
        "<html lang='es'><head><title>Carriles bici - Diario</title></head><body>"
        f"<div class='stream'><article id='first'><h1>Carriles bici</h1>{_ps(ES)}</article>"
        f"<article id='second-article'><h1>Feria náutica</h1>{_ps(other)}</article></div>"
        "</body></html>"
    )
    assert _body(html) == ES


def test_longer_next_article_does_not_win_no():
    first = [
        "Kommunen vil bygge en ny gang- og sykkelbro over elva, og arbeidet skal etter planen "
        "starte i løpet av høsten, opplyser ordføreren.",
        "Broen skal knytte sammen boligområdene på begge sider og gi skolebarn en tryggere "
        "vei til skolen, heter det i saksframlegget.",
    ]
    second = [
        f"Fotballaget vant kampen i går etter et sent mål, og treneren roste spillerne for "
        f"innsatsen i andre omgang, skriver lokalavisen i sak nummer {i}."
        for i in range(6)
    ]
    html = (
        "<html lang='no'><head><meta property='og:title' content='Ny bro over elva'>"
        "<title>Ny bro over elva - Avisa</title></head><body><main>"
        "<article class='main-article'><header><h1>Ny bro over elva</h1></header>"
        f"<div class='body'>{_ps(first)}</div></article>"
        "<article id='second-article'><header><h1>Seier i siste minutt</h1></header>"
        f"<div class='body'>{_ps(second)}</div></article></main></body></html>"
    )
    assert _body(html) == first


def test_list_of_other_stories_after_the_body_is_cut_en():
    teasers = "".join(
        f"<h3><a href='/s{i}'>Story number {i} about the harbour</a></h3>"
        f"<p>{EN[i].replace('harbour', 'airport')}</p>"
        for i in range(3)
    )
    html = _page(f"<div class='entry-content'>{_ps(EN)}</div><div class='query'>{teasers}</div>")
    assert _body(html) == EN


# ------------------------------------------------------------- JSON-LD articleBody and ledes


def _ld(body: str, **extra: str) -> str:
    import json

    obj = {"@context": "https://schema.org", "@type": "NewsArticle", "articleBody": body}
    obj.update(extra)
    return f"<script type='application/ld+json'>{json.dumps(obj)}</script>"


def test_jsonld_teaser_is_not_the_body_de():
    # articleBody holds the first 400-odd characters, cut mid-sentence; the DOM has all.
    teaser = " ".join(DE)[:420].rsplit(" ", 1)[0]
    assert not teaser.endswith(".")
    html = _page(f"<div class='text'>{_ps(DE)}</div>", lang="de", head=_ld(teaser))
    assert _body(html) == DE


def test_jsonld_opening_paragraphs_only_are_not_the_body_en():
    html = _page(f"<div class='text'>{_ps(EN)}</div>", head=_ld("\n\n".join(EN[:2])))
    assert _body(html) == EN


def test_jsonld_body_twice_over_is_taken_once_en():
    # The DOM has no article container worth the name (a gallery page), articleBody has
    # the text, stored twice over in one string.
    once = " ".join(EN)
    html = _page(
        "<div class='gallery'><a href='/1'>One</a> <a href='/2'>Two</a></div>",
        head=_ld(f"{once} {once}"),
    ).replace("</main>", f"</main><div hidden><span>{once}</span></div>")
    assert _body(html) == [once]


def test_jsonld_body_with_markup_is_parsed_es():
    markup = "".join(f"<p>{p}</p>" for p in ES)
    # The DOM writes the article as text runs beside images that make no paragraphs.
    dom = "<span class='txt'>" + "<br><br>".join(ES) + "</span>"
    html = _page(dom, lang="es", head=_ld(markup))
    body = _body(html)
    assert body == ES


def test_dom_kept_when_it_holds_jsonld_body_plus_subheadings_en():
    html = _page(
        f"<div class='article-body'>{_ps(EN[:2])}<h2>What happens next</h2>{_ps(EN[2:])}"
        "<p class='note'>Editor's note: an earlier version of this story gave a wrong date "
        "for the opening, which we have corrected.</p></div>",
        head=_ld("\n\n".join(EN)),
    )
    assert _body(html) == [*EN[:2], "What happens next", *EN[2:]]


def test_lede_in_header_box_is_kept_tr():
    lede = "Tarihi çarşının restorasyonu yaz sonunda bitiyor; esnaf geçici dükkanlara taşınacak."
    html = _page(
        f"<div class='article-header'><h2 class='spot'>{lede}</h2></div>"
        f"<div class='cms-container'>{_ps(TR)}</div>",
        lang="tr",
        head=f"<meta property='og:description' content='{lede}'>",
    )
    assert _body(html) == [lede, *TR]


def test_truncated_description_still_finds_the_lede_de():
    lede = (
        "Nach jahrelangem Streit soll die Markthalle erhalten bleiben. Der Rat stimmte "
        "mit knapper Mehrheit für die Sanierung, die Opposition bleibt skeptisch."
    )
    html = _page(
        f"<header class='head'><p class='intro'>{lede}</p></header><div class='text'>"
        f"{_ps(DE)}</div>",
        lang="de",
        head=f"<meta name='description' content='{lede[:90]}…'>",
    )
    assert _body(html) == [lede, *DE]


# ------------------------------------------------------------------------ titles, authors


def test_title_suffix_dropped_where_the_h1_is_clean_de():
    html = _page(
        f"<div class='text'>{_ps(DE)}</div>",
        lang="de",
        title="Markthalle wird saniert",
        head="<meta property='og:title' content='Markthalle wird saniert | STADT.DE'>",
    )
    assert extract_html(html).title == "Markthalle wird saniert"


def test_title_with_author_suffix_en():
    html = _page(
        f"<div class='text'>{_ps(EN)}</div>",
        title="Ferry terminal opening delayed",
        head="<meta property='og:title' content="
        "'Ferry terminal opening delayed * The Harbour Post * by Jane Roe'>",
    )
    assert extract_html(html).title == "Ferry terminal opening delayed"


def test_headline_with_a_dash_is_kept_en():
    # No <h1> says it is shorter: the dash is part of the headline.
    html = _page(
        f"<div class='text'>{_ps(EN)}</div>",
        title="Turkey - EU talks stall",
        head="<meta property='og:title' content='Turkey - EU talks stall'>",
    )
    assert extract_html(html).title == "Turkey - EU talks stall"


def test_email_author_gives_way_to_a_name_de():
    head = (
        "<meta name='author' content='m.muster@zeitung.example'>"
        "<meta name='twitter:label1' content='Written by'>"
        "<meta name='twitter:data1' content='Max Muster'>"
    )
    html = _page(f"<div class='text'>{_ps(DE)}</div>", lang="de", head=head)
    assert extract_html(html).authors == ["Max Muster"]


def test_byline_segment_on_the_line_under_the_headline_de():
    html = _page(
        f"<div class='meta-line'>Do 24.04.25 | 14:07 Uhr | Von Eva Muster</div>"
        f"<div class='text'>{_ps(DE)}</div>",
        lang="de",
    )
    page = extract_html(html)
    assert page.authors == ["Eva Muster"]


def test_outlet_name_kept_but_a_person_preferred_en():
    head = (
        "<meta name='author' content='Harbour Post'><meta property='og:site_name' "
        "content='Harbour Post'>"
    )
    html = _page(f"<p class='byline'>Jane Roe</p><div class='text'>{_ps(EN)}</div>", head=head)
    assert extract_html(html).authors == ["Jane Roe", "Harbour Post"]


def test_loose_first_paragraphs_before_a_read_all_box_en():
    # The first paragraphs sit one by one beside the long box holding the rest; each alone
    # is too small beside it to join, together they are the article's opening.
    more = [
        f"Paragraph {i} of the report says that the ferry operators will keep their winter "
        f"timetable until the opening, with sailings every forty minutes during the day."
        for i in range(12)
    ]
    first = "".join(f"<div class='par'>{p}</div>" for p in EN[:3])
    rest = "".join(f"<div class='par'>{p}</div>" for p in more)
    html = _page(
        f"<section class='body'><div class='container'><div class='ad'></div>{first}"
        f"<div class='read-all'>{rest}</div></div></section>"
    )
    assert _body(html) == EN[:3] + more


def test_site_description_in_the_footer_is_no_lede_en():
    about = "The Harbour Post brings you local news, sport and weather from the coast every day."
    html = _page(
        f"<div class='text'>{_ps(EN)}</div>",
        head=f"<meta name='description' content='{about}'>",
    ).replace("<footer>", f"<footer><p>{about}</p>")
    assert _body(html) == EN


def test_teaser_card_headline_inside_a_link_is_dropped_no():
    first = [
        "Kommunen vil bygge en ny gang- og sykkelbro over elva, og arbeidet skal etter planen "
        "starte i løpet av høsten, opplyser ordføreren.",
        "Broen skal knytte sammen boligområdene på begge sider og gi skolebarn en tryggere "
        "vei til skolen, heter det i saksframlegget.",
    ]
    card = (
        "<div class='plug'><a href='/sak/123'><div><h2><small>Les også</small> "
        "<span>Ny skole åpner etter sommerferien</span></h2></div></a></div>"
    )
    html = _page(
        f"<div class='article-body'><p>{first[0]}</p>{card}<p>{first[1]}</p></div>", lang="no"
    )
    art = normalize(extract_html(html))
    assert art.body == first
    assert any(d.rule == "link-line:markup" for d in art.dropped)


def test_kicker_headline_date_line_and_credit_above_the_story_de():
    html = _page(
        "<div class='text'><h3>Sanierung - Die Markthalle bleibt stehen und wird saniert</h3>"
        "<div class='line'>Do 24.04.25 | 14:07 Uhr | Von Eva Muster</div>"
        f"<div class='img'>Eva Muster/Stadtzeitung</div>{_ps(DE)}</div>",
        lang="de",
        title="Die Markthalle bleibt stehen und wird saniert",
    )
    art = normalize(extract_html(html))
    assert art.body == DE
    rules = {d.rule for d in art.dropped}
    assert {"headline", "date-line", "caption:credit"} <= rules


def test_editor_directives_in_jsonld_body_are_not_text_en():
    body = (
        "+++dropcap\n\n"
        + "\n\n".join(EN[:2])
        + "\n\n[#image: /photos/123]\n\n"
        + ("\n\n".join(EN[2:]))
    )
    # The text is on the page, in a box whose class makes the DOM's choice drop it, so the
    # body comes from articleBody.
    html = _page(f"<div class='related-story-text'>{_ps(EN)}</div>", head=_ld(body))
    page = extract_html(html)
    assert page.method == "jsonld"
    assert normalize(page).body == EN


def test_standfirst_marked_by_class_when_the_description_differs_es():
    lede = "La ciudad tendrá cuarenta kilómetros nuevos de carril bici antes del próximo verano."
    html = _page(
        f"<div class='article-header'><p class='article-subtitle'>{lede}</p>"
        "<div class='author'>Por Ana Ruiz</div></div>"
        f"<div class='story-text'>{_ps(ES)}</div>",
        lang="es",
        head="<meta name='description' content='Noticias de movilidad y transporte urbano.'>",
    )
    assert _body(html)[0] == lede


def test_jsonld_author_by_graph_reference_en():
    head = (
        "<script type='application/ld+json'>{\"@graph\": ["
        '{"@type": "NewsArticle", "headline": "A headline", '
        '"author": {"@id": "https://x.example/#/person/1"}},'
        '{"@type": "Person", "@id": "https://x.example/#/person/1", "name": "Jane Roe"}'
        "]}</script>"
    )
    html = _page(f"<div class='text'>{_ps(EN)}</div>", head=head)
    assert extract_html(html).authors == ["Jane Roe"]


def test_jsonld_article_as_the_webpages_main_entity_de():
    """schema.org's WebPage.mainEntity holds the article itself: its authors (all of them,
    "First Last") come before a Dublin Core creator written "Last, First"."""
    head = (
        "<meta name='dc.creator' content='Roe, Jane'>"
        '<script type=\'application/ld+json\'>{"@type": "WebPage", "mainEntity": '
        '{"@type": "NewsArticle", "headline": "Eine Schlagzeile", '
        '"author": [{"@type": "Person", "name": "Jane Roe"}, '
        '{"@type": "Person", "name": "Max Muster"}]}}'
        "</script>"
    )
    html = _page(f"<div class='text'>{_ps(DE)}</div>", lang="de", head=head)
    assert extract_html(html).authors == ["Jane Roe", "Max Muster"]
