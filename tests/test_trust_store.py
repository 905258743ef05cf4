"""Trust kept in the store: seeded from the trust directory, managed with `registry trust`,
read by every process's gate (cached, looked at again when the store's version moves)."""
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from click.testing import CliRunner

import pdfs
from registry.signatures import Gate, GateConfig
from registry.signatures.trust import TrustError
from registry.signatures.truststore import StoreTrust, TrustStore, refresh
from test_archive_handover import settings_ini

REGNO = "1000001"


def test_the_application_seeds_the_store_from_the_trust_directory_once(in_site, pki):
    with in_site() as site:
        store = site.trust_store
        kinds = sorted(kind for _digest, kind, *_rest in store.entries())
        assert store.seeded and kinds.count("anchor") >= 1 and "crl" in kinds and "ca" in kinds


def test_the_gate_judges_with_the_store_and_sees_a_change_made_elsewhere(db, in_site, pki):
    gate = Gate(GateConfig(), source=StoreTrust(db, None, ttl=0))
    letter = pdfs.signed_letter(pki, REGNO)
    assert gate.verify(letter, REGNO).accepted
    with in_site() as site:  # another machine removes the anchors
        store = site.trust_store
        for digest, kind, *_rest in store.entries():
            if kind == "anchor":
                store.remove(digest)
    assert "UNTRUSTED_SIGNER" in gate.verify(letter, REGNO).reasons


def test_a_crl_replaces_an_older_one_of_its_issuer_and_an_older_one_is_refused(pki):
    store = TrustStore()
    store.add("root.pem", pki.root.cert_der, "test")
    store.add("issuing.pem", pki.issuing.cert_der, "test")
    now = dt.datetime.now(dt.timezone.utc)
    older = pki.crl_der_with([], now - dt.timedelta(days=2), now + dt.timedelta(days=5))
    newer = pki.crl_der_with([], now - dt.timedelta(days=1), now + dt.timedelta(days=6))
    assert [kind for _d, kind in store.add("a.crl", older, "test")] == ["crl"]
    assert [kind for _d, kind in store.add("b.crl", newer, "test")] == ["crl"]
    assert [name for _d, kind, name, *_r in store.entries() if kind == "crl"] == ["b.crl"]
    with pytest.raises(TrustError, match="older than the CRL kept"):
        store.add("a.crl", older, "test")
    with pytest.raises(TrustError, match="no trusted CA issued this CRL"):
        TrustStore().add("c.crl", newer, "test")
    with pytest.raises(TrustError, match="not a readable certificate"):
        store.add("junk.pem", b"not a certificate", "test")


def test_refresh_fetches_the_distribution_points_and_keeps_what_is_newer(pki):
    store = TrustStore()
    store.add("root.pem", pki.root.cert_der, "test")
    store.add("issuing.pem", pki.issuing.cert_der, "test")
    store.add("root.crl", pki.root_crl_der(), "test")
    now = dt.datetime.now(dt.timezone.utc)
    fresh = pki.crl_der_with([], now, now + dt.timedelta(days=7))
    served = {"http://crl.test/issuing.crl": fresh}

    def fetcher(url):
        if url not in served:
            raise OSError(f"{url}: connection refused")
        return served[url]

    outcomes = dict(refresh(store, "test", urls=["http://crl.test/issuing.crl"],
                            fetcher=fetcher))
    assert outcomes.pop("http://crl.test/issuing.crl") == "updated"
    assert all("connection refused" in outcome for outcome in outcomes.values())
    assert dict(refresh(store, "test", ["http://crl.test/issuing.crl"], fetcher))[
        "http://crl.test/issuing.crl"] == "current"


def test_registry_trust_lists_adds_and_removes_audited(settings, db, in_site, pki, tmp_path):
    from registry.cli import main

    with in_site() as site:
        anchors = [d for d, kind, *_r in site.trust_store.entries() if kind == "anchor"]
    db.close()
    ini = settings_ini(settings, settings["zodbconn.uri"])
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, ["-c", ini, *args], catch_exceptions=False)

    listed = cli("trust", "list")
    assert listed.exit_code == 0 and "anchor" in listed.output
    removed = cli("trust", "remove", anchors[0][:12])
    assert removed.exit_code == 0 and removed.output.startswith("removed anchor")
    assert cli("trust", "remove", "abc").exit_code == 1
    (tmp_path / "root.pem").write_bytes(pki.root.cert.public_bytes(serialization.Encoding.PEM))
    added = cli("trust", "add", str(tmp_path / "root.pem"))
    assert added.exit_code == 0 and "added anchor" in added.output
    assert "kept already" in cli("trust", "add", str(tmp_path / "root.pem")).output
    (tmp_path / "junk.crl").write_bytes(b"junk")
    refused = cli("trust", "add", str(tmp_path / "junk.crl"))
    assert refused.exit_code == 1 and "TRUST_REFUSED" in refused.output
    as_json = cli("trust", "list", "--json")
    assert '"kind": "anchor"' in as_json.output
