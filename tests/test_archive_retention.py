"""Retention: classes of the file plan's series, the disposal list, approval (audited), holds
(never disposed of), what disposal does to the organisation's copy and to the shared file; the
evolve step that brings existing data to the archive's schema."""
import time
from datetime import datetime, timezone

import pytest

import pdfs
from archive_letters import RECIPIENT, SENDER, exchanged, gate_for
from conftest import JSON, csrf_token, login
from registry.archive import retention as rt
from registry.errors import RegistryError
from registry.resources.evolve import evolve
from registry.workflow.engine import object_path

OLD, RECENT = 2019, 2025
THIS_YEAR = datetime.now(timezone.utc).year


@pytest.fixture
def gate(trust_dir):
    return gate_for(trust_dir)


@pytest.fixture
def letters(in_site, gate, pki):
    """Series "09" kept 5 years by both parties: 3 letters of OLD (past their term) and 1 of
    RECENT (not yet); returns their ids."""
    pdf = pdfs.signed_letter(pki, SENDER)
    with in_site() as site:
        for regno, user in ((SENDER, "rm_a"), (RECIPIENT, "rm_b")):
            rt.set_retention(site, user, site.orgs[regno], "09", "5", "Лавлагаа, мэдээлэл")
        old = exchanged(site, gate, pdf, OLD, count=3, series="09")
        recent = exchanged(site, gate, pdf, RECENT, count=1, series="09")
        return {"old": [letter.__name__ for letter in old], "recent": recent[0].__name__}


def _post(app, url, page, **fields):
    return app.post(url, {"csrf_token": csrf_token(page), **fields}, status="*")


def test_retention_classes_are_set_by_the_records_manager_and_audited(login_as, in_site):
    app = login_as("rm_a")
    page = app.get(f"/orgs/{SENDER}/handovers/@@retention")
    form = page.forms["retention-form"]
    form["series"], form["title"], form["kind"], form["years"] = "05", "Тушаал", "temporary", "10"
    form.submit(status=303)
    bad = _post(app, f"/orgs/{SENDER}/handovers/@@set-retention", page, series="06",
                kind="temporary", years="0")
    assert bad.status_int == 400
    assert bad.html.find(id="retention-error")["data-code"] == "INVALID_RETENTION"
    page = app.get(f"/orgs/{SENDER}/handovers/@@retention")
    row = page.html.find(id="file-plan").find("tr", attrs={"data-series": "05"})
    assert row["data-retention"] == "temporary:10"
    with in_site() as site:
        plan = site.orgs[SENDER].retention
        assert plan.rule("05").years == 10 and plan.rule("06").permanent  # unclassified
        record = site.audit.newest(0, 5, org=SENDER)[0]
        assert [r.action for r in record].count("retention.set") == 1
        assert record[0].detail == {"series": "05", "title": "Тушаал", "from": "permanent",
                                    "to": "temporary:10"}
    login_as("clerk_a").get(f"/orgs/{SENDER}/handovers/@@retention", status=403)


@pytest.mark.parametrize("value, expected", [("permanent", "permanent"), ("7", "temporary:7"),
                                             ("temporary:3", "temporary:3")])
def test_retention_values(value, expected):
    assert rt.clean_retention(value) == expected


@pytest.mark.parametrize("value", ["", "0", "101", "forever", "temporary:x", "-3"])
def test_bad_retention_values_are_refused(value):
    with pytest.raises(RegistryError) as info:
        rt.clean_retention(value)
    assert info.value.code == "INVALID_RETENTION"


