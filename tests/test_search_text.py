"""Text of letters' PDFs for the search index: the text layer (pypdfium2) and OCR (Tesseract),
on real files -- Mongolian letters drawn with DejaVuSans, a scanned letter, and the signed and
hostile samples of the test PKI -- always in worker processes under a budget."""
import io
import re
import time

import pdfs
import pytest

from registry.search import text as pdftext
from registry.search.text import ERROR_CODES, extract, normalise, ocr
from registry.signatures.worker import WorkerPool

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
REGNO = "1000001"
BUDGET = 5.0       # seconds an extraction may take in these tests
SLACK = 2.0        # the pool's own overhead on a busy machine (starting a worker, killing one)

BODY = ("Нийслэлийн 2027 оны төсвийн төслийг боловсруулахтай холбогдуулан дүүргийн төсвийн "
        "саналыг 2026 оны 12 дугаар сарын 15-ны дотор ирүүлнэ үү. Өвлийн улиралд үерийн "
        "хамгаалалтын ажлыг Ёнхор өртөөнөөс эхлүүлнэ. Үүрэг хүлээсэн байгууллагууд "
        "хугацаандаа мэдээлнэ үү.")
SCAN_LINES = ["НИЙСЛЭЛИЙН ЗАСАГ ДАРГЫН ТАМГЫН ГАЗАР",
              "Баянзүрх дүүргийн Засаг даргын Тамгын газарт",
              "Нийслэлийн 2027 оны төсвийн төслийг боловсруулахтай",
              "холбогдуулан саналаа ирүүлнэ үү. Өвлийн улиралд",
              "үерийн хамгаалалтын ажлыг Ёнхор өртөөнөөс эхлүүлнэ.",
              "Үүрэг хүлээсэн байгууллагууд хугацаандаа мэдээлнэ үү.",
              "Дарга Б. Болд"]
SCAN_WORDS = ["нийслэлийн", "төсвийн", "боловсруулахтай", "өвлийн", "ёнхор", "өртөөнөөс",
              "үүрэг", "байгууллагууд", "хугацаандаа", "мэдээлнэ"]


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(size=1, memory_limit=pdftext.MEMORY_LIMIT)
    yield pool
    pool.close()


def words(text):
    return set(re.findall(r"\w+", text.casefold()))


def letter_pdf(body=BODY, pages=1):
    """A Mongolian letter as the registry's own demo draws it (reportlab, DejaVuSans), with
    `pages` pages, each numbered ("Хуудас N")."""
    from registry.demo import render_letter

    if pages == 1:
        return render_letter("Нийслэлийн Засаг даргын Тамгын газар", "Баянзүрх дүүрэг",
                             "Төсвийн төслийн тухай", body, "Дарга Б. Болд")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from registry.fonts import cyrillic_font as _font

    font, out = _font(), io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    for number in range(1, pages + 1):
        page.setFont(font, 11)
        text = page.beginText(60, 780)
        text.textLine(f"Хуудас {number}")
        for start in range(0, len(body), 90):
            text.textLine(body[start:start + 90])
        page.drawText(text)
        page.showPage()
    page.save()
    return out.getvalue()


def lines_pdf(lines, pagesize=None):
    """One page (A4 unless `pagesize` says otherwise, in points) with exactly these lines
    (reportlab, DejaVuSans)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from registry.fonts import cyrillic_font as _font

    font, out = _font(), io.BytesIO()
    page = canvas.Canvas(out, pagesize=pagesize or A4, invariant=1)
    page.setFont(font, 12)
    y = (pagesize or A4)[1] - 60
    for line in lines:
        page.drawString(60, y, line)
        y -= 18
    page.showPage()
    page.save()
    return out.getvalue()


def scan_image(lines=SCAN_LINES):
    """An A4 page at 300 dpi with `lines` in 10-point DejaVuSans, as a scanner would see it."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 42)
    y = 300
    for line in lines:
        draw.text((250, y), line, font=font, fill=0)
        y += 70
    return image


def scanned_pdf(pages=1, lines=SCAN_LINES):
    """A scanned letter: page images wrapped in a PDF, no text layer at all."""
    images = [scan_image(lines) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=300.0, save_all=True, append_images=images[1:])
    return out.getvalue()


