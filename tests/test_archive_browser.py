"""The handover journey in Chromium: preview, produce, the page follows the progress until the
package is made, the letter shows as handed over."""
import pytest
from playwright.sync_api import expect

import pdfs
from archive_letters import SENDER, exchanged, gate_for
from test_browser import ARTIFACTS, page, server, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def first_of_twelve(in_site, pki, trust_dir):
    """Twelve letters of 2025, made before the browser starts (signing runs its own event
    loop); returns the first one's id."""
    gate = gate_for(trust_dir)
    with in_site() as site:
        letters = exchanged(site, gate, pdfs.signed_letter(pki, SENDER), 2025, count=12)
        return letters[0].__name__


def test_records_manager_hands_a_year_over_in_the_browser(first_of_twelve, page,  # noqa: F811
                                                          server):  # noqa: F811
    first = first_of_twelve
    sign_in(page, server, "rm_a")
    page.goto(server + f"/orgs/{SENDER}/handovers/")
    page.fill("#year", "2025")
    page.click("#selection-form button")
    expect(page.locator("#count-total")).to_have_attribute("data-count", "12")
    page.fill("input[name=fond_reference]", "Ф-12")
    page.click("button[name=export]")
    # The page polls the progress while the package is made, then shows the record.
    expect(page.locator("#handover-status")).to_have_attribute("data-status", "made",
                                                               timeout=60000)
    expect(page.locator("#handover-letters")).to_have_attribute("data-count", "12")
    assert len(page.locator("#handover-sha256").inner_text().strip()) == 64
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "handover.png"), full_page=True)
    page.goto(server + f"/orgs/{SENDER}/outbox/{first}/")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "handed_over")
    assert page.locator("#handed-over").is_visible()
    assert page.locator("#transitions button").count() == 0
