"""The records office's desk (issue #10): tasks on registered letters (resolution, executor and
co-executors, due date by Mongolia's working-day calendar), their transitions per role, "My
tasks", control, the JSON list, the calendar, and an answer closing a task. Time moves by the
application's clock (`registry.clock`), never by sleeping."""
from datetime import date, datetime, timezone

import pytest

import pdfs
from conftest import CLOCK_START, PASSWORD, csrf_token, login, send_letter

SENDER, RECIPIENT = "1000001", "1000002"
NOW = CLOCK_START  # Thursday 2026-12-03, 10:00 in Ulaanbaatar


@pytest.fixture
def staff(in_site):
    """Executors of the recipient: exe_b (Дорж, мэргэжилтэн), exe_b2; and a clerk."""
    from registry.accounts import create_account

    with in_site() as site:
        create_account(site, "test", RECIPIENT, "exe_b", ("executor",), PASSWORD,
                       fullname="Дорж Бат", position="Ахлах мэргэжилтэн")
        create_account(site, "test", RECIPIENT, "exe_b2", ("executor",), PASSWORD,
                       fullname="Сараа Болд", position="Мэргэжилтэн")
        create_account(site, "test", RECIPIENT, "clerk_b", ("clerk",), PASSWORD)
    return ["exe_b", "exe_b2"]


@pytest.fixture
def delivered(testapp, api, pki, clock):
    """A letter sent from SENDER to RECIPIENT: (letter path, delivery path)."""
    letter = send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, SENDER))
    items = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=api("rm_b")).json["items"]
    return letter, items[0]["@id"].replace("http://registry.test", "")


def waiting(testapp, headers):
    """The one delivery of RECIPIENT's inbox waiting to be registered."""
    items = testapp.get(f"/orgs/{RECIPIENT}/inbox?state=delivered", headers=headers).json[
        "items"]
    assert len(items) == 1
    return items[0]["@id"].replace("http://registry.test", "")


def register(testapp, headers, delivery, status=200, **body):
    return testapp.post_json(delivery + "@workflow/register", body, headers=headers,
                             status=status)


def test_register_with_a_resolution_opens_a_task_counted_in_working_days(
        testapp, api, staff, delivered):
    _letter, delivery = delivered
    item = register(testapp, api("rm_b"), delivery, executor="exe_b",
                    co_executors=["exe_b2"], resolution="Судлаад хариу бэлтгэ",
                    due_days=5).json["item"]
    # Thursday 3 December + 5 working days: Fri 4, Mon 7, Tue 8, Wed 9, Thu 10.
    assert item["due_date"] == "2026-12-10"
    assert (item["executor"], item["co_executors"]) == ("exe_b", ["exe_b2"])
    assert item["resolution"] == "Судлаад хариу бэлтгэ"
    assert (item["task"], item["overdue"], item["answered_by"]) == ("open", False, [])


def test_a_due_date_in_the_past_is_refused_at_registration_and_nothing_changes(
        testapp, api, staff, delivered):
    _letter, delivery = delivered
    refused = register(testapp, api("rm_b"), delivery, executor="exe_b",
                       due_date="2026-12-02", status=400).json
    assert refused["error"]["code"] == "DUE_DATE_PAST"
    assert "2026-12-02" in refused["error"]["message"]
    item = testapp.get(delivery, headers=api("rm_b")).json
    assert (item["state"], item["task"], item["incoming_number"]) == ("delivered", None, None)


@pytest.mark.parametrize("login_name, code", [("aud_b", "UNKNOWN_EXECUTOR"),
                                              ("admin", "UNKNOWN_EXECUTOR"),
                                              ("clerk_b", "NOT_AN_EXECUTOR")])
def test_only_executors_and_records_managers_are_given_tasks(testapp, api, staff, delivered,
                                                             login_name, code):
    _letter, delivery = delivered
    if login_name == "aud_b":
        code = "NOT_AN_EXECUTOR"  # an auditor of the organisation, but not an executor
    refused = register(testapp, api("rm_b"), delivery, executor=login_name, status=400).json
    assert refused["error"]["code"] == code


