"""The guidelines page's small Markdown renderer: the subset GUIDELINES.md uses, always escaped."""

from __future__ import annotations

import pytest

from annotator.errors import NotFound
from annotator.services.guidelines import load_guidelines, render_markdown, slug


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("# Title: one", '<h1 id="title-one">Title: one</h1>'),
        ("## ACTOR", '<h2 id="actor">ACTOR</h2>'),
        ("one\ntwo\n\nthree", "<p>one two</p>\n<p>three</p>"),
        ("- a\n  wrapped\n- b", "<ul><li>a wrapped</li><li>b</li></ul>"),
        (
            "Use `count` and **bold `x`**.",
            "<p>Use <code>count</code> and <strong>bold <code>x</code></strong>.</p>",
        ),
        (
            "| a | b |\n| --- | --- |\n| `1` | 2 |",
            "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><code>1</code></td><td>2</td></tr>"
            "</tbody></table>",
        ),
        ('```json\n{"a": "<b>"}\n```', "<pre><code>{&#34;a&#34;: &#34;&lt;b&gt;&#34;}</code></pre>"),
    ],
)
def test_render_markdown(markdown, html):
    assert render_markdown(markdown) == html


def test_render_markdown_escapes_html_everywhere():
    html = render_markdown("# <script>x</script>\n\n- <img src=x onerror=alert(1)>\n\n`<b>` & <i>")
    assert "<script>" not in html and "<img" not in html and "<i>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_slug():
    assert slug("Gold file format") == "gold-file-format"


def test_the_shipped_guidelines_render_every_section():
    html = load_guidelines()
    for anchor in ("actor", "location", "casualty", "gold-file-format"):
        assert f'id="{anchor}"' in html


def test_missing_guidelines_are_not_found(tmp_path):
    with pytest.raises(NotFound, match="missing"):
        load_guidelines(tmp_path / "nope.md")


def test_annotators_see_only_what_is_below_the_top_comment():
    html = load_guidelines()
    assert "For the project" not in html and "&lt;!--" not in html
    assert "What to mark in each article" in html
    for anchor in ("single", "article-tally"):
        assert anchor in html


def test_a_file_without_a_top_comment_is_shown_whole(tmp_path):
    path = tmp_path / "g.md"
    path.write_text("# Title\n\nAll of it.\n", encoding="utf-8")
    assert "All of it." in load_guidelines(path) and "Title" in load_guidelines(path)
