"""The workflow engine: definitions checked at start-up, guards, transitions, history, ACLs."""
import copy
import tomllib
from pathlib import Path

import pytest
import transaction
import ZODB
from pyramid.authorization import ACLHelper
from ZODB.MappingStorage import MappingStorage

from registry import exchange
from registry.exchange import EFFECTS
from registry.resources.evolve import bootstrap
from registry.resources.user import User
from registry.security import permissions as P
from registry.security.principals import principals_for
from registry.signatures import Trust, Verdict
from registry.store import site_of
from registry.workflow import TransitionRefused, workflows
from registry.workflow.definition import WorkflowError, parse
from registry.workflow.guards import GUARDS

ROOT = Path(__file__).resolve().parent.parent
LETTER = tomllib.loads((ROOT / "workflows" / "letter.toml").read_text())


# Definitions ------------------------------------------------------------------------------

def test_shipped_workflows_load():
    loaded = workflows()
    assert set(loaded) == {"letter", "delivery", "task"}
    assert loaded["letter"].initial == "draft"
    assert {t.name for t in loaded["letter"].transitions_from("signed")} == {"retract", "send"}


def broken(mutate):
    data = copy.deepcopy(LETTER)
    mutate(data)
    with pytest.raises(WorkflowError) as info:
        parse(data, "letter.toml", GUARDS, EFFECTS)
    return str(info.value)


def test_unknown_state_is_refused():
    assert "unknown target state" in broken(lambda d: d["transitions"]["send"].update(to="gone"))
    assert "unknown state" in broken(lambda d: d["transitions"]["send"].update(**{"from": ["x"]}))


def test_unknown_permission_guard_effect_and_role_are_refused():
    assert "unknown permission" in broken(
        lambda d: d["transitions"]["send"].update(permission="letter.fly"))
    assert "unknown guard" in broken(
        lambda d: d["transitions"]["send"].update(guards=["os.system"]))
    assert "unknown effect" in broken(
        lambda d: d["transitions"]["send"].update(effects=["eval"]))
    assert "unknown role" in broken(
        lambda d: d["states"]["draft"]["permissions"].update({"letter.view": ["janitor"]}))
    assert "unknown permission" in broken(
        lambda d: d["states"]["draft"]["permissions"].update({"letter.anything": ["clerk"]}))


def test_final_state_with_exits_and_unreachable_states_are_refused():
    assert "leaves final state" in broken(
        lambda d: d["transitions"]["retract"].update(**{"from": ["handed_over"]}))
    assert "cannot be reached" in broken(lambda d: d["states"].update(limbo={"title": "x"}))
    assert "initial state" in broken(lambda d: d["workflow"].update(initial="nowhere"))
    assert "unknown keys" in broken(lambda d: d["transitions"]["send"].update(code="rm -rf"))


def test_the_application_refuses_to_start_on_a_broken_definition(tmp_path, monkeypatch):
    import registry.workflow as wf
    from registry.workflow import definition

    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "letter.toml").write_text((ROOT / "workflows" / "letter.toml").read_text()
                                        .replace('to = "sent"', 'to = "snet"'))
    monkeypatch.setattr(definition, "_loaded", None)
    monkeypatch.setattr(definition, "shipped", lambda name: folder)
    with pytest.raises(WorkflowError):
        wf.includeme(None)


def test_one_name_in_two_workflows_has_one_title(tmp_path):
    """A title's message id is its name's (`state-<name>`): two titles for it are refused."""
    from registry.workflow.definition import load

    for name in ("letter", "delivery"):
        (tmp_path / f"{name}.toml").write_text((ROOT / "workflows" / f"{name}.toml").read_text())
    path = tmp_path / "delivery.toml"
    path.write_text(path.read_text().replace('title = "Disposed of"', 'title = "Destroyed"', 1))
    with pytest.raises(WorkflowError, match="letter.toml: state 'disposed' is titled "
                       "'Disposed of' here and 'Destroyed' in delivery.toml"):
        load(tmp_path, GUARDS, EFFECTS)