def test_executor_lists_never_show_the_site_administrator_or_auditors(in_site, staff):
    from registry.desk import executors_of

    with in_site() as site:
        assert [u.login for u in executors_of(site, RECIPIENT)] == ["rm_b", "exe_b", "exe_b2"]
        assert [u.login for u in executors_of(site, SENDER)] == ["rm_a"]


def test_a_petition_is_due_in_30_calendar_days_and_extends_once_with_a_reason(
        testapp, api, staff, delivered, in_site):
    _letter, delivery = delivered
    item = register(testapp, api("rm_b"), delivery, executor="exe_b", kind="petition").json[
        "item"]
    # 3 December + 30 days = Saturday 2 January 2027: the next working day, Monday 4 January.
    assert (item["kind"], item["due_date"]) == ("petition", "2027-01-04")
    headers = api("rm_b")
    refused = testapp.post_json(delivery + "@task/extend", {"due_date": "2027-01-20"},
                                headers=headers, status=409).json
    assert [r["code"] for r in refused["reasons"]] == ["COMMENT_REQUIRED"]
    too_far = testapp.post_json(delivery + "@task/extend", {
        "due_date": "2027-02-10", "reason": "Нэмэлт судалгаа"}, headers=headers,
        status=400).json
    assert too_far["error"]["code"] == "INVALID_EXTENSION"
    done = testapp.post_json(delivery + "@task/extend", {
        "due_date": "2027-02-03", "reason": "Нэмэлт судалгаа"}, headers=headers).json
    assert (done["due_date"], done["extensions"]) == ("2027-02-03", 1)
    assert done["entry"]["comment"] == "Нэмэлт судалгаа"
    again = testapp.post_json(delivery + "@task/extend", {
        "due_date": "2027-02-04", "reason": "Дахин"}, headers=headers, status=409).json
    assert [r["code"] for r in again["reasons"]] == ["NO_MORE_EXTENSIONS"]
    with in_site() as site:
        record = site.audit.newest(0, 1, org=RECIPIENT)[0][0]
        assert (record.action, record.detail["comment"]) == ("task.extend", "Нэмэлт судалгаа")


def test_the_sender_sees_the_answer_is_overdue_at_the_recipient(
        testapp, api, staff, delivered, clock):
    letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_days=2)  # Mon 7 Dec
    login(testapp, "rm_a")
    assert testapp.get(letter).html.find(attrs={"data-urgency": "soon"}) is not None
    clock.to(datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc))
    page = testapp.get(letter)
    assert page.html.find(id="recipient-" + RECIPIENT).find(
        attrs={"data-urgency": "overdue"}) is not None
    item = testapp.get(delivery, headers=api("rm_b")).json
    assert (item["overdue"], item["due_soon"]) == (True, False)


def test_my_tasks_due_first_with_overdue_marked_and_paged(testapp, api, pki, staff, clock):
    headers = api("rm_b")
    paths = []
    for days in (9, 3, 6):
        send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, SENDER), subject=f"{days}")
        delivery = waiting(testapp, headers)
        register(testapp, headers, delivery, executor="exe_b", due_days=days)
        paths.append(delivery)
    mine = api("exe_b")
    listed = testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=mine).json
    assert [i["subject"] for i in listed["items"]] == ["3", "6", "9"]
    first = testapp.get(f"/orgs/{RECIPIENT}/@tasks?b_size=2", headers=mine).json
    assert (first["items_total"], len(first["items"])) == (3, 2)
    rest = testapp.get(first["batching"]["next"], headers=mine).json
    assert [i["subject"] for i in rest["items"]] == ["9"]
    clock.days(7)  # Thursday 10 December: the 3-working-day one (8 Dec) is overdue
    overdue = testapp.get(f"/orgs/{RECIPIENT}/@tasks?overdue=true", headers=mine).json
    assert [(i["subject"], i["overdue"]) for i in overdue["items"]] == [("3", True)]
    login(testapp, "exe_b")
    page = testapp.get(f"/orgs/{RECIPIENT}/@@tasks")
    rows = page.html.find(id="tasks").find("tbody").find_all("tr")
    assert [r["data-urgency"] for r in rows] == ["overdue", "soon", ""]
    assert "Дорж Бат" in page.text


