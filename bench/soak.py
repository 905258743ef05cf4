"""Soak: the server's memory over a long session of ordinary and hostile use.

Runs `registry serve` as its users meet it (a child process: waitress, the embedded store over
ZEO, the gate's worker processes, the search writer) on a fresh data directory that trusts the
test PKI, and drives it from --clients threads for --minutes with a mix of what a day brings:

    letter     draft, upload a freshly signed PDF, sign, send, register (the recipient)
    hostile    a draft with one of the gate's hostile samples (tests/pdfs.py: bombs,
               malformed files, the validation-data loophole, ...), then sign: refused
    fuzz       bad JSON bodies: deep nesting, wrong shapes and types, lone surrogates,
               control and bidi characters, wrong content types, oversized bodies, random words
    search     a query of random and real words, with facets
    pages      sign in with the form, read the inbox, outbox and search pages, sign out

Every --every seconds it prints the resident memory (RSS) of the server process and of its gate
workers, the requests made and any server errors (5xx). At the end: the growth between the
first sample after warm-up and the last, in MiB per hour, for the server and the workers.

    python bench/soak.py                          # 30 minutes, 4 clients, a sample a minute
    python bench/soak.py --minutes 3 --every 15   # a quick look
"""
import argparse
import http.client
import json
import os
import random
import re
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

SENDER, RECIPIENT = "1000001", "1000002"
PASSWORD = "soak-password-1"
HOSTILE = ("signed_then_dss_added", "page_content_replaced", "shadow_hide",
           "dss_loophole_refers_to_page", "signature_wrapping", "truncated_signed",
           "garbage_with_pdf_header", "encrypted_pdf", "two_signatures", "not_pdf",
           "usf_contents_not_cms", "large_signed_letter", "signed_deflate_bomb",
           "huge_object_count", "annotation_added", "signed_by_untrusted")
WORDS = ("албан", "бичиг", "хүсэлт", "тайлан", "гэрээ", "төсөв", "захирамж", "мэдэгдэл",
         "invoice", "report", "budget", "2026")


def rss_mib(pid):
    """Resident memory of process `pid` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid):
    """Every descendant process of `pid`."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`registry serve` on a data directory of its own, with an ini that trusts `trust_dir`."""

    def __init__(self, tmp, trust_dir, threads):
        self.data, self.port = Path(tmp) / "data", free_port()
        self.ini = Path(tmp) / "soak.ini"
        ini = (ROOT / "etc" / "development.ini").read_text()
        ini = ini.replace("registry.data_dir = %(here)s/../var",
                          f"registry.data_dir = {self.data}\nregistry.trust_dir = {trust_dir}")
        ini = ini.replace("pyramid.reload_templates = true", "pyramid.reload_templates = false")
        self.ini.write_text(ini)
        self.log = open(Path(tmp) / "server.log", "wb")
        self.threads = threads
        self.process = None

    def cli(self, *args, stdin=None):
        return subprocess.run(["registry", "-c", str(self.ini), "--data-dir", str(self.data),
                               *args], input=stdin, capture_output=True, text=True, check=True
                              ).stdout.strip()

    def start(self):
        self.cli("init")
        self.process = subprocess.Popen(
            ["registry", "-c", str(self.ini), "--data-dir", str(self.data), "serve",
             "--port", str(self.port), "--threads", str(self.threads)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=2).request("GET", "/")
                return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"the server did not start: see {self.log.name}")

    def seed(self, clients):
        """Two organisations; per client a records manager at each with an API token."""
        for regno, name in ((SENDER, "Илгээгч"), (RECIPIENT, "Хүлээн авагч")):
            self.cli("org", "add", "--regno", regno, "--name", name, "--kind", "government")
        parties = []
        for index in range(clients):
            tokens = []
            for regno, who in ((SENDER, "sender"), (RECIPIENT, "recipient")):
                login = f"{who}{index}"
                self.cli("user", "add", "--org", regno, "--login", login,
                         "--role", "records_manager", "--name", login, "--password-stdin",
                         stdin=PASSWORD + "\n")
                tokens.append(self.cli("token", "create", "--login", login, "--label", "soak"))
            parties.append((f"sender{index}", *tokens))
        return parties

    def memory(self):
        workers = children(self.process.pid)
        return rss_mib(self.process.pid), sum(rss_mib(p) for p in workers), len(workers)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.errors = self.letters = 0
        self.error_samples = []

    def add(self, status, what):
        with self.lock:
            self.requests += 1
            if status >= 500:
                self.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{status} {what}")


