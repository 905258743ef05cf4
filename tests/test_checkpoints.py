"""Audit checkpoints: the chain's head sealed and timestamped, kept, written and mailed; checked
against the chain (a chain rewritten consistently after a checkpoint is caught); forged files
refused; one checkpoint per interval, by moving the clock; the command line and the page."""
import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from conftest import JSON, generations_after
from registry.checkpoints import (FORMAT, CheckpointError, CheckpointSchedule, canonical,
                                  chain_seqs, check_chain, check_signature, interval_of,
                                  make_checkpoint, read_file)
from registry.cli import main
from registry.resources.audit import GENESIS
from registry.seal import SealConfig, sign_detached
from registry.settings import SettingsError, checkpoint_interval
from registry.signatures import load_trust
from registry.signatures.tsa import TsaConfig
from registry.store import site_of
from test_archive_handover import settings_ini
from test_mail import smtp  # noqa: F401  (a fixture: an SMTP server on 127.0.0.1)

# 10:00 in Ulaanbaatar (UTC+8) on a Thursday.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def sealed(settings, pki, tsa_up, tmp_path):
    """The test settings with the registry's seal (a PEM key) and the test TSA."""
    cert, key = pki.write_seal(tmp_path / "seal")
    settings.update({"registry.seal.cert": str(cert), "registry.seal.key": str(key),
                     "registry.signature.tsa_url": tsa_up.url,
                     # The tests drive the schedule themselves.
                     "registry.audit.checkpoint_interval": "off"})
    return settings


@pytest.fixture
def app(sealed, in_site_for):
    return in_site_for(sealed)


@pytest.fixture
def db(app):
    from ZODB.interfaces import IDatabase

    return app[0].app.registry.getUtility(IDatabase)


@pytest.fixture
def in_site(app):
    return app[1]


def add_records(in_site, count, action="test.event"):
    with in_site() as site:
        for n in range(count):
            site.audit.append("tester", action, target="/", detail={"n": n})
    with in_site() as site:
        site.audit.seal()


def checks_of(db, sealed, trust_dir, *files):
    """Check checkpoint files' bytes as `registry audit verify --checkpoint` does."""
    trust = load_trust(trust_dir)
    seals = {SealConfig.from_settings(sealed).certificates()[0]}
    anchors = TsaConfig.from_settings(sealed).anchors(trust)
    checks = [check_signature(f"file{i}", *read_file(data), seals, trust, anchors)
              for i, data in enumerate(files)]
    conn = db.open()
    try:
        check_chain(checks, site_of(conn).audit.recomputed_heads(chain_seqs(checks)))
    finally:
        conn.close()
    return checks


def rewrite_from(in_site, seq):
    """Forge the chain as someone with write access to the store could: change record `seq`
    and recompute every hash after it, so that the chain checks out by itself."""
    with in_site() as site:
        trail = site.audit
        prev = trail.get(seq).prev
        for number in range(seq, trail.count + 1):
            record = trail.get(number)
            if number == seq:
                record = replace(record, actor="forger")
            record = replace(record, prev=prev)
            record = replace(record, hash=record.computed_hash())
            trail._records[number] = record
            prev = record.hash
        trail.head = prev
    with in_site() as site:
        assert site.audit.verify()[0], "the forged chain is consistent in itself"


