"""The words of a letter's PDF: its text layer, or OCR of its pages when it has none.

    result = extract(path_or_bytes)            # fast: the text layer (pypdfium2)
    if result.needs_ocr:
        result = ocr(path_or_bytes)            # slow: seconds a page; a background thread only

Both answer a `TextResult` and never raise for what is in the file: a broken or hostile PDF
gets an `error_code` (see ERROR_CODES). PDFium parses the file only in a worker process under
a time and memory budget (`registry.signatures.worker.WorkerPool`; by default a pool of one
worker of its own, so that reading letters never starves the signature gate); Tesseract reads
only page images we rendered there, of bounded size, under a timeout.

Text is normalised for indexing and snippets (`normalise`): NFC; control, zero-width and
private-use characters dropped; runs of white space made one space; empty lines dropped; a word
hyphenated at a line end joined when both halves are lower-case letters ("хариу-" + "гаар");
pages separated by a blank line.
"""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from registry.signatures.worker import WorkerPool

MIB = 1024 * 1024

# Defaults: a letter with its annexes is tens of pages; an index needs no more than its words.
MAX_BYTES = 64 * MIB
MAX_PAGES = 500
MAX_CHARS = 500_000
EXTRACT_TIMEOUT = 15.0
OCR_TIMEOUT = 600.0
OCR_MAX_PAGES = 30
OCR_DPI = 300
MAX_PIXELS = 40_000_000        # a rendered page; A3 at 300 dpi is 17.4 million
MEMORY_LIMIT = 1024 * MIB      # address space of a text worker (it starts at about 200 MiB)
MIN_LETTERS_PER_PAGE = 20      # fewer on average (or on most pages): a scan, OCR it

ERROR_CODES = {
    "NOT_PDF": "the file is not a PDF",
    "MALFORMED_PDF": "the PDF cannot be read (broken, or the reader crashed on it)",
    "ENCRYPTED_PDF": "the PDF needs a password",
    "TOO_LARGE": "the file, a page or its decoded content exceeds the budget",
    "TIMEOUT": "reading took longer than the time budget (OCR: pages done so far are kept)",
    "BUSY": "no worker became free in time; nothing is wrong with the file, try again",
    "UNREADABLE": "the file could not be read from disk",
    "OCR_UNAVAILABLE": "tesseract or one of the requested languages is not installed",
    "OCR_FAILED": "tesseract failed on a page",
}


@dataclass(frozen=True)
class TextResult:
    """The text of a PDF.

    - `text`: normalised text ("" when none); `pages`: the document's page count (0 if unknown).
    - `method`: where `text` came from: "text" (the text layer), "ocr", or "none" (no text:
      `error_code` says why, or the pages carry no text at all).
    - `needs_ocr`: the text layer is missing or too thin to be the letter's words.
    - `error_code`: None, or a key of ERROR_CODES; `detail`: a short English explanation for
      logs (never shown as is to users).
    - `truncated`: pages or characters beyond the limits were left out.
    - `elapsed`: seconds the call took.
    """

    text: str = ""
    pages: int = 0
    method: str = "none"
    needs_ocr: bool = False
    error_code: str = None
    detail: str = ""
    truncated: bool = False
    elapsed: float = 0.0

    @property
    def ok(self):
        return self.error_code is None


# Normalisation ------------------------------------------------------------------------------

# Characters that carry no words: C0/C1 controls (but tab and newline), zero-width and bidi
# marks, BOM, interlinear annotation marks, the replacement character, private use (glyphs a
# font maps to no Unicode) and non-characters. U+FFFE is not here: PDFium marks a hyphen it
# took out at a line end with it (see _SOFT_BREAK).
_JUNK = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                   "\ufeff\ufff9-\ufffb\ufffd\uffff\ue000-\uf8ff\U000f0000-\U0010ffff]")
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")
_LETTER = r"[^\W\d_]"
# PDFium's own line-end hyphen, with the line break it swallowed (or not).
_SOFT_BREAK = re.compile("\ufffe\n?")
# A hyphen (ASCII, U+2010 or a soft hyphen) ending a line between two letters.
_HYPHEN_BREAK = re.compile(f"(?<={_LETTER})([-\u2010\u00ad])\n(?={_LETTER})")
_LETTERS = re.compile(_LETTER)


