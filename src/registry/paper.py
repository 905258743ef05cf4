"""Letters that arrive on paper: entered by the records manager from a scan.

The scan is a PDF, or JPEG/PNG/TIFF pages made into one PDF by img2pdf (the images are
embedded as they are, never re-encoded). The letter becomes a PaperLetter with one Delivery in
the organisation's inbox, registered at once (`register_paper`: the next incoming number of
the same journal, and a task like any registered letter); its text is extracted or OCR'd and
indexed like every other letter's. It carries no signature and none is asked for.
"""
import img2pdf

from registry import exchange, workdays
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.letter import CHANNELS, Delivery, PaperLetter, StoredPDF
from registry.resources.organisation import validate_name
from registry.safetext import display_filename, one_line
from registry.workflow import engine

ADDRESS_MAX = 500
REFERENCE_MAX = 100
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")


def scan_to_pdf(pages, max_size):
    """One PDF from `pages` (a list of bytes): a single PDF as it is, or image pages made into
    one PDF. Raises RegistryError: 413 over `max_size`, 415 for anything else."""
    if not pages:
        raise RegistryError("SCAN_REQUIRED", _("Attach the scan of the letter."), field="file")
    if sum(len(page) for page in pages) > max_size:
        raise RegistryError("TOO_LARGE",
                            _("file-too-large", default="The file is larger than ${mb} MB.",
                              mapping={"mb": max_size // (1024 * 1024)}),
                            field="file", status=413)
    if len(pages) == 1 and b"%PDF-" in pages[0][:1024]:
        return pages[0]
    if not all(page.startswith(IMAGE_MAGIC) for page in pages):
        raise _not_a_scan()
    try:
        data = img2pdf.convert(pages)
    except Exception:  # img2pdf's errors (unreadable, alpha channel, ...) and Pillow's
        raise _not_a_scan() from None
    if len(data) > max_size:
        raise RegistryError("TOO_LARGE",
                            _("file-too-large", default="The file is larger than ${mb} MB.",
                              mapping={"mb": max_size // (1024 * 1024)}),
                            field="file", status=413)
    return data


def _not_a_scan():
    return RegistryError("NOT_A_SCAN", _("A scan is one PDF, or JPEG, PNG or TIFF pages "
                                         "(without transparency)."), field="file", status=415)


def clean_channel(value):
    if value not in CHANNELS:
        raise RegistryError("INVALID_CHANNEL",
                            _("invalid-channel", default="The letter came by one of: ${channels}.",
                              mapping={"channels": ", ".join(CHANNELS)}), field="channel")
    return value


def register_paper(org, pages, filename, fields, ctx, max_size):
    """Enter a paper letter into `org`'s inbox and register it; return its Delivery.

    `fields`: subject, sender_name, channel (required); sender_address, sender_reference,
    sender_date; and the task's options (executor, co_executors, resolution, due_date or
    due_days, kind) and series, which go to the transition as `ctx.options`. Raises
    RegistryError / TransitionRefused; the caller's transaction must then be aborted."""
    site = ctx.site
    subject = exchange.clean_subject(fields.get("subject"))
    if not subject:
        raise RegistryError("SUBJECT_REQUIRED", _("The letter has no subject."),
                            field="subject")
    sender_name = validate_name(fields.get("sender_name"), field="sender_name")
    channel = clean_channel(fields.get("channel"))
    sender_date = None
    if fields.get("sender_date"):
        sender_date = workdays.clean_day(fields["sender_date"], field="sender_date")
        if sender_date > exchange.local_date(ctx):
            raise RegistryError("DATE_IN_FUTURE", _("The sender's date cannot be later than "
                                                    "today."), field="sender_date")
    data = scan_to_pdf(pages, max_size)
    paper = PaperLetter(org.regno, subject, sender_name, channel, ctx.actor,
                        sender_address=one_line(fields.get("sender_address"), "sender_address",
                                              ADDRESS_MAX),
                        sender_reference=one_line(fields.get("sender_reference"),
                                                "sender_reference", REFERENCE_MAX),
                        sender_date=sender_date, now=ctx.now)
    paper.pdf = StoredPDF(data, display_filename(filename), ctx.actor, now=ctx.now)
    delivery = org["inbox"].add_item(Delivery(paper, org.regno, now=ctx.now), now=ctx.now)
    paper.deliveries[org.regno] = delivery
    site.audit.append(ctx.actor, "delivery.paper", target=exchange._path(delivery),
                      org=org.regno, detail={"channel": channel, "sender": sender_name,
                                             "subject": subject, "sha256": paper.pdf.sha256})
    engine().fire(delivery, "register_paper", ctx, system=True)
    return delivery