def test_a_checkpoint_is_sealed_timestamped_kept_written_and_holds(db, in_site, sealed,
                                                                   trust_dir):
    add_records(in_site, 3)
    with in_site() as site:
        seq, head = site.audit.count, site.audit.head
    checkpoint, path = make_checkpoint(db, sealed, actor="tester", clock=lambda: NOW)
    assert (checkpoint.number, checkpoint.seq, checkpoint.head) == (1, seq, head)
    assert checkpoint.time == "2026-12-03T02:00:00+00:00" and checkpoint.timestamp
    assert path.parent.as_posix().endswith("var/checkpoints")
    document = json.loads(path.read_bytes())
    assert document["format"] == FORMAT
    assert document["checkpoint"] == {"seq": seq, "head": head, "time": checkpoint.time}
    assert base64.b64decode(document["signature"]) == checkpoint.signature
    with in_site() as site:
        assert site.audit.checkpoints.newest() == [checkpoint]
        record = site.audit.get(seq + 1)
        assert (record.action, record.detail["number"], record.detail["seq"]) == (
            "audit.checkpoint", 1, seq)
    [check] = checks_of(db, sealed, trust_dir, path.read_bytes())
    assert check.ok and check.chain_checked, check.problems
    assert "Registry Test Seal" in check.signer
    assert check.timestamp is not None


def test_a_chain_rewritten_after_a_checkpoint_is_caught_by_it(db, in_site, sealed, trust_dir):
    add_records(in_site, 5)
    first, first_path = make_checkpoint(db, sealed, clock=lambda: NOW)
    add_records(in_site, 5)
    second, second_path = make_checkpoint(db, sealed, clock=lambda: NOW + timedelta(hours=1))
    files = first_path.read_bytes(), second_path.read_bytes()
    assert [c.ok for c in checks_of(db, sealed, trust_dir, *files)] == [True, True]

    rewrite_from(in_site, first.seq + 2)  # after the first checkpoint, before the second
    held, broken = checks_of(db, sealed, trust_dir, *files)
    assert held.ok
    assert [code for code, _ in broken.problems] == ["CHAIN_CHANGED"]

    rewrite_from(in_site, 2)  # before both
    assert [[code for code, _ in c.problems]
            for c in checks_of(db, sealed, trust_dir, *files)] == [["CHAIN_CHANGED"]] * 2


def test_a_chain_cut_short_is_caught(db, in_site, sealed, trust_dir):
    add_records(in_site, 3)
    _checkpoint, path = make_checkpoint(db, sealed, clock=lambda: NOW)
    with in_site() as site:
        last = site.audit.count
        for seq in range(last - 2, last + 1):
            del site.audit._records[seq]
        site.audit.count = last - 3
        site.audit.head = site.audit.get(last - 3).hash
    [check] = checks_of(db, sealed, trust_dir, path.read_bytes())
    assert [code for code, _ in check.problems] == ["CHAIN_SHORTER"]


def test_a_forged_checkpoint_file_is_refused(db, in_site, sealed, trust_dir, pki, tmp_path):
    add_records(in_site, 2)
    checkpoint, path = make_checkpoint(db, sealed, clock=lambda: NOW)
    document = json.loads(path.read_bytes())

    edited = {**document, "checkpoint": {**document["checkpoint"], "head": "1" * 64}}
    [check] = checks_of(db, sealed, trust_dir, json.dumps(edited).encode())
    assert [code for code, _ in check.problems] == ["SIGNATURE_INVALID"]
    assert not check.chain_checked

    # Another certificate of the same CA (an organisation's) signs a true statement.
    org = pki.org("1000001")
    (tmp_path / "org.pem").write_bytes(org.cert_pem + pki.issuing.cert_pem + pki.root.cert_pem)
    (tmp_path / "org.key").write_bytes(org.key_pem)
    other = SealConfig(cert=str(tmp_path / "org.pem"), key=str(tmp_path / "org.key"))
    signature = sign_detached(canonical(document["checkpoint"]), other,
                              tsa=TsaConfig.from_settings(sealed))
    forged = {**document, "signature": base64.b64encode(signature).decode()}
    [check] = checks_of(db, sealed, trust_dir, json.dumps(forged).encode())
    assert [code for code, _ in check.problems] == ["NOT_THE_SEAL"]

    # The seal's own signature without a timestamp is not a checkpoint either.
    untimed = sign_detached(canonical(document["checkpoint"]),
                            SealConfig.from_settings(sealed))
    [check] = checks_of(db, sealed, trust_dir, json.dumps(
        {**document, "signature": base64.b64encode(untimed).decode()}).encode())
    assert [code for code, _ in check.problems] == ["NO_TIMESTAMP"]

    garbage = {**document, "signature": base64.b64encode(b"not a CMS").decode()}
    [check] = checks_of(db, sealed, trust_dir, json.dumps(garbage).encode())
    assert [code for code, _ in check.problems] == ["SIGNATURE_INVALID"]