def test_an_executor_sees_only_their_own_tasks_and_outsiders_get_404(testapp, api, staff,
                                                                    delivered):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b")
    assert testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=api("exe_b2")).json[
        "items_total"] == 0
    refused = testapp.get(f"/orgs/{RECIPIENT}/@tasks?executor=exe_b", headers=api("exe_b2"),
                          status=403).json
    assert refused["error"]["code"] == "FORBIDDEN"
    assert testapp.get(f"/orgs/{RECIPIENT}/@tasks?executor=exe_b",
                       headers=api("rm_b")).json["items_total"] == 1
    for outsider in ("rm_a", "admin"):
        testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=api(outsider), status=404)
    testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=api("aud_b"), status=403)
    login(testapp, "exe_b")
    testapp.get(f"/orgs/{RECIPIENT}/@@control", status=403)


def test_control_counts_open_and_overdue_tasks_by_executor(testapp, api, pki, staff, clock):
    headers = api("rm_b")
    for executor, days in (("exe_b", 1), ("exe_b", 10), ("exe_b2", 1)):
        send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, SENDER))
        delivery = waiting(testapp, headers)
        register(testapp, headers, delivery, executor=executor, due_days=days)
    clock.days(4)  # Monday 7 December: the two due on Friday 4 are overdue
    login(testapp, "rm_b")
    page = testapp.get(f"/orgs/{RECIPIENT}/@@control")
    assert page.html.find(id="count-open").text == "3"
    assert page.html.find(id="count-overdue").text == "2"
    rows = {r["data-login"]: [td.text.strip() for td in r.find_all("td")[1:]]
            for r in page.html.find(id="by-executor").find("tbody").find_all("tr")}
    assert rows == {"exe_b": ["2", "1"], "exe_b2": ["1", "1"]}


# Transitions per role ------------------------------------------------------------------------

TASK_CASES = [
    # (transition, body, login, status)
    ("assign", {"executor": "exe_b2"}, "rm_b", 200),
    ("assign", {"executor": "exe_b2"}, "exe_b", 403),
    ("assign", {"executor": "exe_b2"}, "aud_b", 403),
    ("assign", {"executor": "exe_b2"}, "rm_a", 404),
    ("set_resolution", {"resolution": "Шинэ заалт"}, "rm_b", 200),
    ("set_resolution", {"resolution": "Шинэ заалт"}, "clerk_b", 403),
    ("set_due", {"due_date": "2026-12-24"}, "rm_b", 200),
    ("set_due", {"due_date": "2026-12-24"}, "exe_b", 403),
    ("extend", {"due_date": "2026-12-24", "reason": "Судалгаа"}, "rm_b", 200),
    ("extend", {"due_date": "2026-12-24", "reason": "Судалгаа"}, "exe_b", 403),
    ("close", {"comment": "Утсаар хариулсан"}, "exe_b", 200),
    ("close", {"comment": "Утсаар хариулсан"}, "rm_b", 200),
    ("close", {"comment": "Утсаар хариулсан"}, "exe_b2", 409),
    ("close", {"comment": "Утсаар хариулсан"}, "aud_b", 403),
    ("close", {"comment": "Утсаар хариулсан"}, "admin", 404),
    ("answer", {}, "rm_b", 403),
]


@pytest.mark.parametrize("transition, body, who, status", TASK_CASES)
def test_task_transitions_per_role(testapp, api, staff, delivered, in_site, transition, body,
                                   who, status):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_days=5)
    answer = testapp.post_json(delivery + f"@task/{transition}", body, headers=api(who),
                               status=status).json
    with in_site() as site:
        actions = [r.action for r in site.audit.newest(0, 3, org=RECIPIENT)[0]]
    if status == 200:
        assert answer["history"][-1]["transition"] == transition
        assert actions[0] == f"task.{transition}"
    else:
        assert actions[0] != f"task.{transition}"


def test_closing_needs_a_note_and_takes_the_task_off_every_list(testapp, api, staff,
                                                                delivered):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_days=5)
    refused = testapp.post_json(delivery + "@task/close", {}, headers=api("exe_b"),
                                status=409).json
    assert [r["code"] for r in refused["reasons"]] == ["COMMENT_REQUIRED"]
    done = testapp.post_json(delivery + "@task/close", {"comment": "Мэдээлэл болгон авсан"},
                             headers=api("exe_b")).json
    assert (done["task"], done["note"], done["transitions"]) == ("done", "Мэдээлэл болгон авсан",
                                                                 [])
    assert testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=api("rm_b")).json[
        "items_total"] == 0


