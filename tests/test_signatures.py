"""The signature gate against real PDFs signed by a generated test PKI: good letters, every
refusal, the public attack classes (incremental saving, signature wrapping, universal signature
forgery, shadow attacks), certificate problems, and hostile files under the time budget."""
import datetime as dt
import hashlib
import json
import time

import pytest
from click.testing import CliRunner

import pdfs
from registry.cli import main as cli
from registry.signatures import REASONS, Gate, GateConfig
from registry.signatures.trust import TrustError, load_trust

REGNO = "1000001"
MIB = 1024 * 1024


@pytest.fixture(scope="session")
def gate(trust_dir):
    return Gate(GateConfig(trust_dir=str(trust_dir), max_size=MIB))


def answer(verdict):
    return "ACCEPTED" if verdict.accepted else verdict.reasons[0]


FAST = [s for s in pdfs.SAMPLES if not s.slow]
SLOW = [s for s in pdfs.SAMPLES if s.slow]


@pytest.mark.parametrize("sample", FAST, ids=[s.name for s in FAST])
def test_sample(gate, pki, sample):
    verdict = gate.verify(sample.build(pki, REGNO), REGNO)
    assert verdict.reasons == sample.reasons, verdict.evidence
    assert verdict.accepted is (not verdict.reasons)


@pytest.mark.slow
@pytest.mark.parametrize("sample", SLOW, ids=[s.name for s in SLOW])
def test_hostile_sample_is_answered_within_five_seconds(gate, pki, sample):
    data = sample.build(pki, REGNO)
    started = time.monotonic()
    verdict = gate.verify(data, REGNO)
    assert time.monotonic() - started < 5
    assert verdict.reasons == sample.reasons, verdict.evidence


def test_every_reason_a_sample_pins_is_a_known_reason():
    assert {reason for s in pdfs.SAMPLES for reason in s.reasons} <= set(REASONS)


def test_a_file_with_more_annotations_than_a_letter_has_is_refused_before_reading_them(gate):
    """Each annotation must be read to know it is no signature, and pyHanko reads objects out
    of object streams in time that grows with the stream: past 200 the gate refuses at once."""
    verdict = gate.verify(pdfs.huge_object_count(n=201), REGNO)
    assert verdict.reasons == ("TOO_LARGE",)
    assert verdict.evidence["error"] == "201 annotations (at most 200 are checked)"
    assert gate.verify(pdfs.huge_object_count(n=200), REGNO).reasons == ("NO_SIGNATURE",)


# Long-term validation: judged as of the registry's first acceptance ---------------------------

DAY = dt.timedelta(days=1)


def _judged_later(pki, tmp_path, crls, accepted_at, years=3):
    """A gate `years` on from `accepted_at`, its trust directory holding only `crls` (DER)
    beside the root's, and the evidence of a first acceptance at `accepted_at` with the CRLs
    in force then."""
    folder = pki.write_trust_dir(tmp_path / "later", include_crls=False)
    for index, der in enumerate([*crls, pki.root_crl_der()]):
        (folder / f"{index}.crl").write_bytes(der)
    later = accepted_at + years * 365 * DAY
    gate = Gate(GateConfig(trust_dir=str(folder)), clock=lambda: later)
    as_of = {"time": accepted_at.isoformat(), "crls": [pki.crl_der(), pki.root_crl_der()]}
    return gate, as_of


def test_an_expired_certificate_and_crl_do_not_fail_a_letter_accepted_while_valid(pki, tmp_path):
    accepted_at = dt.datetime.now(dt.timezone.utc)
    gate, as_of = _judged_later(pki, tmp_path, [], accepted_at)
    data = pdfs.signed_letter(pki, REGNO)
    verdict = gate.verify(data, REGNO, as_of=as_of)
    assert verdict.accepted, verdict.evidence
    assert verdict.evidence["judged"] == {"basis": "first_acceptance",
                                          "at": accepted_at.isoformat(), "revocation_kept": 2}
    bare = gate.verify(data, REGNO)
    assert bare.reasons == ("CERT_EXPIRED",)
    assert bare.evidence["judged"]["basis"] == "now"


