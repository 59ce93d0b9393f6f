"""The console in a real browser (Debian Chromium through Playwright), against the real service with the demo data."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import REPO
from tests.web.conftest import PASSWORD, Service

pytestmark = pytest.mark.slow
SHOTS = REPO / "docs" / "screenshots"


def _sign_in(browser: Any, service: Service, user: str, lang: str = "en") -> Any:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    ctx.add_cookies([{"name": "soc_lang", "value": lang, "url": service.url}])
    page = ctx.new_page()
    page.goto(service.url + "/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_wrong_password_is_refused(browser: Any, service: Service) -> None:
    page = browser.new_page()
    page.goto(service.url + "/login")
    page.fill("#username", "ana")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "wrong user name or password" in page.inner_text(".error")
    page.close()


def test_analyst_triages_an_alert(browser: Any, service: Service) -> None:
    page = _sign_in(browser, service, "ana")
    assert page.url.endswith("/triage")
    page.wait_for_selector("#queue tbody tr")
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 5
    _shot(page, "triage")
    # Keyboard: move down and open the alert under the cursor.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/alerts/"))
    page.wait_for_selector("#why table, #why dl")
    assert page.inner_text("#why").strip() and page.inner_text("#asset")
    _shot(page, "alert")
    page.fill("#verdict-reason", "confirmed by the on-site team")
    page.click("#tp")
    page.wait_for_timeout(1200)
    assert "true_positive" in page.inner_text("#verdict-now")
    # Bulk: select the first row and assign to me.
    page.goto(service.url + "/triage")
    page.wait_for_selector("#queue tbody tr")
    page.locator("#queue tbody tr").first.locator("input[type=checkbox]").check()
    page.click("#bulk-assign")
    page.wait_for_timeout(1500)
    assert "ana" in page.locator("#queue tbody tr").first.inner_text() or "ana" in page.inner_text("#queue")
    # Filters: only high alerts once the severity filter says so.
    page.select_option("#filters select[name=severity]", "high")
    page.click("#filters button[type=submit]")
    page.wait_for_timeout(1500)
    sevs = page.locator("#queue tbody tr .sev").all_inner_texts()
    assert sevs and {s.lower() for s in sevs} == {"high"}
    page.context.close()


def test_queue_updates_live_and_log_fields_stay_text(browser: Any, service: Service) -> None:
    """A new alert appears without reloading; HTML/JS in its log fields shows as text and never runs."""
    page = _sign_in(browser, service, "ana")
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    page.wait_for_selector("#queue tbody tr")
    payload = "<img/src=x/onerror=alert(1)>"
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    stamp = f"{now:%b} {now.day:>2} {now:%H:%M:%S}"
    service.send_syslog(f"{stamp} stc-db01 useradd[999]: new user: name={payload}, UID=1001, GID=1001, "
                        "home=/home/x, shell=/bin/bash, from=/dev/pts/0",
                        f"{stamp} stc-db01 useradd[998]: new user: name=<script>alert(2)</script>, UID=1002, "
                        "GID=1002, home=/home/y, shell=/bin/bash, from=/dev/pts/0")
    row = page.locator("#queue tbody tr", has_text=payload)
    row.first.wait_for(timeout=30000)  # the queue polls every few seconds
    assert "new" in (row.first.get_attribute("class") or "")
    assert page.locator("#queue img").count() == 0 and page.locator("#queue script").count() == 0
    row.first.locator("a").first.click()
    page.wait_for_selector("#why table")
    assert payload in page.inner_text("#raw") and payload in page.inner_text("#why")
    page.goto(service.url + "/search")
    page.fill("#q", 'user.name:"<script>alert(2)</script>"')
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results tbody tr")
    assert "<script>alert(2)</script>" in page.inner_text("#results")
    page.wait_for_timeout(500)
    assert fired == []
    assert page.locator("main img, main script").count() == 0
    page.context.close()


def test_incident_page_tells_the_story(browser: Any, service: Service) -> None:
    page = _sign_in(browser, service, "ana")
    page.goto(service.url + "/incidents")
    page.wait_for_selector("#incidents tbody tr a")
    page.locator("#incidents tbody tr a").first.click()
    page.wait_for_selector("#evidence table tr")
    for section in ("#layers", "#deadlines", "#steps", "#timeline", "#evidence"):
        assert page.inner_text(section).strip(), section
    _shot(page, "incident")
    # Playbook check-off survives a reload.
    first = page.locator("#steps input[type=checkbox]").first
    step = first.get_attribute("data-step")
    first.check()
    page.wait_for_timeout(1500)
    page.reload()
    page.wait_for_selector(f"#steps input[data-step='{step}']")
    assert page.locator(f"#steps input[data-step='{step}']").is_checked()
    # Forms preview.
    href = page.locator("#forms a", has_text="form03.html").get_attribute("href")
    r = page.request.get(service.url + str(href))
    assert r.status == 200 and "text/html" in r.headers["content-type"]
    page.fill("#comment-form textarea", "Blocked the attacker IP at the FortiGate.")
    page.click("#comment-form button")
    page.wait_for_timeout(1000)
    assert "Blocked the attacker IP" in page.inner_text("#comments")
    page.context.close()


def test_agency_officer_acknowledges_and_is_confined(browser: Any, service: Service) -> None:
    h = {"Authorization": f"Bearer {service.tokens['ana']}"}
    incidents = httpx.get(f"{service.url}/api/v1/incidents?page_size=200", headers=h).json()["items"]
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for i in incidents:
        by_agency.setdefault(i["agency_id"], []).append(i)
    agencies = [a for a in by_agency if a]
    assert len(agencies) >= 2, by_agency.keys()
    mine, other = agencies[0], agencies[1]
    page = _sign_in(browser, service, f"officer-{mine}", lang="vi")
    assert page.url.endswith("/portal")
    page.wait_for_selector("#portal-incidents tbody tr")
    text = page.inner_text("#portal-incidents")
    assert all(i["ref"] in text for i in by_agency[mine][:5])
    assert not any(i["ref"] in text for i in by_agency[other])
    _shot(page, "portal-vi")
    buttons = page.locator("button.ack")
    assert buttons.count() >= 1  # the demo's notices are not acknowledged yet
    ref = buttons.first.locator("xpath=ancestor::tr").locator("td").first.inner_text().strip()
    buttons.first.click()
    page.wait_for_timeout(1500)
    assert "✓" in page.inner_text("#portal-incidents")
    acked = [i for i in httpx.get(f"{service.url}/api/v1/incidents?page_size=200", headers=h).json()["items"]
             if i["ref"] == ref]
    assert acked and acked[0]["acknowledged_at"]
    # Notices and the periodic report are there too.
    page.wait_for_selector("#portal-notices tbody tr")
    r = page.request.get(service.url + str(page.locator("#report-html").get_attribute("href")))
    assert r.status == 200
    # Another agency's incident by URL: the page renders no data, the API says 404.
    foreign = by_agency[other][0]["id"]
    page.goto(f"{service.url}/incidents/{foreign}")
    page.wait_for_selector("#head .error")
    assert "not found" in page.inner_text("#head .error")
    r = page.request.get(f"{service.url}/api/v1/incidents/{foreign}")
    assert r.status == 404
    r = page.request.get(f"{service.url}/api/v1/alerts?agency={other}")
    assert all(a["agency_id"] == mine for a in r.json()["items"])
    # SOC pages are closed to officers.
    page.goto(service.url + "/triage")
    assert page.locator("main").inner_text().strip() != "" and page.locator("#queue").count() == 0
    tok = service.tokens[f"officer-{mine}"]
    r2 = httpx.get(f"{service.url}/api/v1/incidents/{foreign}", headers={"Authorization": f"Bearer {tok}"})
    assert r2.status_code == 404
    page.context.close()


def test_rule_author_writes_and_tests_a_rule(browser: Any, service: Service) -> None:
    page = _sign_in(browser, service, "author")
    assert page.url.endswith("/rules")
    page.wait_for_selector("#rules tbody tr")
    rule = """title: Test rule from the browser
