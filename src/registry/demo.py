"""Demo data: a directory of about 1,050 city organisations and a few businesses, with demo
accounts for every role, so that a newcomer sees a living registry.

The names are generated, in the patterns of the capital's real bodies (district governors'
offices, khoroo offices, city departments, schools, kindergartens, health centres); the
registration numbers are fictional. Seeding is idempotent: it adds what is missing only.
"""
from registry.accounts import create_account
from registry.directory import register_organisation

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
        ("bzd", district, ("records_manager", "signatory"), "Пүрэвсүрэн Мөнхзул"),
        ("school1", school, ("records_manager", "signatory"), "Цэцэгмаа Ариунаа"),
        ("khukh", business, ("records_manager", "signatory"), "Хөх тэнгэр трейд ХХК"),
    ]


def seed(site, limits=None):
    """Add whatever of the demo directory and accounts `site` lacks. Returns
    {"orgs": added, "accounts": added}. Runs in the caller's transaction."""
    added_orgs = 0
    for number, name, name_en, kind, parent in directory():
        if number not in site.orgs:
            register_organisation(site, ACTOR, number, name, kind, name_en=name_en, parent=parent)
            added_orgs += 1
    added_accounts = 0
    for login, number, roles, fullname in demo_accounts():
        if login not in site.users:
            create_account(site, ACTOR, number, login, roles, DEMO_PASSWORD, fullname=fullname,
                           limits=limits, may_grant_admin=True)
            added_accounts += 1
    return {"orgs": added_orgs, "accounts": added_accounts}
