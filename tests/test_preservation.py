"""The registry's preservation timestamps: asked for in the transaction that first accepts a
letter's bytes, obtained after commit from the configured TSA (the test PKI's, over real HTTP),
kept beside the letter; a TSA that is down loses nothing and is tried again."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

import pdfs
from archive_letters import RECIPIENT, SENDER, gate_for
from conftest import JSON, send_letter
from registry import exchange
from registry.preservation import IStamper, stamp_due
from registry.resources.evidence import verdict_digest
from registry.signatures import load_trust
from registry.signatures.tsa import TsaConfig, preservation_imprint, token_time_and_imprint

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def gate(trust_dir):
    return gate_for(trust_dir)


def exchange_one(site, gate, pdf, settings, now=NOW):
    """Draft, sign, send and register one letter with `settings`; return (letter, delivery)."""
    def ctx(actor, **kw):
        return exchange.context(site, actor, permits=lambda permission, obj: True, gate=gate,
                                settings=settings, now=now, **kw)

    letter = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="Тайлан",
                                   recipients=[RECIPIENT])
    exchange.attach_pdf(site, "rm_a", letter, pdf, "захидал.pdf", 25 * 1024 * 1024)
    exchange.transition(letter, "sign", ctx("rm_a"))
    exchange.transition(letter, "send", ctx("rm_a"))
    delivery = letter.deliveries[RECIPIENT]
    exchange.transition(delivery, "register", ctx("rm_b", options={"series": "01"}))
    return letter, delivery


def test_each_first_acceptance_is_timestamped_after_commit_over_file_and_verdict(
        db, in_site, gate, pki, trust_dir, tsa_up):
    settings = {"registry.signature.tsa_url": tsa_up.url}
    data = pdfs.signed_letter(pki, SENDER)
    asked_before = tsa_up.requests
    with in_site() as site:
        letter, delivery = exchange_one(site, gate, data, settings)
        # Signing and registering first accept the bytes; sending re-checks what signing did.
        assert site.timestamps.pending_count() == 2
        names = letter.__name__, delivery.__name__
    assert tsa_up.requests == asked_before, "nothing asks the TSA before commit"
    assert stamp_due(db, TsaConfig(tsa_up.url), load_trust(trust_dir)) == (2, 0)
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][names[0]]
        delivery = site.orgs[RECIPIENT]["inbox"][names[1]]
        assert letter.pdf.read() == data, "the letter's bytes never change"
        assert site.timestamps.pending_count() == 0
        kept = {entry["item"]: (key, entry, token)
                for key, entry, token in site.timestamps.for_file(letter.pdf.sha256)}
        for item, first in ((letter, letter.verdicts[0]), (delivery, delivery.verdicts[0])):
            key, entry, token = kept[f"/orgs/{item.__parent__.__parent__.__name__}/"
                                     f"{item.__parent__.__name__}/{item.__name__}"]
            message = preservation_imprint(hashlib.sha256(data).hexdigest(),
                                           verdict_digest(first))
            time, imprint = token_time_and_imprint(token)
            assert imprint == key == hashlib.sha256(message).hexdigest()
            assert entry["time"] == time and entry["attempts"] == 0
        records = [r for r in site.audit.newest(0, 10)[0] if r.action == "evidence.timestamped"]
        assert sorted(r.org for r in records) == [SENDER, RECIPIENT]
        assert {r.detail["imprint"] for r in records} == {key for key, _e, _t in kept.values()}
    assert stamp_due(db, TsaConfig(tsa_up.url), load_trust(trust_dir)) == (0, 0)


def test_a_tsa_that_is_down_fails_nothing_and_is_tried_again_later(
        db, in_site, gate, pki, trust_dir, tsa_up):
    settings = {"registry.signature.tsa_url": tsa_up.url}
    tsa_up.available = False
    with in_site() as site:
        letter, _delivery = exchange_one(site, gate, pdfs.signed_letter(pki, SENDER), settings)
        assert letter.state == "received"
        sha256 = letter.pdf.sha256
    tsa = TsaConfig(tsa_up.url)
    trust = load_trust(trust_dir)
    assert stamp_due(db, tsa, trust, clock=lambda: NOW) == (0, 2)
    with in_site() as site:
        entries = [entry for _key, entry, _token in site.timestamps.for_file(sha256)]
        assert [entry["attempts"] for entry in entries] == [1, 1]
        assert entries[0]["last_error"] == "the TSA could not be reached: TimestampRequestError"
        assert entries[0]["next_try"] == (NOW + timedelta(minutes=1)).isoformat()
    tsa_up.available = True
    assert stamp_due(db, tsa, trust, clock=lambda: NOW + timedelta(seconds=30)) == (0, 0)
    assert stamp_due(db, tsa, trust, clock=lambda: NOW + timedelta(minutes=1)) == (2, 0)


def test_a_tsa_its_anchors_do_not_vouch_for_gives_no_token(db, in_site, gate, pki, trust_dir,
                                                          tsa_up, tmp_path):
    anchor = tmp_path / "tsa-root.pem"
    anchor.write_bytes(pki.other_root.cert_pem)
    settings = {"registry.signature.tsa_url": tsa_up.url}
    with in_site() as site:
        exchange_one(site, gate, pdfs.signed_letter(pki, SENDER), settings)
    tsa = TsaConfig(tsa_up.url, trust=str(anchor))
    assert stamp_due(db, tsa, load_trust(trust_dir)) == (0, 2)
    with in_site() as site:
        assert site.timestamps.pending_count() == 2


def test_without_a_tsa_nothing_is_asked(db, in_site, gate, pki):
    with in_site() as site:
        exchange_one(site, gate, pdfs.signed_letter(pki, SENDER), {})
        assert site.timestamps.pending_count() == 0


def test_the_web_application_stamps_after_the_request_that_sent(settings, in_site_for, pki,
                                                                 tsa_up):
    settings["registry.signature.tsa_url"] = tsa_up.url
    app, in_site = in_site_for(settings)
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["rm_a"])
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    path = send_letter(app, headers, pdfs.signed_letter(pki, SENDER))
    assert app.get(path, headers=headers).json["state"] == "sent"
    app.app.registry.getUtility(IStamper).tick()  # woken after the request already, or now
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.rstrip("/").split("/")[-1]]
        [(_key, entry, kept)] = site.timestamps.for_file(letter.pdf.sha256)
        assert kept is not None and entry["item"].endswith(letter.__name__)


def test_evolve_9_gives_the_site_its_timestamp_store(in_site):
    from registry.resources.evidence import TimestampStore
    from registry.resources.evolve import evolve

    with in_site() as site:
        del site.timestamps  # as the site was before generation 9
        site.generation = 8
        assert evolve(site) == [9, 10, 11, 12, 15]
        assert isinstance(site.timestamps, TimestampStore) and site.timestamps.pending_count() == 0
