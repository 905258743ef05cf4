"""The registration stamp and the registration card of a registered letter."""
import pypdfium2
import pytest

import pdfs
from conftest import send_letter

SENDER, RECIPIENT = "1000001", "1000002"


@pytest.fixture
def delivery(testapp, api, pki, in_site):
    """A letter from 1000001 registered by 1000002 with an executor; its delivery's path."""
    pdf = pdfs.sign(pdfs.letter_pdf("Тамганы тест"), pki.org(SENDER))
    send_letter(testapp, api("rm_a"), pdf, subject="Төсвийн гүйцэтгэлийн тухай")
    headers = api("rm_b")
    path = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=headers).json["items"][0]["@id"]
    path = path.replace("http://registry.test", "")
    with in_site() as site:
        site.users["rm_b"].fullname = "Бат Болд"
    return path, headers


def text_of(body):
    document = pypdfium2.PdfDocument(body)
    return document, "".join(page.get_textpage().get_text_range() for page in document)


def test_the_stamp_is_a_label_with_the_organisation_number_date_and_executor(testapp,
                                                                             delivery):
    path, headers = delivery
    testapp.post_json(path + "@workflow/register", {"executor": "rm_b"}, headers=headers)
    number = testapp.get(path, headers=headers).json["incoming_number"]
    response = testapp.get(path + "@@stamp", headers=headers)
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline; filename=stamp-1000002-")
    document, text = text_of(response.body)
    width, height = document[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (80, 40)
    assert "Баянзүрх дүүргийн Засаг" in text and number in text and "Бат Болд" in text


def test_the_card_holds_the_registration_and_the_history_by_name(testapp, delivery):
    path, headers = delivery
    testapp.post_json(path + "@workflow/register", {"executor": "rm_b"}, headers=headers)
    _document, text = text_of(testapp.get(path + "@@card", headers=headers).body)
    assert "Бүртгэлийн карт" in text and "Төсвийн гүйцэтгэлийн тухай" in text
    assert "Нийслэлийн Засаг даргын Тамгын" in text and "(1000001)" in text
    assert "Бүртгэх: Бат Болд" in text and "rm_b" not in text  # people by name, not login
    assert "хүчинтэй" in text and "card-signature" not in text  # words, not message ids


def test_an_unregistered_letter_has_no_stamp(testapp, delivery):
    path, headers = delivery
    error = testapp.get(path + "@@stamp", headers=headers, status=409).json["error"]
    assert error["code"] == "NOT_REGISTERED"


def test_outsiders_get_404(testapp, delivery, api):
    path, _headers = delivery
    for name in ("@@stamp", "@@card"):
        testapp.get(path + name, headers=api("rm_a"), status=404)