def test_one_checkpoint_per_interval_by_the_clock(db, in_site, sealed, tsa_up):
    clock = [NOW]
    schedule = CheckpointSchedule(db, sealed, checkpoint_interval({}), clock=lambda: clock[0])
    other = CheckpointSchedule(db, sealed, 86400, clock=lambda: clock[0])  # another process
    made, _path = schedule.tick()
    assert made.number == 1 and made.interval is not None
    assert other.tick() is None, "the interval's checkpoint is made"
    clock[0] = NOW + timedelta(hours=13, minutes=59)  # 23:59 in Ulaanbaatar: the same day
    assert schedule.tick() is None and other.tick() is None
    clock[0] = NOW + timedelta(hours=14, minutes=1)  # 00:01 the next day
    made, _path = other.tick()
    assert (made.number, made.interval) == (2, interval_of(NOW, 86400, sealed) + 1)
    assert schedule.tick() is None
    with in_site() as site:
        kept = site.audit.checkpoints
        assert len(kept) == 2 and kept.claim is None and kept.last_error is None


def test_processes_ticking_at_once_make_one_checkpoint_of_the_interval(db, in_site, sealed):
    from concurrent.futures import ThreadPoolExecutor

    schedules = [CheckpointSchedule(db, sealed, 86400, clock=lambda: NOW) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        made = [result for result in pool.map(lambda s: s.tick(), schedules) if result]
    assert len(made) == 1
    with in_site() as site:
        assert len(site.audit.checkpoints) == 1


def test_two_claims_of_one_interval_conflict(db):
    import transaction
    from ZODB.POSException import ConflictError

    managers = [transaction.TransactionManager() for _ in range(2)]
    kept = [site_of(db.open(transaction_manager=tm)).audit.checkpoints for tm in managers]
    for owner, checkpoints in zip("ab", kept):
        assert checkpoints.claim is None
        checkpoints.claim = (1, owner, NOW.timestamp() + 600)
    managers[0].commit()
    with pytest.raises(ConflictError):
        managers[1].commit()
    managers[1].abort()
    for checkpoints in kept:
        checkpoints._p_jar.close()


def test_a_claimed_interval_is_left_to_its_claimer_until_the_claim_expires(db, in_site, sealed):
    schedule = CheckpointSchedule(db, sealed, 86400, clock=lambda: NOW)
    interval = schedule.due(NOW)
    with in_site() as site:
        site.audit.checkpoints.claim = (interval, "elsewhere:1:ab", NOW.timestamp() + 600)
    assert schedule.tick() is None
    late = CheckpointSchedule(db, sealed, 86400, clock=lambda: NOW + timedelta(minutes=11))
    made, _path = late.tick()
    assert made.interval == interval


def test_a_tsa_that_is_down_makes_no_checkpoint_and_the_interval_is_tried_again(
        db, in_site, sealed, tsa_up):
    schedule = CheckpointSchedule(db, sealed, 86400, clock=lambda: NOW)
    tsa_up.available = False
    assert schedule.tick() is None
    with in_site() as site:
        kept = site.audit.checkpoints
        assert len(kept) == 0 and kept.claim is None and "TSA_UNAVAILABLE" in kept.last_error
    tsa_up.available = True
    made, _path = schedule.tick()
    assert made.number == 1


def test_a_checkpoint_is_mailed_with_its_file_when_it_commits(db, sealed, smtp):
    from registry.mail import postman_from_settings

    settings = {**sealed, "mail.host": "127.0.0.1", "mail.port": str(smtp.port),
                "mail.default_sender": "registry@example.mn",
                "registry.public_url": "https://registry.example.mn",
                "registry.audit.checkpoint_mail_to": "archive@example.mn"}
    checkpoint, path = make_checkpoint(db, settings, clock=lambda: NOW,
                                       postman=postman_from_settings(settings))
    [(to, message)] = smtp.messages
    assert to == ["archive@example.mn"]
    assert message["Subject"] == "Registry audit checkpoint 1"
    assert f"record {checkpoint.seq}, head {checkpoint.head}" in message.get_body().get_content()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == path.name == "audit-checkpoint-000001.json"
    assert attachment.get_content() == path.read_bytes()


def test_no_checkpoint_without_the_seal(db, sealed):
    del sealed["registry.seal.cert"]
    with pytest.raises(CheckpointError) as raised:
        make_checkpoint(db, sealed, clock=lambda: NOW)
    assert raised.value.code == "NO_SEAL"


def test_the_server_makes_checkpoints_with_the_seal_and_a_tsa(sealed, in_site_for):
    from registry.checkpoints import ICheckpointSchedule

    testapp, _in_site = in_site_for({**sealed, "registry.audit.checkpoint_interval": "hourly"})
    assert testapp.app.registry.getUtility(ICheckpointSchedule).interval == 3600


def test_the_server_makes_no_checkpoints_without_the_seal(settings, in_site_for):
    from registry.checkpoints import ICheckpointSchedule

    testapp, _in_site = in_site_for(settings)
    assert testapp.app.registry.queryUtility(ICheckpointSchedule) is None


@pytest.mark.parametrize("value, seconds", [("daily", 86400), ("hourly", 3600), ("off", 0),
                                            ("7200", 7200), ("0", 0)])
def test_the_interval_setting(value, seconds):
    assert checkpoint_interval({"registry.audit.checkpoint_interval": value}) == seconds


@pytest.mark.parametrize("value", ["sometimes", "-5", "30"])
def test_a_wrong_interval_setting_is_refused(value):
    with pytest.raises(SettingsError):
        checkpoint_interval({"registry.audit.checkpoint_interval": value})


def test_evolve_14_gives_the_audit_trail_its_checkpoints(in_site):
    from registry.resources.evolve import evolve

    with in_site() as site:
        del site.audit.checkpoints  # as audit trails were before checkpoints
        site.generation = 13
        assert evolve(site) == generations_after(13)
        assert len(site.audit.checkpoints) == 0 and site.audit.checkpoints.last_interval is None


def test_recomputed_heads_of_an_empty_chain_and_beyond_it(in_site):
    with in_site() as site:
        site.audit.seal()
        count = site.audit.count
        heads = site.audit.recomputed_heads({0, count, count + 1})
        assert heads == {0: GENESIS, count: site.audit.head}


# The command line ---------------------------------------------------------------------------

@pytest.fixture
def cli(sealed, db, trust_dir, monkeypatch):
    db.close()
    monkeypatch.setenv("REGISTRY_TRUST_DIR", str(trust_dir))
    ini = settings_ini(sealed, sealed["zodbconn.uri"])
    with open(ini, "a") as handle:
        for name in ("registry.seal.cert", "registry.seal.key", "registry.signature.tsa_url"):
            handle.write(f"{name} = {sealed[name]}\n")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["-c", ini, *args],
                                       catch_exceptions=False)