def test_reassigning_from_the_page_shows_name_and_position_never_the_login(
        testapp, api, staff, delivered):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", resolution="Хариу өг")
    login(testapp, "rm_b")
    page = testapp.get(delivery)
    assert page.html.find(id="task-executor").text.strip() == "Дорж Бат — Ахлах мэргэжилтэн"
    form = page.forms["task-assign"]
    form["executor"] = "exe_b2"
    form.submit(status=302)
    page = testapp.get(delivery)
    assert page.html.find(id="task-executor").text.strip() == "Сараа Болд — Мэргэжилтэн"
    task = testapp.get(delivery + "@task", headers=api("rm_b")).json
    assert task["history"][-1]["evidence"]["set_executors"]["executor"] == ["exe_b", "exe_b2"]


def test_registering_from_the_page_with_a_past_date_shows_the_reason(testapp, staff,
                                                                      delivered):
    _letter, delivery = delivered
    login(testapp, "rm_b")
    page = testapp.get(delivery)
    answer = testapp.post(delivery + "@@workflow", {
        "csrf_token": csrf_token(page), "transition": "register", "executor": "exe_b",
        "due_date": "2026-11-30"}, status=400)
    assert answer.html.find(id="refusals").find("li")["data-reason"] == "DUE_DATE_PAST"


def test_an_answer_sent_in_reply_closes_the_task(testapp, api, pki, staff, delivered, in_site):
    letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_days=5)
    delivery_id = delivery.rstrip("/").rsplit("/", 1)[-1]
    headers = api("rm_b")
    reply = testapp.post_json(f"/orgs/{RECIPIENT}/outbox", {
        "subject": "Хариу", "recipients": [SENDER], "in_reply_to": delivery_id},
        headers=headers, status=201).json["@id"]
    testapp.put(reply + "@file", pdfs.signed_letter(pki, RECIPIENT),
                headers={**headers, "Content-Type": "application/pdf"})
    testapp.post_json(reply + "@workflow/sign", {}, headers=headers)
    testapp.post_json(reply + "@workflow/send", {}, headers=headers)
    item = testapp.get(delivery, headers=headers).json
    assert (item["task"], item["answered_by"]) == ("done", [reply])
    task = testapp.get(delivery + "@task", headers=headers).json
    assert (task["history"][-1]["transition"], task["history"][-1]["actor"]) == ("answer",
                                                                                "rm_b")
    assert testapp.get(f"/orgs/{RECIPIENT}/@tasks", headers=headers).json["items_total"] == 0


# Letters that came on paper ------------------------------------------------------------------

