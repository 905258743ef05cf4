"""The letter page shows the PDF in the page (the browser's own viewer), and only the registry's
own pages may frame it: every other response refuses to be framed."""
import pytest

import pdfs
from conftest import login, send_letter

FRAMED_BY_US = ("SAMEORIGIN", "frame-ancestors 'self'")
NOT_FRAMED = ("DENY", "frame-ancestors 'none'")


def framing(response):
    return response.headers["X-Frame-Options"], response.headers["Content-Security-Policy"]


@pytest.fixture
def sent(testapp, api, pki, in_site):
    """(the letter's path, the recipient's delivery's path) of a sent letter."""
    letter = send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, "1000001"))
    with in_site() as site:
        delivery = site.orgs["1000001"]["outbox"][letter.split("/")[-2]].deliveries["1000002"]
        return letter, f"/orgs/1000002/inbox/{delivery.__name__}/"


@pytest.mark.parametrize("who, which", [("rm_a", 0), ("rm_b", 1)])
def test_the_letter_page_frames_the_inline_pdf_beside_a_download_link(testapp, sent, who,
                                                                      which):
    path = sent[which]
    login(testapp, who)
    page = testapp.get(path)
    frame = page.html.find(id="pdf-frame")
    assert (frame.name, frame["type"], frame["data"]) == (
        "object", "application/pdf", f"http://registry.test{path}@@pdf?inline=1")
    assert frame.find("a")["href"] == f"http://registry.test{path}@@pdf"  # the fallback
    assert page.html.find(id="pdf-download")["href"] == f"http://registry.test{path}@@pdf"
    assert framing(page) == NOT_FRAMED

    inline = testapp.get(frame["data"])
    assert (inline.content_type, inline.headers["X-Content-Type-Options"]) == (
        "application/pdf", "nosniff")
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert framing(inline) == FRAMED_BY_US
    download = testapp.get(f"{path}@@pdf")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert framing(download) == NOT_FRAMED


def test_a_draft_without_its_pdf_shows_no_viewer_and_nothing_else_may_be_framed(testapp, api):
    draft = testapp.post_json("/orgs/1000001/outbox", {"subject": "Ноорог",
                                                       "recipients": ["1000002"]},
                              headers=api("rm_a"), status=201).json["@id"]
    login(testapp, "rm_a")
    page = testapp.get(draft)
    assert page.html.find(id="pdf-view") is None
    for response in (page, testapp.get("/@@login"), testapp.get("/static/forms.js"),
                     testapp.get(draft, headers={"Accept": "application/json"})):
        assert framing(response) == NOT_FRAMED
