"""Demo data: a directory of about 1,050 city organisations and a few businesses, with demo
accounts for every role, so that a newcomer sees a living registry.

The names are generated, in the patterns of the capital's real bodies (district governors'
offices, khoroo offices, city departments, schools, kindergartens, health centres); the
registration numbers are fictional. Seeding is idempotent: it adds what is missing only.
"""
from datetime import date, datetime, timedelta, timezone
from io import BytesIO

from registry import exchange, paper
from registry.accounts import create_account
from registry.demo_pki import DemoPKI
from registry.directory import register_organisation
from registry.fonts import cyrillic_font
from registry.notifications import dispatch
from registry.security.principals import principals_for

DEMO_PASSWORD = "registry-demo"
ACTOR = "demo"

DISTRICTS = [
    # (Mongolian, English, number of khoroos)
    ("Багануур", "Baganuur", 5),
    ("Багахангай", "Bagakhangai", 2),
    ("Баянгол", "Bayangol", 34),
    ("Баянзүрх", "Bayanzurkh", 43),
    ("Налайх", "Nalaikh", 8),
    ("Сонгинохайрхан", "Songinokhairkhan", 43),
    ("Сүхбаатар", "Sukhbaatar", 20),
    ("Хан-Уул", "Khan-Uul", 25),
    ("Чингэлтэй", "Chingeltei", 24),
]

CITY_BODIES = [
    ("Нийслэлийн Засаг даргын Тамгын газар", "Capital City Governor's Office"),
    ("Нийслэлийн Боловсролын газар", "Capital City Education Department"),
    ("Нийслэлийн Эрүүл мэндийн газар", "Capital City Health Department"),
    ("Нийслэлийн Санхүү, төрийн сангийн хэлтэс", "Capital City Finance and Treasury Division"),
    ("Нийслэлийн Татварын газар", "Capital City Tax Department"),
    ("Нийслэлийн Өмчийн харилцааны газар", "Capital City Property Relations Department"),
    ("Нийслэлийн Газар зохион байгуулалтын алба", "Capital City Land Administration Office"),
    ("Нийслэлийн Хот байгуулалт, хөгжлийн газар", "Capital City Urban Development Department"),
    ("Нийслэлийн Нийтийн тээврийн газар", "Capital City Public Transport Department"),
    ("Нийслэлийн Авто замын газар", "Capital City Roads Department"),
    ("Нийслэлийн Байгаль орчны газар", "Capital City Environment Department"),
    ("Нийслэлийн Онцгой байдлын газар", "Capital City Emergency Management Department"),
    ("Нийслэлийн Цагдаагийн газар", "Capital City Police Department"),
    ("Нийслэлийн Мэргэжлийн хяналтын газар", "Capital City Inspection Agency"),
    ("Нийслэлийн Статистикийн газар", "Capital City Statistics Department"),
    ("Нийслэлийн Архивын газар", "Capital City Archives"),
    ("Нийслэлийн Соёл урлагийн газар", "Capital City Culture and Arts Department"),
    ("Нийслэлийн Биеийн тамир, спортын газар", "Capital City Sports Department"),
    ("Нийслэлийн Хөдөлмөр, халамжийн үйлчилгээний газар",
     "Capital City Labour and Welfare Services Department"),
    ("Нийслэлийн Гэр бүл, хүүхэд, залуучуудын хөгжлийн газар",
     "Capital City Family, Child and Youth Development Department"),
    ("Нийслэлийн Хүнс, хөдөө аж ахуйн газар", "Capital City Food and Agriculture Department"),
    ("Нийслэлийн Аялал жуулчлалын газар", "Capital City Tourism Department"),
    ("Нийслэлийн Хөрөнгө оруулалтын газар", "Capital City Investment Department"),
    ("Нийслэлийн Цахим хөгжлийн газар", "Capital City Digital Development Department"),
    ("Нийслэлийн Хүний нөөцийн хэлтэс", "Capital City Human Resources Division"),
    ("Нийслэлийн Хууль зүйн хэлтэс", "Capital City Legal Division"),
    ("Нийслэлийн Дотоод аудитын хэлтэс", "Capital City Internal Audit Division"),
    ("Нийслэлийн Худалдан авах ажиллагааны газар", "Capital City Procurement Department"),
    ("Нийслэлийн Ус сувгийн удирдах газар", "Ulaanbaatar Water Supply and Sewerage Authority"),
    ("Нийслэлийн Дулааны сүлжээ", "Ulaanbaatar Heating Network"),
    ("Нийслэлийн Цахилгаан түгээх сүлжээ", "Ulaanbaatar Electricity Distribution Network"),
    ("Нийслэлийн Нийтийн аж ахуйн газар", "Capital City Public Utilities Department"),
    ("Нийслэлийн Агаарын чанарын алба", "Capital City Air Quality Office"),
    ("Нийслэлийн Хог хаягдлын алба", "Capital City Waste Management Office"),
    ("Нийслэлийн Иргэний бүртгэлийн газар", "Capital City Civil Registration Department"),
    ("Нийслэлийн Шүүхийн шийдвэр гүйцэтгэх газар", "Capital City Court Decision Enforcement"),
    ("Нийслэлийн Иргэдийн Төлөөлөгчдийн Хурлын Тамгын газар",
     "Capital City Citizens' Representatives Khural Secretariat"),
    ("Нийслэлийн Нэгдсэн эмнэлэг", "Capital City General Hospital"),
    ("Нийслэлийн Хүүхдийн эмнэлэг", "Capital City Children's Hospital"),
    ("Нийслэлийн Амаржих газар", "Capital City Maternity Hospital"),
]