def typed_then_scanned_pdf():
    """A typed covering letter followed by two scanned pages (an annex)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from registry.fonts import cyrillic_font as _font

    font, out = _font(), io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    page.setFont(font, 11)
    text = page.beginText(60, 780)
    for start in range(0, len(BODY), 90):
        text.textLine(BODY[start:start + 90])
    page.drawText(text)
    page.showPage()
    for _ in range(2):
        page.drawImage(ImageReader(scan_image()), 0, 0, *A4)
        page.showPage()
    page.save()
    return out.getvalue()


# Normalisation --------------------------------------------------------------------------------

def test_normalise_composes_mongolian_letters_and_collapses_white_space():
    decomposed = "Е\u0308нхор  саи\u0306н\u00a0\tхот\r\n\r\n\u200bшинэ\u00a0 \u00a0 үг\ue001\x07"
    assert normalise(decomposed) == "Ёнхор сайн хот\nшинэ үг"
    assert normalise("  \n\t\n ") == ""


def test_normalise_joins_a_hyphenated_word_only_between_lower_case_letters():
    assert normalise("хариу-\nгаар") == "хариугаар"
    assert normalise("хариу\ufffeгаар") == "хариугаар"            # PDFium's line-end hyphen
    assert normalise("байгуул\u00ad\nлага") == "байгууллага"       # soft hyphen
    assert normalise("Улаанбаатар-\nДархан") == "Улаанбаатар-\nДархан"
    assert normalise("Улаанбаатар\ufffeДархан") == "Улаанбаатар-Дархан"
    assert normalise("2026-\n2027 он") == "2026-\n2027 он"
    assert normalise("ажил - \nүйлс") == "ажил -\nүйлс"


# The text layer -----------------------------------------------------------------------------

def test_a_mongolian_letter_gives_its_words(pool):
    result = extract(letter_pdf(), pool=pool)
    assert (result.error_code, result.method, result.pages, result.needs_ocr) == \
        (None, "text", 1, False)
    found = words(result.text)
    for word in ("нийслэлийн", "төсвийн", "ирүүлнэ", "үү", "өвлийн", "ёнхор", "өртөөнөөс",
                 "үүрэг", "байгууллагууд", "хугацаандаа", "дарга"):
        assert word in found, word
    assert "Төсвийн төслийн тухай" in result.text
    assert "2026 оны 12 дугаар сарын 15-ны дотор" in result.text
    assert "Б. Болд" in result.text


def test_a_letter_stored_on_disk_reads_like_its_bytes(pool, tmp_path):
    data = letter_pdf()
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    assert extract(str(path), pool=pool).text == extract(data, pool=pool).text
    assert extract(path, pool=pool).text == extract(data, pool=pool).text


def test_a_word_broken_at_a_line_end_is_found_whole(pool):
    result = extract(lines_pdf(["Бичгийн хариу-", "гаар мэдэгдэж байна.",
                                "Улаанбаатар-", "Дархан чиглэлийн зам."]), pool=pool)
    assert "хариугаар мэдэгдэж" in result.text
    assert "Улаанбаатар-Дархан" in result.text


def test_pages_and_characters_beyond_the_limits_are_left_out(pool):
    data = letter_pdf(pages=20)
    whole = extract(data, pool=pool)
    assert (whole.pages, whole.truncated) == (20, False)
    assert "Хуудас 20" in whole.text
    first = extract(data, pool=pool, max_pages=5)
    assert (first.pages, first.truncated) == (20, True)
    assert "Хуудас 5" in first.text and "Хуудас 6" not in first.text
    short = extract(data, pool=pool, max_chars=1000)
    assert short.truncated and 500 < len(short.text) <= 1000
    assert whole.text.startswith(short.text)


def test_a_file_over_the_size_limit_is_not_parsed(pool, tmp_path):
    data = letter_pdf()
    result = extract(data, pool=pool, max_bytes=len(data) - 1)
    assert (result.error_code, result.text) == ("TOO_LARGE", "")
    missing = extract(str(tmp_path / "gone.pdf"), pool=pool)
    assert (missing.error_code, missing.method) == ("UNREADABLE", "none")


# Scanned letters ----------------------------------------------------------------------------

def test_a_scanned_letter_needs_ocr_and_ocr_reads_its_words(pool):
    data = scanned_pdf()
    layer = extract(data, pool=pool)
    assert (layer.error_code, layer.method, layer.text, layer.pages, layer.needs_ocr) == \
        (None, "none", "", 1, True)

    result = ocr(data, pool=pool)
    assert (result.error_code, result.method, result.pages, result.needs_ocr) == \
        (None, "ocr", 1, False)
    found = words(result.text)
    missed = [word for word in SCAN_WORDS if word not in found]
    # OCR may misread a word or two; the letter's words must be there, Ө, Ү and Ё included.
    assert len(missed) <= 1, (missed, result.text)
    assert {"ё", "ө", "ү"} <= set(result.text.casefold()), result.text
    assert result.text == normalise(result.text)


def test_a_typed_letter_with_a_scanned_annex_needs_ocr(pool):
    result = extract(typed_then_scanned_pdf(), pool=pool)
    assert (result.pages, result.method, result.needs_ocr) == (3, "text", True)
    assert "ёнхор" in words(result.text)


def test_ocr_stops_at_its_page_limit_and_its_time_budget(pool):
    data = scanned_pdf(pages=3)
    first = ocr(data, pool=pool, max_pages=1)
    assert (first.error_code, first.pages, first.truncated) == (None, 3, True)
    assert "хугацаандаа" in words(first.text)

    started = time.monotonic()
    late = ocr(data, pool=pool, timeout=0.05)
    assert time.monotonic() - started < 0.05 + SLACK
    assert late.error_code == "TIMEOUT"
    # The pool got over it.
    assert extract(letter_pdf(), pool=pool).method == "text"


def test_ocr_refuses_what_it_cannot_read(pool):
    assert ocr(b"hello", pool=pool).error_code == "NOT_PDF"
    assert ocr(pdfs.encrypted_pdf(), pool=pool).error_code == "ENCRYPTED_PDF"
    unknown = ocr(scanned_pdf(), pool=pool, languages="mon+xyz")
    assert (unknown.error_code, unknown.method) == ("OCR_UNAVAILABLE", "none")
    assert "xyz" in unknown.detail
    assert ocr(scanned_pdf(), pool=pool, languages="mon; rm -rf /").error_code == \
        "OCR_UNAVAILABLE"


def test_a_huge_page_is_rendered_within_the_pixel_budget(pool, tmp_path):
    # A 5 m x 5 m page (the PDF maximum) at 300 dpi would be 3.5 billion pixels.
    data = lines_pdf(["Том хуудас"], pagesize=(14400, 14400))
    path = tmp_path / "huge.pdf"
    path.write_bytes(data)
    outcome = pool.call("registry.search.text:render_in_worker",
                        (str(path), 0, 300, pdftext.MAX_PIXELS, str(tmp_path / "page.pgm")),
                        BUDGET)
    assert outcome.kind == "ok", outcome
    answer = outcome.value
    assert answer["width"] * answer["height"] <= pdftext.MAX_PIXELS * 1.01
    assert answer["dpi"] < 300
    assert (tmp_path / "page.pgm").stat().st_size >= answer["width"] * answer["height"]


# Signed and hostile samples -----------------------------------------------------------------

# What the text layer of a sample must give: "text" (the sample letter's words), or an error.
EXPECTED = {
    "not_pdf": "NOT_PDF", "docx_like_zip": "NOT_PDF", "renamed_text_file": "NOT_PDF",
    "empty_file": "NOT_PDF", "garbage_with_pdf_header": "MALFORMED_PDF",
    "encrypted_pdf": "ENCRYPTED_PDF",
    "deflate_bomb": "TOO_LARGE", "signed_deflate_bomb": "TOO_LARGE",
    "signed_bomb_redefined": "TOO_LARGE",
}


@pytest.mark.parametrize("sample", [
    pytest.param(s, id=s.name, marks=[pytest.mark.slow] if s.slow else [])
    for s in pdfs.SAMPLES])
def test_every_sample_gets_a_result_or_an_error_code_within_budget(sample, pki, pool):
    data = sample.build(pki, REGNO)
    started = time.monotonic()
    result = extract(data, pool=pool, timeout=BUDGET)
    assert time.monotonic() - started < BUDGET + SLACK
    expected = EXPECTED.get(sample.name, "text")
    if expected == "text":
        assert result.error_code is None, result
        assert result.method == "text"
        assert result.text.startswith("Registry test letter") or \
            result.text in ("Secret letter",), result.text
    else:
        assert (result.error_code, result.text, result.method) == (expected, "", "none")
        assert result.error_code in ERROR_CODES
    # Whatever the last file did to its worker, the pool still reads letters.
    assert extract(letter_pdf(), pool=pool, timeout=BUDGET).method == "text"


def test_a_signed_multipage_letter_gives_every_page(pki, pool):
    result = extract(pdfs.signed_multipage_letter(pki, REGNO), pool=pool)
    assert (result.pages, result.error_code, result.needs_ocr) == (3, None, False)
    assert result.text.count("Registry test letter") >= 1
    assert len(result.text.split("\n\n")) == 3


@pytest.mark.slow
def test_a_deflate_bomb_is_stopped_by_time_or_memory_and_the_pool_recovers(pool):
    bomb = pdfs.deflate_bomb()
    late = extract(bomb, pool=pool, timeout=0.2)
    assert (late.error_code, late.text) == ("TIMEOUT", "")
    small = WorkerPool(size=1, memory_limit=512 * 1024 * 1024)
    try:
        starved = extract(bomb, pool=small, timeout=BUDGET)
        assert starved.error_code == "TOO_LARGE"
        assert extract(letter_pdf(), pool=small).method == "text"
    finally:
        small.close()
    assert ocr(bomb, pool=pool).error_code == "TOO_LARGE"   # rendering it runs out of memory
    assert extract(letter_pdf(), pool=pool).method == "text"


def test_the_default_pool_is_used_without_one(tmp_path):
    result = extract(letter_pdf())
    assert result.method == "text" and "ёнхор" in words(result.text)
    assert pdftext.default_pool() is pdftext.default_pool()