def _join_soft_break(match):
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before.islower() and after.islower():
        return ""
    return "-" if before and after else ""


def _join_hyphen_break(match):
    text, start, end = match.string, match.start(), match.end()
    if match.group(1) == "\u00ad" or (text[start - 1].islower() and text[end].islower()):
        return ""
    return match.group(0)


def normalise(text):
    """Return `text` ready for indexing: NFC, junk characters dropped, white space collapsed
    (one space within a line, no empty lines), line-end hyphenation joined between two
    lower-case letters (a hyphen before a capital or a digit stays: "Улаанбаатар-Дархан")."""
    import unicodedata

    text = unicodedata.normalize("NFC", text or "")
    text = _LINE_BREAKS.sub("\n", text)
    text = _JUNK.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _SOFT_BREAK.sub(_join_soft_break, text)
    text = _HYPHEN_BREAK.sub(_join_hyphen_break, text)
    text = text.replace("\u00ad", "")
    return "\n".join(line for line in text.split("\n") if line)


def letter_count(text):
    """How many letters (of any script) `text` has."""
    return len(_LETTERS.findall(text))


def _clip(text, limit):
    """`text` cut to at most `limit` characters, at a white space when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return cut[:space] if space > limit // 2 else cut


# Worker side (runs in a WorkerPool process; answers plain data) -----------------------------

def _open_document(source):
    """The PDFium document for `source` (bytes or a path), or an error dict."""
    import pypdfium2 as pdfium

    try:
        if isinstance(source, (bytes, bytearray)):
            head = bytes(source[:1024])
        else:
            with open(source, "rb") as handle:
                head = handle.read(1024)
    except OSError as exc:
        return None, {"error": "UNREADABLE", "detail": f"{type(exc).__name__}: {exc}"}
    if b"%PDF-" not in head:
        return None, {"error": "NOT_PDF", "detail": "no %PDF- header in the first 1024 bytes"}
    try:
        return pdfium.PdfDocument(source), None
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium.raw.FPDF_ERR_PASSWORD, pdfium.raw.FPDF_ERR_SECURITY):
            return None, {"error": "ENCRYPTED_PDF", "detail": str(exc)}
        if code == pdfium.raw.FPDF_ERR_FILE:
            return None, {"error": "UNREADABLE", "detail": str(exc)}
        return None, {"error": "MALFORMED_PDF", "detail": str(exc)}


def extract_in_worker(source, max_pages, max_chars):
    """Worker side of `extract`: {"pages", "texts" (normalised, per page read), "letters"
    (per page read), "truncated", "failed_pages"} or {"error", "detail"}."""
    document, error = _open_document(source)
    if error:
        return error
    try:
        count = len(document)
        if count <= 0:
            return {"error": "MALFORMED_PDF", "detail": "the document has no pages"}
        texts, letters, failed, used = [], [], 0, 0
        truncated = count > max_pages
        for index in range(min(count, max_pages)):
            if used >= max_chars:
                truncated = True
                break
            try:
                page = document[index]
            except Exception:  # noqa: BLE001  (PdfiumError, or worse: a page we cannot load)
                failed += 1
                continue
            try:
                textpage = page.get_textpage()
                try:
                    # A page may carry millions of characters: take a bounded slice.
                    wanted = min(textpage.count_chars(), 2 * (max_chars - used) + 256)
                    raw = textpage.get_text_range(0, wanted) if wanted > 0 else ""
                finally:
                    textpage.close()
            finally:
                page.close()
            text = normalise(raw)
            if used + len(text) > max_chars:
                text = _clip(text, max_chars - used)
                truncated = True
            used += len(text) + 2
            texts.append(text)
            letters.append(letter_count(text))
        if failed and not texts:
            return {"error": "MALFORMED_PDF", "detail": f"none of {failed} page(s) could be loaded"}
        return {"pages": count, "texts": texts, "letters": letters, "truncated": truncated,
                "failed_pages": failed}
    finally:
        document.close()


def render_in_worker(path, index, dpi, max_pixels, out_path):
    """Worker side of `ocr`: render page `index` of the PDF at `path` in grey at `dpi` (less
    if the page would exceed `max_pixels`) into a PGM file at `out_path`. Answers {"pages",
    "dpi", "width", "height"} or {"error", "detail"}."""
    document, error = _open_document(path)
    if error:
        return error
    try:
        count = len(document)
        if count <= 0:
            return {"error": "MALFORMED_PDF", "detail": "the document has no pages"}
        if index >= count:
            return {"pages": count, "dpi": 0, "width": 0, "height": 0}
        page = document[index]
        try:
            width_pt, height_pt = page.get_size()
            scale = dpi / 72
            area = max(width_pt, 1.0) * max(height_pt, 1.0) * scale * scale
            if area > max_pixels:
                scale *= (max_pixels / area) ** 0.5
            bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False,
                                 force_bitmap_format=_gray_format())
            try:
                _write_pgm(bitmap, out_path)
                width, height = bitmap.width, bitmap.height
            finally:
                bitmap.close()
        finally:
            page.close()
        return {"pages": count, "dpi": round(scale * 72), "width": width, "height": height}
    finally:
        document.close()


def _gray_format():
    import pypdfium2.raw as pdfium_c

    return pdfium_c.FPDFBitmap_Gray


def _write_pgm(bitmap, out_path):
    """Write an 8-bit grey PDFium bitmap as a binary PGM (which Tesseract reads as is)."""
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    buffer = memoryview(bitmap.buffer).cast("B")
    with open(out_path, "wb") as handle:
        handle.write(b"P5\n%d %d\n255\n" % (width, height))
        if stride == width:
            handle.write(buffer[: width * height])
        else:
            handle.writelines(buffer[row * stride: row * stride + width] for row in range(height))


# Caller side --------------------------------------------------------------------------------

_pool = None
_pool_lock = threading.Lock()


def default_pool():
    """This process's pool for text work: one worker, MEMORY_LIMIT of address space."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(size=1, memory_limit=MEMORY_LIMIT)
        return _pool


