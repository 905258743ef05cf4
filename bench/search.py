"""Benchmark: full-text search at a registry of 1,000,000 letters (issues #4, #12).

Generates a reproducible registry (bench/search_data.py: ~1,050 organisations, a few with
~100,000 party documents, most with hundreds; Mongolian letters of ~300 words) and measures the
engine through `registry.search` only (open_index, Index.update, Index.search; the bulk build
uses the index's `rebuild` when it has one, as `registry reindex` does).

The index is partitioned by organisation and a query reads only the searcher's partition, so
what a query costs depends on that partition alone. Building all 2.4 million party documents
takes hours on 2 cores in pure-Python Whoosh, so by default the benchmark builds exactly:

1. `--typical` typical organisations (the small ones whose size is nearest the registry's
   median), fully, with `Index.update` in batches of `--batch` (as the index queue applies
   work): incremental indexing throughput;
2. 10 other partitions (`--other-docs` documents each), then queries the typical
   organisations (phase A);
3. `--others` - 10 more such partitions (1,000 in all by default), and the LARGEST
   organisation, fully (its documents streamed into `rebuild`, one writer): bulk indexing
   throughput; then single-document updates into the largest partition (commit latency, and
   until a search finds the document);
4. phase B, in a fresh process: every other partition opened and queried once (cold opens),
   then the typical organisations again (1,000+ partitions present instead of 10: the same
   queries, the same partitions) and the largest one; the slowest kind of query is profiled.

`--full` builds every partition fully instead (hours), then runs phase B.

Queries (`--queries` of each kind per organisation, different words each time, after
`--warmup`), each with facets and highlights on, 20 hits a page, as the search page asks (the
time the generator takes to make a hit's text is left out: the registry reads it from ZODB),
and again as the engine alone (no facets, no highlights):
one common word, one rare word, two words, a phrase, a prefix, a word with a year filter sorted
newest first, a word with a counterpart filter sorted newest first, a year+month listing (no
words) newest first, and a registration number; `partial` counts answers cut short by the
engine's time budget (then the total is a lower bound). The searching process is a fresh one
(it names the search code it ran: the indexing process's may differ if the code changed
while the benchmark ran); its peak RSS includes the generator's vocabulary and the texts map
it uses to hand texts to the highlighter (reported apart as its baseline).

Every engine of `--engines` (default: tantivy, then whoosh) is built and measured in turn on
the same registry; the run ends with their figures for the largest organisation side by side.

    python bench/search.py --quick               # a few minutes (largest: 5,000 documents)
    python bench/search.py --size 30000          # the largest organisation at 30,000
    python bench/search.py                       # the real run (~1 h: Whoosh builds slowly)
    python bench/search.py --largest 20000 --others 100 --queries 30   # smoke run (a
                                                 # registry scaled to 154,000 letters)
    python bench/search.py --full                # every partition (hours)
"""
import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from stats import peak_rss_mib, summary  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

import search_data  # noqa: E402  (bench/)

TARGET_P95_MS = 50.0
ENGINES = ("tantivy", "whoosh")
KINDS = [
    ("one", "one word (common)"),
    ("rare", "one word (rare)"),
    ("two", "two words"),
    ("phrase", "phrase \"...\""),
    ("prefix", "prefix*"),
    ("year", "word + year, newest"),
    ("counterpart", "word + counterpart, newest"),
    ("listing", "year+month, no words, newest"),
    ("number", "number 01/123"),
]
PHASE_A_OTHERS = 10


def mib(n):
    return n / 2**20