id: 7f0d5b1e-3b7a-4d0e-9a51-2f4c8d6e9b10
status: experimental
logsource:
  product: linux
  service: sshd
detection:
  selection:
    message|contains: 'Failed password'
  condition: selection
level: medium
"""
    page.fill("#yaml", "title: broken\ndetection:\n  condition: nothing\n")
    page.wait_for_timeout(1200)
    assert "✓" not in page.inner_text("#validation")
    page.fill("#yaml", rule)
    page.wait_for_timeout(1200)
    assert "✓" in page.inner_text("#validation")
    page.select_option("#sample-format", "auth")
    page.fill("#sample", "Dec  1 10:00:00 web01 sshd[123]: Failed password for root from 45.1.2.3 port 4242 ssh2\n"
                        "Dec  1 10:00:05 web01 sshd[124]: Accepted password for ops from 10.1.1.2 port 4243 ssh2\n")
    page.click("#test")
    page.wait_for_selector("#test-out p")
    assert page.inner_text("#test-out p").startswith("1 / 2")
    page.click("#save")
    page.wait_for_timeout(2000)
    assert "v2" in page.inner_text("#versions") or "v1" in page.inner_text("#versions")
    _shot(page, "rule-editor")
    page.context.close()


def test_dashboard_and_audit(browser: Any, service: Service) -> None:
    page = _sign_in(browser, service, "aud")
    page.goto(service.url + "/dashboard")
    page.wait_for_selector("#over-time svg rect")
    assert page.locator("#top-rules svg rect").count() >= 3
    page.wait_for_selector("#sources tbody tr")
    assert "test-tcp" in page.inner_text("#sources")
    _shot(page, "dashboard")
    page.goto(service.url + "/audit")
    page.wait_for_selector("#audit tbody tr")
    assert "✓" in page.inner_text("#chain")
    page.context.close()


def _store_alert(service: Service, kind: str, rule: dict[str, Any], match: dict[str, Any]) -> str:
    """Put an alert of ``kind`` in the running service's state database, as its detector would."""
    import uuid
    from datetime import UTC

    from sqlalchemy import insert

    from soc.storage.models import Alert
    from soc.storage.state import State

    now = datetime.now(UTC)
    ev = {"@timestamp": now.isoformat(), "event": {"dataset": "fortinet.firewall", "original": "orig line"},
          "source": {"ip": "10.20.10.5"}, "user": {"name": "lan.pt"}}
    aid = str(uuid.uuid4())
    state = State(f"sqlite:///{service.tmp / 'data' / 'state.db'}", run_migrations=False)
    with state.session() as s:
        s.execute(insert(Alert), [{"id": aid, "ts": now, "created_at": now, "kind": kind, "rule_id": rule["id"],
                                   "rule_name": rule["name"], "level": "high", "severity": "high",
                                   "agency_id": "stc-haiphong", "status": "open", "count": 1, "first_seen": now,
                                   "last_seen": now, "dedup_key": aid, "tactics": [],
                                   "data": {"rule": rule, "events": [ev], "match": match}}])
    state.dispose()
    return aid


