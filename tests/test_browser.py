"""Journeys in Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from webtest.http import StopableWSGIServer

from conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(wsgi_app):
    server = StopableWSGIServer.create(wsgi_app)
    server.wait()
    yield server.application_url.rstrip("/")
    server.shutdown()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make install-test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10000)
        yield page
        browser.close()


def sign_in(page, base, login, password=PASSWORD):
    page.goto(base + "/")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[name=submit]")


def test_records_manager_signs_in_and_searches_the_directory_as_they_type(page, server):
    sign_in(page, server, "rm_a")
    assert page.locator("#account-link").inner_text() == "rm_a"
    page.get_by_role("link", name="Байгууллагын лавлах", exact=True).click()
    rows = page.locator("#directory-results tbody tr")
    assert rows.count() == 4
    page.fill("#q", "хөх")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Хөх тэнгэр трейд ХХК")
    assert "q=%D1%85%D3%A9%D1%85" in page.url  # the address keeps the query
    page.fill("#q", "bayanzurh 1")
    expect(rows.first).to_contain_text("1 дүгээр хорооны")
    expect(rows).to_have_count(1)
    page.locator("#directory-results a").first.click()
    assert page.locator("#org-regno").inner_text() == "1000004"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "organisation.png"), full_page=True)


def test_wrong_password_shows_a_message_and_english_is_available(page, server):
    sign_in(page, server, "rm_a", "wrong-password-x")
    assert page.locator("#login-message").is_visible()
    page.click("button[lang=en]")
    assert page.locator("h1").inner_text() == "Sign in"
    sign_in(page, server, "admin")
    page.goto(server + "/orgs/")
    assert page.locator("h1").inner_text() == "Directory of organisations"
    page.screenshot(path=str(ARTIFACTS / "directory-en.png"))