def test_the_command_line_makes_and_verifies_checkpoints(cli, tmp_path, sealed, pki):
    out = tmp_path / "published" / "cp.json"
    made = cli("audit", "checkpoint", "--out", str(out))
    assert made.exit_code == 0, made.output + made.stderr
    assert made.output.startswith("Checkpoint 1: record ") and out.is_file()
    again = cli("audit", "checkpoint")
    assert again.exit_code == 0 and again.output.startswith("Checkpoint 2: ")
    second = again.output.split("written to ")[1].strip()
    checked = cli("audit", "verify", "--checkpoint", str(out), second)
    assert checked.exit_code == 0, checked.output + checked.stderr
    assert checked.output.count(": HOLDS ") == 2
    other = tmp_path / "other-seal.pem"
    other.write_bytes(pki.org("1000002").cert_pem)
    renewed = cli("audit", "verify", "--checkpoint", str(out), "--seal-cert", str(other))
    assert renewed.exit_code == 1 and "NOT_THE_SEAL" in renewed.output
    both = cli("audit", "verify", "--checkpoint", str(out), "--seal-cert", str(other),
               "--seal-cert", sealed["registry.seal.cert"])
    assert both.exit_code == 0 and ": HOLDS " in both.output

    document = json.loads(out.read_bytes())
    document["checkpoint"]["seq"] += 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    refused = cli("audit", "verify", "--checkpoint", str(forged), str(out))
    assert refused.exit_code == 1
    assert "forged.json: REFUSED" in refused.output and "SIGNATURE_INVALID" in refused.output
    assert "1 of 2 checkpoints do not hold [CHECKPOINT_FAILED]" in refused.stderr

    unwritable = cli("audit", "checkpoint", "--out", str(forged / "cp.json"))
    assert unwritable.exit_code == 1
    assert "checkpoint 3 is kept, but" in unwritable.stderr
    assert "[NOT_WRITTEN]" in unwritable.stderr


