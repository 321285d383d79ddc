"""nexus-ui in headless Chromium against a real stack, as an operator uses it.

One stack (``ui_stack``), one browser and one signed-in page are shared by the module;
the tests run in file order (sign-out last). Each view leaves a screenshot in
``test-results/ui-screenshots/``. Skips, saying why, when ``make browser`` could not
install Chromium or playwright-core. Waits poll for what the page shows, with no time
limit of their own (pytest's timeout is the only clock).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import Stack
from tests.ui.browser_support import SCREENSHOTS, Browser, browser_unavailable
from tests.ui.conftest import put_telemetry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OPERATOR = "ui-browser"
#: the internal event's place: open ocean, far from the producers' devices (US west coast)
INTERNAL_AT = (-40.0, -140.0)
INTERNAL_DEVICE = f"dev-ui-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    running = Browser()
    yield running
    running.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, ui_url: str) -> Browser:
    """The operator signs in with the form (a real token from the HTTP API's POST /auth)."""
    browser.goto(ui_url)
    browser.wait("#signin-form")
    browser.screenshot(SCREENSHOTS / "signin.png")
    browser.fill("input[name=user]", OPERATOR)
    browser.fill("input[name=ttl]", 15)
    browser.click("#signin-form button[type=submit]")
    browser.wait("#view-map")
    print(f"\nscreenshots in {SCREENSHOTS}")
    return browser


@pytest.fixture(scope="module")
def producer(ui_stack: Stack) -> Iterator[str]:
    """``nexuskit produce`` on the client channel (bearer token) at 10 records/s until the module ends."""
    run_id = f"ui-e2e-{uuid.uuid4().hex[:8]}"
    args = ["--channel", "client", "--stream", "client-intake", "--rate", "10/s", "--duration", "15m"]
    args += ["--run-id", run_id, "--user", "ui-producer", "--progress", "jsonl", *ui_stack.args]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nexuskit.cli", "produce", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first progress line: the run is sending
    if not first:
        _, stderr = proc.communicate()
        pytest.fail(f"the producer did not start: {stderr[-2000:]}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain: never block the producer
    yield run_id
    proc.terminate()  # SIGTERM stops a run like Ctrl-C
    proc.wait(60)


@pytest.fixture(scope="module")
def curated(ui_stack: Stack) -> dict[str, Any]:
    """The operator curates a high-confidence insight with ``nexuskit workflow run curate-insight``
    (curation is the operator's: the UI's account may not curate)."""
    insight_id = f"ui-browser-{uuid.uuid4().hex[:8]}"
    insight = {
        "insight_id": insight_id,
        "confidence": 0.97,
        "summary": "Pressure drop seen from the operator page",
        "severity": "warning",
        "device_id": INTERNAL_DEVICE,
        "lat": INTERNAL_AT[0],
        "lon": INTERNAL_AT[1],
        "ts": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data = json.dumps({"insight": insight, "min_confidence": 0.5})
    result = ui_stack.cli("workflow", "run", "curate-insight", "--input", data, "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded" and run["result"]["promoted"] is True, run
    return {"insight_id": insight_id, "run": run}


@pytest.fixture(scope="module")
def launched(signed_in: Browser) -> dict[str, Any]:
    """The operator launches lake-inventory from the Workflows view and follows it."""
    browser = signed_in
    browser.click("nav button[data-view=workflows]")
    browser.wait("#workflow-select option[value=lake-inventory]", state="attached")
    browser.select("#workflow-select", "lake-inventory")
    browser.fill("#launch-form textarea[name=input]", json.dumps({"tiers": ["gold", "vibranium"]}))
    browser.click("#launch-form button[type=submit]")
    browser.wait("#run pre")
    browser.screenshot(SCREENSHOTS / "workflows.png")
    return {
        "heading": browser.text("#run h3"),
        "steps": browser.texts("#run .step"),
        "result": json.loads(browser.text("#run pre")),
        "error": browser.text("#launch-error"),
    }


def test_signed_in_operator_sees_name_expiry_and_views(signed_in: Browser) -> None:
    """After sign-in the header shows the operator and the token's expiry; the token is in no storage."""
    browser = signed_in
    assert browser.text("#who") == OPERATOR
    expires = datetime.fromisoformat(str(browser.eval("() => document.querySelector('#expiry').dateTime")))
    minutes = (expires - datetime.now(UTC)).total_seconds() / 60
    assert 10 < minutes <= 15.5, minutes
    assert browser.text("#expiry")
    assert browser.texts("#nav button") == ["Telemetry map", "Mappings", "Workflows", "Lake", "Health"]
    stored = browser.eval("() => localStorage.length + sessionStorage.length + document.cookie.length")
    assert stored == 0
    assert browser.errors() == []


def _pixel(browser: Browser, lat: float, lon: float) -> list[int]:
    return list(
        browser.eval(
            """([lat, lon]) => {
                const c = document.querySelector('#map');
                const x = Math.round(((lon + 180) / 360) * c.width);
                const y = Math.round(((90 - lat) / 180) * c.height);
                return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
            }""",
            [lat, lon],
        )
    )


def test_map_shows_live_points_from_both_streams_and_gold(
    signed_in: Browser, producer: str, ui_stack: Stack
) -> None:
    """While a client producer runs and an event goes to the internal stream, the map shows
    client-stream points of that producer run, the internal event in its own colour, and
    the gold insight agent-core made of it."""
    browser = signed_in
    browser.click("nav button[data-view=map]")
    browser.wait_for("() => document.querySelector('#state-client').textContent.includes('reading')")
    put_telemetry(ui_stack, INTERNAL_DEVICE, *INTERNAL_AT)
    browser.wait_for(
        """([run, device]) => {
            const rows = [...document.querySelectorAll('#latest tbody tr')].map((r) => r.textContent);
            return rows.some((r) => r.includes('client stream') && r.includes(run))
                && rows.some((r) => r.includes('internal stream') && r.includes(device))
                && rows.some((r) => r.includes('gold insight') && r.includes(device));
        }""",
        [producer, INTERNAL_DEVICE],
    )
    counts = {s: int(browser.text(f"#count-{s}")) for s in ("client", "internal", "gold")}
    assert all(n > 0 for n in counts.values()), counts
    internal_colour = [0xDB, 0x61, 0xA2]
    assert _pixel(browser, *INTERNAL_AT) == internal_colour
    browser.screenshot(SCREENSHOTS / "map.png")
    assert browser.errors() == []


def test_mappings_view_shows_what_feeds_what(signed_in: Browser, producer: str, ui_stack: Stack) -> None:
    """The producer run feeds the client stream, each stream its Firehose delivery and bronze,
    the internal stream agent-core's consumer, each with its state."""
    browser = signed_in
    spec = ui_stack.spec
    browser.click("nav button[data-view=mappings]")
    row = "#mappings tr[data-source='{}'][data-destination='{}']"
    expected = [
        (producer, spec.client_stream),
        (spec.client_stream, spec.client_firehose),
        (spec.client_firehose, "bronze"),
        (spec.primary_stream, spec.primary_firehose),
        (spec.primary_firehose, "bronze"),
        (spec.primary_stream, "agent-core stream consumer"),
        (spec.client_telemetry_video_stream, spec.client_telemetry_video_stream),
    ]
    for source, destination in expected:
        browser.wait(row.format(source, destination))
    cells = {
        (source, destination): browser.texts(row.format(source, destination) + " td")
        for source, destination in expected
    }
    producer_row = cells[(producer, spec.client_stream)]
    assert producer_row[1] == "sending" and producer_row[4] == "ACTIVE", producer_row
    assert cells[(spec.client_firehose, "bronze")][1] == "ACTIVE"
    assert f"{spec.params.client_firehose_prefix}" in cells[(spec.client_firehose, "bronze")][5]
    assert cells[(spec.primary_stream, "agent-core stream consumer")][4] == "running"
    browser.screenshot(SCREENSHOTS / "mappings.png")
    assert browser.errors() == []


def test_a_view_chosen_while_another_loads_still_loads(signed_in: Browser) -> None:
    """The operator picks Workflows while the Mappings answer is still on its way: the list
    loads once that answer is in (the page used to drop the request, and the Workflows list,
    loaded only when the view is chosen, stayed empty)."""
    browser = signed_in
    browser.eval(
        """() => {
          const real = window.fetch;
          window.__realFetch = real;
          window.fetch = (url, opts) => String(url).includes("/api/mappings")
            ? new Promise((done) => setTimeout(done, 1500)).then(() => real(url, opts))
            : real(url, opts);
        }"""
    )
    try:
        browser.click("nav button[data-view=mappings]")  # its answer is held back 1.5 s
        browser.click("nav button[data-view=workflows]")
        count, deadline = 0, time.monotonic() + 30
        while not count and time.monotonic() < deadline:
            time.sleep(0.2)
            count = int(browser.eval("() => document.querySelectorAll('#workflow-select option').length"))
        assert count >= 4, "the Workflows list never loaded"
    finally:
        browser.eval("() => { window.fetch = window.__realFetch; }")


def test_launched_workflow_shows_its_steps_and_result(launched: dict[str, Any]) -> None:
    """lake-inventory launched from the page is followed to succeeded, with its steps and result."""
    assert launched["error"] == ""
    assert "lake-inventory" in launched["heading"] and "succeeded" in launched["heading"], launched
    assert [s.split()[-1] for s in launched["steps"]] == ["inventory", "glue"], launched
    assert {t["tier"] for t in launched["result"]["tiers"]} == {"gold", "vibranium"}


def test_curation_from_the_page_is_refused_naming_the_role(
    signed_in: Browser, launched: dict[str, Any]
) -> None:
    """curate-insight is marked as the operator's in the list; launched anyway, the page shows
    agent-core's refusal (the curate role) and the user stays signed in."""
    browser = signed_in
    label = browser.text("#workflow-select option[value=curate-insight]")
    assert label == "curate-insight (curation: operator only)"
    browser.select("#workflow-select", "curate-insight")
    browser.fill("#launch-form textarea[name=input]", json.dumps({"insight": {"confidence": 1.0}}))
    browser.click("#launch-form button[type=submit]")
    browser.wait_for("() => document.querySelector('#launch-error').textContent.includes('curate')")
    assert "needs the 'curate' role" in browser.text("#launch-error")
    assert browser.visible("#nav")
    (refused,) = browser.errors()  # the browser logs the 403 itself; nothing else went wrong
    assert "403" in refused and refused.endswith("/api/workflows/runs"), refused


def test_lake_view_counts_tiers_and_lists_the_new_vibranium_insight(
    signed_in: Browser, curated: dict[str, Any]
) -> None:
    """The Lake view has the four tiers with counts, and the insight just curated in vibranium."""
    browser = signed_in
    browser.click("nav button[data-view=lake]")
    browser.wait(f"#vibranium li[data-key*='{curated['insight_id']}']")
    shown = browser.texts("#tiers tbody tr td:first-child")
    assert shown == ["bronze", "silver", "gold", "vibranium"]
    counts = browser.texts("#tiers tbody tr td:nth-child(3)")
    assert int(counts[3]) >= 1, counts
    item = browser.text(f"#vibranium li[data-key*='{curated['insight_id']}']")
    assert "confidence 0.97" in item and INTERNAL_DEVICE in item
    browser.screenshot(SCREENSHOTS / "lake.png")
    assert browser.errors() == []


def test_health_view_shows_every_service_ok(signed_in: Browser) -> None:
    """Every service of the stack is listed, each with an ok status."""
    browser = signed_in
    browser.click("nav button[data-view=health]")
    browser.wait("#health tbody tr")
    services = browser.texts("#health tbody tr td:first-child")
    assert {"nexus-ui", "agent-core", "aws-mcp", "auth (JWKS)"} <= set(services), services
    assert browser.texts("#health tbody .down") == []
    browser.screenshot(SCREENSHOTS / "health.png")


def test_injected_inline_script_is_blocked_by_the_csp(browser: Browser, ui_url: str) -> None:
    """An attacker's inline script put into the page does not run: the browser reports a CSP violation."""
    browser.call("open", page="attacker")
    browser.goto(ui_url, page="attacker")
    outcome = browser.eval(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', (e) =>
                resolve({ran: window.__pwned === 1, directive: e.violatedDirective}));
            const s = document.createElement('script');
            s.textContent = 'window.__pwned = 1';
            document.body.append(s);
        })""",
        page="attacker",
    )
    assert outcome == {"ran": False, "directive": "script-src-elem"}


def test_cross_site_form_cannot_launch_a_workflow(browser: Browser, ui_url: str) -> None:
    """A form on another site posting to the API (the operator's browser) is refused as cross-origin."""
    browser.call("open", page="attacker")
    form = (
        f'<form id="f" method="post" action="{ui_url}/api/workflows/runs" enctype="text/plain">'
        '<input name=\'{"workflow": "lake-inventory", "x": "\' value=\'"}\'></form>'
    )
    browser.call("set_content", html=form, page="attacker")
    browser.eval("() => document.getElementById('f').submit()", page="attacker")
    browser.wait_for(
        "() => document.body && document.body.innerText.includes('cross-origin')", page="attacker"
    )
    assert "cross-origin requests from" in browser.text("body", page="attacker")
    browser.call("close", page="attacker")


def test_sign_out_returns_to_the_sign_in_form(signed_in: Browser) -> None:
    """Sign out: the form is back, every view is hidden and the session's data is gone."""
    browser = signed_in
    browser.click("#signout")
    browser.wait("#signin")
    assert not browser.visible("#nav") and not browser.visible("#view-map")
    assert browser.visible("#signin-form")