def _size_of(source):
    """(size in bytes, payload for the worker) or raises OSError."""
    if isinstance(source, (str, Path)):
        return os.path.getsize(source), str(source)
    return len(source), bytes(source)


def _failed_outcome(outcome, timeout):
    """(error_code, detail) for a worker outcome other than "ok"."""
    if outcome.kind == "timeout":
        return "TIMEOUT", f"no answer within {timeout:g} s"
    if outcome.kind == "busy":
        return "BUSY", "no text worker became free"
    if outcome.kind == "memory":
        return "TOO_LARGE", "the memory budget was exceeded"
    if outcome.kind == "died":
        # PDFium aborts (SIGABRT) when an allocation fails: under our limit, that is a file
        # whose content decodes to more than the budget (a deflate bomb).
        if outcome.value == -6:
            return "TOO_LARGE", "the reader ran out of its memory budget"
        return "MALFORMED_PDF", f"the reader died (exit {outcome.value})"
    name, message = (outcome.value or ("Error", ""))[:2]
    return "MALFORMED_PDF", f"{name}: {message}"[:300]


def extract(source, pool=None, timeout=EXTRACT_TIMEOUT, max_pages=MAX_PAGES,
            max_chars=MAX_CHARS, max_bytes=MAX_BYTES):
    """The text layer of the PDF `source` (bytes, or a file path) as a TextResult with
    method "text" (or "none"). Reads at most `max_pages` pages and `max_chars` characters
    (`truncated` says so), in a worker of `pool` (default: `default_pool()`) within `timeout`
    seconds. `needs_ocr` is set when the pages read average fewer than MIN_LETTERS_PER_PAGE
    letters, or most of them have fewer. Never raises for what the file holds."""
    started = time.monotonic()

    def result(**fields):
        return TextResult(elapsed=round(time.monotonic() - started, 3), **fields)

    try:
        size, payload = _size_of(source)
    except OSError as exc:
        return result(error_code="UNREADABLE", detail=f"{type(exc).__name__}: {exc}")
    if size > max_bytes:
        return result(error_code="TOO_LARGE", detail=f"{size} bytes > {max_bytes}")
    outcome = (pool or default_pool()).call("registry.search.text:extract_in_worker",
                                            (payload, max_pages, max_chars), timeout)
    if outcome.kind != "ok":
        code, detail = _failed_outcome(outcome, timeout)
        return result(error_code=code, detail=detail)
    answer = outcome.value
    if "error" in answer:
        return result(error_code=answer["error"], detail=answer["detail"])
    texts, letters = answer["texts"], answer["letters"]
    read = len(texts)
    thin = sum(1 for n in letters if n < MIN_LETTERS_PER_PAGE)
    needs_ocr = read > 0 and (sum(letters) < MIN_LETTERS_PER_PAGE * read or thin * 2 > read)
    text = "\n\n".join(t for t in texts if t)
    detail = f"{answer['failed_pages']} page(s) could not be loaded" if answer["failed_pages"] else ""
    return result(text=text, pages=answer["pages"], method="text" if text else "none",
                  needs_ocr=needs_ocr, truncated=answer["truncated"], detail=detail)


