"""The custom-run form as an IT admin meets it: prefect.yaml deployed on a real server, the form opened in headless
Chromium (Playwright driving Debian's /usr/bin/chromium; no browser download). Screenshots go to reports/screenshots/
(git-ignored) for people to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_deployments import ROOT, PrefectServer, prefect_server

__all__ = ["prefect_server"]  # the module-scoped server fixture, shared with test_deployments' helpers

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "reports" / "screenshots"
#: What the form showed before: a type switch per optional field and its placeholder text.
BROKEN_FORM_TEXT = ("Property is type", "| None", "None")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, or a skip saying how to install it (``.ci/run`` installs it with apt)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield launched
        launched.close()


def schema_of(server: PrefectServer, deployment: str) -> dict[str, dict[str, Any]]:
    """The parameter properties the server holds for ``deployment`` (what the form is built from)."""
    with server.api() as api:
        found = api.get(f"/deployments/{server.deployments[deployment]}").raise_for_status().json()
    return dict(found["parameter_openapi_schema"]["properties"])


def open_form(browser: Any, server: PrefectServer, deployment: str) -> Any:
    """A page on the deployment's custom-run form, once its fields have rendered; screenshot saved."""
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(f"{server.url}/deployments/deployment/{server.deployments[deployment]}/run")
    page.get_by_text("HR files", exact=False).first.wait_for(timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{deployment}-custom-run.png"), full_page=True)
    return page


@pytest.mark.parametrize("deployment", ["manual-offboarding", "shard-offboarding"])
def test_custom_run_form_has_titles_and_no_type_switch(
    browser: Any, prefect_server: PrefectServer, deployment: str
) -> None:
    """Every field shows its human title, no snake_case identifier, no type switch and no None text; shard fields
    only where sharding is meant."""
    page = open_form(browser, prefect_server, deployment)
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    properties = schema_of(prefect_server, deployment)
    for name, prop in properties.items():
        assert prop["title"] in text, (name, prop["title"])
    identifiers = [name for name in properties if "_" in name]  # one-word names are ordinary words too ("sheets")
    assert not [name for name in identifiers if name in text], text
    assert not [broken for broken in BROKEN_FORM_TEXT if broken in text], text
    assert ("Number of shards" in text) == (deployment == "shard-offboarding")
    titles = [prop["title"] for prop in sorted(properties.values(), key=lambda prop: prop["position"])]
    shown = sorted(titles, key=text.index)
    assert shown == titles, "the form keeps the order of the schema: everyday fields first"
    page.close()


def test_a_run_submitted_with_empty_fields_sends_only_what_is_shown(
    browser: Any, prefect_server: PrefectServer
) -> None:
    """Submitting the manual form as it opens: the run gets the dry-run and large-run switches, nothing for the
    empty fields, so the worker's settings (its max_users...) hold."""
    page = open_form(browser, prefect_server, "manual-offboarding")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/deployments/deployment/**?tab=Runs", timeout=60_000)
    page.close()
    with prefect_server.api() as api:
        runs = (
            api.post(
                "/flow_runs/filter",
                json={"deployments": {"id": {"any_": [prefect_server.deployments["manual-offboarding"]]}}},
            )
            .raise_for_status()
            .json()
        )
        for run in runs:  # nothing left for another test's worker to pick up
            api.delete(f"/flow_runs/{run['id']}").raise_for_status()
    assert [run["parameters"] for run in runs] == [{"dry_run": True, "allow_large_run": False}]