class Client:
    def __init__(self, port, party, pdfs_for, counts, rng):
        self.port, self.counts, self.rng = port, counts, rng
        self.login, self.sender_token, self.recipient_token = party
        self.pdfs_for = pdfs_for
        self.conn = None

    def call(self, method, path, token=None, body=None, content_type="application/json",
             headers=None):
        headers = dict(headers or {})
        if token:
            headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                self.counts.add(response.status, f"{method} {path.split('?')[0]}")
                return response.status, data, response
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    self.counts.add(599, f"{method} {path} (connection)")
                    return 599, b"", None
        raise AssertionError("unreachable")

    def draft(self, subject):
        status, data, _ = self.call("POST", f"/orgs/{SENDER}/outbox", self.sender_token,
                                    json.dumps({"subject": subject,
                                                "recipients": [RECIPIENT]}).encode())
        return urlsplit(json.loads(data)["@id"]).path.rstrip("/") if status == 201 else None

    def letter(self):
        letter = self.draft(self.words(4))
        if letter is None:
            return
        self.call("PUT", f"{letter}/@file?filename=letter.pdf", self.sender_token,
                  self.pdfs_for(), "application/pdf")
        self.call("POST", f"{letter}/@workflow/sign", self.sender_token, b"{}")
        status, data, _ = self.call("POST", f"{letter}/@workflow/send", self.sender_token,
                                    b"{}")
        if status != 200:
            return
        deliveries = (json.loads(data).get("entry", {}).get("evidence", {}).get("deliver", {})
                      .get("deliveries", {}))
        if RECIPIENT in deliveries:
            path = f"/orgs/{RECIPIENT}/inbox/{deliveries[RECIPIENT]}/@workflow/register"
            if self.call("POST", path, self.recipient_token, b"{}")[0] == 200:
                with self.counts.lock:
                    self.counts.letters += 1

    def hostile(self):
        name, pdf = self.rng.choice(HOSTILE_PDFS)
        letter = self.draft(f"hostile {name}")
        if letter is None:
            return
        self.call("PUT", f"{letter}/@file?filename={name}.pdf", self.sender_token, pdf,
                  "application/pdf")
        self.call("POST", f"{letter}/@workflow/sign", self.sender_token, b"{}")

    def fuzz(self):
        rng = self.rng
        bodies = [
            ("[" * 5000 + "]" * 5000).encode(),
            json.dumps({"subject": ["a", "b"], "recipients": 7}).encode(),
            json.dumps({"subject": "x", "in_reply_to": {"a": True}}).encode(),
            b'{"subject": "\\ud800 lone", "recipients": ["1000002"]}',
            json.dumps({"subject": "Invoice \u202efdp.exe\x00\x1b\x07",
                        "recipients": [RECIPIENT]}).encode(),
            json.dumps({"subject": self.noise(rng.randint(5, 40)),
                        "recipients": [RECIPIENT]}).encode(),
            b"\xff\xfe not json",
            b"x" * rng.choice((1000, 200_000, 3_000_000)),
        ]
        body = rng.choice(bodies)
        content_type = rng.choice(("application/json", "application/json", "text/plain",
                                   "application/xml", "multipart/form-data"))
        self.call("POST", f"/orgs/{SENDER}/outbox", self.sender_token, body, content_type)
        self.call("GET", "/@search?" + urlencode({"q": self.noise(3), "b_size": "AAA"}),
                  self.sender_token)
        self.call("TRACE", "/", self.sender_token)

    def search(self):
        query = {"q": self.words(self.rng.randint(1, 3)) + self.rng.choice(("", "*")),
                 "b_size": 20}
        self.call("GET", f"/orgs/{SENDER}/@search?{urlencode(query)}", self.sender_token)

    def pages(self):
        """Sign in with the form (a session in the store), read pages, sign out."""
        status, data, _ = self.call("GET", "/@@login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data or b"")
        if not token:
            return
        cookie = self.cookie(_)
        form = urlencode({"csrf_token": token.group(1).decode(), "login": self.login,
                          "password": PASSWORD, "came_from": "", "submit": "submit"})
        status, data, response = self.call("POST", "/@@login", body=form.encode(),
                                           content_type="application/x-www-form-urlencoded",
                                           headers={"Cookie": cookie})
        cookie = self.cookie(response) or cookie
        if status != 302:
            return
        for path in (f"/orgs/{SENDER}/inbox", f"/orgs/{SENDER}/outbox",
                     f"/orgs/{SENDER}/@@search?" + urlencode({"q": self.words(1)})):
            status, data, _ = self.call("GET", path, headers={"Cookie": cookie})
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data or b"")
        if token:
            self.call("POST", "/@@logout", body=urlencode(
                {"csrf_token": token.group(1).decode()}).encode(),
                content_type="application/x-www-form-urlencoded", headers={"Cookie": cookie})

    @staticmethod
    def cookie(response):
        if response is None:
            return ""
        return "; ".join(value.split(";", 1)[0] for key, value in response.getheaders()
                         if key.lower() == "set-cookie")

    def words(self, n):
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def noise(self, n):
        alphabet = string.ascii_letters + "абвгдеёжзийклмноөпрстуүфхцчшщъыьэюя"
        return " ".join("".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(3, 12)))
                        for _ in range(n))

    def run(self, until):
        actions = (self.letter, self.hostile, self.fuzz, self.fuzz, self.search, self.search,
                   self.pages)
        while time.monotonic() < until:
            self.rng.choice(actions)()
        if self.conn is not None:
            self.conn.close()


