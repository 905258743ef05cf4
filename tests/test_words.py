"""Pages speak words, not keys or codes (issue #13).

Every page reachable in the demo, as every demo account, in Mongolian and in English, is read as
a person reads it (its text and its tooltips): no message id of our catalogs, no internal code
(`NO_SIGNATURE`, `letter.draft`, `register_paper`, `guards=[...]`) and no UTC. A code may appear
only in small print, `<small class="code">`, and in the JSON. The same holds for the messages a
transition leaves, which no crawl of links meets.
"""
import collections
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import polib
import pytest
import tomllib
from webtest import TestApp

from registry import verification

from conftest import csrf_token, login, send_letter, stop_app

ROOT = Path(__file__).resolve().parent.parent
HOST = "registry.test"

pytestmark = [pytest.mark.slow]

#: Links a crawl does not follow: files, and what a GET would change.
NOT_PAGES = re.compile(r"@@(logout|download|set-language)|@file|/static/|/deform_static/"
                       r"|[?&]format=|\.(pdf|csv|xlsx|zip)$")
#: Pages of one shape beyond the first tell nothing new (the directory's thousand
#: organisations, a listing's next batches); of letters and deliveries, the first of every
#: listing that shows them is read (each tab shows another state).
ITEM = re.compile(r"/(inbox|outbox)/[^/]+/$")
SAME_SHAPE = 1
#: Abbreviations a page may write in capitals: they are words to the reader.
ABBREVIATIONS = {"PDF", "PIN", "CSV", "XLSX", "API", "JSON", "URL", "CRL", "SIP", "E-ARK", "OCR",
                 "ZIP", "SHA", "XML", "JPEG", "PNG", "TIFF", "B-B", "B-T", "B-LT", "LLC"}


def _message_ids():
    """Our catalog's message ids that are keys, not English (`transition-send`, `journal-nav`)."""
    catalog = polib.pofile(str(ROOT / "src/registry/locale/mn/LC_MESSAGES/registry.po"))
    return {entry.msgid for entry in catalog
            if re.fullmatch(r"[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+", entry.msgid)}


def _workflow_ids():
    """The ids of the workflows' states and transitions (`draft`, `register_paper`)."""
    ids = set()
    for path in (ROOT / "workflows").glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        ids |= set(data.get("states", {})) | set(data.get("transitions", {}))
    return ids


MESSAGE_IDS = re.compile(r"(?<![\w-])(?:%s)(?![\w-])" % "|".join(
    sorted(map(re.escape, _message_ids()), key=len, reverse=True)))
CODES = re.compile(
    r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"  # NO_SIGNATURE, ALREADY_REGISTERED
    r"|\b[a-z]+(?:_[a-z0-9]+)+\b"  # register_paper, signature_gate, records_manager
    r"|\b[a-z]+\.(?!pdf\b)[a-z_]+\b"  # letter.draft (an audit action), not a file's name
    r"|\b\w+=\S"  # guards=[...], CN=... (a record's details, a certificate's subject)
    r"|\bUTC\b")
URLS = re.compile(r"\bhttps?://\S+")
#: A letter's verification code (XXXX-XXXX-XXXX) is for the reader to type: shown, not a key.
VERIFICATION_CODES = re.compile(r"(?<![\w-])[%s]{4}-[%s]{4}-[%s]{4}(?![\w-])"
                                % ((verification.ALPHABET,) * 3))
CAPITALS = re.compile(r"(?<![\w-])[A-Z][A-Z-]{2,}(?![\w-])")  # NEW, DRAFT
#: On a Mongolian page, a workflow's id in Latin letters is a code, not a word.
LATIN_IDS = re.compile(r"(?<![\w-])(?:%s)(?![\w-])" % "|".join(sorted(_workflow_ids())))


def visible_text(html):
    """What a reader of the page sees: its text (not scripts, styles, the values of text
    fields or small print) and its tooltips and labels."""
    doc = lxml.html.fromstring(html)
    for hidden in doc.xpath("//script|//style|//textarea|//small[contains("
                            "concat(' ', normalize-space(@class), ' '), ' code ')]"):
        hidden.drop_tree()
    parts = list(doc.itertext())  # block by block: "a</p><p>B" is two words, not "aB"
    for element in doc.xpath("//*[@title or @placeholder or @aria-label or @alt]"):
        parts += [element.get(name) or "" for name in ("title", "placeholder", "aria-label",
                                                       "alt")]
    parts += [element.get("value") or "" for element in
              doc.xpath("//input[@type='submit' or @type='button']")]
    return "\n".join(parts)


def faults(text, lang):
    """The message ids and codes shown as text: [str]."""
    text = URLS.sub(" ", text)  # an address is what it is, not a code
    text = VERIFICATION_CODES.sub(" ", text)
    found = MESSAGE_IDS.findall(text) + CODES.findall(text)
    found += [word for word in CAPITALS.findall(text) if word not in ABBREVIATIONS]
    if lang == "mn":
        found += LATIN_IDS.findall(text)
    return found