def test_a_revocation_dated_after_the_first_acceptance_does_not_fail_the_letter(pki, tmp_path):
    accepted_at = dt.datetime.now(dt.timezone.utc)
    signer = pki.org(REGNO)
    later_crl = pki.crl_der_with([(signer, accepted_at + DAY)], accepted_at + DAY,
                                 accepted_at + 8 * DAY)
    gate, as_of = _judged_later(pki, tmp_path, [later_crl], accepted_at)
    assert gate.verify(pdfs.signed_letter(pki, REGNO), REGNO, as_of=as_of).accepted


def test_a_key_compromise_dated_before_the_first_acceptance_still_fails(pki, tmp_path):
    accepted_at = dt.datetime.now(dt.timezone.utc)
    signer = pki.org(REGNO)
    # Published after the registry accepted the letter, dated an hour before it.
    later_crl = pki.crl_der_with([(signer, accepted_at - dt.timedelta(hours=1))],
                                 accepted_at + DAY, accepted_at + 8 * DAY)
    gate, as_of = _judged_later(pki, tmp_path, [later_crl], accepted_at)
    verdict = gate.verify(pdfs.signed_letter(pki, REGNO), REGNO, as_of=as_of)
    assert verdict.reasons == ("CERT_REVOKED",)
    assert verdict.evidence["revocation"] == {
        "date": (accepted_at - dt.timedelta(hours=1)).replace(microsecond=0).isoformat(),
        "reason": "keyCompromise"}


def test_a_timestamped_letter_with_its_revocation_data_is_judged_at_its_timestamp(
        pki, tmp_path):
    """PAdES B-LT (signature timestamp + the CRLs in a DSS), three years on, the trust holding no
    current CRL: valid, judged at the timestamp (the TSA's own certificate has expired since;
    it was trusted when it stamped). B-T without revocation data anywhere cannot show that the
    TSA's certificate was not revoked then: its timestamp proves nothing, and the signature is
    judged now, expired, like B-B."""
    folder = pki.write_trust_dir(tmp_path / "trust", include_crls=False)
    later = dt.datetime.now(dt.timezone.utc) + 3 * 365 * DAY
    gate = Gate(GateConfig(trust_dir=str(folder)), clock=lambda: later)
    b_lt = pdfs.sign(pdfs.letter_pdf(), pki.org(REGNO), timestamp=True,
                     embed_crl=[pki.crl_der(), pki.root_crl_der()])
    verdict = gate.verify(b_lt, REGNO)
    assert verdict.accepted, verdict.evidence
    assert verdict.evidence["judged"] == {"basis": "timestamp", "at": verdict.timestamp,
                                          "revocation_kept": 2}
    assert verdict.evidence["trusted"] and verdict.evidence["trust_problem"] is None
    b_t = gate.verify(pdfs.signed_letter_timestamped(pki, REGNO), REGNO)
    assert b_t.reasons == ("CERT_EXPIRED",)
    assert (b_t.timestamp, b_t.evidence["judged"]["basis"]) == (None, "now")
    assert gate.verify(pdfs.signed_letter(pki, REGNO), REGNO).reasons == ("CERT_EXPIRED",)


def test_a_check_names_the_revocation_data_it_used(gate, pki, trust_dir):
    import hashlib

    verdict = gate.verify(pdfs.signed_letter(pki, REGNO), REGNO)
    crls = [p.read_bytes() for p in sorted(trust_dir.iterdir()) if p.suffix == ".crl"]
    assert verdict.evidence["revocation_data"] == sorted(
        hashlib.sha256(der).hexdigest() for der in crls)


