"""Journeys in Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from webtest.http import StopableWSGIServer

from conftest import PASSWORD, stop_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(wsgi_app):
    server = StopableWSGIServer.create(wsgi_app)
    server.wait()
    yield server.application_url.rstrip("/")
    server.shutdown()


#: `window.confirm` in every page of the tests: records the question in the tab's
#: sessionStorage (it outlives the page) and answers yes, unless told to refuse. Chromium's own
#: dialogs, answered over the DevTools protocol, are now and then gone before Playwright
#: accepts them ("No dialog is showing"), and the form then is never sent.
CONFIRM = """window.confirm = function (question) {
  var asked = JSON.parse(sessionStorage.getItem("asked") || "[]");
  asked.push(String(question));
  sessionStorage.setItem("asked", JSON.stringify(asked));
  return sessionStorage.getItem("refuse") !== "yes";
};"""


class Dialogs:
    """The questions a page asked (`window.confirm`, see CONFIRM): each is accepted, unless
    `refuse`."""

    def __init__(self, page):
        self.page = page

    @property
    def asked(self):
        return self.page.evaluate('JSON.parse(sessionStorage.getItem("asked") || "[]")')

    @property
    def refuse(self):
        return self.page.evaluate('sessionStorage.getItem("refuse") === "yes"')

    @refuse.setter
    def refuse(self, value):
        self.page.evaluate('value => sessionStorage.setItem("refuse", value ? "yes" : "no")',
                           value)


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
        page.add_init_script(CONFIRM)
        page.dialogs = Dialogs(page)
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


@pytest.fixture
def signed_file(pki, tmp_path):
    """Made before the browser starts (pyHanko and Playwright each want the event loop)."""
    import pdfs

    path = tmp_path / "захидал.pdf"
    path.write_bytes(pdfs.signed_letter(pki, "1000001"))
    return path


def test_a_letter_goes_from_draft_to_registered_in_the_browser(signed_file, page, server):
    signed = signed_file
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/outbox/")
    page.click("#new-letter")
    page.fill("input[name=subject]", "Хамтын ажиллагааны тухай")
    page.fill("#recipient-q", "баянзүрх засаг")
    hit = page.locator("#recipient-hits button").filter(has_text="1000002")
    hit.click()
    expect(page.locator("textarea[name=recipients]")).to_have_value("1000002")
    page.click("#draft-formsave")
    page.set_input_files("input[type=file]", str(signed))
    page.click("#pdf-formattach")
    expect(page.locator("#pdf a").first).to_have_text("захидал.pdf")
    page.click("#transitions button[value=sign]")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "signed")
    page.click("#transitions button[value=send]")
    expect(page.locator("#outgoing-number")).to_have_text("№ 01/1")
    page.screenshot(path=str(ARTIFACTS / "letter-sent.png"), full_page=True)
    page.click("form[action$='@@logout'] button")

    sign_in(page, server, "rm_b")
    page.goto(server + "/orgs/1000002/inbox/")
    page.locator("#deliveries a").filter(has_text="Хамтын ажиллагааны тухай").click()
    page.select_option("#executor", "rm_b")
    page.click("#transitions button[value=register]")
    expect(page.locator("#incoming-number")).to_have_text("№ 01/1")
    expect(page.locator("#signature .badge.text-bg-success")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "delivery-registered.png"), full_page=True)


@pytest.fixture
def demo_server(tmp_path):
    """The demo as `registry demo` makes it (directory, accounts, CA, SoftHSM e-Tokens,
    letters), served to the browser."""
    from click.testing import CliRunner

    from registry import main
    from registry.cli import main as cli
    from registry.demo import render_letter

    data_dir = tmp_path / "var"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "demo"],
                                catch_exceptions=False)
    assert result.exit_code == 0 and "PIN 123456" in result.output, result.output
    unsigned = tmp_path / "ноорог.pdf"
    unsigned.write_bytes(render_letter("Нийслэлийн Засаг даргын Тамгын газар",
                                       "Баянзүрх дүүргийн Засаг даргын Тамгын газар",
                                       "Хаврын бүх нийтийн их цэвэрлэгээний тухай",
                                       "Их цэвэрлэгээг 4 дүгээр сарын 20-нд зохион байгуулна.",
                                       "Бат-Эрдэнэ Оюунчимэг"))
    app = main({}, **{"registry.data_dir": str(data_dir),
                      "registry.session_secret": "demo-journey-test-secret"})
    server = StopableWSGIServer.create(app)
    server.wait()
    yield server.application_url.rstrip("/"), unsigned
    server.shutdown()
    stop_app(app)  # its background threads first: they must not tick against a closed store


def test_the_demo_journey_draft_sign_with_the_e_token_send_register(demo_server, page):
    base, unsigned = demo_server
    sign_in(page, base, "records", "registry-demo")
    page.goto(base + "/orgs/2000000/outbox/")
    page.click("#new-letter")
    page.fill("input[name=subject]", "Хаврын бүх нийтийн их цэвэрлэгээний тухай")
    page.fill("#recipient-q", "bayanzurh zasag")
    page.locator("#recipient-hits button").filter(has_text="3000149").click()
    page.click("#draft-formsave")
    page.set_input_files("input[type=file]", str(unsigned))
    page.click("#pdf-formattach")
    page.fill("#pin", "123456")
    page.click("#token-sign button")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "signed")
    expect(page.locator("#checks li[data-ok=yes]")).to_have_count(8)
    page.click("#transitions button[value=send]")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "sent")
    page.screenshot(path=str(ARTIFACTS / "demo-sent.png"), full_page=True)
    page.click("form[action$='@@logout'] button")

    sign_in(page, base, "bzd", "registry-demo")
    page.goto(base + "/orgs/3000149/inbox/")
    page.locator("#deliveries a").filter(has_text="Хаврын бүх нийтийн").click()
    page.click("#transitions button[value=register]")
    expect(page.locator("#delivery-state")).to_have_attribute("data-state", "registered")
    expect(page.locator("#incoming-number")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "demo-registered.png"), full_page=True)


def test_search_from_the_ui_finds_a_letter_by_an_inflected_word_and_opens_it(demo_server, page):
    """The demo's letters are indexed by the server's own writer thread (not inline): the
    search finds the budget letter by another form of its words, and opens it."""
    base, _unsigned = demo_server
    sign_in(page, base, "bzd", "registry-demo")
    page.get_by_role("link", name="Хайх", exact=True).click()
    hits = page.locator("#search-results .search-hit")
    for _attempt in range(50):  # the writer applies the demo's queue right after start-up
        page.fill("#search-q", "төсвийг")
        page.click("#search-form button[type=submit]")
        if hits.count():
            break
        page.wait_for_timeout(200)
    expect(hits).to_have_count(1)
    expect(page.locator("#search-total")).to_contain_text("1")
    expect(hits.first.locator("mark").first).to_be_visible()
    expect(page.locator("#facet-counterpart")).to_contain_text("Нийслэлийн")
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)
    hits.first.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("2027 оны төсвийн төслийн тухай")
    assert "/orgs/3000149/inbox/" in page.url


@pytest.fixture
def desk_files(pki, tmp_path):
    """The letter to answer (signed by 1000001) and the answer (signed by 1000002)."""
    import pdfs

    made = {}
    for name, regno, text in (("letter", "1000001", "Төсвийн санал ирүүлэх тухай"),
                              ("answer", "1000002", "Төсвийн саналыг хүргүүлэх тухай")):
        made[name] = tmp_path / f"{name}.pdf"
        made[name].write_bytes(pdfs.sign(pdfs.letter_pdf(text), pki.org(regno)))
    return made


def test_the_desk_journey_resolution_my_tasks_reply_and_the_senders_thread(
        desk_files, page, server, testapp, api, in_site):
    from conftest import send_letter

    with in_site() as site:
        executor = site.users.create("exec_b", site.orgs["1000002"], ["executor"], PASSWORD)
        executor.fullname = "Дорж Батбаяр"
    letter = send_letter(testapp, api("rm_a"), desk_files["letter"].read_bytes(),
                         subject="Төсвийн санал ирүүлэх тухай")

    # The records manager registers it with a resolution and an executor.
    sign_in(page, server, "rm_b")
    page.goto(server + "/orgs/1000002/inbox/")
    page.locator("#deliveries a").filter(has_text="Төсвийн санал ирүүлэх тухай").click()
    page.select_option("#executor", "exec_b")
    page.fill("#resolution", "Санхүүгийн хэлтэс саналаа бэлтгэж хариу өгөх.")
    page.click("#transitions button[value=register]")
    expect(page.locator("#task-resolution")).to_have_text(
        "Санхүүгийн хэлтэс саналаа бэлтгэж хариу өгөх.")
    delivery_url = page.url
    page.click("form[action$='@@logout'] button")

    # The executor finds it in "My tasks" and drafts the reply from the letter.
    sign_in(page, server, "exec_b")
    page.goto(server + "/orgs/1000002/@@tasks")
    page.locator("#tasks a").filter(has_text="Төсвийн санал ирүүлэх тухай").click()
    page.click("#reply")
    expect(page.locator("#original")).to_contain_text("Төсвийн санал ирүүлэх тухай")
    expect(page.locator("textarea[name=recipients]")).to_have_value("1000001")
    expect(page.locator("input[name=subject]")).to_have_value(
        "Хариу: Төсвийн санал ирүүлэх тухай")
    page.click("#draft-formsave")
    page.set_input_files("input[type=file]", str(desk_files["answer"]))
    page.click("#pdf-formattach")
    answer_url = page.url
    page.click("form[action$='@@logout'] button")

    # The records manager signs and sends it: the task is done, answered by it.
    sign_in(page, server, "rm_b")
    page.goto(answer_url)
    page.click("#transitions button[value=sign]")
    page.click("#transitions button[value=send]")
    expect(page.locator("#outgoing-number")).to_have_text("№ 01/1")
    page.goto(delivery_url)
    expect(page.locator("#task-state")).to_have_attribute("data-state", "done")
    page.click("form[action$='@@logout'] button")

    # The original sender sees the answer in the thread of its letter.
    sign_in(page, server, "rm_a")
    page.goto(server + letter)
    answer = page.locator("#thread li").filter(has_text="Хариу: Төсвийн санал ирүүлэх тухай")
    expect(answer).to_contain_text("№ 01/1")
    expect(answer.locator("a")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "desk-thread.png"), full_page=True)


def test_sending_asks_first_and_a_refused_form_opens_on_its_message(
        signed_file, page, server, testapp, api):
    """Irreversible: "Send" asks, and nothing is sent when the answer is no. A refused form
    far down the page (the draft's details, at a phone's 390 × 640) opens scrolled to its
    message."""
    headers = api("rm_a")
    letter = testapp.post_json("/orgs/1000001/outbox", {
        "subject": "Хамтын ажиллагааны тухай", "recipients": ["1000002"]}, headers=headers,
        status=201).json["@id"].replace("http://registry.test", "")
    testapp.put(letter + "@file", signed_file.read_bytes(),
                headers={**headers, "Content-Type": "application/pdf"})
    sign_in(page, server, "rm_a")
    page.goto(server + letter)
    page.set_viewport_size({"width": 390, "height": 640})
    page.fill("textarea[name=recipients]", "1000002 12")  # not a registration number
    page.click("#draft-formsave")
    expect(page.locator("#draft-form .alert-danger").first).to_be_in_viewport()

    page.click("#transitions button[value=sign]")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "signed")
    page.dialogs.refuse = True
    page.click("#transitions button[value=send]")
    assert page.dialogs.asked == [
        "Энэ албан бичгийг илгээх үү? Илгээсэн бичгийг буцааж болохгүй."]
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "signed")
    page.dialogs.refuse = False
    page.click("#transitions button[value=send]")
    expect(page.locator("#letter-state")).to_have_attribute("data-state", "sent")
    assert len(page.dialogs.asked) == 2