def log(message):
    print(f"  [{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def engine_version():
    """The commit of the search code measured, and whether it had uncommitted changes."""
    def git(*args):
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("log", "-1", "--format=%h", "--", "src/registry/search")
    if not commit:
        return "search code: not a git checkout"
    dirty = git("status", "--porcelain", "--", "src/registry/search")
    return f"search code at {commit}" + (" with uncommitted changes" if dirty else "")


def rss_now():
    """(current, peak) RSS of this process in MiB."""
    values = {}
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def du(path):
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                pass
    return total


# --- What each queried organisation needs: its queries and the texts of its letters ---------

class Profile:
    """What the benchmark learns of one queried organisation while its documents stream by:
    counts, counterparts, years, a sample of its letters (for phrases and numbers) and, for
    the highlighter, every key's letter header."""

    def __init__(self, org, label, rng):
        self.org, self.label, self.rng = org, label, rng
        self.docs = 0
        self.counterparts = Counter()
        self.years = Counter()
        self.months = Counter()
        self.numbers = []
        self.sample = []          # reservoir of letters
        self.headers = {}         # key -> compact letter header

    def see(self, letter, doc):
        self.docs += 1
        for regno in doc.counterparts:
            self.counterparts[regno] += 1
        self.years[doc.date.year] += 1
        self.months[(doc.date.year, doc.date.month)] += 1
        if len(self.sample) < 300:
            self.sample.append(letter)
        elif self.rng.random() < 300 / self.docs:
            self.sample[self.rng.randrange(300)] = letter
        if len(self.numbers) < 2000 or self.rng.random() < 0.01:
            number = doc.incoming_number if doc.incoming_number and self.rng.random() < 0.5 \
                else doc.outgoing_number
            if len(self.numbers) < 2000:
                self.numbers.append(number)
            else:
                self.numbers[self.rng.randrange(2000)] = number
        self.headers[doc.key] = pack(letter)


def pack(letter):
    return (letter.i, letter.sender, letter.series, letter.out_seq,
            letter.sent_at.timestamp(), tuple(d.org for d in letter.deliveries))


def unpack(packed):
    i, sender, series, out_seq, sent_at, recipients = packed
    return search_data.Letter(
        i, sender, series, out_seq, datetime.fromtimestamp(sent_at, UTC),
        tuple(search_data.Delivery(org, "", 0, None, None, None, False) for org in recipients))


def queries_for(profile, registry, count, seed):
    """{kind: [SearchQuery kwargs]} for `profile`'s organisation: `count` of each kind, with
    different words each time."""
    rng = random.Random(seed)
    vocab = registry.vocabulary
    stems = vocab.content_stems()
    tail = vocab.stems[vocab.real + 500:vocab.real + 5000]

    def word():
        _kind, stem, forms = rng.choice(stems)
        return stem if rng.random() < 0.7 else rng.choice(forms)[0]

    def rare():
        return rng.choice(tail)[1]

    body_words = []
    for letter in profile.sample:
        _subject, text = registry.content(letter)
        body = text.split("\n\n")[1].split()
        body_words.append(body)

    def phrase():
        while True:
            body = rng.choice(body_words)
            length = rng.choice((2, 2, 3))
            start = rng.randrange(len(body) - length)
            words = body[start:start + length]
            if all(w.isalpha() for w in words):
                return '"' + " ".join(words) + '"'

    def prefix():
        while True:
            _kind, stem, _forms = rng.choice(stems)
            if len(stem) >= 5:
                return stem[:rng.choice((4, 5))] + "*"

    years = sorted(profile.years)
    counterparts = list(profile.counterparts)
    weights = [profile.counterparts[c] for c in counterparts]
    months = list(profile.months)
    base = {"org": profile.org.regno, "today": search_data.TODAY.isoformat()}
    out = {}
    for kind, _label in KINDS:
        items = []
        for _ in range(count):
            if kind == "one":
                q = {"text": word()}
            elif kind == "rare":
                q = {"text": rare()}
            elif kind == "two":
                q = {"text": f"{word()} {word()}"}
            elif kind == "phrase":
                q = {"text": phrase()}
            elif kind == "prefix":
                q = {"text": prefix()}
            elif kind == "year":
                q = {"text": word(), "year": rng.choice(years), "sort": "newest"}
            elif kind == "counterpart":
                q = {"text": word(), "counterpart": rng.choices(counterparts, weights)[0],
                     "sort": "newest"}
            elif kind == "listing":
                year, month = rng.choice(months)
                q = {"year": year, "month": month, "sort": "newest"}
            else:
                q = {"text": rng.choice(profile.numbers)}
            items.append({**base, **q})
        out[kind] = items
    return out


# --- Building ---------------------------------------------------------------------------------

def build_typical(index, registry, typical, others, other_docs, batch):
    """Index the typical organisations fully and `other_docs` documents of each of `others`.
    Returns (profiles, typical stats, {org index: [documents]} of the others, not yet indexed).
    """
    wanted = {org.index for org in typical} | {org.index for org in others}
    profiles = {org.index: Profile(org, "typical", random.Random(org.index)) for org in typical}
    pending = {org.index: [] for org in others}
    docs = []
    started = time.perf_counter()
    for letter in registry.stream():
        for doc in registry.documents(letter, wanted):
            org = registry.by_regno[doc.org].index
            if org in profiles:
                profiles[org].see(letter, doc)
                docs.append(doc)
            elif len(pending[org]) < other_docs:
                pending[org].append(doc)
                if len(pending[org]) == other_docs:
                    wanted.discard(org)
    log(f"generated {len(docs):,} typical documents in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    for start in range(0, len(docs), batch):
        index.update(documents=docs[start:start + batch])
    seconds = time.perf_counter() - started
    return profiles, {"docs": len(docs), "seconds": seconds}, pending


def index_others(index, pending, orgs):
    docs = [doc for org in orgs for doc in pending[org.index]]
    started = time.perf_counter()
    for org in orgs:
        index.update(documents=pending[org.index])
    return {"partitions": len(orgs), "docs": len(docs),
            "seconds": time.perf_counter() - started}


class Timed:
    """Wraps a generator, adding the time spent inside it to `self.seconds`."""

    def __init__(self, iterable):
        self.iterator = iter(iterable)
        self.seconds = 0.0
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        started = time.perf_counter()
        try:
            item = next(self.iterator)
        finally:
            self.seconds += time.perf_counter() - started
        self.count += 1
        return item


def build_large(index, registry, org, batch):
    """Index every document of `org` (streamed). Returns (profile, stats)."""
    profile = Profile(org, "largest", random.Random(org.index))
    wanted = {org.index}

    def documents():
        for letter in registry.stream():
            for doc in registry.documents(letter, wanted):
                profile.see(letter, doc)
                yield doc

    source = Timed(documents())
    started = time.perf_counter()
    if hasattr(index, "rebuild"):
        how = "Index.rebuild (one writer, one commit, as `registry reindex`)"
        index.rebuild(org.regno, source)
    else:
        how = f"Index.update in batches of {batch}"
        chunk = []
        for doc in source:
            chunk.append(doc)
            if len(chunk) == batch:
                index.update(documents=chunk)
                chunk = []
        if chunk:
            index.update(documents=chunk)
    total = time.perf_counter() - started
    return profile, {"docs": source.count, "seconds": total - source.seconds,
                     "generation": source.seconds, "how": how, "rss": rss_now()}


def build_full(index, registry, chosen, flush_docs, per_org):
    """Every partition fully: documents buffered per organisation, flushed with Index.update
    (`per_org` documents, or the biggest buffers when `flush_docs` are waiting)."""
    profiles = {org.index: Profile(org, label, random.Random(org.index))
                for org, label in chosen}
    buffers, waiting, count, indexing = {}, 0, 0, 0.0
    started = time.perf_counter()

    def flush(org_index):
        nonlocal waiting, indexing
        docs = buffers.pop(org_index)
        waiting -= len(docs)
        begun = time.perf_counter()
        index.update(documents=docs)
        indexing += time.perf_counter() - begun

    for letter in registry.stream():
        for doc in registry.documents(letter):
            org = registry.by_regno[doc.org].index
            if org in profiles:
                profiles[org].see(letter, doc)
            buffers.setdefault(org, []).append(doc)
            waiting += 1
            count += 1
            if len(buffers[org]) >= per_org:
                flush(org)
        if waiting > flush_docs:
            for org in sorted(buffers, key=lambda o: -len(buffers[o]))[:50]:
                flush(org)
        if letter.i % 50_000 == 0 and letter.i:
            elapsed = time.perf_counter() - started
            log(f"full build: {letter.i:,} letters, {count:,} documents, {elapsed:.0f} s")
    for org in list(buffers):
        flush(org)
    return profiles, {"docs": count, "seconds": indexing, "rss": rss_now(),
                      "generation": time.perf_counter() - started - indexing,
                      "how": f"Index.update, up to {per_org} documents per partition per call"}


def single_updates(index, registry, profile, count):
    """Update `count` single documents of `profile`'s partition one call each (as the queue
    does for one delivery); (update ms, update + first search finding it ms)."""
    from registry.search import SearchQuery

    rng = random.Random(5)
    updates, visible = [], []
    letters = rng.sample(profile.sample, min(count, len(profile.sample)))
    for n, letter in enumerate(letters):
        doc = registry.documents(letter, {profile.org.index})[0]
        # A word no other document has (letters only, ending in no case ending).
        marker = "зохиомол" + "".join("бвгжзклмпс"[int(d)] for d in f"{n:03d}") + "хч"
        doc.subject = f"{doc.subject} {marker}"
        started = time.perf_counter()
        index.update(documents=[doc])
        done = time.perf_counter()
        results = index.search(SearchQuery(org=profile.org.regno, text=marker, facets=True,
                                           highlight=False))
        found = time.perf_counter()
        if [hit.key for hit in results.items] != [doc.key]:
            raise SystemExit(f"the updated document {doc.key} was not found by {marker!r}")
        updates.append((done - started) * 1000)
        visible.append((found - started) * 1000)
    return updates, visible


# --- Querying (in a fresh process) ------------------------------------------------------------

def query_worker(plan_path):
    """Run the plan (see `run_queries`) in this process; print the results as JSON."""
    import gc
    from datetime import date

    from registry.search import SearchQuery, open_index

    def status(field):
        # VmHWM, not ru_maxrss: Linux keeps the parent's peak in a child's ru_maxrss.
        with open("/proc/self/status") as lines:
            for line in lines:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} in /proc/self/status")

    def rss():
        return status("VmHWM")

    def current_rss():
        return status("VmRSS")

    plan = json.loads(Path(plan_path).read_text())
    out = {"rss_start": current_rss(), "version": engine_version()}
    registry = search_data.Registry(plan["letters"])
    headers = {}
    for org in plan["orgs"]:
        with open(org["headers"], "rb") as f:
            headers.update(pickle.load(f))
    text_cache = {}
    generating = [0.0]  # seconds spent generating texts (ZODB keeps them in the registry)

    def text_for(key):
        text = text_cache.get(key)
        if text is None:
            started = time.perf_counter()
            text = registry.content(unpack(headers[key]))[1]
            if len(text_cache) > 5000:
                text_cache.clear()
            text_cache[key] = text
            generating[0] += time.perf_counter() - started
        return text

    gc.collect()
    out["rss_baseline"] = current_rss()
    index = open_index(plan["index"], engine=plan["engine"])

    def make(q):
        q = dict(q)
        q["today"] = date.fromisoformat(q["today"])
        return SearchQuery(**q)

    if plan.get("touch"):
        samples = []
        for regno in plan["touch"]:
            q = SearchQuery(org=regno, text="байгууллага", today=search_data.TODAY)
            started = time.perf_counter()
            index.search(q, text_for=lambda key: "")
            samples.append((time.perf_counter() - started) * 1000)
        out["touch"] = samples
    out["orgs"] = []
    for org in plan["orgs"]:
        result = {"regno": org["regno"], "kinds": {}}
        first = True
        for kind, queries in org["queries"].items():
            warm, measured = queries[:plan["warmup"]], queries[plan["warmup"]:]
            if first:  # the partition's first query: opening it (cold, in this process)
                started = time.perf_counter()
                index.search(make(warm[0]), text_for=text_for)
                result["first_ms"] = (time.perf_counter() - started) * 1000
                first = False
            for q in warm:
                index.search(make(q), text_for=text_for)
            if not plan["measure"]:
                continue
            samples, bare, totals, partial = [], [], [], 0
            deadline = time.perf_counter() + plan["kind_budget"]
            for q in measured:
                q = make(q)
                generating[0] = 0.0
                started = time.perf_counter()
                results = index.search(q, text_for=text_for)
                samples.append((time.perf_counter() - started - generating[0]) * 1000)
                totals.append(results.total)
                partial += bool(getattr(results, "partial", False))
                # The engine alone: the same query, its page of keys and total only.
                q.facets = q.highlight = False
                started = time.perf_counter()
                index.search(q)
                bare.append((time.perf_counter() - started) * 1000)
                if time.perf_counter() > deadline:
                    break
            result["kinds"][kind] = {"ms": samples, "bare_ms": bare, "totals": totals,
                                     "partial": partial}
        out["orgs"].append(result)
    out["rss_peak"] = rss()
    if plan.get("profile"):
        org = next(o for o in plan["orgs"] if o["regno"] == plan["profile"]["regno"])
        kinds = plan["profile"]["kinds"]
        out["profiles"] = {}
        for kind in kinds:
            queries = org["queries"][kind][plan["warmup"]:][:plan["profile"]["runs"]]
            out["profiles"][kind] = profile_queries(index, [make(q) for q in queries],
                                                    text_for, plan["profile"]["top"])
    index.close()
    print(json.dumps(out))


def profile_queries(index, queries, text_for, top):
    """Where the time of `queries` goes: cumulative ms per query of each function of the
    engine, of each Whoosh (and NumPy) function the engine calls directly, and the functions
    with the most own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for q in queries:
        index.search(q, text_for=text_for)
    profiler.disable()
    stats = pstats.Stats(profiler)
    runs = len(queries)
    engine_rows, called_rows = [], {}
    module = sys.modules[type(index).__module__].__file__
    for (filename, line, function), (_cc, calls, _tt, cumulative, callers) in \
            stats.stats.items():
        if filename == module:
            engine_rows.append((cumulative * 1000 / runs, f"engine.{function}", calls / runs))
            continue
        for (caller_file, _l, _f), edge in callers.items():
            if caller_file == module:
                name = f"{Path(filename).parent.name}/{Path(filename).name}:{function}" \
                    if filename != "~" else function
                ms, n = called_rows.get(name, (0.0, 0))
                called_rows[name] = (ms + edge[3] * 1000 / runs, n + edge[1] / runs)
    lines = ["engine functions, cumulative ms per query (calls per query):"]
    for ms, name, calls in sorted(engine_rows, reverse=True)[:14]:
        lines.append(f"  {ms:>9.2f}  {name} ({calls:g})")
    lines.append("called by the engine, cumulative ms per query:")
    for name, (ms, calls) in sorted(called_rows.items(), key=lambda kv: -kv[1][0])[:14]:
        lines.append(f"  {ms:>9.2f}  {name} ({calls:g})")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    rows = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(rows) if line.strip().startswith("ncalls")), 0)
    lines.append(f"top {top} functions by own time ({runs} queries, profiled):")
    lines += ["  " + row for row in rows[start:] if row.strip()]
    return lines


def run_queries(args, tmp, index_dir, profiles, registry, touch=(), profile=None,
                kinds=None, measure=True):
    """Write a plan, run it in a fresh process, return its results."""
    orgs = []
    for prof in profiles:
        headers = Path(tmp, f"headers-{prof.org.regno}.pickle")
        if not headers.exists():
            with open(headers, "wb") as f:
                pickle.dump(prof.headers, f, protocol=pickle.HIGHEST_PROTOCOL)
        queries = queries_for(prof, registry, args.queries + args.warmup,
                              seed=1000 + prof.org.index)
        if kinds is not None:
            queries = {kind: queries[kind] for kind in kinds}
        orgs.append({"regno": prof.org.regno, "headers": str(headers), "queries": queries})
    plan = {"index": str(index_dir), "engine": args.engine, "letters": args.letters,
            "warmup": args.warmup, "kind_budget": args.kind_budget, "orgs": orgs,
            "touch": list(touch), "profile": profile, "measure": measure}
    plan_path = Path(tmp, "plan.json")
    plan_path.write_text(json.dumps(plan))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--query-worker", str(plan_path)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the query process failed ({done.returncode})")
    log(f"query process done in {time.perf_counter() - started:.0f} s")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- Reporting --------------------------------------------------------------------------------

def print_table(title, rows):
    """rows: (organisation label, docs, kinds result dict)."""
    print(f"\n{title}")
    print(f"{'query (facets + highlights, 20 hits)':<38}{'organisation':<18}{'docs':>9}"
          f"{'n':>5}{'hits p50':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'partial':>8}"
          "  target")
    for kind, label in KINDS:
        for org_label, docs, kinds in rows:
            data = kinds.get(kind)
            if not data or not data["ms"]:
                continue
            p50, p95, top = summary(data["ms"])
            hits = sorted(data["totals"])[len(data["totals"]) // 2]
            verdict = "ok" if p95 <= TARGET_P95_MS else "MISSED"
            print(f"{label:<38}{org_label:<18}{docs:>9,}{len(data['ms']):>5}{hits:>10,}"
                  f"{p50:>9.1f}{p95:>9.1f}{top:>9.1f}{data.get('partial', 0):>8}  {verdict}")


def worst(kinds):
    return max(kinds, key=lambda k: summary(kinds[k]["ms"])[1] if kinds[k]["ms"] else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=1_000_000,
                        help="letters in the registry (default 1,000,000)")
    parser.add_argument("--largest", "--size", type=int, default=None,
                        help="scale the registry down so that its largest organisation has "
                             "about this many documents (~125,000 at 1M letters), for quick "
                             "runs: --letters becomes 1M x largest / 130,000")
    parser.add_argument("--typical", type=int, default=3,
                        help="typical organisations built fully and queried")
    parser.add_argument("--others", type=int, default=1000,
                        help="other partitions present in phase B (small ones)")
    parser.add_argument("--other-docs", type=int, default=10,
                        help="documents in each other partition")
    parser.add_argument("--batch", type=int, default=100,
                        help="documents per Index.update call for the typical organisations")
    parser.add_argument("--queries", type=int, default=100, help="measured queries per kind")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up queries per kind")
    parser.add_argument("--kind-budget", type=float, default=60.0,
                        help="seconds at most per kind and organisation (then fewer queries)")
    parser.add_argument("--updates", type=int, default=30,
                        help="single-document updates timed into the largest partition")
    parser.add_argument("--profile-runs", type=int, default=20)
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument("--full", action="store_true", help="build every partition fully")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="engines measured, one after the other on the same registry "
                             f"(default {','.join(ENGINES)})")
    parser.add_argument("--quick", action="store_true",
                        help="a run of a few minutes: --size 5000 --others 20 --queries 20 "
                             "--typical 1 --updates 10 --profile-runs 0")
    parser.add_argument("--dir", help="work (and keep the index) in this new directory "
                                      "instead of a temporary one")
    parser.add_argument("--query-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query_worker:
        return query_worker(args.query_worker)
    if args.quick:
        args.largest = args.largest or 5000
        args.others, args.queries, args.typical = 20, 20, 1
        args.updates, args.profile_runs = 10, 0
    if args.largest:
        args.letters = round(1_000_000 * args.largest / search_data.LARGE[0][1])

    began = time.perf_counter()
    largest = {}
    for engine in args.engines.split(","):
        args.engine = engine
        print(f"\n# Engine: {engine}")
        if args.dir:
            Path(args.dir, engine).mkdir(parents=True, exist_ok=True)
            largest[engine] = run(args, Path(args.dir, engine), Path(args.dir, engine, "index"))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                largest[engine] = run(args, tmp, Path(tmp, "index"))
    print_side_by_side(largest)
    print(f"\nwall time {(time.perf_counter() - began) / 60:.1f} min")


def print_side_by_side(largest):
    """The largest organisation's figures of every engine measured, in one table; the last
    row: one letter into its partition (the update, and until a search finds it)."""
    engines = list(largest)
    docs = next(iter(largest.values()))[0] if largest else 0
    print(f"\n## Side by side: the largest organisation ({docs:,} documents), p50 / p95 ms; "
          "'engine': Index.search alone (the page of keys and the total), 'page': what the "
          "search page asks (facets, 20 hits highlighted); target p95 <= "
          f"{TARGET_P95_MS:.0f} ms for the page")
    header = "".join(f"{e + ' engine':>20}{e + ' page':>20}" for e in engines)
    print(f"{'query':<36}{header}")
    for kind, label in KINDS:
        row = f"{label:<36}"
        for engine in engines:
            data = largest[engine][1].get(kind)
            for name in ("bare_ms", "ms"):
                if data and data[name]:
                    p50, p95, _top = summary(data[name])
                    row += f"{p50:>9.1f} /{p95:>8.1f}"
                else:
                    row += f"{'-':>20}"
        print(row)
    row = f"{'one letter: update / searchable':<36}"
    for engine in engines:
        for samples in largest[engine][2]:
            p50, p95, _top = summary(samples)
            row += f"{p50:>9.1f} /{p95:>8.1f}"
    print(row + "   (ms after Index.update began: it returned / a search found it)")


def run(args, tmp, index_dir):
    """Build and measure one engine (`args.engine`); print its report; return (documents,
    figures by kind of query) of the largest organisation."""
    from registry.search import open_index

    registry = search_data.Registry(args.letters)
    started = time.perf_counter()
    counts = registry.party_counts()
    log(f"counted the registry in {time.perf_counter() - started:.0f} s")
    orgs = registry.orgs
    order = sorted(range(len(orgs)), key=lambda i: -counts[i])
    median = sorted(counts)[len(counts) // 2]
    largest = orgs[order[0]]
    smalls = sorted((o for o in orgs if o.tier == "small"),
                    key=lambda o: (abs(counts[o.index] - median), o.index))
    typical = smalls[:args.typical]
    chosen = {largest.index} | {o.index for o in typical}
    others = [o for o in orgs if o.index not in chosen][:args.others]

    total_docs = sum(counts)
    print(f"# Search benchmark: {args.letters:,} letters, {len(orgs):,} organisations, "
          f"{total_docs:,} party documents (a letter is indexed once for its sender and once "
          f"for each recipient)")
    print(f"generated by bench/search_data.py; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; {engine_version()}; "
          f"engine {args.engine}")
    tiers = Counter(o.tier for o in orgs)
    quantiles = [counts[order[int(q * (len(orgs) - 1))]] for q in (0, .01, .05, .25, .5, .75, 1)]
    print("organisation sizes (party documents): largest five "
          + ", ".join(f"{counts[i]:,}" for i in order[:5])
          + "; percentiles 99/95/75/50/25/0: " + "/".join(f"{q:,}" for q in quantiles[1:])
          + f"; {sum(1 for c in counts if c < 1000):,} organisations under 1,000; tiers "
          + ", ".join(f"{n} {tier}" for tier, n in tiers.items()))
    print(f"largest: {largest.regno} {largest.name}: {counts[largest.index]:,} documents")
    for org in typical:
        print(f"typical: {org.regno} {org.name}: {counts[org.index]:,} documents")

    index = open_index(str(index_dir), engine=args.engine)
    partitions_dir = Path(index.root)
    results = {}
    if args.full:
        print("\nbuilt: EVERY partition fully (--full)")
        labels = [(largest, "largest")] + [(o, "typical") for o in typical]
        profiles, full = build_full(index, registry, labels, flush_docs=100_000, per_org=2000)
        large_profile = profiles[largest.index]
        typical_profiles = [profiles[o.index] for o in typical]
        builds = {"all partitions": full}
        touch_orgs = others
    else:
        print(f"\nbuilt: the largest organisation and {len(typical)} typical ones fully; "
              f"{len(others):,} other partitions with {args.other_docs} documents each "
              f"(phase A: {min(PHASE_A_OTHERS, len(others))} of them); nothing else")
        profiles, typical_stats, pending = build_typical(
            index, registry, typical, others, args.other_docs, args.batch)
        typical_profiles = [profiles[o.index] for o in typical]
        first_others = others[:PHASE_A_OTHERS]
        builds = {f"typical ({len(typical)} partitions), Index.update per {args.batch}":
                  typical_stats}
        builds[f"{len(first_others)} small partitions"] = index_others(index, pending,
                                                                       first_others)
        index.close()
        log("phase A: querying the typical organisations "
            f"({len(first_others)} other partitions present)")
        results["A"] = run_queries(args, tmp, index_dir, typical_profiles, registry)
        index = open_index(str(index_dir), engine=args.engine)
        rest = others[PHASE_A_OTHERS:]
        builds[f"{len(rest):,} more small partitions"] = index_others(index, pending, rest)
        log(f"indexed {len(rest):,} more partitions; building the largest")
        large_profile, large_stats = build_large(index, registry, largest, 2000)
        builds[f"largest, {large_stats['how']}"] = large_stats
        touch_orgs = others
    log("single-document updates into the largest partition")
    updates, visible = single_updates(index, registry, large_profile, args.updates)
    index.close()
    log("phase B")
    results["B"] = run_queries(
        args, tmp, index_dir, typical_profiles + [large_profile], registry,
        touch=[o.regno for o in touch_orgs])
    kinds_b = {r["regno"]: r["kinds"] for r in results["B"]["orgs"]}
    slowest = worst(kinds_b[largest.regno])
    log(f"profiling '{slowest}' queries of the largest organisation")
    profile_result = run_queries(
        args, tmp, index_dir, [large_profile], registry,
        profile={"regno": largest.regno, "kinds": [slowest], "runs": args.profile_runs,
                 "top": args.profile_top}, kinds=[slowest], measure=False) \
        if args.profile_runs else None

    # Report.
    print("\n## Indexing (one writer, one process; documents already generated unless said)")
    for label, stats in builds.items():
        rate = stats["docs"] / stats["seconds"] if stats["seconds"] else float("nan")
        extra = f" (+{stats['generation']:.0f} s generating them)" if "generation" in stats \
            else ""
        if "rss" in stats:
            extra += (f"; the indexing process's RSS then {stats['rss'][0]:,.0f} MiB, its "
                      f"peak so far {stats['rss'][1]:,.0f} MiB")
        parts = f", {stats['partitions']:,} partitions" if "partitions" in stats else ""
        print(f"{label}: {stats['docs']:,} documents{parts} in {stats['seconds']:.1f} s = "
              f"{rate:,.0f} documents/s{extra}")
    u50, u95, umax = summary(updates)
    v50, v95, vmax = summary(visible)
    print(f"one document into the largest partition ({len(updates)} times, Index.update of 1 "
          f"document, as the queue applies a delivery): {u50:.0f} / {u95:.0f} / {umax:.0f} ms "
          f"(p50/p95/max); until a search finds it: {v50:.0f} / {v95:.0f} / {vmax:.0f} ms")

    print("\n## Index size on disk")
    sizes = {}
    for prof in typical_profiles + [large_profile]:
        size = du(partitions_dir / prof.org.regno)
        sizes[prof.org.regno] = size
        print(f"{prof.label} {prof.org.regno}: {prof.docs:,} documents, {mib(size):,.1f} MiB "
              f"({size / max(prof.docs, 1) / 1024:.2f} KiB per document)")
    other_size = sum(du(partitions_dir / o.regno) for o in touch_orgs)
    total = du(index_dir)
    print(f"{len(touch_orgs):,} other partitions: {mib(other_size):,.1f} MiB; the whole index "
          f"directory: {mib(total):,.1f} MiB")
    per_doc = sizes[large_profile.org.regno] / max(large_profile.docs, 1)
    print(f"estimate for all {total_docs:,} party documents at the largest partition's "
          f"{per_doc / 1024:.2f} KiB per document: {total_docs * per_doc / 2**30:,.1f} GiB "
          "(small partitions cost more per document: see the typical ones)")

    print(f"\n## Queries, p95 target {TARGET_P95_MS:.0f} ms; {args.queries} different queries "
          f"of each kind per organisation after {args.warmup} warm-up ones, one process, "
          "sequential, a warm searcher")
    doc_count = {p.org.regno: p.docs for p in typical_profiles + [large_profile]}
    names = {p.org.regno: ("largest" if p is large_profile else "typical") + " " + p.org.regno
             for p in typical_profiles + [large_profile]}
    titles = {"A": f"phase A: {min(PHASE_A_OTHERS, len(touch_orgs))} other partitions present",
              "B": (f"phase B: {len(touch_orgs):,} other partitions + the largest present"
                    if not args.full else "phase B: every partition present")}
    for phase, title in titles.items():
        if phase not in results:
            continue
        rows = [(names[r["regno"]], doc_count[r["regno"]], r["kinds"])
                for r in results[phase]["orgs"]]
        print_table(f"{title} (query process: {results[phase]['version']})", rows)

    if "A" in results:
        print("\ntypical organisations, all their queries pooled: phase A vs phase B "
              "(the same queries on the same partitions)")
        print(f"{'query':<36}{'A p50':>9}{'A p95':>9}{'B p50':>9}{'B p95':>9}")
        typical_regnos = {p.org.regno for p in typical_profiles}
        for kind, label in KINDS:
            pooled = {}
            for phase in ("A", "B"):
                pooled[phase] = [ms for r in results[phase]["orgs"] if r["regno"] in
                                 typical_regnos for ms in r["kinds"][kind]["ms"]]
            a, b = summary(pooled["A"]), summary(pooled["B"])
            print(f"{label:<36}{a[0]:>9.1f}{a[1]:>9.1f}{b[0]:>9.1f}{b[1]:>9.1f}")

    b = results["B"]
    if b.get("touch"):
        t50, t95, tmax = summary(b["touch"])
        print(f"\nfirst query of each of the {len(b['touch']):,} other partitions in the "
              f"query process (opening it, cold): p50/p95/max {t50:.1f} / {t95:.1f} / "
              f"{tmax:.1f} ms")
    for r in b["orgs"]:
        print(f"first query of {names[r['regno']]} in the query process (opening the "
              f"partition, building its facet arrays): {r['first_ms']:.0f} ms")
    print("\n## Memory (RSS)")
    for phase in ("A", "B"):
        if phase in results:
            r = results[phase]
            print(f"query process, phase {phase}: {r['rss_start']:.0f} MiB at start, "
                  f"{r['rss_baseline']:.0f} MiB with the generator and texts map loaded, "
                  f"peak {r['rss_peak']:.0f} MiB: the index and searching "
                  f"~{r['rss_peak'] - r['rss_baseline']:.0f} MiB")
    print(f"indexing process peak so far (generator, the largest partition's headers, the "
          "writer; over every engine measured yet in this process): "
          f"{peak_rss_mib():,.0f} MiB")

    if profile_result:
        for kind, lines in profile_result["profiles"].items():
            label = dict(KINDS)[kind]
            print(f"\n## Profile: '{label}' as the largest organisation ({args.profile_runs} "
                  "queries under cProfile, so slower than above)")
            print("\n".join(lines))

    return large_profile.docs, kinds_b[largest.regno], (updates, visible)


if __name__ == "__main__":
    main()
