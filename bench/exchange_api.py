"""Benchmark: sending letters end to end through the JSON API, from one organisation at once.

Each letter is what an organisation's own system does over HTTP (loopback only), with API
tokens (`Authorization: Bearer`, `Accept: application/json`):

    draft     POST /orgs/<sender>/outbox            {"subject", "recipients"}
    upload    PUT  <letter>/@file (or @pdf)         a signed PDF, application/pdf
    sign      POST <letter>/@workflow/sign          (gate run 1)
    send      POST <letter>/@workflow/send          (gate run 2, outgoing number, delivery)
    register  POST <delivery>/@workflow/register    (the recipient; gate run 3, incoming number)

The delivery's address comes from the send answer's history evidence (`deliver`), else from the
recipient's inbox listing. Every client thread sends its share of --letters, all from the same
sending organisation (one records-manager account and token per client) to the same recipient;
with `--orgs distinct`, each client from its own organisation to its own (to tell what one
organisation's objects cost from what every writer shares).

Every letter carries PDF bytes of its own (signed before the timing starts), as real letters
do: the gate keeps its recent verdicts for a question asked again (a replayed request), and one
file sent over and over would be judged once a minute instead of once a letter.

Three set-ups, with 1, 4 and 8 concurrent clients (--clients):

1. in-process: the application (registry.main) on a FileStorage in a temporary directory named
   by `zodbconn.uri = file://.../Data.fs?blobstorage_dir=...`, served by waitress (--threads,
   default 4 as in etc/development.ini) on 127.0.0.1 in this process; the clients are threads
   of this process too (they mostly wait on sockets).
2. embedded: the same process set-up as `registry serve` with no `zodbconn.uri`: the process
   serves the embedded FileStorage over ZEO (a thread) and the application is its ZEO client.
3. ZEO, 2 app processes: a ZEO server process (registry.store.EmbeddedStore(data_dir).serve(),
   a unix socket) and two application processes, each `registry.main` with only
   `registry.data_dir` (so each connects to the store as a ZEO client) under waitress; clients
   are spread over the two processes round robin.

Reports letters/s (fully registered letters / wall time), p50/p95 of each call and of the whole
letter, refused or failed calls (a 503 BUSY is a request still conflicting after every replay),
the ZODB conflict retries the servers made (pyramid_retry's BeforeRetry events), the most
replays one request needed, the search index's commits per letter (one per organisation an
index update touches) and the CPU time the app processes used per letter (all their threads,
the index writer's included; not the gate's worker processes: a busy machine inflates wall
times much more than CPU times), and the machine's load average when the level ended (the
machine is shared: a load above its cores slows every figure). At the end of each set-up it reads the stores directly: the outbox and
inbox journals must hold every number 1..N of their counter once, each naming the letter or
delivery that carries it, the audit chain must verify, and every letter's stored PDF must be
readable.

The gate's workers start as under `python -c` in every app process (see hide_from_workers); a
worker started under a console script re-imports more (bench/gate_vs_pyhanko.py measures it):
per check for a gate that starts a process per check, once per worker for a pooled gate.

Uses the test PKI and signed PDFs from tests/ (generated, nothing downloaded).

    python bench/exchange_api.py                       # 80 letters per level, 1,4,8 clients
    python bench/exchange_api.py --letters 20 --clients 1,2 --modes inprocess
    python bench/exchange_api.py --orgs distinct --retry-attempts 10
    python bench/exchange_api.py --commit-ms 0,250      # old (an index commit per writing
                                                        # request) and new, side by side
"""
import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from stats import median as med, percentile as pct  # noqa: E402  (bench/)

# Only the standard library at module level: the gate's workers import the main module again.
SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# This checkout's code and test helpers, whatever copy of `registry` is installed.
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

SENDER = "1000001"
RECIPIENT = "1000002"
STEPS = ("draft", "upload", "sign", "send", "register")
SECRET = "bench-secret-bench-secret-bench"
PASSWORD = "bench-password-1"


# Statistics ---------------------------------------------------------------------------------

def hide_from_workers():
    """The gate's workers run the program's main module again (see registry.signatures.worker);
    this long script is not byte-compiled, so each gate run would compile it. Without a
    __file__ on __main__ they leave it alone, as under `python -c` (the best case; what the
    `registry` console script adds per gate run is measured by bench/gate_vs_pyhanko.py)."""
    main_module = sys.modules["__main__"]
    if getattr(main_module, "__file__", None):
        del main_module.__file__


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The client ---------------------------------------------------------------------------------