def test_accepted_verdict_names_the_signer(gate, pki):
    verdict = gate.verify(pdfs.signed_letter(pki, REGNO), REGNO)
    assert verdict.accepted and verdict.subfilter == "ETSI.CAdES.detached"
    assert verdict.signer["regno"] == REGNO
    assert "Registry Test Issuing CA" in verdict.signer["issuer"]
    assert verdict.signer["serial"] == format(pki.org(REGNO).cert.serial_number, "x")
    assert verdict.signing_time and verdict.evidence["intact"] and verdict.evidence["trusted"]
    assert verdict.evidence["coverage"] == "ENTIRE_FILE"


def test_without_an_expected_org_any_trusted_signer_passes(gate, pki):
    assert gate.verify(pdfs.signed_by_other_org(pki, REGNO), None).accepted


def test_a_file_path_is_checked_like_bytes(gate, pki, tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdfs.signed_letter(pki, REGNO))
    verdict = gate.verify(str(path), REGNO)
    assert verdict.accepted and verdict.size == path.stat().st_size
    # The worker hashes the bytes it checked (the gate does not hash the file beforehand).
    assert verdict.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["signed_letter", "page_content_replaced",
                                  "cms_over_other_document", "not_pdf",
                                  "garbage_with_pdf_header"])
def test_a_verdict_names_the_sha256_of_the_bytes_checked(gate, pki, tmp_path, name):
    """Whatever the answer, and whether the file's SHA-256 came with the signature's digest or
    on its own: the verdict's sha256 is the file's."""
    data = pdfs.sample(name).build(pki, REGNO)
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    assert gate.verify(str(path), REGNO).sha256 == hashlib.sha256(data).hexdigest()