DISTRICT_UNITS = [
    ("Боловсролын хэлтэс", "Education Division"),
    ("Эрүүл мэндийн төв", "Health Centre"),
    ("Татварын хэлтэс", "Tax Division"),
    ("Газрын алба", "Land Office"),
    ("Хөдөлмөр, халамжийн үйлчилгээний хэлтэс", "Labour and Welfare Division"),
    ("Онцгой байдлын хэлтэс", "Emergency Division"),
    ("Цагдаагийн хэлтэс", "Police Division"),
    ("Иргэний бүртгэлийн хэлтэс", "Civil Registration Division"),
]

BUSINESSES = [
    ("Хөх тэнгэр трейд ХХК", "Khukh Tenger Trade LLC"),
    ("Алтан говь констракшн ХХК", "Altan Gobi Construction LLC"),
    ("Мөнх наран технологи ХХК", "Munkh Naran Technology LLC"),
    ("Тэнгэр даатгал ХК", "Tenger Insurance JSC"),
    ("Өгөөж хүнс ХХК", "Ugooj Food LLC"),
    ("Сүлд ложистик ХХК", "Suld Logistics LLC"),
]

SCHOOLS = 181
KINDERGARTENS = 340


def ordinal(n):
    """Mongolian ordinal suffix word for `n` ("1 дүгээр", "2 дугаар"), by the vowel harmony of
    the number's last spoken word."""
    if n % 10:
        last = n % 10
        front = last in (1, 4, 9)  # нэг, дөрөв, ес
    elif n % 100:
        front = (n // 10) % 10 in (4, 9)  # дөч, ер
    else:
        front = False  # зуу, мянга
    return f"{n} {'дүгээр' if front else 'дугаар'}"


def directory():
    """Yield (regno, name, name_en, kind, parent_regno) for the whole demo directory, parents
    before their units. Deterministic: the same call gives the same directory."""
    counter = iter(range(1000000))

    def regno(block):
        return f"{block}{next(counter):06d}"

    operator = None
    for name, name_en in CITY_BODIES:
        number = regno(2)
        operator = operator or number
        yield number, name, name_en, "government", None
    for district, district_en, khoroos in DISTRICTS:
        office = regno(3)
        yield office, f"{district} дүүргийн Засаг даргын Тамгын газар", \
            f"{district_en} District Governor's Office", "government", None
        for unit, unit_en in DISTRICT_UNITS:
            yield regno(3), f"{district} дүүргийн {unit}", f"{district_en} District {unit_en}", \
                "government", office
        for k in range(1, khoroos + 1):
            yield regno(4), f"{district} дүүргийн {ordinal(k)} хорооны Засаг даргын Тамгын газар", \
                f"{district_en} District Khoroo {k} Governor's Office", "government", office
            yield regno(4), f"{district} дүүргийн {ordinal(k)} хорооны Өрхийн эрүүл мэндийн төв", \
                f"{district_en} District Khoroo {k} Family Health Centre", "government", None
    for n in range(1, SCHOOLS + 1):
        yield regno(5), f"Нийслэлийн Ерөнхий боловсролын {ordinal(n)} сургууль", \
            f"Capital City General Education School No. {n}", "government", None
    for n in range(1, KINDERGARTENS + 1):
        district, district_en, _k = DISTRICTS[n % len(DISTRICTS)]
        yield regno(6), f"{district} дүүргийн {ordinal(n)} цэцэрлэг", \
            f"{district_en} District Kindergarten No. {n}", "government", None
    for name, name_en in BUSINESSES:
        yield regno(7), name, name_en, "business", None


def _first(kind_filter=None, name_part=None):
    for number, name, _en, kind, _parent in directory():
        if (kind_filter is None or kind == kind_filter) and (name_part is None or name_part in name):
            return number
    raise LookupError(name_part)


def demo_accounts():
    """(login, regno, roles, full name) of the demo accounts."""
    city = _first(name_part="Нийслэлийн Засаг даргын Тамгын газар")
    district = _first(name_part="Баянзүрх дүүргийн Засаг даргын")
    school = _first(name_part="Ерөнхий боловсролын 1 дүгээр")
    business = _first(kind_filter="business")
    return [
        ("admin", city, ("site_admin",), "Системийн администратор"),
        ("records", city, ("records_manager",), "Бат-Эрдэнэ Оюунчимэг"),
        ("signer", city, ("signatory",), "Ганбаатар Төмөрбаатар"),
        ("clerk", city, ("clerk",), "Должинсүрэн Сарангэрэл"),
        ("auditor", city, ("auditor",), "Нямдорж Энхжаргал"),
        ("executor1", city, ("executor",), "Дамдинсүрэн Ганзориг"),
        ("executor2", city, ("executor",), "Алтанхуяг Номин"),
        ("bzd", district, ("records_manager", "signatory"), "Пүрэвсүрэн Мөнхзул"),
        ("school1", school, ("records_manager", "signatory"), "Цэцэгмаа Ариунаа"),
        ("khukh", business, ("records_manager", "signatory"), "Хөх тэнгэр трейд ХХК"),
    ]


#: Positions shown beside the names on the desk.
POSITIONS = {
    "records": "Бичиг хэргийн эрхлэгч",
    "executor1": "Төсвийн бодлогын ахлах мэргэжилтэн",
    "executor2": "Иргэдийн өргөдөл хариуцсан мэргэжилтэн",
}


def seed(site, limits=None):
    """Add whatever of the demo directory and accounts `site` lacks. Returns
    {"orgs": added, "accounts": added}. Runs in the caller's transaction (see also
    `seed_letters`)."""
    added_orgs = 0
    for number, name, name_en, kind, parent in directory():
        if number not in site.orgs:
            register_organisation(site, ACTOR, number, name, kind, name_en=name_en, parent=parent)
            added_orgs += 1
    added_accounts = 0
    for login, number, roles, fullname in demo_accounts():
        if login not in site.users:
            create_account(site, ACTOR, number, login, roles, DEMO_PASSWORD, fullname=fullname,
                           limits=limits, may_grant_admin=True,
                           position=POSITIONS.get(login, ""))
            added_accounts += 1
    return {"orgs": added_orgs, "accounts": added_accounts}


# Letters -----------------------------------------------------------------------------------

LETTERS = [
    # (sender login, recipient regno key, subject, body, what happens)
    ("records", "district", "2027 оны төсвийн төслийн тухай",
     "Нийслэлийн 2027 оны төсвийн төслийг боловсруулахтай холбогдуулан дүүргийн төсвийн "
     "саналыг 2026 оны 12 дугаар сарын 15-ны дотор ирүүлнэ үү.", "received"),
    ("bzd", "city", "Хорооны Засаг даргын Тамгын газрын барилгын засварын тухай",
     "Баянзүрх дүүргийн 3 дугаар хорооны Засаг даргын Тамгын газрын барилгын дээврийн "
     "засварт шаардагдах хөрөнгийн асуудлыг шийдвэрлэж өгнө үү.", "sent"),
    ("khukh", "city", "Тендерийн баримт бичгийн тодруулгын тухай",
     "Нийслэлийн авто замын засварын тендерийн баримт бичгийн 4.2 дахь заалтын тодруулгыг "
     "хүргүүлж байна.", "sent"),
    ("school1", "city", "Сургуулийн дулааны системийн тухай",
     "Манай сургуулийн дулааны системийн засварын ажлыг өвлийн улирлаас өмнө хийж гүйцэтгэх "
     "талаар дэмжлэг үзүүлнэ үү.", "signed"),
    ("records", "district", "Агаарын бохирдлыг бууруулах арга хэмжээний тухай",
     "Агаарын бохирдлыг бууруулах 2026-2027 оны өвлийн арга хэмжээний төлөвлөгөөг "
     "хүргүүлж байна. Хэрэгжилтийг сар бүр мэдээлнэ үү.", "draft"),
]


#: Letters to the city on the desk: (sender login, subject, body, sent days ago, the task).
DESK_LETTERS = [
    ("bzd", "Гэр хорооллын авто замын хөрөнгө оруулалтын тухай",
     "Баянзүрх дүүргийн 12 дугаар хорооны гэр хорооллын авто замын хөрөнгө оруулалтын "
     "асуудлыг шийдвэрлэж өгнө үү.", 24,
     {"executor": "executor1", "resolution": "Төсвийн төсөлд тусгах боломжийг судалж, хариу "
      "өгөх.", "due_days": 10, "kind": "request"}),
    ("school1", "Хичээлийн байрны өргөтгөлийн тухай",
     "Сургуулийн сурагчдын тоо нэмэгдсэнтэй холбогдуулан хичээлийн байрны өргөтгөлийн асуудлыг "
     "шийдвэрлэж өгнө үү.", 3,
     {"executor": "executor1", "co_executors": ["executor2"], "resolution": "Боловсролын "
      "газартай хамтран судлах.", "due_days": 5, "kind": "request"}),
    ("khukh", "Худалдааны талбайн түрээсийн тухай",
     "Манай компанийн түрээсийн гэрээг сунгах хүсэлтийг хүргүүлж байна.", 0,
     {"executor": "executor2", "resolution": "Өмчийн харилцааны газраас санал авч хариулах.",
      "due_days": 15, "kind": "request"}),
]
#: A letter that came on paper to the city, with its task (a citizen's petition).
PAPER_LETTER = {"subject": "Газар эзэмших эрхийн маргааны тухай өргөдөл",
                "sender_name": "Батбаяр Болормаа", "channel": "post",
                "sender_address": "Сүхбаатар дүүрэг, 6 дугаар хороо, 14-р байр",
                "sender_reference": "б/н"}



def render_letter(sender, recipient, subject, body, signatory, when=None):
    """An official letter as a PDF (A4): letterhead, date, addressee, subject, text, signature
    line. Returns its bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = cyrillic_font()
    when = when or date.today()
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    page.setTitle(subject)
    page.setAuthor(sender)
    width, height = A4
    page.setFont(font, 13)
    page.drawCentredString(width / 2, height - 30 * mm, sender.upper())
    page.line(25 * mm, height - 34 * mm, width - 25 * mm, height - 34 * mm)
    page.setFont(font, 10)
    page.drawString(25 * mm, height - 42 * mm, when.strftime("%Y.%m.%d"))
    page.drawRightString(width - 25 * mm, height - 50 * mm, recipient)
    page.setFont(font, 11)
    page.drawString(25 * mm, height - 64 * mm, subject)
    text = page.beginText(25 * mm, height - 80 * mm)
    text.setFont(font, 11)
    text.setLeading(16)
    for paragraph in body.split("\n"):
        line = ""
        for word in paragraph.split():
            if page.stringWidth(f"{line} {word}", font, 11) > width - 50 * mm:
                text.textLine(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        text.textLine(line)
    page.drawText(text)
    page.drawString(25 * mm, 60 * mm, signatory)
    page.showPage()
    page.save()
    return out.getvalue()


def _sign_with_demo_key(pdf, demo_pki, regno):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(field_name="Signature",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    return signers.sign_pdf(writer, meta, signer=demo_pki.signer(regno)).getvalue()


def prepare_pki(data_dir):
    """Make the demo PKI (and SoftHSM tokens, when SoftHSM is installed) for the demo
    organisations that have accounts. Returns (DemoPKI, softhsm conf path or None)."""
    names = {number: name for number, name, _en, _kind, _parent in directory()}
    pki = DemoPKI(data_dir)
    conf = pki.ensure([(regno, names[regno]) for regno in demo_org_regnos().values()])
    return pki, conf


def demo_org_regnos():
    """{"city": regno, "district": ..., "school": ..., "business": ...} of the demo accounts."""
    accounts = {login: regno for login, regno, _r, _n in demo_accounts()}
    return {"city": accounts["records"], "district": accounts["bzd"],
            "school": accounts["school1"], "business": accounts["khukh"]}


def seed_letters(site, gate, demo_pki, settings=None):
    """Exchange a few demo letters between the demo organisations (once): received, awaiting
    registration, signed and not sent, a draft. Returns how many were made."""
    from pyramid.authorization import ACLHelper

    regnos = demo_org_regnos()
    if len(site.orgs[regnos["city"]]["outbox"]) or len(site.orgs[regnos["city"]]["inbox"]):
        return 0
    # The city's letters signed on the server carry their verification code and QR code.
    site.orgs[regnos["city"]].stamp_verification = True

    def ctx(login, **kw):
        user = site.users[login]
        return exchange.context(
            site, login, lambda perm, obj: bool(ACLHelper().permits(
                obj, principals_for(user), perm)), gate=gate, settings=settings or {},
            notify=dispatch, **kw)

    # The desk's letters came days ago: registered first, so that every journal's numbers
    # follow the time they were given, as they do in use.
    made = seed_desk(site, ctx, demo_pki)
    first = None
    for login, to, subject, body, outcome in LETTERS:
        user = site.users[login]
        sender = site.orgs[user.org]
        recipient = site.orgs[regnos[to]]
        letter = exchange.create_draft(site, login, sender, subject=subject,
                                       recipients=[recipient.regno],
                                       response_due=date.today() + timedelta(days=14))
        pdf = render_letter(sender.name, recipient.name, subject, body, user.fullname)
        if outcome != "draft":
            pdf = _sign_with_demo_key(pdf, demo_pki, sender.regno)
        exchange.attach_pdf(site, login, letter, pdf, "letter.pdf", 25 * 1024 * 1024)
        made += 1
        first = first or letter
        if outcome == "draft":
            continue
        exchange.transition(letter, "sign", ctx(login))
        if outcome == "signed":
            continue
        exchange.transition(letter, "send", ctx(login))
        if outcome == "received":
            receiver = "bzd" if to == "district" else "records"
            exchange.transition(letter.deliveries[recipient.regno], "register",
                                ctx(receiver, options={"executor": receiver}))
    return made + _seed_thread(site, first, ctx, demo_pki)


THREAD = [
    # (login, subject, body): each answers the letter before it, the first answers the first
    # of LETTERS (the city's budget letter, registered by the district).
    ("bzd", "Дүүргийн саналыг хүргүүлэх тухай",
     "Таны 12 дугаар сарын албан бичгийн дагуу дүүргийн саналыг хавсралтаар хүргүүлж "
     "байна."),
    ("records", "Хөрөнгө оруулалтын жагсаалтын тодруулгын тухай",
     "Дүүргийн саналыг хүлээн авлаа. Хөрөнгө оруулалтын жагсаалтыг тодруулж ирүүлнэ үү."),
]


def _seed_thread(site, first, ctx, demo_pki):
    """A thread of three letters: the city writes to the district (the first of LETTERS), the
    district answers, the city answers the answer (delivered, awaiting registration). Each
    answer is registered on arrival except the last. Returns the letters made."""
    answered = first.deliveries[first.recipients[0]]
    for index, (login, subject, body) in enumerate(THREAD):
        user = site.users[login]
        sender, recipient = site.orgs[user.org], site.orgs[answered.sender]
        letter = exchange.create_draft(site, login, sender, subject=subject,
                                       recipients=[recipient.regno],
                                       in_reply_to=answered.__name__)
        pdf = _sign_with_demo_key(render_letter(sender.name, recipient.name, subject, body,
                                                user.fullname), demo_pki, sender.regno)
        exchange.attach_pdf(site, login, letter, pdf, "letter.pdf", 25 * 1024 * 1024)
        exchange.transition(letter, "sign", ctx(login))
        exchange.transition(letter, "send", ctx(login))
        answered = letter.deliveries[recipient.regno]
        if index < len(THREAD) - 1:
            receiver = next(name for name, regno, roles, _name in demo_accounts()
                            if regno == recipient.regno and "records_manager" in roles)
            exchange.transition(answered, "register", ctx(receiver))
    return len(THREAD)




def seed_desk(site, ctx, demo_pki):
    """Letters on the city's desk: registered with resolutions and executors, one overdue, one
    due soon, one in good time; and a petition that came on paper. Each is sent and registered
    as of the day it came, so that its history tells the truth. Returns how many."""
    city = site.orgs[demo_org_regnos()["city"]]
    now = datetime.now(timezone.utc)
    for login, subject, body, days_ago, task in DESK_LETTERS:
        then = now - timedelta(days=days_ago)
        user = site.users[login]
        sender = site.orgs[user.org]
        letter = exchange.create_draft(site, login, sender, subject=subject,
                                       recipients=[city.regno])
        pdf = _sign_with_demo_key(render_letter(sender.name, city.name, subject, body,
                                                user.fullname, when=then.date()),
                                  demo_pki, sender.regno)
        exchange.attach_pdf(site, login, letter, pdf, "letter.pdf", 25 * 1024 * 1024)
        exchange.transition(letter, "sign", ctx(login, now=then))
        exchange.transition(letter, "send", ctx(login, now=then))
        exchange.transition(letter.deliveries[city.regno], "register",
                            ctx("records", now=then, options=task))
    scan = render_letter(PAPER_LETTER["sender_name"], city.name, PAPER_LETTER["subject"],
                         "Миний эзэмшлийн газрын хилийн маргааныг шийдвэрлэж өгнө үү.",
                         PAPER_LETTER["sender_name"])
    paper.register_paper(city, [scan], "өргөдөл.pdf", PAPER_LETTER, ctx(
        "records", options={"executor": "executor2", "kind": "petition",
                            "resolution": "Газар зохион байгуулалтын албатай хамтран "
                                          "шийдвэрлэх."}), 25 * 1024 * 1024)
    return len(DESK_LETTERS) + 1