def test_the_command_line_says_what_is_wrong_with_its_arguments(cli, tmp_path):
    stray = tmp_path / "stray.json"
    stray.write_text("{}")
    cases = {
        ("audit", "verify", str(stray)): "--checkpoint FILE",
        ("audit", "verify", "--checkpoint", str(tmp_path / "none.json")): "does not exist",
        ("audit", "verify", "--checkpoint", str(stray)): f"not a {FORMAT} file",
        ("audit", "verify", "--checkpoint", str(stray), "--seal-cert", str(stray)):
            "holds no PEM certificate",
        ("audit", "checkpoint", "--out"): "requires an argument",
    }
    for args, message in cases.items():
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_the_command_line_without_a_seal_makes_no_checkpoint(settings, db, monkeypatch):
    db.close()
    ini = settings_ini(settings, settings["zodbconn.uri"])
    result = CliRunner().invoke(main,
                                ["-c", ini, "audit", "checkpoint"])
    assert result.exit_code == 1 and "[NO_SEAL]" in result.stderr


# The page ------------------------------------------------------------------------------------

def test_the_site_administrator_sees_and_downloads_checkpoints(app, db, sealed):
    from conftest import login

    testapp, _in_site = app
    checkpoint, path = make_checkpoint(db, sealed, clock=lambda: NOW)
    login(testapp, "admin")
    page = testapp.get("/audit/")
    table = page.html.find(id="checkpoint-table")
    assert table is not None and checkpoint.head[:16] in table.text
    assert "2026-12-03 10:00:00" in table.text  # Ulaanbaatar time
    download = testapp.get("/audit/@checkpoint?number=1")
    assert download.body == path.read_bytes()
    assert 'filename="audit-checkpoint-000001.json"' in download.headers["Content-Disposition"]
    listed = testapp.get("/audit/@checkpoints", headers=JSON).json
    assert [item["seq"] for item in listed["items"]] == [checkpoint.seq]
    assert listed["items"][0]["file"].endswith("/audit/@checkpoint?number=1")
    testapp.get("/audit/@checkpoint?number=2", status=404)
    testapp.get("/audit/@checkpoint?number=x", status=404)


def test_an_auditor_sees_no_checkpoints(app, db, sealed):
    from conftest import login

    testapp, _in_site = app
    make_checkpoint(db, sealed, clock=lambda: NOW)
    login(testapp, "aud_a")
    assert testapp.get("/audit/").html.find(id="checkpoints") is None
    testapp.get("/audit/@checkpoint?number=1", status=403)
    testapp.get("/audit/@checkpoints", headers=JSON, status=403)