def test_a_guard_no_module_provides_is_refused_at_start_up(tmp_path, monkeypatch):
    """The engine imports no guard: the modules that define them provide them, and the start-up
    check (run once every include has) refuses a name none provides."""
    import registry.workflow as wf

    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "letter.toml").write_text((ROOT / "workflows" / "letter.toml").read_text()
                                        .replace('"has_subject"', '"has_title"'))
    monkeypatch.setattr(wf, "shipped", lambda name: folder)
    with pytest.raises(WorkflowError, match="unknown guard 'has_title'"):
        wf.check()
    monkeypatch.setattr(wf, "shipped", lambda name: ROOT / "workflows")
    wf.check()  # every guard and effect the shipped workflows name is provided


# Transitions on a real database ----------------------------------------------------------

class FakeGate:
    """Answers with a fixed verdict; the real gate is tested with real PDFs elsewhere."""

    def __init__(self):
        self.answer = Verdict(accepted=True, signer={"regno": "1000001"})
        self.calls = []

    def verify(self, source, expected, as_of=None):
        self.calls.append(expected)
        return self.answer

    def trust(self):
        return Trust(roots=(), crls=(), files=())


@pytest.fixture
def world():
    db = ZODB.DB(MappingStorage())
    bootstrap(db)
    conn = db.open()
    site = site_of(conn)
    for regno, name in [("1000001", "Илгээгч"), ("1000002", "Хүлээн авагч"),
                        ("1000003", "Гурав дахь")]:
        site.orgs.register(regno, name, "government")
    for login, regno, roles in [("rm1", "1000001", ("records_manager",)),
                                ("sig1", "1000001", ("signatory",)),
                                ("clerk1", "1000001", ("clerk",)),
                                ("rm2", "1000002", ("records_manager",)),
                                ("rm3", "1000003", ("records_manager",))]:
        site.users.add(login, User(login, regno, roles))
    yield site
    transaction.abort()
    conn.close()
    db.close()


def ctx_for(site, login, gate, **kw):
    user = site.users[login]

    def permits(permission, obj):
        return bool(ACLHelper().permits(obj, principals_for(user), permission))

    return exchange.context(site, login, permits, gate=gate, **kw)


def draft(site, **kw):
    letter = exchange.create_draft(site, "clerk1", site.orgs["1000001"], subject="Хурлын тухай",
                                   recipients=["1000002", "1000003"], **kw)
    exchange.attach_pdf(site, "clerk1", letter, b"%PDF-1.7\n...", "a.pdf", 1 << 20)
    return letter