class PdfSupply:
    """Signed PDFs of one organisation, different bytes each (the letter's text numbers it):
    `count` signed up front, more on demand. Calling it takes one.

    With `text_layer` (the default), each is an official letter drawn as the registry's demo
    letters are (`registry.demo.render_letter`: a font with Cyrillic letters), so its text
    layer reads as the letter's words, as a typed letter's does; without it, the test PDFs'
    letter whose Cyrillic has no Unicode mapping (its text reads as "????"), which the server
    OCRs as it would a scan."""

    def __init__(self, pki, regno, count, text_layer=True):
        import pdfs

        from registry.demo import render_letter

        self.identity, self.sign, self.letter = pki.org(regno), pdfs.sign, pdfs.letter_pdf
        self.render = render_letter if text_layer else None
        self.regno = regno
        self.made = 0
        self.lock = threading.Lock()
        self.ready = [self.make() for _ in range(count)]

    def make(self):
        self.made += 1
        subject = f"Бенч: албан бичиг {self.made}"
        if self.render is None:
            return self.sign(self.letter(subject), self.identity)
        body = (f"Танай байгууллагад энэхүү {self.made} дугаар албан бичгийг хүргүүлж байна. "
                "Хавсралтад дурдсан баримт бичгийг хянаж, хариуг хуулийн хугацаанд ирүүлнэ үү.")
        pdf = self.render(f"Байгууллага {self.regno}", RECIPIENT, subject, body,
                          "Дарга Б. Батбаяр")
        return self.sign(pdf, self.identity)

    def __call__(self):
        with self.lock:
            return self.ready.pop() if self.ready else self.make()

class StepFailed(Exception):
    def __init__(self, step, status, body):
        super().__init__(step, status, body)
        self.step, self.status = step, status
        try:
            error = json.loads(body).get("error", {})
            refusals = [r.get("reason") for r in error.get("refusals", ())]
            self.code = error.get("code", "?") + (f" {refusals}" if refusals else "")
        except (ValueError, AttributeError):
            self.code = body[:80].decode("utf-8", "replace").splitlines()[0] if body else "-"


@dataclass(frozen=True)
class Party:
    """Who one client sends as and to: the organisations, their tokens, and `pdf()`, which
    gives a PDF the sender signed, different bytes each call."""

    sender: str
    recipient: str
    sender_token: str
    recipient_token: str
    pdf: object