def test_the_signed_range_digest_given_to_pyhanko_is_its_own(pki):
    """The gate hashes the signed range together with the file and hands pyHanko the digest:
    it is the one pyHanko works out itself (a signature only, and a B-LT update after it)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.general import byte_range_digest

    from registry.signatures.checks import FileDigest

    for data in (pdfs.signed_letter(pki, REGNO), pdfs.signed_then_dss_added(pki, REGNO)):
        embedded = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
        digest = FileDigest(data)
        digest.seed(embedded, embedded.sig_object)
        _length, own = byte_range_digest(io.BytesIO(data), embedded.byte_range, "sha256")
        assert embedded.external_digests == {"sha256": own}
        assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_file_the_worker_did_not_answer_for_is_hashed_by_the_gate(trust_dir, pki, tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdfs.signed_letter(pki, REGNO))
    impatient = Gate(GateConfig(trust_dir=str(trust_dir), timeout=0.000001))
    verdict = impatient.verify(str(path), REGNO)
    assert verdict.reasons == ("TIMEOUT",)
    assert verdict.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pades_only_setting_refuses_adbe_signatures(trust_dir, pki):
    strict = Gate(GateConfig(trust_dir=str(trust_dir), pades_only=True))
    assert strict.verify(pdfs.signed_letter_adbe(pki, REGNO), REGNO).reasons == ("NOT_PADES",)
    assert strict.verify(pdfs.signed_letter(pki, REGNO), REGNO).accepted


def test_without_a_crl_revocation_is_unknown(pki, tmp_path):
    folder = pki.write_trust_dir(tmp_path / "trust", include_crls=False)
    verdict = Gate(GateConfig(trust_dir=str(folder))).verify(pdfs.signed_letter(pki, REGNO),
                                                             REGNO)
    assert verdict.reasons == ("REVOCATION_UNKNOWN",)


def test_an_expired_crl_gives_unknown_revocation(pki, tmp_path):
    folder = pki.write_trust_dir(tmp_path / "trust")
    (folder / "issuing.crl").write_bytes(pki.expired_crl_der())
    verdict = Gate(GateConfig(trust_dir=str(folder))).verify(pdfs.signed_letter(pki, REGNO),
                                                             REGNO)
    assert verdict.reasons == ("REVOCATION_UNKNOWN",)


def test_pem_crls_and_reloading_the_trust_directory(pki, tmp_path):
    folder = pki.write_trust_dir(tmp_path / "trust", crl_format="pem")
    gate = Gate(GateConfig(trust_dir=str(folder)))
    assert gate.verify(pdfs.signed_letter(pki, REGNO), REGNO).accepted
    (folder / "root.pem").unlink()  # the anchor goes: nothing is trusted any more
    assert gate.verify(pdfs.signed_letter(pki, REGNO), REGNO).reasons == ("UNTRUSTED_SIGNER",)


def test_an_unreadable_trust_file_is_an_error_not_a_silent_gap(tmp_path):
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(TrustError):
        load_trust(tmp_path)


def test_the_time_budget_stops_a_slow_check(trust_dir, pki):
    impatient = Gate(GateConfig(trust_dir=str(trust_dir), timeout=0.001))
    started = time.monotonic()
    verdict = impatient.verify(pdfs.signed_letter(pki, REGNO), REGNO)
    assert verdict.reasons == ("TIMEOUT",) and time.monotonic() - started < 2


def test_the_memory_budget_stops_a_worker_that_grows_too_much():
    """A worker may not grow its address space past the budget: an allocation beyond it fails
    in the worker (which answers "memory", a refusal), never in the web process."""
    from registry.signatures.worker import call

    outcome = call("builtins:bytearray", (512 * MIB,), timeout=10, memory_limit=256 * MIB)
    assert outcome.kind == "memory"
    assert call("builtins:len", (b"fits",), timeout=10, memory_limit=256 * MIB).value == 4


# registry verify ---------------------------------------------------------------------------

@pytest.fixture
def files(pki, tmp_path):
    good = tmp_path / "good.pdf"
    good.write_bytes(pdfs.signed_letter(pki, REGNO))
    bad = tmp_path / "modified.pdf"
    bad.write_bytes(pdfs.sample("page_content_replaced").build(pki, REGNO))
    return good, bad


def run_verify(*args, trust=None):
    env = {"REGISTRY_TRUST_DIR": str(trust)} if trust else {}
    return CliRunner(env=env).invoke(cli, ["verify", *args], catch_exceptions=False)


def test_cli_verify_accepts_and_refuses_with_exit_codes(files, trust_dir):
    good, bad = files
    ok = run_verify("--org", REGNO, str(good), trust=trust_dir)
    assert ok.exit_code == 0 and "ACCEPTED" in ok.output
    refused = run_verify("--org", REGNO, str(good), str(bad), trust=trust_dir)
    assert refused.exit_code == 1 and "MODIFIED_AFTER_SIGNING" in refused.output


def test_cli_verify_json(files, trust_dir):
    good, bad = files
    result = run_verify("--json", "--org", "7654321", str(good), str(bad), trust=trust_dir)
    body = json.loads(result.output)
    assert [item["file"] for item in body] == [str(good), str(bad)]
    assert body[0]["reasons"] == ["SIGNER_ORG_MISMATCH"] and body[0]["signer"]["regno"] == REGNO
    assert body[1]["accepted"] is False and result.exit_code == 1


def test_cli_verify_with_explicit_roots_and_crls(files, pki, tmp_path):
    good, _bad = files
    (tmp_path / "root.pem").write_bytes(pki.root.cert_pem)
    (tmp_path / "issuing.pem").write_bytes(pki.issuing.cert_pem)
    (tmp_path / "issuing.crl").write_bytes(pki.crl_der())
    (tmp_path / "root.crl").write_bytes(pki.root_crl_der())
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    result = run_verify("--trust-root", str(tmp_path / "root.pem"), "--trust-root",
                        str(tmp_path / "issuing.pem"), "--crl", str(tmp_path / "issuing.crl"),
                        "--crl", str(tmp_path / "root.crl"), str(good), trust=empty)
    assert result.exit_code == 0, result.output
    no_roots = run_verify(str(good), trust=empty)
    assert no_roots.exit_code == 1 and "no trusted certificate" in no_roots.stderr


@pytest.mark.parametrize("args", [[], ["--nope", "x.pdf"], ["/no/such/file.pdf"]])
def test_cli_verify_usage_errors_exit_2(args, trust_dir):
    assert run_verify(*args, trust=trust_dir).exit_code == 2


def test_shipped_trust_directory_is_empty_of_test_material():
    from registry.paths import shipped

    assert not any(p.suffix in (".pem", ".crt", ".cer", ".crl")
                   for p in (shipped("etc") / "trust").iterdir())


def test_pool_workers_are_reused_and_replaced_after_an_overrun_or_exhaustion():
    from registry.signatures.worker import WorkerPool

    pool = WorkerPool(size=1, memory_limit=256 * MIB, max_jobs=3)
    try:
        first = pool.call("os:getpid", (), timeout=10).value
        assert pool.call("os:getpid", (), timeout=10).value == first, "a warm worker is reused"
        assert pool.call("os:getpid", (), timeout=10).value == first
        assert pool.call("os:getpid", (), timeout=10).value != first, "retired after max_jobs"
        assert pool.call("time:sleep", (5,), timeout=0.3).kind == "timeout"
        assert pool.call("builtins:len", (b"ab",), timeout=10).value == 2
        assert pool.call("builtins:bytearray", (512 * MIB,), timeout=10).kind == "memory"
        assert pool.call("builtins:len", (b"abc",), timeout=10).value == 3
    finally:
        pool.close()


# The verdict cache ---------------------------------------------------------------------------

def _counting_gate(trust_dir, monkeypatch, clock):
    """A gate on `clock` whose checks are counted: returns (gate, calls)."""
    import registry.signatures as signatures

    calls, real = [], signatures.run_checks

    def counted(*args, **kw):
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(signatures, "run_checks", counted)
    return Gate(GateConfig(trust_dir=str(trust_dir)), clock=clock), calls


def test_the_same_question_within_the_minute_is_answered_from_the_last_check(
        pki, trust_dir, monkeypatch):
    now = [dt.datetime.now(dt.timezone.utc).replace(second=5, microsecond=0)]
    gate, calls = _counting_gate(trust_dir, monkeypatch, lambda: now[0])
    signed = pdfs.signed_letter(pki, REGNO)
    first = gate.verify(signed, REGNO)
    now[0] += dt.timedelta(seconds=40)
    again = gate.verify(signed, REGNO)
    assert calls == [REGNO] and first.accepted
    assert again.as_json() == {**first.as_json(), "evidence": {
        **first.evidence, "reused_at": now[0].isoformat()}}


def test_another_question_or_the_next_minute_checks_again(pki, trust_dir, monkeypatch):
    now = [dt.datetime.now(dt.timezone.utc).replace(second=50, microsecond=0)]
    gate, calls = _counting_gate(trust_dir, monkeypatch, lambda: now[0])
    signed = pdfs.signed_letter(pki, REGNO)
    gate.verify(signed, REGNO)
    gate.verify(signed, "1000002")  # another expected organisation
    gate.verify(signed, REGNO, as_of={"time": (now[0] - dt.timedelta(minutes=5)).isoformat(),
                                      "crls": []})
    gate.verify(signed + b"\n", REGNO)  # other bytes
    now[0] += dt.timedelta(seconds=15)  # the next minute
    later = gate.verify(signed, REGNO)
    assert len(calls) == 5 and "reused_at" not in later.evidence
    assert len(gate.verdicts) == 1  # the past minute's verdicts are gone


def test_a_file_is_reused_only_while_it_is_the_same_unchanged_file(pki, trust_dir, tmp_path,
                                                                    monkeypatch):
    now = [dt.datetime.now(dt.timezone.utc).replace(second=5, microsecond=0)]
    gate, calls = _counting_gate(trust_dir, monkeypatch, lambda: now[0])
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdfs.signed_letter(pki, REGNO))
    first = gate.verify(str(path), REGNO)
    again = gate.verify(path, REGNO)
    assert len(calls) == 1 and again.evidence["reused_at"] == now[0].isoformat()
    assert again.sha256 == first.sha256
    rewritten = pdfs.sample("page_content_replaced").build(pki, REGNO)
    path.write_bytes(rewritten)  # the same path, other bytes
    changed = gate.verify(path, REGNO)
    assert len(calls) == 2 and "reused_at" not in changed.evidence
    assert changed.reasons == ("MODIFIED_AFTER_SIGNING",)
    assert changed.sha256 == hashlib.sha256(rewritten).hexdigest()


def test_a_changed_trust_directory_checks_again(pki, tmp_path, monkeypatch):
    folder = pki.write_trust_dir(tmp_path / "trust")
    now = dt.datetime.now(dt.timezone.utc).replace(second=5, microsecond=0)
    gate, calls = _counting_gate(folder, monkeypatch, lambda: now)
    signed = pdfs.signed_letter(pki, REGNO)
    assert gate.verify(signed, REGNO).accepted
    for crl in folder.glob("*.crl"):
        crl.unlink()
    assert gate.verify(signed, REGNO).reasons[0] == "REVOCATION_UNKNOWN"
    assert len(calls) == 2


def _signed_then_asked_again(pki, folder, monkeypatch, change=None, moment=None):
    """Sign-time check of a letter, then (3 minutes later, after `change(folder)`) the question
    a send asks: the same bytes as of their first acceptance (`moment`, default the first
    check's time) with the CRLs kept then. Returns (first, second, checks run)."""
    now = [dt.datetime.now(dt.timezone.utc).replace(second=5, microsecond=0)]
    gate, calls = _counting_gate(folder, monkeypatch, lambda: now[0])
    signed = pdfs.signed_letter(pki, REGNO)
    first = gate.verify(signed, REGNO)
    kept = list(load_trust(folder).crls)
    now[0] += dt.timedelta(minutes=3)
    if change:
        change(folder)
    second = gate.verify(signed, REGNO, as_of={"time": moment or first.checked_at,
                                               "crls": kept})
    return first, second, len(calls)


def test_a_send_after_signing_takes_the_signing_checks_judgement(pki, tmp_path, monkeypatch):
    folder = pki.write_trust_dir(tmp_path / "trust")
    first, second, checks = _signed_then_asked_again(pki, folder, monkeypatch)
    assert checks == 1 and first.accepted and second.accepted
    assert second.checked_at != first.checked_at
    assert second.evidence["reused_from"] == first.checked_at
    assert second.evidence["judged"] == {"basis": "first_acceptance", "at": first.checked_at,
                                         "revocation_kept": 2}
    assert second.evidence["revocation_data"] == first.evidence["revocation_data"]


def test_a_certificate_revoked_after_signing_is_checked_again(pki, tmp_path, monkeypatch):
    folder = pki.write_trust_dir(tmp_path / "trust")
    now = dt.datetime.now(dt.timezone.utc)

    def revoke(folder):
        (folder / "issuing.crl").write_bytes(pki.crl_der_with(
            [(pki.org(REGNO), now - dt.timedelta(minutes=30))],
            now - dt.timedelta(minutes=10), now + dt.timedelta(days=7)))

    first, second, checks = _signed_then_asked_again(pki, folder, monkeypatch, revoke)
    assert checks == 2 and first.accepted
    assert second.reasons == ("CERT_REVOKED",)


def test_a_trust_changed_after_signing_checks_again(pki, tmp_path, monkeypatch):
    folder = pki.write_trust_dir(tmp_path / "trust")

    def add_crl(folder):
        (folder / "other-root.crl").write_bytes(pki.other_root_crl_der())

    first, second, checks = _signed_then_asked_again(pki, folder, monkeypatch, add_crl)
    assert checks == 2 and second.accepted and "reused_from" not in second.evidence


def test_another_moment_than_the_signing_checks_checks_again(pki, tmp_path, monkeypatch):
    folder = pki.write_trust_dir(tmp_path / "trust")
    earlier = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)).isoformat()
    first, second, checks = _signed_then_asked_again(pki, folder, monkeypatch, moment=earlier)
    assert checks == 2 and second.accepted and "reused_from" not in second.evidence
    assert second.evidence["judged"]["at"] == earlier