def crawl(app, start="/"):
    """Every page reachable from `start` by links (see NOT_PAGES, SAME_SHAPE): {path: html}.
    Fails on a 5xx."""
    pages, queue, queued = {}, [start], {start}
    shapes = collections.Counter()
    while queue:
        path = queue.pop(0)
        response = app.get(path, status="*")
        assert response.status_int < 500, f"{path} answered {response.status}"
        if response.status_int in (301, 302, 303):
            location = urlsplit(response.location)
            queue.insert(0, location.path + (f"?{location.query}" if location.query else ""))
            continue
        if "html" not in response.content_type:
            continue
        pages[path] = response.text
        for href in lxml.html.fromstring(response.text).xpath("//a/@href"):
            link = urlsplit(urljoin(f"http://{HOST}{path}", href))
            target = link.path + (f"?{link.query}" if link.query else "")
            if link.netloc != HOST or target in queued or NOT_PAGES.search(target):
                continue
            shape = re.sub(r"[^/?&=]*\d[^/?&=]*", "*", target)
            if ITEM.search(target):
                shape = (path, shape)
            if shapes[shape] >= SAME_SHAPE:
                continue
            shapes[shape] += 1
            queued.add(target)
            queue.append(target)
    return pages


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo as `registry demo` makes it (every role, letters in every state)."""
    from click.testing import CliRunner

    from registry import main
    from registry.cli import main as cli

    data_dir = tmp_path_factory.mktemp("demo") / "var"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "demo"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    app = main({}, **{"registry.data_dir": str(data_dir),
                      "registry.session_secret": "words-test-secret-not-for-production"})
    yield app
    stop_app(app)


def demo_logins():
    from registry.demo import demo_accounts

    return [account[0] for account in demo_accounts()]


@pytest.mark.parametrize("lang", ["mn", "en"])
@pytest.mark.parametrize("login_name", demo_logins())
def test_no_page_shows_a_message_id_or_a_code(demo_app, login_name, lang):
    from registry.demo import DEMO_PASSWORD

    app = TestApp(demo_app, extra_environ={"HTTP_HOST": HOST})
    app.set_cookie("_LOCALE_", lang)
    login(app, login_name, DEMO_PASSWORD)
    pages = crawl(app)
    assert len(pages) > 10
    shown = {path: found for path, html in pages.items()
             if (found := faults(visible_text(html), lang))}
    assert not shown, f"{login_name} ({lang}) reads codes: {shown}"


def test_the_detector_sees_codes_and_lets_small_print_and_words_be():
    html = ("<html><body><p>Гүйцэтгэлээ: transition-send</p><p>NO_SIGNATURE</p>"
            "<p title='CN=Bat'>x</p><small class='code'>ALREADY_REGISTERED</small>"
            "<p>PDF файл, 2026-12-03 10:00 (Улаанбаатар)</p></body></html>")
    assert faults(visible_text(html), "mn") == ["transition-send", "NO_SIGNATURE", "CN=B"]
    assert faults(visible_text("<p>NEW</p><p>draft</p>"), "mn") == ["NEW", "draft"]
    assert faults(visible_text("<p>A draft, sent as PDF.</p>"), "en") == []
    assert faults(visible_text("<p>https://registry.example/verify/AB12 letter.draft</p>"),
                  "en") == ["letter.draft"]
    # A verification code of letters only reads like capitals, but it is the reader's to type.
    assert faults(visible_text("<p>Код: ZHPK-EXPM-PXAR, NEW-STATE</p>"), "en") == ["NEW-STATE"]


@pytest.mark.parametrize("lang, done", [("mn", "Гүйцэтгэлээ: Илгээх."), ("en", "Done: Send.")])
def test_a_transition_says_what_was_done_in_words(login_as, testapp, api, pki, lang, done):
    import pdfs

    testapp.set_cookie("_LOCALE_", lang)
    app = login_as("rm_a")
    letter = testapp.post_json("/orgs/1000001/outbox", {
        "subject": "Тест", "recipients": ["1000002"]}, headers=api("rm_a"),
        status=201).json["@id"].replace(f"http://{HOST}", "")
    testapp.put(letter + "@file", pdfs.signed_letter(pki, "1000001"),
                headers={**api("rm_a"), "Content-Type": "application/pdf"})
    testapp.post_json(letter + "@workflow/sign", {}, headers=api("rm_a"))
    page = app.get(letter)
    sent = app.post(letter + "@@workflow", {"csrf_token": csrf_token(page),
                                            "transition": "send"}, status=302).follow()
    assert done in sent.text
    # The signature panel, which no demo page shows at once after a transition, with it.
    assert faults(visible_text(sent.text).replace("rm_a", "the login"), lang) == []


@pytest.mark.parametrize("lang", ["mn", "en"])
def test_a_refusal_is_told_in_words_its_code_in_small_print(login_as, testapp, api, lang):
    testapp.set_cookie("_LOCALE_", lang)
    app = login_as("rm_a")
    letter = testapp.post_json("/orgs/1000001/outbox", {
        "subject": "Тест", "recipients": ["1000002"]}, headers=api("rm_a"),
        status=201).json["@id"].replace(f"http://{HOST}", "")
    page = app.get(letter)
    refused = app.post(letter + "@@workflow", {"csrf_token": csrf_token(page),
                                               "transition": "sign"}, status=409)
    codes = [small.text for small in refused.html.select("#refusals small.code")]
    assert codes and all(re.fullmatch(r"[A-Z_]+", code) for code in codes)
    assert faults(visible_text(refused.text).replace("rm_a", "the login"), lang) == []
