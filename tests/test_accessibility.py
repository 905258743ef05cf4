"""Accessibility (issue #13): axe-core finds nothing on the pages of a records office's day.

A letter's journey in Chromium, in Mongolian and in English, as the demo's roles: sign in, the
home page and the dashboard, the new letter form, a draft, signing with the e-Token, sending, the
verification page, the journal, tasks, search, handover, the directory; the recipient's inbox, the
delivery, its registration with an executor and a resolution; the audit trail. axe-core (from the
npm registry, `make assets`) is injected into every page and must report no violation of any
impact, and every field must have a `<label>` of its own (a placeholder or a tooltip is not one).
Also: the skip link is the first stop of the keyboard and moves it to the page's content, and
whatever has the keyboard's focus wears an outline that can be seen.
"""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from test_browser import demo_server, page, server, sign_in  # noqa: F401 (fixtures)

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The fields of a page that no <label> names (`HTMLInputElement.labels`): [their HTML].
UNLABELLED = """() => [...document.querySelectorAll(
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea")]
  .filter(field => !field.labels.length).map(field => field.outerHTML.slice(0, 160))"""


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make assets` takes axe-core from the npm registry")
    return AXE.read_text(encoding="utf-8")


class Audit:
    """What axe-core and the label check found on each page of a journey: {page: [fault]}."""

    def __init__(self, page, source):
        self.page, self.source, self.found = page, source, {}

    def __call__(self, name):
        self.page.wait_for_load_state()
        self.page.add_script_tag(content=self.source)
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        faults = [f"{v['id']} ({v['impact']}): {v['help']}: "
                  f"{[node['target'] for node in v['nodes']][:5]}" for v in result["violations"]]
        faults += [f"no <label>: {html}" for html in self.page.evaluate(UNLABELLED)]
        self.found[f"{name} {self.page.url}"] = faults


@pytest.mark.parametrize("lang", ["mn", "en"])
def test_every_page_of_the_journey_has_no_axe_violation(demo_server, page, axe_source, lang):
    base, unsigned = demo_server
    page.set_default_timeout(30000)  # signing and sending on a busy machine
    page.context.add_cookies([{"name": "_LOCALE_", "value": lang, "url": base}])
    check = Audit(page, axe_source)
    page.goto(base + "/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    check("sign in")
    sign_in(page, base, "records", "registry-demo")
    check("home")
    page.goto(base + "/orgs/2000000/")
    check("dashboard")
    page.goto(base + "/orgs/2000000/outbox/")
    check("outbox")
    page.click("#new-letter")
    check("new letter")
    page.fill("input[name=subject]", "Хаврын бүх нийтийн их цэвэрлэгээний тухай")
    page.fill("#recipient-q", "bayanzurh zasag")
    page.locator("#recipient-hits button").filter(has_text="3000149").click()
    check("recipient search")
    page.click("#draft-formsave")
    page.set_input_files("input[type=file]", str(unsigned))
    page.click("#pdf-formattach")
    check("draft")
    page.fill("#pin", "123456")
    page.click("#token-sign button")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "signed")
    check("signed letter")
    page.click("#transitions button[value=send]")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "sent")
    check("sent letter")
    page.goto(page.locator("#verification-url").get_attribute("href"))
    check("verification")
    for name, path in (("journal", "/orgs/2000000/@@journal"), ("tasks", "/orgs/2000000/@@tasks"),
                       ("control", "/orgs/2000000/@@control"),
                       ("search", "/@search?q=%D1%82%D3%A9%D1%81%D0%B2%D0%B8%D0%B9%D0%B3"),
                       ("directory", "/orgs/?q=1000"), ("organisation", "/orgs/3000149/"),
                       ("handover", "/orgs/2000000/handovers/")):
        page.goto(base + path)
        check(name)
    page.click("#selection-form button")
    check("handover preview")
    page.click("form[action$='@@logout'] button")

    sign_in(page, base, "bzd", "registry-demo")
    page.goto(base + "/orgs/3000149/inbox/")
    check("inbox")
    page.locator("#deliveries a").filter(has_text="Хаврын бүх нийтийн").click()
    check("delivery")
    page.fill("#resolution", "Хэлтэс бэлтгэж хариу өгөх.")
    page.click("#transitions button[value=register]")
    expect(page.locator("#delivery-state")).to_have_attribute("data-state", "registered")
    check("registered delivery (assign, resolution)")
    page.click("form[action$='@@logout'] button")

    sign_in(page, base, "auditor", "registry-demo")
    page.goto(base + "/audit/")
    check("audit")
    assert {name: faults for name, faults in check.found.items() if faults} == {}
    assert len(check.found) == 22


def test_tab_from_the_top_reaches_the_skip_link_first_and_it_moves_focus_to_main(page, server):
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/outbox/")
    skip = page.locator("#skip-link")
    expect(skip).not_to_be_in_viewport()  # out of sight until the keyboard comes to it
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    expect(skip).to_have_text("Үндсэн агуулга руу алгасах")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is in the content, not the menu again
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def contrast(first, second):
    """WCAG's contrast ratio of two colours given as `rgb(r, g, b)`."""
    def luminance(css):
        channels = [int(c) / 255 for c in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


OUTLINE = """element => { const style = getComputedStyle(element);
  return [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor]; }"""


def focus_outline(page, selector):
    """Focus `selector` by the keyboard (as `:focus-visible` wants) and return its outline:
    (style, width in px, colour)."""
    element = page.locator(selector).first
    element.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(element).to_be_focused()
    return tuple(element.evaluate(OUTLINE))


WHITE, HEADER, MENU = "rgb(255, 255, 255)", "rgb(11, 61, 110)", "rgb(8, 45, 82)"


def test_focus_is_visible_on_links_buttons_and_fields_in_the_page_and_the_header(page, server):
    page.goto(server + "/")
    seen = {"#join-link": (focus_outline(page, "#join-link"), WHITE)}
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/outbox/")
    for selector, background in (("#new-letter", WHITE), (".registry-nav a", MENU),
                                 ("#account-link", HEADER), ("header button", HEADER)):
        seen[selector] = focus_outline(page, selector), background
    page.goto(server + "/orgs/1000001/outbox/@@new")
    for selector in ("input[name=subject]", "#draft-formsave"):
        seen[selector] = focus_outline(page, selector), WHITE
    for selector, ((style, width, color), background) in seen.items():
        assert (style, width) == ("solid", 3), selector
        assert contrast(color, background) >= 3, (selector, color)


def test_at_390_px_the_lists_are_cards_and_nothing_overflows(demo_server, page):
    """A phone's width: the inbox and the outbox (every tab) fit, each row a card whose cells
    are captioned by their column."""
    base, _unsigned = demo_server
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, base, "bzd", "registry-demo")
    for path, table in (("/orgs/3000149/inbox/?state=all", "#deliveries"),
                        ("/orgs/3000149/outbox/?state=all", "#letters")):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        cell = page.locator(f"{table} tbody tr").first.locator("td[data-label]").first
        caption = cell.get_attribute("data-label")
        assert caption and page.evaluate(
            "cell => getComputedStyle(cell, '::before').content", cell.element_handle()) == \
            f'"{caption}"'