def test_a_check_that_ran_out_of_time_is_not_kept(pki, trust_dir, monkeypatch):
    now = dt.datetime.now(dt.timezone.utc).replace(second=5, microsecond=0)
    gate, calls = _counting_gate(trust_dir, monkeypatch, lambda: now)
    gate.config.timeout = 0.000001
    signed = pdfs.signed_letter(pki, REGNO)
    assert gate.verify(signed, REGNO).reasons == ("TIMEOUT",)
    assert gate.verify(signed, REGNO).reasons == ("TIMEOUT",)
    assert len(calls) == 2 and len(gate.verdicts) == 0


# The chain cache: each signer's chain validated once a minute per worker ---------------------

def _in_process(pki, trust_dir, clock_minutes=0):
    """checks.inspect in this process (so that its chain cache is the test's), judged now."""
    from registry.signatures import checks

    trust = load_trust(trust_dir).as_payload()
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=clock_minutes)
    return lambda data, **kw: checks.inspect(data, REGNO, trust, {"now": now.isoformat(), **kw})


@pytest.fixture
def chains(monkeypatch):
    from registry.signatures import checks

    fresh = checks.ChainCache()
    monkeypatch.setattr(checks, "CHAINS", fresh)
    return fresh


def test_a_signers_chain_is_validated_once_and_its_findings_reused(pki, trust_dir, chains):
    from registry.signatures import checks

    check = _in_process(pki, trust_dir)
    first = check(pdfs.signed_letter(pki, REGNO))
    assert len(chains._items) == 1
    [(key, (_until, findings))] = chains._items.items()
    assert findings["trust_problem_indic"] is None and findings["validation_path"] is not None
    again = check(pdfs.signed_multipage_letter(pki, REGNO))  # another letter, same signer
    assert len(chains._items) == 1
    assert again.accepted and first.accepted
    assert again.evidence["chain"] == first.evidence["chain"]
    assert again.evidence["trusted"] and again.evidence["trust_problem"] is None
    # Fetching revocation data online is never reused.
    assert checks.chain_key(None, {}, {"fetch": True}) is None


