"""Pieces of the dashboard that need no server: safe redirects, JSON for script blocks,
model cards, form values, the entities an event names."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from riskloop.entrypoints.web.forms import Fields
from riskloop.entrypoints.web.login import safe_next
from riskloop.entrypoints.web.model_pages import card_html
from riskloop.entrypoints.web.render import to_json
from riskloop.entrypoints.web.stats import entities_of


def test_json_for_a_script_block_cannot_close_it() -> None:
    value = {"label": "</script><script>alert(1)</script>", "n": [1, 2]}
    text = str(to_json(value))
    assert "</script>" not in text and "<" not in text
    assert orjson.loads(text) == value


def test_model_cards_keep_tables_and_images_and_lose_markup() -> None:
    md = (
        "# fraud@3\n\n| metric | value |\n|---|---|\n| roc_auc | 0.91 |\n\n"
        "![pr](pr.png)\n\n[docs](https://example.org/x) [bad](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">'
    )
    html = str(card_html(md, {"pr.png": b"\x89PNG"}))
    assert "<table>" in html and "<td>0.91</td>" in html
    assert 'src="data:image/png;base64,iVBORw=="' in html
    assert 'href="https://example.org/x"' in html
    assert "javascript:" not in html and "<img src=x" not in html and "&lt;img" in html


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/decisions?outcome=review") == "/decisions?outcome=review"
    for target in ("", "//x.example", "/\\x.example", "http://x", "/a\nb", "/logout", "x" * 3):
        assert safe_next(target) == "/"


def test_times_are_read_as_utc_and_bad_ones_named() -> None:
    f = Fields({"a": "2026-11-01T12:30", "b": "2026-11-01T12:30:00+02:00", "c": "soon"})
    assert f.moment("a") == datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    assert f.moment("b") == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert f.moment("c") is None and [e.field for e in f.errors] == ["c"]


def test_text_limits_and_required_values() -> None:
    f = Fields({"note": "x" * 6, "empty": "  "})
    assert f.text("note", 5) == "" and f.text("empty", 5, required=True) == ""
    assert [e.field for e in f.errors] == ["note", "empty"]


def test_entities_skip_missing_and_odd_values() -> None:
    data = {"customer_id": "", "account_id": True, "device": {"id": 7}, "card": "not a dict"}
    assert entities_of(data) == [("device", "7")]