def test_disposal_list_holds_and_approval(in_site, letters, login_as, testapp):
    held = letters["old"][0]
    with in_site() as site:
        org = site.orgs[SENDER]
        groups = rt.disposal_list(org, THIS_YEAR)
        assert [(g.series, g.year, g.eligible, g.held) for g in groups] == [("09", OLD, 3, 0)]
        rt.place_hold(site, "rm_a", org, f"outbox/{held}", "Шүүхийн маргаан")
        with pytest.raises(RegistryError) as info:
            rt.place_hold(site, "rm_a", org, f"outbox/{held}", "дахин")
        assert info.value.code == "ALREADY_HELD"
    app = login_as("rm_a")
    page = app.get(f"/orgs/{SENDER}/handovers/@@retention")
    row = page.html.find(id="disposal-list").find("tr", attrs={"data-year": str(OLD)})
    assert (row["data-eligible"], row["data-held"]) == ("2", "1")
    assert page.html.find(id="holds").find("tr", attrs={"data-key": f"outbox/{held}"})
    _post(app, f"/orgs/{SENDER}/handovers/@@dispose", page, series="09", year=str(OLD))
    # The recent year is not due, and a permanent series never is.
    refused = _post(app, f"/orgs/{SENDER}/handovers/@@dispose", page, series="09",
                    year=str(RECENT))
    assert refused.html.find(id="retention-error")["data-code"] == "NOT_DUE"
    refused = _post(app, f"/orgs/{SENDER}/handovers/@@dispose", page, series="01",
                    year=str(OLD))
    assert refused.html.find(id="retention-error")["data-code"] == "SERIES_PERMANENT"
    with in_site() as site:
        org = site.orgs[SENDER]
        outbox = org["outbox"]
        assert outbox[held].state == "received", "a held letter is never disposed of"
        disposed = [outbox[name] for name in letters["old"][1:]]
        assert all(letter.state == "disposed" for letter in disposed)
        assert outbox[letters["recent"]].state == "received"
        (act,) = org.retention.disposals.values()
        assert (act.series, act.year, act.count, act.approved_by) == ("09", OLD, 2, "rm_a")
        actions = [r.action for r in site.audit.newest(0, 30, org=SENDER)[0]]
        assert "disposal.approve" in actions and "hold.place" in actions
        assert actions.count("letter.dispose") == 2
        # The recipient still keeps its registered copies: the file is not let go.
        assert not disposed[0].pdf.released
    # The register entry stays; the file is gone for the sender, not for the recipient.
    name = letters["old"][1]
    page = app.get(f"/orgs/{SENDER}/outbox/{name}/")
    assert page.html.find(id="letter-state")["data-state"] == "disposed"
    assert page.html.find(id="disposed") is not None
    assert page.html.find(id="pdf").find("a") is None, "no link to a file not kept"
    assert page.html.find(id="outgoing-number").text.strip().startswith("№ 09/")
    app.get(f"/orgs/{SENDER}/outbox/{name}/@@pdf", status=410)
    assert app.get(f"/orgs/{SENDER}/outbox/{name}/", headers=JSON).json["disposed"]["act"]
    with in_site() as site:
        delivery = site.orgs[SENDER]["outbox"][name].deliveries[RECIPIENT]
        delivery_path = f"/orgs/{RECIPIENT}/inbox/{delivery.__name__}/"
    app.post("/@@logout", {"csrf_token": csrf_token(page)})
    login(testapp, "rm_b")
    assert testapp.get(delivery_path + "@@pdf").content_type == "application/pdf"


def test_the_file_goes_when_no_party_keeps_it(in_site, letters):
    with in_site() as site:
        rt.approve_disposal(site, "rm_b", site.orgs[RECIPIENT], "09", OLD, THIS_YEAR)
        letter = site.orgs[SENDER]["outbox"][letters["old"][0]]
        assert letter.deliveries[RECIPIENT].state == "disposed"
        assert not letter.pdf.released, "the sender still keeps its letter"
        rt.approve_disposal(site, "rm_a", site.orgs[SENDER], "09", OLD, THIS_YEAR)
        assert letter.state == "disposed" and letter.pdf.released
        assert letter.pdf.path() is None and letter.pdf.sha256, "what is known of it stays"
        with pytest.raises(RegistryError) as info:
            rt.approve_disposal(site, "rm_a", site.orgs[SENDER], "09", OLD, THIS_YEAR)
        assert info.value.code == "NOTHING_TO_DISPOSE"


def test_a_lifted_hold_lets_the_letter_go(in_site, letters, login_as):
    key = f"outbox/{letters['old'][0]}"
    app = login_as("rm_a")
    page = app.get(f"/orgs/{SENDER}/handovers/@@retention")
    form = page.forms["hold-form"]
    form["item"], form["reason"] = key, "Аудит"
    form.submit(status=303)
    letter_page = app.get(f"/orgs/{SENDER}/{key}/")
    assert "Аудит" in letter_page.html.find(id="on-hold").text
    page = app.get(f"/orgs/{SENDER}/handovers/@@retention")
    _post(app, f"/orgs/{SENDER}/handovers/@@hold", page, item=key, do="lift", reason="Дууссан")
    unknown = _post(app, f"/orgs/{SENDER}/handovers/@@hold", page, item="outbox/nope",
                    reason="x")
    assert unknown.status_int == 404
    with in_site() as site:
        org = site.orgs[SENDER]
        assert not org.retention.holds
        act = rt.approve_disposal(site, "rm_a", org, "09", OLD, THIS_YEAR)
        assert act.count == 3
        actions = [r.action for r in site.audit.newest(0, 40, org=SENDER)[0]]
        assert "hold.lift" in actions


def test_a_hold_is_refused_on_a_disposed_letter_and_the_guard_holds(in_site, letters, gate):
    from registry import exchange
    from registry.workflow import TransitionRefused

    with in_site() as site:
        org = site.orgs[SENDER]
        name = letters["old"][0]
        rt.place_hold(site, "rm_a", org, f"outbox/{name}", "Маргаан")
        ctx = exchange.context(site, "rm_a", permits=lambda p, o: False,
                               options={"disposal": "x"})
        from registry.workflow import engine

        with pytest.raises(TransitionRefused) as info:
            engine().fire(org["outbox"][name], "dispose", ctx, system=True)
        assert [r.reason for r in info.value.results] == ["ON_HOLD"]
        rt.lift_hold(site, "rm_a", org, f"outbox/{name}")
        rt.approve_disposal(site, "rm_a", org, "09", OLD, THIS_YEAR)
        with pytest.raises(RegistryError) as info:
            rt.place_hold(site, "rm_a", org, f"outbox/{name}", "хожуу")
        assert info.value.code == "ALREADY_DISPOSED"


