"""The font the registry's own PDFs are drawn with (journals, archive documents, demo letters):
one with Cyrillic letters, from Debian's packages (fonts-dejavu-core)."""
from pathlib import Path

FONT_NAME = "RegistrySans"
FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                   "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                   "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")


def cyrillic_font():
    """Register the font with reportlab (once) and return its name. Raises RuntimeError when
    no font with Cyrillic letters is installed."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT_NAME, path))
            return FONT_NAME
    raise RuntimeError("no font with Cyrillic letters found (install fonts-dejavu-core)")