def test_reused_findings_never_cross_a_signer_a_trust_or_a_minute(pki, trust_dir, tmp_path,
                                                                chains):
    check = _in_process(pki, trust_dir)
    assert check(pdfs.signed_letter(pki, REGNO)).accepted
    revoked = pdfs.signed_by_revoked(pki, REGNO)
    assert check(revoked).reasons == ("CERT_REVOKED",)
    assert len(chains._items) == 2
    no_crl = pki.write_trust_dir(tmp_path / "no-crl", include_crls=False)
    assert _in_process(pki, no_crl)(pdfs.signed_letter(pki, REGNO)).reasons == \
        ("REVOCATION_UNKNOWN",)
    assert _in_process(pki, trust_dir, clock_minutes=1)(pdfs.signed_letter(pki, REGNO)).accepted
    assert len(chains._items) == 4


def test_a_kept_finding_lives_at_most_its_ttl(pki, trust_dir, chains):
    now = [0.0]
    chains.clock = lambda: now[0]
    chains.put("key", {"trust_problem_indic": None})
    now[0] = chains.ttl - 1
    assert chains.get("key") == {"trust_problem_indic": None}
    now[0] = chains.ttl + 1
    assert chains.get("key") is None and not chains._items


def test_with_the_chain_known_a_timestamp_by_the_signers_own_key_still_proves_nothing(
        pki, trust_dir, chains):
    """On a cache hit pyHanko sees the signer's certificate as an anchor; a timestamp that
    certificate signed (not a TSA's) must not become trusted by it."""
    check = _in_process(pki, trust_dir)
    signer = pki.org(REGNO)
    assert check(pdfs.signed_letter(pki, REGNO)).accepted  # the chain is now known
    self_stamped = pdfs.sign(pdfs.letter_pdf(), signer, timestamp=signer)
    verdict = check(self_stamped)
    assert verdict.accepted and verdict.timestamp is None
    assert verdict.evidence["level"] == "B-B" and verdict.evidence["judged"]["basis"] == "now"