def test_the_cli_sets_classes_lists_and_approves(in_site, letters, settings, db, trust_dir,
                                                 monkeypatch):
    from test_archive_handover import settings_ini
    from click.testing import CliRunner
    from registry.cli import main

    db.close()
    ini = settings_ini(settings, settings["zodbconn.uri"])
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, ["-c", ini, *args], catch_exceptions=False)

    assert "temporary:5" in cli("retention", "list", "--org", SENDER).output
    listed = cli("disposal", "list", "--org", SENDER)
    assert f"09         {OLD}" in listed.output and "due:      3" in listed.output
    key = f"outbox/{letters['old'][0]}"
    assert cli("hold", "place", "--org", SENDER, key, "--reason", "Маргаан").exit_code == 0
    assert key in cli("hold", "list", "--org", SENDER).output
    done = cli("disposal", "approve", "--org", SENDER, "--series", "09", "--year", str(OLD))
    assert done.exit_code == 0 and "2 letters" in done.output
    again = cli("disposal", "approve", "--org", SENDER, "--series", "09", "--year", str(OLD))
    assert again.exit_code == 1 and "[NOTHING_TO_DISPOSE]" in again.stderr
    early = cli("disposal", "approve", "--org", SENDER, "--series", "09", "--year",
                str(RECENT))
    assert early.exit_code == 1 and "[NOT_DUE]" in early.stderr
    assert cli("hold", "lift", "--org", SENDER, key).exit_code == 0
    assert cli("retention", "set", "--org", SENDER, "--series", "09", "--retention",
               "permanent").exit_code == 0
    assert "Nothing is due" in cli("disposal", "list", "--org", SENDER).output


def test_evolve_4_gives_organisations_a_retention_plan_and_deliveries_their_series(
        in_site, letters):
    with in_site() as site:
        org = site.orgs[RECIPIENT]
        del org.retention  # as organisations were before the archive
        for delivery in org["inbox"].values():
            delivery.__dict__.pop("series", None)
            delivery._p_changed = True
        del site.revocation_data  # as sites were before preservation evidence
        site.generation = 2
        assert evolve(site) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15]
        assert len(site.revocation_data) == 0
        assert org.retention.rule("09").permanent  # a fresh plan: nothing classified
        assert {d.series for d in org["inbox"].values()} == {"09"}


def test_evolve_7_queues_every_letter_and_delivery_for_the_new_search_engine(in_site, letters):
    with in_site() as site:
        site.search_state.log.trim(time.time_ns())
        items = sorted(object_path(item) for org in site.orgs.values()
                       for name in ("outbox", "inbox") for item in org[name].values())
        site.generation = 6
        assert evolve(site) == [7, 8, 9, 10, 11, 12, 15]
    with in_site() as site:  # recorded in the log as the transaction commits
        assert sorted(site.search_state.log.paths()) == items and len(items) > 0
        assert not site.search_state.log.complete, "every machine rebuilds its index once"


def test_a_hold_is_placed_and_lifted_from_the_letters_page(in_site, letters, login_as):
    name = letters["old"][0]
    path = f"/orgs/{SENDER}/outbox/{name}/"
    clerk = login_as("clerk_a")
    assert "letter-hold-form" not in clerk.get(path).forms  # not the clerk's to decide
    clerk.post("/@@logout", {"csrf_token": csrf_token(clerk.get("/"))})
    app = login_as("rm_a")
    form = app.get(path).forms["letter-hold-form"]
    form["reason"] = "Хяналт шалгалт"
    page = form.submit(status=303).follow()
    assert page.request.path == path
    assert "Хяналт шалгалт" in page.html.find(id="on-hold").text
    page = page.forms["lift-hold-form"].submit(status=303).follow()
    assert page.html.find(id="on-hold") is None
    with in_site() as site:
        actions = [r.action for r in site.audit.newest(0, 10, org=SENDER)[0]]
        assert actions[:2] == ["hold.lift", "hold.place"]


def test_disposed_letters_leave_the_search_index_and_the_others_stay(in_site, letters, wsgi_app):
    from registry.search import SearchQuery
    from registry.search.indexing import ISearchService

    service = wsgi_app.registry.getUtility(ISearchService)
    service.drain_all()

    def found(regno):
        return service.index.search(SearchQuery(org=regno, size=50, facets=False)).total

    assert (found(SENDER), found(RECIPIENT)) == (4, 4)
    with in_site() as site:
        rt.approve_disposal(site, "rm_b", site.orgs[RECIPIENT], "09", OLD, THIS_YEAR)
        rt.approve_disposal(site, "rm_a", site.orgs[SENDER], "09", OLD, THIS_YEAR)
    service.drain_all()
    assert (found(SENDER), found(RECIPIENT)) == (1, 1), "only the RECENT letter is kept"
    assert service.check()["missing"] == [] and service.check()["orphaned"] == []