_found_tesseract = None


def _tesseract():
    """(path of the tesseract program, frozenset of installed languages), or (None, ()) when
    it is missing. Remembered once found (not while missing: it may be installed meanwhile)."""
    global _found_tesseract
    if _found_tesseract is not None:
        return _found_tesseract
    program = shutil.which("tesseract")
    if not program:
        return None, frozenset()
    try:
        listing = subprocess.run([program, "--list-langs"], capture_output=True, text=True,
                                 timeout=30, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None, frozenset()
    languages = listing.stdout.splitlines()[1:]  # the first line is a heading
    _found_tesseract = program, frozenset(line.strip() for line in languages if line.strip())
    return _found_tesseract


_LANGUAGES = re.compile(r"[A-Za-z_]+(\+[A-Za-z_]+)*")


class _Stop(Exception):
    """OCR cannot go on: `code` (a key of ERROR_CODES) and `detail`."""

    def __init__(self, code, detail):
        super().__init__(code)
        self.code, self.detail = code, detail


def _check_languages(languages):
    """The tesseract program, once `languages` ("mon+eng") are known to be installed."""
    program, installed = _tesseract()
    if program is None:
        raise _Stop("OCR_UNAVAILABLE", "tesseract is not installed")
    if not _LANGUAGES.fullmatch(languages or ""):
        raise _Stop("OCR_UNAVAILABLE", f"bad language list {languages!r}")
    missing = [lang for lang in languages.split("+") if lang not in installed]
    if missing:
        raise _Stop("OCR_UNAVAILABLE",
                    f"tesseract language(s) not installed: {', '.join(missing)}")
    return program


def _render(pool, path, index, dpi, image, budget):
    """Render page `index` into the file `image` in a worker; its answer (see
    render_in_worker), or raises _Stop."""
    outcome = pool.call("registry.search.text:render_in_worker",
                        (path, index, dpi, MAX_PIXELS, image), budget)
    if outcome.kind != "ok":
        code, detail = _failed_outcome(outcome, budget)
        raise _Stop(code, f"page {index + 1}: {detail}")
    if "error" in outcome.value:
        raise _Stop(outcome.value["error"], outcome.value["detail"])
    return outcome.value


def _tesseract_page(program, image, languages, dpi, budget):
    """The normalised text Tesseract reads in `image`, or raises _Stop."""
    # One thread: on a shared machine OpenMP threads make it several times slower.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        run = subprocess.run([program, image, "stdout", "-l", languages, "--dpi", str(dpi)],
                             capture_output=True, timeout=max(budget, 0.1), env=env,
                             stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise _Stop("TIMEOUT", f"tesseract took longer than {budget:.1f} s") from None
    except OSError as exc:
        raise _Stop("OCR_UNAVAILABLE", f"{type(exc).__name__}: {exc}") from None
    if run.returncode != 0:
        tail = run.stderr.decode("utf-8", "replace").strip()[-300:]
        raise _Stop("OCR_FAILED", f"tesseract exit {run.returncode}: {tail}")
    return normalise(run.stdout.decode("utf-8", "replace"))


def ocr(source, languages="mon+eng", timeout=OCR_TIMEOUT, max_pages=OCR_MAX_PAGES,
        dpi=OCR_DPI, pool=None, max_chars=MAX_CHARS, max_bytes=MAX_BYTES,
        page_timeout=120.0):
    """OCR the PDF `source` (bytes, or a file path): each page rendered at `dpi` (less for a
    page over MAX_PIXELS) in a worker of `pool`, then read by Tesseract in `languages`. Takes
    seconds a page: call it from a background thread, never in a request. Returns a
    TextResult with method "ocr" ("none" if no page gave text); at most `max_pages` pages and
    `max_chars` characters; a page gets at most `page_timeout` seconds, the whole call
    `timeout`. When a page fails or time runs out, the pages done so far are kept, with the
    error_code. Never raises for what the file holds."""
    started = time.monotonic()
    deadline = started + timeout
    texts, pages, used, truncated = [], 0, 0, False

    def result(code=None, detail=""):
        text = "\n\n".join(t for t in texts if t)
        return TextResult(text=text, pages=pages, method="ocr" if text else "none",
                          error_code=code, detail=detail,
                          truncated=truncated or pages > len(texts),
                          elapsed=round(time.monotonic() - started, 3))

    try:
        program = _check_languages(languages)
        size, payload = _size_of(source)
        if size > max_bytes:
            raise _Stop("TOO_LARGE", f"{size} bytes > {max_bytes}")
        pool = pool or default_pool()
        with tempfile.TemporaryDirectory(prefix="registry-ocr-") as workdir:
            path = payload
            if isinstance(payload, bytes):
                path = os.path.join(workdir, "letter.pdf")
                with open(path, "wb") as handle:
                    handle.write(payload)
            image = os.path.join(workdir, "page.pgm")
            for index in range(max_pages):
                if used >= max_chars:
                    truncated = True
                    break
                budget = min(deadline - time.monotonic(), page_timeout)
                if budget <= 0:
                    raise _Stop("TIMEOUT", f"{index} page(s) read within {timeout:g} s")
                answer = _render(pool, path, index, dpi, image, budget)
                pages = answer["pages"]
                if index >= pages:
                    break
                budget = min(deadline - time.monotonic(), page_timeout)
                try:
                    text = _tesseract_page(program, image, languages, answer["dpi"], budget)
                except _Stop as stop:
                    raise _Stop(stop.code, f"page {index + 1}: {stop.detail}") from None
                if used + len(text) > max_chars:
                    text = _clip(text, max_chars - used)
                    truncated = True
                used += len(text) + 2
                texts.append(text)
    except _Stop as stop:
        return result(stop.code, stop.detail)
    except OSError as exc:
        return result("UNREADABLE", f"{type(exc).__name__}: {exc}")
    return result()


__all__ = [
    "ERROR_CODES",
    "TextResult",
    "default_pool",
    "extract",
    "letter_count",
    "normalise",
    "ocr",
]
