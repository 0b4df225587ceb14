"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright against
uvicorn serving the embedded app on a free local port. Each flow leaves a screenshot in
``artifacts/browser/``. No page may log an error (a Content-Security-Policy violation, a
script error) on the way."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from riskloop.bootstrap import Riskloop, build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from tests.browser.seed import PASSWORD, add_user, seed

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"

# Skipped on a laptop without Chromium; CI installs it (.ci/run) and must not skip.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {CHROMIUM}",
    ),
]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
uvicorn = pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Riskloop, str]]:
    """The embedded app with the seeded world, served by uvicorn in a thread."""
    data = tmp_path_factory.mktemp("browser") / "data"
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data)}))
    seed(rl, reviews=4)
    port = _free_port()
    config = uvicorn.Config(
        create_app(rl, follow_every_s=3600),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield rl, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    rl.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose console errors fail the test."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    # A refused sign-in answers 401, which the browser logs as a failed resource: expected.
    unexpected = [p for p in problems if "401" not in p]
    assert unexpected == []


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, base: str, rl: Riskloop, role: str, *, target: str = "/") -> str:
    name, secret = add_user(rl, role)
    page.goto(f"{base}{target}")  # not signed in: to the login form, remembering where
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{target}")
    return name


def test_sign_in_with_password_and_totp_and_a_wrong_code_is_refused(
    world: tuple[Riskloop, str], page: Any
) -> None:
    rl, base = world
    name, secret = add_user(rl, "analyst")
    page.goto(f"{base}/queue")
    assert "/login?next=" in page.url
    good = pyotp.TOTP(secret).now()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(f"{(int(good) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "check your username, password and code" in alert.inner_text()
    assert page.context.cookies() == []
    _shot(page, "login-refused")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(good)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/queue")
    assert page.get_by_role("heading", name="Review queue").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "riskloop_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _shot(page, "login")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/queue")
    assert "/login?next=" in page.url


def test_resolve_a_case_from_the_queue_with_one_click(
    world: tuple[Riskloop, str], page: Any
) -> None:
    rl, base = world
    _sign_in(page, base, rl, "analyst", target="/queue")
    rows = page.locator("tr.queue-row")
    before = rows.count()
    assert before >= 2
    first = rows.first
    case_id = first.get_attribute("id").removeprefix("row-")
    button = first.get_by_role("button", name=f"Confirm fraud for case {case_id}")
    button.focus()  # a real button: the keyboard works it as well as the mouse
    page.keyboard.press("Enter")
    page.locator(f"#row-{case_id}").wait_for(state="detached")
    assert "confirmed fraud" in page.locator("#flash").inner_text()
    assert rows.count() == before - 1
    # The focus moved on to the next case, ready for the next decision.
    page.wait_for_function("() => document.activeElement.closest('tr.queue-row') !== null")
    _shot(page, "queue-resolved")
    assert rl.cases.get(case_id).status.value == "resolved"
    page.reload()
    assert page.locator(f"#row-{case_id}").count() == 0


def test_edit_a_rule_with_live_validation_then_save(
    world: tuple[Riskloop, str], page: Any, browser: Any
) -> None:
    rl, base = world
    _sign_in(page, base, rl, "risk_admin", target="/rules/large_amount")
    expression = page.get_by_label("CEL expression")
    expression.fill('event.amount > "5000"')
    errors = page.locator("#validation-errors")
    errors.wait_for()
    assert "line 1" in errors.inner_text() and "expression" in errors.inner_text()
    _shot(page, "rule-invalid")
    expression.fill("event.amount > 200000")
    page.locator("#validation-ok").wait_for()
    page.get_by_label("Why this change").fill("fewer reviews")
    page.get_by_role("button", name="Save as a new version").click()
    page.locator("#saved").wait_for()
    assert "version 2" in page.locator("#saved").inner_text()
    assert page.locator("#rule-version").inner_text() == "version 2"
    _shot(page, "rule-saved")
    saved = rl.catalog.rule("large_amount")
    assert (saved.version, saved.expression) == (2, "event.amount > 200000")

    analyst = browser.new_context().new_page()
    try:
        _sign_in(analyst, base, rl, "analyst", target="/rules/large_amount")
        assert analyst.get_by_role("button", name="Save as a new version").count() == 0
        analyst.get_by_label("CEL expression").fill("event.amount >")
        analyst.locator("#validation-errors").wait_for()  # may still check an expression
        _shot(analyst, "rule-analyst")
    finally:
        analyst.context.close()


def test_the_overview_charts_render_with_data(world: tuple[Riskloop, str], page: Any) -> None:
    rl, base = world
    _sign_in(page, base, rl, "analyst")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-per-minute'))"
        " && Chart.getChart(document.getElementById('chart-mix'))"
    )
    totals = page.evaluate(
        """() => ['chart-per-minute', 'chart-mix'].map(id => {
            const chart = Chart.getChart(document.getElementById(id));
            return chart.data.datasets.flatMap(d => d.data).reduce((a, b) => a + b, 0);
        })"""
    )
    assert totals[0] >= 9 and totals[0] == totals[1]  # every seeded decision, on both
    box = page.locator("#chart-per-minute").bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    drawn = page.evaluate(
        """() => {
            const c = document.getElementById('chart-per-minute');
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) ink++; }
            return ink;
        }"""
    )
    assert drawn > 1000  # bars, axes and labels were painted
    assert page.get_by_role("heading", name="Decisions per minute, last 60 minutes").is_visible()
    _shot(page, "overview")