class Client:
    """One API client: a keep-alive connection, sending as `party`."""

    upload_name = None  # "@file" or "@pdf", found by the first upload
    upload_lock = threading.Lock()

    def __init__(self, port, party):
        self.port, self.party = port, party
        self.sender_token, self.recipient_token = party.sender_token, party.recipient_token
        self.conn = None

    def call(self, method, path, token, body=None, content_type="application/json"):
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = content_type
            if isinstance(body, dict):
                body = json.dumps(body).encode()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed before this request: only then
                # is it safe to send again (nothing of the request reached the app).
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def step(self, timings, name, method, path, token, body=None, content_type=None,
             expect=(200, 201)):
        started = time.perf_counter()
        status, data = self.call(method, path, token, body,
                                 content_type or "application/json")
        timings[name] = (time.perf_counter() - started) * 1000
        if status not in expect:
            raise StepFailed(name, status, data)
        return json.loads(data) if data else {}

    def upload(self, timings, letter):
        names = [Client.upload_name] if Client.upload_name else ["@file", "@pdf"]
        pdf = self.party.pdf()
        for name in names:
            started = time.perf_counter()
            status, data = self.call("PUT", f"{letter}/{name}?filename=letter.pdf",
                                     self.sender_token, pdf, "application/pdf")
            timings["upload"] = (time.perf_counter() - started) * 1000
            if status == 404 and Client.upload_name is None and name == "@file":
                continue  # an older application: the endpoint is still called @pdf
            if status not in (200, 201):
                raise StepFailed("upload", status, data)
            with Client.upload_lock:
                Client.upload_name = name
            return
        raise StepFailed("upload", 404, b'{"error": {"code": "NO_UPLOAD_ENDPOINT"}}')

    def delivery_path(self, sent, letter_json):
        deliveries = (sent.get("entry", {}).get("evidence", {}).get("deliver", {})
                      .get("deliveries", {}))
        sender, recipient = self.party.sender, self.party.recipient
        if recipient in deliveries:
            return f"/orgs/{recipient}/inbox/{deliveries[recipient]}"
        # Else find it in the recipient's inbox by the outgoing number.
        number = letter_json.get("outgoing_number")
        query = urlencode({"state": "delivered", "b_size": 200})
        status, data = self.call("GET", f"/orgs/{recipient}/inbox?{query}",
                                 self.recipient_token)
        for item in json.loads(data).get("items", ()) if status == 200 else ():
            if item.get("sender") == sender and item.get("outgoing_number") == number:
                return urlsplit(item["@id"]).path
        raise StepFailed("send", status, b'{"error": {"code": "DELIVERY_NOT_FOUND"}}')

    def send_letter(self, subject):
        """Draft, upload, sign, send and register one letter; return {step: ms}."""
        timings = {}
        draft = self.step(timings, "draft", "POST", f"/orgs/{self.party.sender}/outbox",
                          self.sender_token,
                          {"subject": subject, "recipients": [self.party.recipient]})
        letter = urlsplit(draft["@id"]).path.rstrip("/")
        self.upload(timings, letter)
        self.step(timings, "sign", "POST", f"{letter}/@workflow/sign", self.sender_token, {})
        sent = self.step(timings, "send", "POST", f"{letter}/@workflow/send", self.sender_token,
                         {})
        delivery = self.delivery_path(sent, sent.get("item", {}))
        registered = self.step(timings, "register", "POST", f"{delivery}/@workflow/register",
                               self.recipient_token, {})
        if registered.get("state") != "registered":
            raise StepFailed("register", 200, json.dumps(registered).encode())
        return timings

    def close(self):
        if self.conn is not None:
            self.conn.close()


# One level of concurrency -------------------------------------------------------------------