def test_alert_page_explains_anomaly_indicator_and_correlation_alerts(browser: Any, service: Service) -> None:
    anomaly = _store_alert(service, "anomaly", {"id": "anomaly-entity", "name": "Unusual activity of an entity"}, {
        "family": "entity", "score": 0.91, "threshold": 0.6, "model": "2026-12-01", "peer_group": "stc-haiphong",
        "peers": 14, "history_windows": 24,
        "window": {"kind": "hour", "start": "2026-12-01T01:00:00Z", "end": "2026-12-01T02:00:00Z"},
        "top_features": [{"feature": "bytes_out", "value": 123456789, "usual": 1000.0, "compared_with": "self",
                          "deviation": 8.2, "text": "Bytes sent 117.7 MB vs a usual 1.0 kB for this user"}],
        "features": {"bytes_out": 123456789}, "explanation": "Bytes sent 117.7 MB vs a usual 1.0 kB for this user"})
    intel = _store_alert(service, "indicator", {"id": "intel:feed:1", "name": "Threat-intelligence match"}, {
        "indicator": {"kind": "ipv4", "value": "45.61.136.204", "feed": "misp-vn", "tlp": "amber", "id": "x",
                      "name": "C2 server", "confidence": 80, "valid_until": None},
        "field": "destination.ip", "observed": "45.61.136.204"})
    corr = _store_alert(service, "correlation", {"id": "corr-1", "name": "SSH brute force"}, {
        "type": "event_count", "group": {"source.ip": "45.9.9.9"}, "value": 12, "count": 12, "timespan": "5m",
        "rules": ["haiphong_ssh_failed_login"], "window": {"start": "2026-12-01T01:00:00Z",
                                                         "end": "2026-12-01T01:04:00Z"}, "condition": {"gte": 10}})
    page = _sign_in(browser, service, "ana")
    page.goto(f"{service.url}/alerts/{anomaly}")
    page.wait_for_selector("#why table")
    why = page.inner_text("#why")
    assert "Bytes sent 117.7 MB vs a usual 1.0 kB" in why and "bytes_out" in why and "0.91" in why
    _shot(page, "alert-anomaly")
    page.goto(f"{service.url}/alerts/{intel}")
    page.wait_for_selector("#why dl")
    why = page.inner_text("#why")
    assert "45.61.136.204" in why and "misp-vn" in why and "AMBER" in why and "destination.ip" in why
    page.goto(f"{service.url}/alerts/{corr}")
    page.wait_for_selector("#why dl")
    why = page.inner_text("#why")
    assert "event_count" in why and "45.9.9.9" in why and "haiphong_ssh_failed_login" in why
    page.context.close()