HOSTILE_PDFS = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="how long (default 30)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--every", type=float, default=60,
                        help="seconds between memory samples (default 60)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args()
    if args.minutes <= 0 or args.clients < 1 or args.every <= 0 or args.threads < 1:
        parser.error("--minutes, --clients, --every and --threads take positive numbers")

    import pdfs
    from pki import TestPKI

    pki = TestPKI()
    identity = pki.org(SENDER)
    for name in HOSTILE:
        try:
            HOSTILE_PDFS.append((name, pdfs.sample(name).build(pki, SENDER)))
        except KeyError:
            print(f"(no sample {name}: skipped)")
    lock, made = threading.Lock(), [0]

    def fresh_pdf():
        with lock:
            made[0] += 1
            number = made[0]
        return pdfs.sign(pdfs.letter_pdf(f"Soak: албан бичиг {number}"), identity)

    with tempfile.TemporaryDirectory(prefix="soak") as tmp:
        server = Server(tmp, pki.write_trust_dir(Path(tmp) / "trust"), args.threads)
        try:
            server.start()
            parties = server.seed(args.clients)
            print(f"# Soak: `registry serve` ({args.threads} threads), {args.clients} clients, "
                  f"{args.minutes:g} min, Python {sys.version.split()[0]}, {os.cpu_count()} "
                  f"cores; mix: letter, hostile ({len(HOSTILE_PDFS)} samples), fuzz ×2, "
                  "search ×2, pages")
            print(f"{'min':>6} {'server MiB':>11} {'workers MiB':>12} {'workers':>8} "
                  f"{'requests':>9} {'5xx':>5} {'letters':>8} {'load':>5}")
            counts = Counts()
            started = time.monotonic()
            until = started + args.minutes * 60
            threads = [threading.Thread(target=Client(server.port, party, fresh_pdf, counts,
                                                      random.Random(args.seed + i)).run,
                                        args=(until,), daemon=True)
                       for i, party in enumerate(parties)]
            for thread in threads:
                thread.start()
            samples = []
            while True:
                server_mib, workers_mib, workers = server.memory()
                elapsed = (time.monotonic() - started) / 60
                samples.append((elapsed, server_mib, workers_mib))
                print(f"{elapsed:6.1f} {server_mib:11.0f} {workers_mib:12.0f} {workers:8d} "
                      f"{counts.requests:9d} {counts.errors:5d} {counts.letters:8d} "
                      f"{os.getloadavg()[0]:5.1f}", flush=True)
                if not any(t.is_alive() for t in threads):
                    break
                time.sleep(args.every)
            # Growth from the first quarter's end (caches warm) to the end.
            base = next((s for s in samples if s[0] >= args.minutes / 4), samples[0])
            last = samples[-1]
            hours = max(last[0] - base[0], 1e-9) / 60
            print(f"growth after warm-up ({base[0]:.1f} → {last[0]:.1f} min): server "
                  f"{(last[1] - base[1]) / hours:+.0f} MiB/h, workers "
                  f"{(last[2] - base[2]) / hours:+.0f} MiB/h; peak server "
                  f"{max(s[1] for s in samples):.0f} MiB")
            for line in counts.error_samples:
                print("5xx:", line)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
