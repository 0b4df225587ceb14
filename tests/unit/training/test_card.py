from __future__ import annotations

from riskloop.training.card import render_html


def test_the_html_card_renders_tables_and_images_but_no_markup_from_its_text() -> None:
    text = (
        "# Model card: fraud@1\n\n| a | b |\n|---|---|\n| `x` | 1 & 2 |\n\n"
        "feature: <script>alert(1)</script> <img src=x onerror=alert(2)>\n\n![pr](pr.png)\n"
    )
    page = render_html(text, {"pr.png": b"\x89PNG"})
    assert "<table>" in page and "<code>x</code>" in page and "1 &amp; 2" in page
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
    assert 'src="data:image/png;base64,iVBORw=="' in page