def run_level(ports, parties, clients, letters, label, stats_of, commit=None):
    """Send `letters` letters with `clients` threads; print and return the figures."""
    shares = [letters // clients + (1 if i < letters % clients else 0) for i in range(clients)]
    results = [[] for _ in range(clients)]
    failures = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    before = stats_of()

    def work(index):
        client = Client(ports[index % len(ports)], parties[index])
        barrier.wait()
        for number in range(shares[index]):
            try:
                results[index].append(client.send_letter(f"Бенч {label} {index}-{number}"))
            except StepFailed as failed:
                failures[index].append((failed.step, failed.status, failed.code))
            except OSError as exc:
                failures[index].append(("connection", 0, type(exc).__name__))
                client.close()
                client = Client(ports[index % len(ports)], parties[index])
        client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    after = stats_of()
    done = [t for per in results for t in per]
    failed = [f for per in failures for f in per]
    most_replays = after.pop(MOST_REPLAYS, 0)
    commits = after.pop(INDEX_COMMITS, 0) - before.pop(INDEX_COMMITS, 0)
    cpu = after.pop(CPU_SECONDS, 0) - before.pop(CPU_SECONDS, 0)
    retries = {k: after.get(k, 0) - before.get(k, 0) for k in after
               if k != MOST_REPLAYS and after.get(k, 0) - before.get(k, 0)}
    row = {"label": label, "clients": clients, "commit": commit,
           "commits": commits / max(len(done), 1), "cpu": cpu * 1000 / max(len(done), 1),
           "letters": len(done), "failed": len(failed),
           "elapsed": elapsed, "rate": len(done) / elapsed,
           "steps": {s: (med([t[s] for t in done]), pct([t[s] for t in done], 0.95))
                     for s in STEPS},
           "letter": (med([sum(t.values()) for t in done]),
                      pct([sum(t.values()) for t in done], 0.95)),
           "failures": Counter(failed), "retries": retries, "most_replays": most_replays,
           "load": os.getloadavg()[0]}
    print_row(row)
    return row


def run_levels(ports, parties, args, label, stats_of, set_commit):
    """Every concurrency level once per `--commit-ms` value, alternately (so a change of the
    shared machine's load hits both alike); returns the rows."""
    rows = []
    for clients in args.clients:
        for commit in args.commits:
            set_commit(commit)
            row = run_level(ports[:clients], parties, clients, args.letters, label, stats_of,
                            commit if len(args.commits) > 1 else None)
            rows.append(row)
    return rows


def header():
    cols = "".join(f"{s:>14}" for s in STEPS)
    print(f"{'clients':<9}{'commit':>7}{'letters/s':>10}{'ok':>5}{'fail':>5}"
          f"{'letter p50/p95':>16}{cols}{'load':>6}{'index':>7}{'CPU ms':>7}{'replays':>9}"
          "   retries")
    print(f"{'':<9}{'ms':>7}{'':>10}{'':>5}{'':>5}{'ms':>16}" + "".join(
        f"{'p50/p95 ms':>14}" for _ in STEPS) + f"{'':>6}{'commits':>7}{'/letter':>7}")
    print(f"{'':<9}{'':>7}{'':>10}{'':>5}{'':>5}{'':>16}" + "".join(f"{'':>14}" for _ in STEPS)
          + f"{'':>6}{'/letter':>7}")


def print_row(row):
    steps = "".join(f"{p50:>7.0f}/{p95:<6.0f}" for p50, p95 in row["steps"].values())
    retries = ", ".join(f"{k} {v}" for k, v in sorted(row["retries"].items())) or "0"
    commit = "" if row["commit"] is None else row["commit"]
    print(f"{row['clients']:<9}{commit:>7}{row['rate']:>10.1f}{row['letters']:>5}"
          f"{row['failed']:>5}{row['letter'][0]:>9.0f}/{row['letter'][1]:<6.0f}{steps}"
          f"{row['load']:>6.1f}{row['commits']:>7.1f}{row['cpu']:>7.0f}{row['most_replays']:>9}"
          f"   {retries}",
          flush=True)
    for (step, status, code), n in sorted(row["failures"].items()):
        print(f"{'':<9}  failed {n}x at {step}: HTTP {status} {code}", flush=True)


# Store set-up and checks --------------------------------------------------------------------

def seed(db, clients, distinct, signed_by):
    """The organisations and, per client, a records manager at its sender and at its
    recipient, each with an API token. All clients send from SENDER to RECIPIENT, or with
    `distinct` each from its own organisation to its own. Returns [Party]."""
    from registry.accounts import create_account
    from registry.directory import register_organisation
    from registry.store import site_of

    parties = []
    with db.transaction() as conn:
        site = site_of(conn)
        for index in range(clients):
            if distinct:
                sender, recipient = str(int(SENDER) + 2 * index), str(int(RECIPIENT) + 2 * index)
            else:
                sender, recipient = SENDER, RECIPIENT
            for regno, name in ((sender, "Илгээгч"), (recipient, "Хүлээн авагч")):
                if regno not in site.orgs:
                    register_organisation(site, "bench", regno, f"{name} {regno}",
                                          "government")
            sender_user = create_account(site, "bench", sender, f"sender{index}",
                                         ["records_manager"], PASSWORD, limits={})
            recipient_user = create_account(site, "bench", recipient, f"recipient{index}",
                                            ["records_manager"], PASSWORD, limits={})
            parties.append(Party(sender, recipient,
                                 site.users.issue_token(sender_user, "bench")[0],
                                 site.users.issue_token(recipient_user, "bench")[0],
                                 signed_by(sender)))
    return parties


def check_journal(folder, what):
    """Numbers of `folder` (an Outbox or Inbox): every counter's 1..N in the journal once,
    naming the item that carries that number. Returns (numbered, problems)."""
    problems = []
    numbered = 0
    for (series, year), last in folder.counters.items():
        seqs = [key[2] for key in folder.journal.keys(min=(year, series, 0),
                                                      max=(year, series, 10**12))]
        if seqs != list(range(1, last + 1)):
            missing = sorted(set(range(1, last + 1)) - set(seqs))
            extra = sorted(set(seqs) - set(range(1, last + 1)))
            problems.append(f"{what} {series}/{year}: counter {last}, journal {len(seqs)} "
                            f"(missing {missing[:5]}, beyond the counter {extra[:5]})")
        names = set()
        for seq in seqs:
            name = folder.journal[(year, series, seq)]
            item = folder.get(name)
            if item is None or item.number_seq != seq or item.number_year != year:
                problems.append(f"{what} {series}/{year} no. {seq} names {name}, which does "
                                "not carry it")
            if name in names:
                problems.append(f"{what} {series}/{year}: {name} numbered twice")
            names.add(name)
        numbered += len(seqs)
    carrying = sum(1 for item in folder.values() if item.number_seq is not None)
    if carrying != numbered:
        problems.append(f"{what}: {carrying} items carry a number, the journal has {numbered}")
    return numbered, problems


def verify(db, label, parties):
    from registry.store import site_of

    conn = db.open()
    problems, lines = [], []
    states = Counter()
    try:
        site = site_of(conn)
        for sender in sorted({p.sender for p in parties}):
            outbox = site.orgs[sender]["outbox"]
            sent, found = check_journal(outbox, f"{sender} outbox")
            problems += found
            states.update(letter.state for letter in outbox.values())
            counters = ", ".join(f"{s}/{y}: 1..{n}" for (s, y), n in outbox.counters.items())
            lines.append(f"{sender} outbox journal {sent} numbers ({counters})")
        for recipient in sorted({p.recipient for p in parties}):
            registered, found = check_journal(site.orgs[recipient]["inbox"],
                                              f"{recipient} inbox")
            problems += found
            lines.append(f"{recipient} inbox journal {registered} numbers")
        missing = unreadable_pdfs(site, {p.sender for p in parties})
        ok, checked, bad, problem = site.audit.verify()
        pending = site.audit.pending_count()
    finally:
        conn.close()
    print(f"\ncheck ({label}): " + "; ".join(lines) + f"; letters by state {dict(states)}; "
          f"audit chain {checked} records {'intact' if ok else f'BROKEN at {bad}: {problem}'}"
          f" ({pending} pending)")
    print("numbers unique and gap-free: " + ("yes" if not problems else "NO"))
    for line in problems[:20]:
        print("  " + line)
    print(f"letters whose stored PDF cannot be read: {len(missing)}")
    for line in missing[:10]:
        print("  " + line)
    return not problems and ok and not missing


def unreadable_pdfs(site, senders):
    """Every letter with a PDF: can its blob be read? Returns descriptions of those that
    cannot."""
    out = []
    for sender in sorted(senders):
        for name, letter in site.orgs[sender]["outbox"].items():
            if letter.pdf is None:
                continue
            try:
                letter.pdf.read()
            except Exception as exc:  # noqa: BLE001  (POSKeyError: the blob file is gone)
                out.append(f"{sender}/outbox/{name} ({letter.state}): {type(exc).__name__} "
                           f"{str(exc)[:160]}")
    return out


# Set-up 1: in-process -----------------------------------------------------------------------

MOST_REPLAYS = "most replays"
INDEX_COMMITS = "index commits"
CPU_SECONDS = "cpu seconds"


class RetryCounter:
    """Counts pyramid_retry's BeforeRetry events by exception class, the most replays one
    request needed since the last snapshot (under MOST_REPLAYS), and the search index's
    commits (one per organisation an index update touches, under INDEX_COMMITS); sets the
    search writer's commit interval (`set_commit`)."""

    def __init__(self, service):
        self.counts = Counter()
        self.most = 0
        self.lock = threading.Lock()
        self.service = service
        update = service.index.update

        def counted(documents=(), removed=()):
            update(documents, removed)
            touched = {doc.org for doc in documents} | {key.split("/")[0] for key in removed}
            with self.lock:
                self.counts[INDEX_COMMITS] += len(touched)

        service.index.update = counted

    def set_commit(self, milliseconds):
        self.service.commit_seconds = milliseconds / 1000

    def __call__(self, event):
        exc = event.exception
        name = type(exc).__name__
        conflicting = getattr(exc, "class_name", None)  # ZODB's ConflictError names the class
        if conflicting:
            name += f"({conflicting.rsplit('.', 1)[-1]})"
        with self.lock:
            self.counts[name] += 1
            # pyramid_retry counts attempts from 0: this is the attempt that just failed.
            self.most = max(self.most, event.request.environ.get("retry.attempt", 0) + 1)

    def snapshot(self):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with self.lock:
            most, self.most = self.most, 0
            return {**self.counts, MOST_REPLAYS: most,
                    CPU_SECONDS: usage.ru_utime + usage.ru_stime}


def count_retries(wsgi):
    from pyramid_retry import IBeforeRetry

    from registry.search.indexing import ISearchService

    counter = RetryCounter(wsgi.registry.getUtility(ISearchService))
    wsgi.registry.registerHandler(counter, (IBeforeRetry,))
    return counter


def inprocess(args, signed_by, trust_dir, tmp, embedded=False):
    """One app process. Not embedded: a FileStorage named by a zodburi `file://` URI (with
    `blobstorage_dir`). Embedded: what `registry serve` does with no `zodbconn.uri`: the
    process serves the embedded FileStorage over ZEO (a thread) and is its own ZEO client."""
    from webtest.http import StopableWSGIServer
    from ZODB.interfaces import IDatabase

    from registry import main as make_app
    from registry.store import EmbeddedStore

    name = "embedded" if embedded else "inprocess"
    data = Path(tmp) / name
    data.mkdir()
    quiet_server_log(Path(tmp) / f"{name}-server.log")
    settings = {"registry.data_dir": str(data), "registry.trust_dir": str(trust_dir),
                "registry.session_secret": SECRET, **retry_setting(args.retry_attempts)}
    zeo_server = None
    if embedded:
        print(f"\n## Embedded (as `registry serve`): one app process, waitress {args.threads} "
              "threads, ZEO client of its own ZEO server thread (FileStorage, blob_dir)")
        # What main() does itself when nothing serves the store; done here to close it after.
        zeo_server = EmbeddedStore(data).serve()
    else:
        print(f"\n## In-process: one app process, waitress {args.threads} threads, FileStorage "
              "from zodbconn.uri = file://...?blobstorage_dir=...")
        settings["zodbconn.uri"] = f"file://{data}/Data.fs?blobstorage_dir={data}/blobs"
    wsgi = make_app({}, **settings)
    retries = count_retries(wsgi)
    db = wsgi.registry.getUtility(IDatabase)
    parties = seed(db, max(args.clients), args.orgs == "distinct", signed_by)
    server = StopableWSGIServer.create(wsgi, host="127.0.0.1", port=free_port(),
                                       threads=args.threads)
    try:
        server.wait()
        port = server.adj.port
        warm(port, parties, args.warmup)
        print(f"upload endpoint: {Client.upload_name}")
        header()
        rows = run_levels([port], parties, args, name, retries.snapshot,
                          retries.set_commit)
    finally:
        server.shutdown()
    from registry.audit_sealing import ISealer

    wsgi.registry.getUtility(ISealer).stop()  # seals what the last requests filed
    ok = verify(db, name, parties)
    # The search writer's and the deadline check's threads use the store: stop them first.
    from registry.notifications import IDueSchedule
    from registry.search.indexing import ISearchService

    wsgi.registry.getUtility(ISearchService).stop()
    wsgi.registry.getUtility(IDueSchedule).stop()
    db.close()
    if zeo_server is not None:
        zeo_server.close()
    return rows, ok


def quiet_server_log(path):
    """Send waitress's log (a traceback per failed request) and ZODB's connection log to a
    file, not the report."""
    import logging

    handler = logging.FileHandler(path)
    # ZODB logs each blob it cannot load with a traceback: the checks at the end count them.
    for name in ("waitress", "waitress.queue", "ZODB.Connection"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False


def warm(port, parties, letters):
    """Untimed letters first (from every sending organisation): the gate's forkserver,
    templates, caches."""
    for party in {p.sender: p for p in parties}.values():
        client = Client(port, party)
        for number in range(letters):
            client.send_letter(f"Бенч warm-up {number}")
        client.close()


# Set-up 2: ZEO, two app processes -----------------------------------------------------------

def child(argv, log):
    process = subprocess.Popen([sys.executable, str(SCRIPT)] + argv,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                               text=True, bufsize=1, cwd=str(ROOT))
    line = process.stdout.readline().strip()
    if not line.startswith("READY"):
        process.kill()
        raise RuntimeError(f"{argv[0]} did not start (said {line!r}); see {log.name}")
    return process, line.split()[1:]


def ask(process, question):
    process.stdin.write(question + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def stop(process):
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def zeo(args, signed_by, trust_dir, tmp):
    print(f"\n## ZEO: one ZEO server process, {args.processes} app processes (waitress "
          f"{args.threads} threads each), clients round robin over the processes")
    processes = []
    with open(Path(tmp) / "zeo-children.log", "w") as log:
        try:
            return zeo_run(args, signed_by, Path(tmp) / "zeo", trust_dir, log, processes)
        finally:
            for process in reversed(processes):
                stop(process)


def zeo_run(args, signed_by, data, trust_dir, log, processes):
    from registry.resources.evolve import bootstrap
    from registry.store import EmbeddedStore

    server, _ = child(["--zeo-server", str(data)], log)
    processes.append(server)
    db = EmbeddedStore(data).open_client()
    bootstrap(db)
    parties = seed(db, max(args.clients), args.orgs == "distinct", signed_by)
    ports, apps = [], []
    for _ in range(args.processes):
        app, said = child(["--app-server", str(data), "--trust-dir", str(trust_dir),
                           "--threads", str(args.threads)] +
                          (["--retry-attempts", str(args.retry_attempts)]
                           if args.retry_attempts else []), log)
        processes.append(app)
        apps.append(app)
        ports.append(int(said[0]))
    for port in ports:
        warm(port, parties, args.warmup)

    def stats():
        total = Counter()  # (the app processes' CPU seconds add up)
        most = 0
        for app in apps:
            answer = ask(app, "stats")
            most = max(most, answer.pop(MOST_REPLAYS, 0))
            total.update(answer)
        return {**total, MOST_REPLAYS: most}

    header()
    def set_commit(commit):
        for app in apps:
            ask(app, f"commit {commit}")

    rows = run_levels(ports, parties, args, "zeo", stats, set_commit)
    for app in apps:
        stop(app)
    ok = verify(db, "ZEO, after the app processes stopped", parties)
    db.close()
    return rows, ok


def serve_zeo(data_dir):
    """Child: serve the store over ZEO until stdin closes."""
    from registry.store import EmbeddedStore

    server = EmbeddedStore(data_dir).serve()
    print(f"READY {server.socket_path}", flush=True)
    sys.stdin.read()
    server.close()


def retry_setting(attempts):
    return {"retry.attempts": str(attempts)} if attempts else {}


def serve_app(data_dir, trust_dir, threads, attempts):
    """Child: the application as a ZEO client of the store, under waitress on a free port;
    answers `stats` on stdin with its retry counts; stops when stdin closes."""
    from webtest.http import StopableWSGIServer

    from registry import main as make_app
    from registry.store import EmbeddedStore

    quiet_server_log(Path(data_dir).parent / f"app-{os.getpid()}-server.log")
    if not EmbeddedStore(data_dir).served():
        raise SystemExit("no ZEO server answers for " + data_dir)
    wsgi = make_app({}, **{"registry.data_dir": data_dir, "registry.trust_dir": trust_dir,
                           "registry.session_secret": SECRET, **retry_setting(attempts)})
    retries = count_retries(wsgi)
    server = StopableWSGIServer.create(wsgi, host="127.0.0.1", port=free_port(),
                                       threads=threads)
    server.wait()
    print(f"READY {server.adj.port}", flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            print(json.dumps(retries.snapshot()), flush=True)
        elif line.startswith("commit "):
            retries.set_commit(int(line.split()[1]))
            print("{}", flush=True)
    server.shutdown()
    from ZODB.interfaces import IDatabase

    from registry.audit_sealing import ISealer

    wsgi.registry.getUtility(ISealer).stop()  # seals what the last requests filed
    wsgi.registry.getUtility(IDatabase).close()


# Main ---------------------------------------------------------------------------------------

def summary(results):
    print("\n## Summary: letters/s (fully registered letters per second of wall time)")
    columns = list(dict.fromkeys((mode, row["commit"]) for mode, rows in results.items()
                                 for row in rows))
    names = [mode if commit is None else f"{mode} {commit} ms" for mode, commit in columns]
    width = max(14, *(len(name) + 2 for name in names))
    print(f"{'clients':<9}" + "".join(f"{name:>{width}}" for name in names))
    levels = sorted({row["clients"] for rows in results.values() for row in rows})
    for clients in levels:
        cells = []
        for mode, commit in columns:
            row = next((r for r in results[mode]
                        if r["clients"] == clients and r["commit"] == commit), None)
            cells.append(f"{row['rate']:>{width}.1f}" if row else f"{'-':>{width}}")
        print(f"{clients:<9}" + "".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=80,
                        help="letters per concurrency level (default 80)")
    parser.add_argument("--clients", default="1,4,8",
                        help="concurrency levels: client threads (default 1,4,8)")
    parser.add_argument("--modes", default="inprocess,embedded,zeo",
                        help="set-ups to run: inprocess, embedded, zeo (default all three)")
    parser.add_argument("--threads", type=int, default=4,
                        help="waitress threads per app process (default 4)")
    parser.add_argument("--processes", type=int, default=2,
                        help="app processes sharing the ZEO server (default 2)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed letters per app process first (default 3)")
    parser.add_argument("--orgs", choices=("same", "distinct"), default="same",
                        help="same: every client sends from one organisation to one (default);"
                             " distinct: each client from its own organisation to its own")
    parser.add_argument("--retry-attempts", type=int, default=None,
                        help="the app's retry.attempts setting (default: the app's own)")
    parser.add_argument("--commit-ms", default="250",
                        help="the search writer's least time between index commits "
                             "(search.commit_ms); with several values (e.g. 0,250: 0 commits "
                             "after every writing request, as before coalescing) each level "
                             "runs once per value, one after the other, in the same servers")
    parser.add_argument("--pdf", choices=("text", "no-text"), default="text",
                        help="letters with a text layer (default), or without one (every "
                             "letter OCRed, as in the runs before 2026-12-03 evening)")
    parser.add_argument("--zeo-server", help=argparse.SUPPRESS)
    parser.add_argument("--app-server", help=argparse.SUPPRESS)
    parser.add_argument("--trust-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    hide_from_workers()
    if args.zeo_server:
        return serve_zeo(args.zeo_server)
    if args.app_server:
        return serve_app(args.app_server, args.trust_dir, args.threads, args.retry_attempts)
    try:
        args.clients = [int(c) for c in args.clients.split(",")]
        args.commits = [int(c) for c in args.commit_ms.split(",")]
    except ValueError:
        parser.error("--clients and --commit-ms take whole numbers, e.g. 1,2,4")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"inprocess", "embedded", "zeo"}:
        parser.error("--modes takes inprocess, embedded and/or zeo")
    if args.letters < 1 or min(args.clients) < 1 or args.threads < 1 or args.processes < 1 \
            or args.warmup < 0:
        parser.error("--letters, --clients, --threads and --processes take positive numbers")

    from pki import TestPKI

    from registry.settings import DEFAULTS

    pki = TestPKI()
    supplies = {}
    senders = max(args.clients) if args.orgs == "distinct" else 1
    # Each sending organisation's share of every level's letters and of the warm-up letters.
    needed = (args.letters * len(args.clients) * len(args.commits) + 1) // senders + 1 + \
        args.warmup * (1 + args.processes * ("zeo" in modes))

    def signed_by(regno):
        if regno not in supplies:
            supplies[regno] = PdfSupply(pki, regno, needed, text_layer=args.pdf == "text")
        return supplies[regno]

    signing = time.perf_counter()
    pdf = signed_by(SENDER)()
    print(f"# Exchange through the JSON API (Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, loopback HTTP, {args.letters} letters per level, "
          f"signed PDFs of {len(pdf):,} bytes "
          f"({'with a text layer' if args.pdf == 'text' else 'without a text layer: OCRed'}), "
          f"each letter its own, retry.attempts "
          f"{args.retry_attempts or DEFAULTS['retry.attempts'] + ' (the default)'})")
    print("clients send " + ("all from one organisation to one" if args.orgs == "same" else
                             "each from its own organisation to its own"))
    print(f"{needed} PDFs signed per sending organisation beforehand "
          f"({time.perf_counter() - signing:.0f} s, untimed)")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("per letter: draft, upload, sign (gate), send (gate, number, deliver), "
          "register (recipient; gate, number)")
    results, checks = {}, {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="xbench") as tmp:
        trust_dir = pki.write_trust_dir(Path(tmp) / "trust")
        if "inprocess" in modes:
            results["in-process"], checks["in-process"] = inprocess(args, signed_by, trust_dir,
                                                                    tmp)
        if "embedded" in modes:
            results["embedded"], checks["embedded"] = inprocess(args, signed_by, trust_dir, tmp,
                                                                embedded=True)
        if "zeo" in modes:
            results[f"ZEO {args.processes} procs"], checks["ZEO"] = zeo(args, signed_by,
                                                                        trust_dir, tmp)
    summary(results)
    print("\nnumbers unique and gap-free, audit chain intact, every PDF readable: " +
          ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total run time {time.perf_counter() - started:.0f} s; peak RSS of this process "
          f"{peak:.0f} MiB; load average at end " +
          " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