def scan_page(text="Өргөдөл"):
    """A JPEG page, as a scanner makes it."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(image).text((40, 120), text, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


PAPER = {"subject": "Газрын маргааны тухай өргөдөл", "sender_name": "Б. Батбаяр",
         "channel": "post", "sender_address": "Баянзүрх дүүрэг, 3-р хороо",
         "sender_reference": "б/н", "sender_date": "2026-11-30"}


def post_paper(testapp, headers, pages, status=201, **fields):
    files = [("file", f"page{i}.jpg", page) for i, page in enumerate(pages)]
    return testapp.post(f"/orgs/{RECIPIENT}/inbox", {**PAPER, **fields},
                        upload_files=files, headers=headers, status=status)


def test_a_paper_letter_is_registered_in_the_same_journal_with_its_task(
        testapp, api, staff, delivered, in_site):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery)  # incoming 01/1
    answer = post_paper(testapp, api("rm_b"), [scan_page(), scan_page("2")], kind="petition",
                        executor="exe_b", resolution="Шалгаж хариул").json
    assert (answer["state"], answer["incoming_number"], answer["on_paper"]) == (
        "registered", "01/2", True)
    assert answer["paper"] == {"sender_name": "Б. Батбаяр",
                               "sender_address": "Баянзүрх дүүрэг, 3-р хороо",
                               "sender_reference": "б/н", "sender_date": "2026-11-30",
                               "channel": "post"}
    assert (answer["task"], answer["executor"], answer["due_date"]) == ("open", "exe_b",
                                                                        "2027-01-04")
    assert answer["signature_at_receipt"] is None
    pdf = testapp.get(answer["@id"] + "@file", headers=api("rm_b"))
    assert pdf.body.startswith(b"%PDF-")
    import pypdfium2

    assert len(pypdfium2.PdfDocument(pdf.body)) == 2
    with in_site() as site:
        action = site.audit.newest(0, 4, org=RECIPIENT)[0]
        assert [r.action for r in action][:3] == ["delivery.register_paper", "task.assign",
                                                  "delivery.paper"]
    login(testapp, "rm_b")
    page = testapp.get(answer["@id"].replace("http://registry.test", ""))
    assert page.html.find(id="on-paper") is not None
    assert page.html.find(id="signature") is None
    assert "Б. Батбаяр" in page.html.find(id="paper-sender").text


@pytest.mark.parametrize("who, status", [("rm_b", 201), ("clerk_b", 403), ("exe_b", 403),
                                         ("aud_b", 403), ("rm_a", 403), ("admin", 403)])
def test_only_the_records_manager_registers_paper_letters(testapp, api, staff, who, status):
    post_paper(testapp, api(who), [scan_page()], status=status)


@pytest.mark.parametrize("fields, pages, status, code", [
    ({"channel": "pigeon"}, None, 400, "INVALID_CHANNEL"),
    ({"sender_name": ""}, None, 400, "NAME_REQUIRED"),
    ({"sender_date": "2026-12-31"}, None, 400, "DATE_IN_FUTURE"),
    ({"due_date": "2026-12-01"}, None, 400, "DUE_DATE_PAST"),
    ({}, [b"GIF89a not a scan"], 415, "NOT_A_SCAN"),
])
def test_a_bad_paper_letter_is_refused_and_nothing_is_kept(testapp, api, staff, in_site, clock,
                                                           fields, pages, status, code):
    answer = post_paper(testapp, api("rm_b"), pages or [scan_page()], status=status, **fields)
    assert answer.json["error"]["code"] == code
    with in_site() as site:
        assert len(site.orgs[RECIPIENT]["inbox"]) == 0


def test_the_paper_form_registers_a_pdf_scan(testapp, staff, signed_pdf_b, clock):
    login(testapp, "rm_b")  # Thursday 3 December: ten working days on is Thursday 17
    form = testapp.get(f"/orgs/{RECIPIENT}/inbox/").click(href="@@paper").forms["paper-form"]
    for name in ("subject", "sender_name", "sender_address"):
        form[name] = PAPER[name]
    form["channel"] = "hand"
    form["file"] = [("scan.pdf", signed_pdf_b, "application/pdf")]
    form["executor"] = "exe_b"
    form["due_days"] = "10"
    page = form.submit(status=302).follow()
    assert page.html.find(id="incoming-number").text.strip() == "№ 01/1"
    assert page.html.find(id="task-due").text.split()[0] == "2026-12-17"


@pytest.fixture
def signed_pdf_b(pki):
    return pdfs.signed_letter(pki, RECIPIENT)


def test_an_answer_to_a_paper_letter_is_numbered_and_marked_to_be_posted(
        testapp, api, staff, signed_pdf_b):
    headers = api("rm_b")
    paper = post_paper(testapp, headers, [scan_page()], executor="exe_b", due_days=5).json
    reply = testapp.post_json(f"/orgs/{RECIPIENT}/outbox", {
        "subject": "Таны өргөдлийн хариу", "in_reply_to": paper["id"]}, headers=headers,
        status=201).json
    assert reply["post_to"] == {"name": "Б. Батбаяр", "address": "Баянзүрх дүүрэг, 3-р хороо"}
    testapp.put(reply["@id"] + "@file", signed_pdf_b,
                headers={**headers, "Content-Type": "application/pdf"})
    testapp.post_json(reply["@id"] + "@workflow/sign", {}, headers=headers)
    sent = testapp.post_json(reply["@id"] + "@workflow/send", {}, headers=headers).json["item"]
    assert (sent["state"], sent["outgoing_number"], sent["deliveries"]) == ("sent", "01/1", {})
    item = testapp.get(paper["@id"], headers=headers).json
    assert (item["task"], item["answered_by"]) == ("done", [reply["@id"]])
    login(testapp, "rm_b")
    page = testapp.get(reply["@id"].replace("http://registry.test", ""))
    assert "Б. Батбаяр" in page.html.find(id="post-to").text


def test_the_reply_form_of_a_paper_letter_names_its_sender(testapp, api, staff):
    """Its sender is outside the registry: the form names them and proposes no recipient
    (this was a 500)."""
    paper = post_paper(testapp, api("rm_b"), [scan_page()]).json
    login(testapp, "rm_b")
    form = testapp.get(f"/orgs/{RECIPIENT}/outbox/@@new", {"in_reply_to": paper["id"]})
    assert "Б. Батбаяр" in form.html.find(id="original").text
    assert form.forms["draft-form"]["recipients"].value == ""


def test_the_home_pages_mark_due_soon_and_overdue_for_executor_manager_and_sender(
        testapp, api, staff, delivered, clock):
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_days=2)  # Monday 7 Dec
    login(testapp, "exe_b")
    card = testapp.get("/").html.find(id="my-tasks-card")
    assert [b["data-urgency"] for b in card.find_all(attrs={"data-urgency": True})] == ["soon"]
    clock.days(5)  # Tuesday 8 December
    card = testapp.get("/").html.find(id="my-tasks-card")
    assert [b["data-urgency"] for b in card.find_all(attrs={"data-urgency": True})] == [
        "overdue"]
    login(testapp, "rm_b")
    assert testapp.get("/").html.find(id="control-card").find(
        attrs={"data-urgency": "overdue"}).text.split()[-1] == "1"
    login(testapp, "rm_a")
    assert testapp.get("/").html.find(id="awaited-card").find(
        attrs={"data-urgency": "overdue"}).text.split()[-1] == "1"


def test_the_records_manager_gives_an_account_its_position(testapp, in_site, staff):
    login(testapp, "rm_b")
    page = testapp.get("/users/exe_b2/")
    assert page.html.find(id="user-position").text == "Мэргэжилтэн"
    form = page.forms["edit-account"]
    form["position"] = "Ахлах мэргэжилтэн"
    form.submit("save", status=302)
    with in_site() as site:
        assert site.users["exe_b2"].position == "Ахлах мэргэжилтэн"
        record = site.audit.newest(0, 1)[0][0]
        assert record.detail == {"position": ["Мэргэжилтэн", "Ахлах мэргэжилтэн"]}


def test_evolve_12_puts_letters_registered_before_on_the_desk(testapp, api, staff, delivered,
                                                             in_site):
    from registry.resources.evolve import STEPS, evolve

    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, series="02")  # no task
    with in_site() as site:
        org = site.orgs[RECIPIENT]
        item = org["inbox"][delivery.rstrip("/").rsplit("/", 1)[-1]]
        # As generation 11 left it: an executor and a due date on the delivery, no desk.
        item.executor, item.response_due = "exe_b", date(2026, 12, 1)
        del org.desk
        del site.orgs[SENDER].desk
        del site.calendar
        site.generation = 11
        assert evolve(site, [step for step in STEPS if step[0] <= 12]) == [12]
        assert (item.task.state, item.task.executor, item.task.due) == ("open", "exe_b",
                                                                        date(2026, 12, 1))
        assert org.desk.page(executor="exe_b") == ([item.__name__], 1)
        assert site.orgs[SENDER].desk.awaited_count(before="2026-12-03") == 1


def test_a_paper_letter_is_found_by_search_like_any_letter(testapp, api, staff, signed_pdf_b):
    headers = api("rm_b")
    answer = testapp.post(f"/orgs/{RECIPIENT}/inbox", PAPER,
                          upload_files=[("file", "scan.pdf", signed_pdf_b)], headers=headers,
                          status=201).json
    assert answer["on_paper"] is True
    found = testapp.get("/@search", params={"q": "маргааны"}, headers=headers).json
    assert [item["@id"] for item in found["items"]] == [answer["@id"]]