def test_a_letter_travels_draft_signed_sent_received(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    assert letter.state == "signed" and letter.verdicts[-1]["accepted"]
    entry = exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    assert letter.state == "sent" and letter.outgoing_number == "01/1"
    assert entry.evidence["number_outgoing"] == {"number": "01/1"}
    assert gate.calls == ["1000001", "1000001"]
    deliveries = dict(letter.deliveries.items())
    assert set(deliveries) == {"1000002", "1000003"}
    assert all(d.letter is letter and d.state == "delivered" for d in deliveries.values())
    assert site.orgs["1000002"]["inbox"][deliveries["1000002"].__name__] is deliveries["1000002"]
    exchange.transition(deliveries["1000002"], "register",
                        ctx_for(site, "rm2", gate, options={"executor": "rm2"}))
    assert deliveries["1000002"].incoming_number == "01/1" and letter.state == "sent"
    assert gate.calls[-1] == "1000001", "re-validated at receipt against the sender"
    exchange.transition(deliveries["1000003"], "register", ctx_for(site, "rm3", gate))
    assert letter.state == "received"
    assert [h.transition for h in letter.history] == ["sign", "send", "receive"]
    actions = [r.action for r in site.audit.newest(0, 12)[0]]
    assert "letter.receive" in actions and actions.count("delivery.register") == 2


def test_outgoing_numbers_are_gap_free_per_organisation_and_year(world):
    site, gate = world, FakeGate()
    numbers = []
    for _ in range(3):
        letter = draft(site)
        exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
        exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
        numbers.append(letter.outgoing_number)
    assert numbers == ["01/1", "01/2", "01/3"]
    outbox = site.orgs["1000001"]["outbox"]
    assert sorted(outbox.journal.values()) == sorted(
        l.__name__ for l in outbox.values() if l.outgoing_number)


def test_every_failed_guard_is_reported_and_nothing_changes(world):
    site, gate = world, FakeGate()
    letter = exchange.create_draft(site, "clerk1", site.orgs["1000001"])
    with pytest.raises(TransitionRefused) as info:
        exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    reasons = [r.reason for r in info.value.results]
    assert reasons == ["SUBJECT_REQUIRED", "RECIPIENTS_REQUIRED", "PDF_REQUIRED", "PDF_REQUIRED"]
    assert letter.state == "draft" and letter.history == ()


def test_the_gate_refusal_carries_its_reason_and_evidence(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    gate.answer = Verdict.refused("SIGNER_ORG_MISMATCH", signer={"regno": "9999999"})
    with pytest.raises(TransitionRefused) as info:
        exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    refusal = info.value.results[-1]
    assert refusal.reason == "SIGNER_ORG_MISMATCH"
    assert refusal.evidence["verdict"]["signer"]["regno"] == "9999999"


@pytest.mark.parametrize("login, transition, allowed", [
    ("sig1", "sign", True), ("rm1", "sign", True), ("clerk1", "sign", False),
    ("rm2", "sign", False),
])
def test_who_may_sign(world, login, transition, allowed):
    site, gate = world, FakeGate()
    letter = draft(site)
    if allowed:
        exchange.transition(letter, transition, ctx_for(site, login, gate))
    else:
        with pytest.raises(TransitionRefused) as info:
            exchange.transition(letter, transition, ctx_for(site, login, gate))
        assert info.value.code == "FORBIDDEN"


def test_only_the_records_manager_sends_and_nobody_fires_receive(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    with pytest.raises(TransitionRefused):
        exchange.transition(letter, "send", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    with pytest.raises(TransitionRefused):
        exchange.transition(letter, "receive", ctx_for(site, "rm1", gate))


def test_withdraw_needs_a_reason_and_no_registration(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    with pytest.raises(TransitionRefused) as info:
        exchange.transition(letter, "withdraw", ctx_for(site, "rm1", gate))
    assert info.value.results[0].reason == "COMMENT_REQUIRED"
    delivery = letter.deliveries["1000002"]
    exchange.transition(delivery, "register", ctx_for(site, "rm2", gate))
    with pytest.raises(TransitionRefused) as info:
        exchange.transition(letter, "withdraw", ctx_for(site, "rm1", gate, comment="Алдаатай"))
    assert info.value.results[0].reason == "ALREADY_REGISTERED"


def test_an_action_that_cannot_succeed_is_not_offered(world):
    """Withdrawing is offered while no recipient has acted, not once one has; rejecting a
    withdrawn letter is not offered."""
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    offered = exchange.offered(letter, ctx_for(site, "rm1", gate))
    assert [t.name for t in offered] == ["withdraw"]
    delivery = letter.deliveries["1000002"]
    exchange.transition(delivery, "register", ctx_for(site, "rm2", gate))
    assert exchange.offered(letter, ctx_for(site, "rm1", gate)) == []

    other = draft(site)
    exchange.transition(other, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(other, "send", ctx_for(site, "rm1", gate))
    exchange.transition(other, "withdraw", ctx_for(site, "rm1", gate, comment="Алдаатай"))
    assert exchange.offered(other.deliveries["1000002"], ctx_for(site, "rm2", gate)) == []


def test_withdrawn_letter_cannot_be_registered_but_can_be_rejected_no_more(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    exchange.transition(letter, "withdraw", ctx_for(site, "rm1", gate, comment="Алдаатай"))
    delivery = letter.deliveries["1000002"]
    with pytest.raises(TransitionRefused) as info:
        exchange.transition(delivery, "register", ctx_for(site, "rm2", gate))
    assert info.value.results[0].reason == "LETTER_WITHDRAWN"


def test_reject_records_the_reason(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    delivery = letter.deliveries["1000003"]
    exchange.transition(delivery, "reject", ctx_for(site, "rm3", gate, comment="Хаяг буруу"))
    assert delivery.state == "rejected" and delivery.rejection_reason == "Хаяг буруу"
    assert delivery.history[-1].comment == "Хаяг буруу"


def test_acl_follows_the_state(world):
    site, gate = world, FakeGate()
    letter = draft(site)

    def can(login, permission, obj):
        return bool(ACLHelper().permits(obj, principals_for(site.users[login]), permission))

    assert can("clerk1", P.EDIT_LETTER, letter)
    assert not can("rm2", P.VIEW_LETTER, letter), "the recipient does not see the draft"
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    assert not can("clerk1", P.EDIT_LETTER, letter)
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    delivery = letter.deliveries["1000002"]
    assert can("rm2", P.REGISTER_DELIVERY, delivery)
    assert not can("rm3", P.VIEW_DELIVERY, delivery), "another recipient's copy is not yours"
    assert not can("rm1", P.VIEW_DELIVERY, delivery)
    assert not can("rm2", P.VIEW_LETTER, letter)


def test_the_executor_must_belong_to_the_recipient(world):
    site, gate = world, FakeGate()
    letter = draft(site)
    exchange.transition(letter, "sign", ctx_for(site, "sig1", gate))
    exchange.transition(letter, "send", ctx_for(site, "rm1", gate))
    from registry.errors import RegistryError

    with pytest.raises(RegistryError) as info:
        exchange.transition(letter.deliveries["1000002"], "register",
                            ctx_for(site, "rm2", gate, options={"executor": "rm1"}))
    assert info.value.code == "UNKNOWN_EXECUTOR"


def test_drafts_check_what_they_are_given(world):
    site = world
    org = site.orgs["1000001"]
    from registry.errors import RegistryError

    for kwargs, code in [({"recipients": ["9999999"]}, "UNKNOWN_RECIPIENT"),
                         ({"recipients": ["1000001"]}, "RECIPIENT_IS_SENDER"),
                         ({"response_due": "31/12/2026"}, "INVALID_DATE"),
                         ({"in_reply_to": "nope"}, "UNKNOWN_REPLY_TO"),
                         ({"subject": "x" * 501}, "SUBJECT_TOO_LONG")]:
        with pytest.raises(RegistryError) as info:
            exchange.create_draft(site, "clerk1", org, **kwargs)
        assert info.value.code == code
    letter = exchange.create_draft(site, "clerk1", org, recipients=["1000002", "1000002"])
    assert letter.recipients == ("1000002",)
    with pytest.raises(RegistryError) as info:
        exchange.attach_pdf(site, "clerk1", letter, b"PK\x03\x04 not a pdf", "letter.pdf", 1 << 20)
    assert info.value.code == "NOT_PDF"
    with pytest.raises(RegistryError) as info:
        exchange.attach_pdf(site, "clerk1", letter, b"%PDF-" + b"x" * 2000, "a.pdf", 1000)
    assert info.value.code == "TOO_LARGE"


def test_outbox_lists_by_state_newest_first(world):
    site, gate = world, FakeGate()
    outbox = site.orgs["1000001"]["outbox"]
    letters = [draft(site) for _ in range(5)]
    exchange.transition(letters[1], "sign", ctx_for(site, "sig1", gate))
    drafts, total = outbox.in_state(["draft"], 0, 10)
    assert total == 4 and [l.__name__ for l in drafts] == [
        l.__name__ for l in reversed(letters) if l is not letters[1]]
    signed, total = outbox.in_state(["signed"])
    assert signed == [letters[1]] and total == 1
    page, total = outbox.in_state(["draft", "signed"], 1, 2)
    assert total == 5 and len(page) == 2


def test_paging_after_an_item_gives_the_same_pages_as_counting(world):
    site = world
    outbox = site.orgs["1000001"]["outbox"]
    letters = [draft(site) for _ in range(12)]
    by_count = [outbox.in_state(["draft"], start, 5)[0] for start in (0, 5, 10)]
    by_cursor, after = [], None
    for _ in range(3):
        page, total = outbox.in_state(["draft"], 0, 5, after=after)
        by_cursor.append(page)
        after = page[-1].__name__ if page else None
    assert by_cursor == by_count and total == 12
    assert [l.__name__ for page in by_count for l in page] == [
        l.__name__ for l in reversed(letters)]
