"""RFC 3161 time-stamping: the registry as a client of its configured time-stamping authority
(signature timestamps when it signs on the server, preservation timestamps over what it
accepted), and a small local TSA over HTTP for the demo and the tests.

The TSA has a trust of its own: its certificate chain must lead to one of the anchors named by
`registry.signature.tsa_trust` (a file or folder of certificates; by default the gate's trust
directory). A token whose signer does not is refused, never stored.
"""
import asyncio
import hashlib
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from registry import settings as registry_settings
from registry.signatures.trust import load_anchors

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY = 16 * 1024


class TimestampError(Exception):
    """The TSA could not be reached, refused, or answered with a token the registry does not
    trust. The message says which; it holds no secret."""


@dataclass(frozen=True)
class TsaConfig:
    url: str
    trust: str = None  # file or folder of the TSA's trust anchors; None: the gate's trust
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings):
        """The configured TSA, or None when `registry.signature.tsa_url` is not set
        (`registry.settings.tsa`)."""
        fields = registry_settings.tsa(settings)
        return None if fields is None else cls(**fields)

    def anchors(self, gate_trust):
        """DER certificates the TSA must chain to: those of `trust` (self-signed ones are
        anchors, others complete the chain), else the gate's (a Trust)."""
        if not self.trust:
            return list(gate_trust.roots), list(gate_trust.intermediates)
        anchors = load_anchors(self.trust)
        return list(anchors.roots), list(anchors.intermediates)


def preservation_imprint(file_sha256, verdict_sha256):
    """The message a preservation timestamp covers: the file's SHA-256 and the verdict's, as
    32 bytes each, one after the other (the token's imprint is the SHA-256 of these 64)."""
    return bytes.fromhex(file_sha256) + bytes.fromhex(verdict_sha256)


def request_token(message, config, roots, intermediates=(), crls=()):
    """Ask the TSA for a timestamp over SHA-256(`message`); check that the answer is a token
    over exactly that, signed by a TSA chaining to `roots` (DER). Returns (token DER, its time
    as ISO text). Raises TimestampError."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    digest = hashlib.sha256(message).digest()
    stamper = HTTPTimeStamper(config.url, timeout=config.timeout)
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(der) for der in roots],
        other_certs=[asn1_x509.Certificate.load(der) for der in intermediates],
        crls=[asn1_crl.CertificateList.load(der) for der in crls],
        allow_fetching=False, revocation_mode="soft-fail")

    async def stamp():
        token = await stamper.async_timestamp(digest, "sha256")
        found = await validate_tst_signed_data(
            token["content"], context, lambda algorithm: hashlib.new(algorithm, message).digest())
        return token, TimestampSignatureStatus(**found)

    try:
        token, status = asyncio.run(stamp())
    except SigningError as exc:
        raise TimestampError(f"the TSA refused or could not be reached: {exc}") from None
    except (OSError, asyncio.TimeoutError, ValueError) as exc:
        raise TimestampError(f"the TSA could not be reached: {type(exc).__name__}") from None
    if not (status.intact and status.valid):
        raise TimestampError("the TSA's token does not match what was asked, or its signature")
    if not status.trusted:
        raise TimestampError("the TSA's certificate is not trusted by its configured anchors")
    return token.dump(), status.timestamp.isoformat()


def token_time_and_imprint(token_der):
    """(genTime as ISO text, messageImprint's hashed message as hex) of a timestamp token."""
    from asn1crypto import cms, tsp

    signed = cms.ContentInfo.load(token_der)["content"]
    info = tsp.TSTInfo.load(signed["encap_content_info"]["content"].parsed.dump())
    return info["gen_time"].native.isoformat(), info["message_imprint"]["hashed_message"].native.hex()


class LocalTsa:
    """A time-stamping authority on 127.0.0.1 that signs every request with a given key
    (pyHanko's DummyTimeStamper behind a real HTTP endpoint): for the demo and the tests, so
    that the registry uses its real HTTP client. `clock` (optional) fixes the tokens' time."""

    def __init__(self, cert_der, key_der, chain_der=(), port=0, clock=None):
        from asn1crypto import keys, x509
        from pyhanko.sign.timestamps import DummyTimeStamper

        self.cert = x509.Certificate.load(cert_der)
        self.key = keys.PrivateKeyInfo.load(key_der)
        self.chain = [x509.Certificate.load(der) for der in chain_der]
        self.clock = clock
        self._stamper = DummyTimeStamper(tsa_cert=self.cert, tsa_key=self.key,
                                         certs_to_embed=self.chain)
        self.requests = 0
        self.available = True  # tests take it down and up again
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tsa"

    def _handler(self):
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                from asn1crypto import tsp

                length = int(self.headers.get("Content-Length") or 0)
                if not tsa.available:
                    self.send_error(503)
                    return
                if self.headers.get("Content-Type") != QUERY_TYPE or not 0 < length <= MAX_QUERY:
                    self.send_error(400)
                    return
                try:
                    query = tsp.TimeStampReq.load(self.rfile.read(length))
                    stamper = tsa._stamper
                    if tsa.clock is not None:
                        stamper.fixed_dt = tsa.clock()
                    reply = stamper.request_tsa_response(query).dump()
                except ValueError:
                    self.send_error(400)
                    return
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", REPLY_TYPE)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):  # quiet: the demo's console is for the registry
                pass

        return Handler

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-tsa",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
