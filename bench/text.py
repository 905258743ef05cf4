"""Benchmark: the text of letters' PDFs for search (registry.search.text).

1. Text layer extraction (`extract`: worker process, pypdfium2, normalisation) of a one-page
   and a 20-page Mongolian letter, full pages of about 2,000 characters (reportlab +
   DejaVuSans, as the demo draws them): p50/p95/max.
2. Hostile files (tests/pdfs.py): how long until the answer, and which.
3. OCR (`ocr`: render at 300 dpi in the worker, Debian tesseract mon+eng, one thread) of a
   scanned one-page and three-page letter (Pillow + DejaVuSans, 10 pt, about 40 lines a page,
   an image-only PDF): seconds per page, and how many of the letter's words it read back.

Everything is generated; nothing is downloaded.

    python bench/text.py [--runs 100] [--ocr-runs 3]
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from stats import peak_rss_mib, percentile, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--ocr-runs", type=int, default=3)
    args = parser.parse_args()

    import textwrap

    from test_search_text import BODY, SCAN_LINES, SCAN_WORDS, letter_pdf, scanned_pdf

    from registry.search import text as pdftext

    pool = pdftext.default_pool()
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=True).stdout.split("\n")[0]
    import pypdfium2

    print(f"# Text extraction and OCR benchmark (Python {sys.version.split()[0]}, "
          f"pypdfium2 {pypdfium2.version.PYPDFIUM_INFO}, {version}; one worker, "
          f"{pdftext.MEMORY_LIMIT // pdftext.MIB} MiB)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other work on the machine slows OCR most)")

    print(f"\n## Text layer ({args.runs} runs each, warm worker)")
    print(f"{'file':<24}{'size':>10}{'chars':>9}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    # Full pages: about 2,000 characters each, as in a typed letter.
    body = " ".join([BODY] * 8)
    for name, data in (("1 page", letter_pdf(body=body)),
                       ("20 pages", letter_pdf(body=body, pages=20))):
        result = pdftext.extract(data, pool=pool)
        assert result.method == "text" and not result.needs_ocr, result
        samples = timed(lambda _, data=data: pdftext.extract(data, pool=pool),
                        range(args.runs))
        print(f"{name:<24}{len(data):>10,}{len(result.text):>9,}"
              f"{percentile(samples, 0.5):>10.1f}{percentile(samples, 0.95):>10.1f}"
              f"{max(samples):>10.1f}")

    import pdfs

    print("\n## Hostile files (3 runs each; budget 15 s, 1024 MiB)")
    print(f"{'file':<24}{'size':>10}{'answer':>14}{'p50 ms':>10}{'max ms':>10}")
    for name, data in (("deflate bomb (1 GiB)", pdfs.deflate_bomb()),
                       ("huge xref claim", pdfs.huge_xref_claim()),
                       ("150,000 objects", pdfs.huge_object_count()),
                       ("deep nesting", pdfs.deep_nesting())):
        answers = []
        samples = timed(lambda _, data=data, answers=answers:
                        answers.append(pdftext.extract(data, pool=pool)), range(3))
        answer = answers[-1].error_code or f"{answers[-1].method}"
        print(f"{name:<24}{len(data):>10,}{answer:>14}{percentile(samples, 0.5):>10.0f}"
              f"{max(samples):>10.0f}")

    print(f"\n## OCR, mon+eng at 300 dpi ({args.ocr_runs} runs each)")
    print(f"{'file':<24}{'size':>10}{'s/page p50':>12}{'s/page max':>12}{'words read':>12}")
    # A full page: the letter's lines, then its text again to the foot (about 40 lines).
    lines = SCAN_LINES + textwrap.wrap(" ".join([BODY] * 4), 60)[:33]
    for pages in (1, 3):
        data = scanned_pdf(pages=pages, lines=lines)
        per_page, found = [], 0
        for _ in range(args.ocr_runs):
            started = time.perf_counter()
            result = pdftext.ocr(data, pool=pool)
            per_page.append((time.perf_counter() - started) / pages)
            assert result.error_code is None, result
            words = set(re.findall(r"\w+", result.text.casefold()))
            found = sum(1 for word in SCAN_WORDS if word in words)
        print(f"{f'scanned, {pages} page(s)':<24}{len(data):>10,}"
              f"{percentile(per_page, 0.5):>12.2f}{max(per_page):>12.2f}"
              f"{f'{found}/{len(SCAN_WORDS)}':>12}")

    print(f"\npeak RSS of this process: {peak_rss_mib():.0f} MiB (the worker is capped at "
          f"{pdftext.MEMORY_LIMIT // pdftext.MIB} MiB of address space; tesseract runs "
          "outside it, on our own page images)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    pool.close()


if __name__ == "__main__":
    main()
