"""The search engine: Whoosh, one index per organisation.

Each organisation's letters live in an index of their own (`<directory>/<regno>/`): a search
opens only the searcher's partition, so what it costs grows with that organisation's
correspondence, never with the registry's, and nothing of another organisation can reach its
results, counts, facets or snippets.

Inside a partition:
- the page of hits comes from Whoosh (BM25F scoring with its block-quality shortcuts for
  relevance; for date order, the matching documents sorted by a cached date column);
- the total and the facets are counted with NumPy over per-segment arrays built once per
  segment (segments are immutable, so a commit only adds the arrays of its new small segment);
- highlights are made for the page's hits only, from text the caller supplies (`text_for`),
  so stored fields stay tiny (the key and a change stamp).
"""
import itertools
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from datetime import timezone
from zoneinfo import ZoneInfo

import numpy as np
from whoosh import fields, highlight, index, query
from whoosh.collectors import (FilterCollector, TimeLimit, TimeLimitCollector,
                               UnlimitedCollector)
from whoosh.analysis import KeywordAnalyzer
from whoosh.qparser import FieldAliasPlugin, PlusMinusPlugin
from whoosh.query.qcore import QueryError
from whoosh.writing import CLEAR

from registry.errors import RegistryError
from registry.i18n import _
from registry.search import FACETS, Hit, SearchResults

#: A registration number typed alone (01/123, А-12/45): found exactly, in the number field.
NUMBER_QUERY = re.compile(r"^\s*([\w.\-]*\d+/\d+[\w.\-]*)\s*$", re.UNICODE)
#: A date typed alone (2026-11-25): the letters of that day.
DATE_QUERY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*$")
FIELD_SYNTAX = re.compile(r"(?<![\w\"])(\w+):", re.UNICODE)
QUERY_MAX = 500
#: A prefix may stand for at most this many words of a partition.
PREFIX_TERMS_MAX = 300
#: Segments as separate files, not one compound file: Whoosh copies a compound file's parts
#: into memory at every opening (of a writer, after each commit, or a searcher), which cost a
#: one-letter update of a large partition a copy of its whole index, and as much memory.
WRITER_OPTIONS = {"compound": False}
#: Segments of a partition that make a commit merge its small ones.
MERGE_SEGMENTS = 10
#: Seconds a search may spend matching before it answers what it found (`partial`).
TIME_BUDGET = 2.0
PARTITION_NAME = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
TEXT_FIELDS = ("subject", "text", "sender", "recipient", "number")
#: Field names users type (and the fields they mean).
FIELD_ALIASES = {"from": "sender", "to": "recipient", "subject": "subject", "text": "text",
                 "number": "number", "executor": "executor", "state": "state",
                 "year": "year", "date": "day", "sender": "sender", "recipient": "recipient"}
FACET_FIELDS = ("year", "month", "counterpart", "direction", "state")
_WRITE_LOCKS = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def bad_query(message):
    return RegistryError("BAD_QUERY", message, field="q", status=400)


def make_schema():
    from registry.search.analysis import analyzer

    text = analyzer()
    return fields.Schema(
        key=fields.ID(stored=True, unique=True),
        stamp=fields.STORED,
        subject=fields.TEXT(analyzer=text, field_boost=3.0),
        text=fields.TEXT(analyzer=text),
        sender=fields.TEXT(analyzer=text, field_boost=1.5),
        recipient=fields.TEXT(analyzer=text, field_boost=1.5),
        # Registration numbers, whole (01/123): a TEXT field only so that phrases over the
        # default fields find positions here too.
        number=fields.TEXT(analyzer=KeywordAnalyzer(lowercase=True), field_boost=5.0),
        executor=fields.ID,
        year=fields.ID,
        month=fields.ID,
        day=fields.ID,
        direction=fields.ID,
        state=fields.ID,
        counterpart=fields.KEYWORD,
        open=fields.ID,
        date=fields.NUMERIC(numtype=int, bits=64, sortable=True),
        due=fields.NUMERIC(numtype=int, sortable=True),
    )


def to_fields(doc, zone=timezone.utc):
    """The Whoosh fields of a registry.search.Document; its year, month and day are those of
    its date in `zone` (the registry's time zone)."""
    when = doc.date.astimezone(zone)
    sender = " ".join(p for p in doc.sender if p)
    recipients = " ".join(" ".join(p for p in r if p) for r in doc.recipients)
    numbers = " ".join(n for n in (doc.outgoing_number, doc.incoming_number) if n)
    return {
        "key": doc.key, "stamp": doc.stamp, "subject": doc.subject or "",
        "text": doc.text or "", "sender": sender, "recipient": recipients,
        "number": numbers, "executor": doc.executor or "",
        "year": str(when.year), "month": f"{when.month:02d}", "day": when.date().isoformat(),
        "direction": doc.direction,
        "state": doc.state, "counterpart": " ".join(doc.counterparts),
        "open": "1" if doc.open else "0",
        "date": int(doc.date.timestamp() * 1_000_000),
        "due": doc.due.toordinal() if doc.due else 0,
    }


def partition_of(key):
    org = key.split("/", 1)[0]
    if not PARTITION_NAME.match(org):
        raise ValueError(f"not a document key: {key!r}")
    return org


class _SegmentArrays:
    """NumPy views of one immutable segment: for each facet field, (doc, term) pairs; the
    `due` and `date` columns."""

    def __init__(self, reader):
        self.doc_count = reader.doc_count_all()
        self.pairs = {}
        for name in FACET_FIELDS + ("open",):
            terms, docs, ids = [], [], []
            for term in reader.lexicon(name):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                postings = list(reader.postings(name, term).all_ids())
                ids.extend([len(terms)] * len(postings))
                docs.extend(postings)
                terms.append(text)
            self.pairs[name] = (terms, np.asarray(docs, dtype=np.int64),
                                np.asarray(ids, dtype=np.int64))
        self.due = self._column(reader, "due")
        self.date = self._column(reader, "date")

    def _column(self, reader, name):
        if reader.has_column(name):
            return np.fromiter(reader.column_reader(name), dtype=np.int64,
                               count=self.doc_count)
        return np.zeros(self.doc_count, dtype=np.int64)


class _Partition:
    """One organisation's index, its cached searcher and per-segment arrays."""

    def __init__(self, path, schema):
        self.path = path
        self.lock = threading.RLock()
        if index.exists_in(path):
            self.ix = index.open_dir(path)
        else:
            os.makedirs(path, exist_ok=True)
            self.ix = index.create_in(path, schema)
        self.searcher = None
        self.arrays = {}  # segment id -> _SegmentArrays

    def current(self):
        """The up-to-date searcher (refreshed after another writer's commit)."""
        if self.searcher is not None and not self.searcher.up_to_date():
            # A new searcher, not Searcher.refresh(): refresh reuses segment readers by segment
            # id and so keeps their old deletions (deleted letters would still be found).
            self.searcher.close()
            self.searcher = None
        if self.searcher is None:
            self.searcher = self.ix.searcher()
        return self.searcher

    def segments(self, searcher):
        """[(offset, _SegmentArrays)] for the searcher's segments (arrays cached by segment)."""
        subs = searcher.subsearchers or [(searcher, 0)]
        out, live = [], set()
        for sub, offset in subs:
            segment = sub.reader().segment()
            segid = segment.segment_id() if segment is not None else id(sub)
            live.add(segid)
            if segid not in self.arrays:
                self.arrays[segid] = _SegmentArrays(sub.reader())
            out.append((offset, self.arrays[segid]))
        for segid in list(self.arrays):
            if segid not in live:
                del self.arrays[segid]
        return out

    def close(self):
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None
        self.ix.close()


class WhooshIndex:
    """The registry's search index: `directory/<regno>/` per organisation.

    Thread-safe: searches of one partition are serialised (Whoosh readers are not shared
    across threads), writes are serialised per partition within the process and by Whoosh's
    lock file across processes."""

    def __init__(self, directory, max_open=128, lock_timeout=30.0, zone="UTC",
                 time_budget=TIME_BUDGET):
        self.directory = os.path.abspath(directory)
        self.zone = ZoneInfo(zone)
        self.time_budget = time_budget
        os.makedirs(self.directory, exist_ok=True)
        self.schema = make_schema()
        self.max_open = max_open
        self.lock_timeout = lock_timeout
        self._open = OrderedDict()
        self._guard = threading.Lock()
        self._parser = None

    # Partitions ----------------------------------------------------------------------------

    def _path(self, org):
        if not PARTITION_NAME.match(org or ""):
            raise ValueError(f"not an organisation: {org!r}")
        return os.path.join(self.directory, org)

    def _partition(self, org, create=True):
        with self._guard:
            part = self._open.get(org)
            if part is not None:
                self._open.move_to_end(org)
                return part
            path = self._path(org)
            if not create and not index.exists_in(path):
                return None
            part = self._open[org] = _Partition(path, self.schema)
            while len(self._open) > self.max_open:
                _org, old = self._open.popitem(last=False)
                with old.lock:
                    old.close()
            return part

    def _forget(self, org):
        with self._guard:
            part = self._open.pop(org, None)
        if part is not None:
            with part.lock:
                part.close()

    def partitions(self):
        return sorted(name for name in os.listdir(self.directory)
                      if PARTITION_NAME.match(name) and index.exists_in(
                          os.path.join(self.directory, name)))

    @staticmethod
    def _write_lock(path):
        with _WRITE_LOCKS_GUARD:
            return _WRITE_LOCKS.setdefault(path, threading.Lock())

    # Writing -------------------------------------------------------------------------------

    def update(self, documents=(), removed=()):
        """Add or replace `documents` and remove the documents keyed `removed`; one commit
        per partition touched. Idempotent: applying the same change twice changes nothing."""
        by_org = {}
        for doc in documents:
            by_org.setdefault(doc.org, ([], []))[0].append(doc)
        for key in removed:
            by_org.setdefault(partition_of(key), ([], []))[1].append(key)
        for org, (docs, keys) in by_org.items():
            part = self._partition(org)
            with self._write_lock(part.path):
                writer = part.ix.writer(timeout=self.lock_timeout, **WRITER_OPTIONS)
                try:
                    for key in keys:
                        writer.delete_by_term("key", key)
                    for doc in docs:
                        writer.update_document(**to_fields(doc, self.zone))
                except BaseException:
                    writer.cancel()
                    raise
                # Each commit writes a small segment; merging them on every commit made a
                # one-letter update of a large partition take half a second. Merge (the small
                # ones only) once they pile up.
                writer.commit(merge=len(writer.segments) >= MERGE_SEGMENTS)

    def rebuild(self, org, documents):
        """Replace everything in partition `org` by `documents` (an iterable, streamed) in one
        commit: searches read the old contents until then. Other writers of the partition
        wait meanwhile. Returns the count."""
        part = self._partition(org)
        count = 0
        with self._write_lock(part.path):
            writer = part.ix.writer(timeout=self.lock_timeout, limitmb=256, **WRITER_OPTIONS)
            try:
                for doc in documents:
                    writer.add_document(**to_fields(doc, self.zone))
                    count += 1
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=CLEAR, optimize=True)
        return count

    def drop(self, org):
        """Remove partition `org` entirely."""
        path = self._path(org)
        with self._write_lock(path):
            self._forget(org)
            shutil.rmtree(path, ignore_errors=True)

    def clear(self):
        for org in self.partitions():
            self.drop(org)

    def keys(self, org):
        """{key: stamp} of every document in partition `org`."""
        part = self._partition(org, create=False)
        if part is None:
            return {}
        with part.lock:
            searcher = part.current()
            return {f["key"]: f.get("stamp", "") for f in searcher.all_stored_fields()}

    def close(self):
        with self._guard:
            parts = list(self._open.values())
            self._open.clear()
        for part in parts:
            with part.lock:
                part.close()

    # Querying ------------------------------------------------------------------------------

    def parse(self, text):
        """The Whoosh query for what a user typed; RegistryError BAD_QUERY if malformed."""
        text = (text or "").strip()
        if not text:
            return query.Every()
        if len(text) > QUERY_MAX:
            raise bad_query(_("query-too-long", default="A query has at most ${max} "
                              "characters.", mapping={"max": QUERY_MAX}))
        number = NUMBER_QUERY.match(text)
        if number:
            return query.Term("number", number.group(1).casefold())
        day = DATE_QUERY.match(text)
        if day:
            return query.Term("day", day.group(1))
        if text.count('"') % 2:
            raise bad_query(_("Close the quotation marks of the phrase."))
        if text.count("(") != text.count(")"):
            raise bad_query(_("The brackets do not match."))
        for name in FIELD_SYNTAX.findall(text):
            if name.casefold() not in FIELD_ALIASES:
                raise bad_query(_("unknown-search-field", default="'${field}:' is not a field "
                                  "to search in. Use from:, to:, subject:, text:, number:, "
                                  "date:, executor:, state: or year:.",
                                  mapping={"field": name}))
        for word in re.findall(r"(\S*)\*", text):
            if len(word.strip('"(')) < 2:
                raise bad_query(_("A prefix needs at least 2 letters before the *."))
        parsed = self._query_parser().parse(text)
        if parsed is query.NullQuery or isinstance(parsed, type(query.NullQuery)):
            raise bad_query(_("The query has no words to search for."))
        return parsed

    def _query_parser(self):
        if self._parser is None:
            from registry.search.analysis import query_parser

            parser = query_parser(list(TEXT_FIELDS), self.schema)
            # -word: letters without it (a "-" inside a word, as in 2026-11, is no operator).
            parser.add_plugin(PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+",
                                              minusexpr=r"(?<![^\s(])-"))
            parser.add_plugin(FieldAliasPlugin(
                {target: [alias for alias, t in FIELD_ALIASES.items() if t == target and
                          alias != target] for target in set(FIELD_ALIASES.values())}))
            self._parser = parser
        return self._parser

    def _filter(self, q):
        terms = []
        if q.year:
            terms.append(query.Term("year", str(int(q.year))))
        if q.month:
            terms.append(query.Term("month", f"{int(q.month):02d}"))
        if q.counterpart:
            terms.append(query.Term("counterpart", q.counterpart))
        if q.direction:
            terms.append(query.Term("direction", q.direction))
        if q.state:
            terms.append(query.Term("state", q.state))
        if q.overdue:
            terms.append(query.Term("open", "1"))
            terms.append(query.NumericRange("due", 1, q.today.toordinal() - 1))
        return query.And(terms) if terms else None

    def search(self, q, text_for=None):
        """Answer a registry.search.SearchQuery from the searcher's partition only.

        One pass over the matching documents: scored (relevance) or not (date order); it
        stops at the partition's time budget, and then answers what it found with
        `partial` set (the total is then a lower bound)."""
        if q.overdue and q.today is None:
            raise ValueError("an overdue filter needs `today`")
        parsed = self.parse(q.text)
        part = self._partition(q.org, create=False)
        if part is None:
            return SearchResults(facets={name: [] for name in FACETS} if q.facets else {})
        filtered = self._filter(q)
        end = q.start + q.size
        with part.lock:
            searcher = part.current()
            self._check_prefixes(parsed, searcher.reader())
            segments = part.segments(searcher)
            doc_count = searcher.doc_count_all()
            dates = self._column(segments, "date", doc_count)
            try:
                if q.sort == "relevance" and not isinstance(parsed, query.Every):
                    matched, scores, partial = self._scored(searcher, parsed, filtered)
                    # Equal scores: the newer letter first (not the order of writing).
                    order = np.lexsort((-dates[matched], -np.round(scores, 6)))
                else:
                    whole = parsed if filtered is None else query.And([parsed, filtered])
                    matched, partial = self._matching(searcher, whole)
                    scores = np.zeros(matched.size)
                    when = dates[matched]
                    order = np.argsort(when if q.sort == "oldest" else -when, kind="stable")
            except QueryError:
                raise bad_query(_("Phrases can be searched in the subject, the text and "
                                  "the names only.")) from None
            page = order[q.start:end]
            items = [Hit(searcher.stored_fields(int(matched[i]))["key"],
                         round(float(scores[i]), 3)) for i in page]
            facets = self._facets(segments, matched, doc_count, q) if q.facets else {}
            terms = self._terms(parsed, searcher) if q.highlight and items else set()
        if terms and text_for is not None:
            self._highlight(terms, items, text_for)
        return SearchResults(items=items, total=int(matched.size), facets=facets,
                             partial=partial)

    def _scored(self, searcher, parsed, filtered):
        """(docnums, scores, partial) of every document matching, within the time budget."""
        scored = UnlimitedCollector()
        collector = TimeLimitCollector(scored, self.time_budget, use_alarm=False)
        if filtered is not None:  # outermost: a wrapper around it would bypass the filter
            collector = FilterCollector(collector, allow=filtered)
        partial = False
        try:
            searcher.search_with_collector(parsed, collector)
        except TimeLimit:
            partial = True
        found = scored.items
        matched = np.fromiter((docnum for _score, docnum in found), dtype=np.int64,
                              count=len(found))
        scores = np.fromiter((score for score, _docnum in found), dtype=np.float64,
                             count=len(found))
        return matched, scores, partial

    def _matching(self, searcher, whole):
        """(docnums, partial) of the documents matching `whole`, within the time budget."""
        deadline = time.monotonic() + self.time_budget
        found, partial = [], False
        for count, docnum in enumerate(searcher.docs_for_query(whole)):
            found.append(docnum)
            if not count % 4096 and time.monotonic() > deadline:
                partial = True
                break
        return np.asarray(found, dtype=np.int64), partial

    def _check_prefixes(self, parsed, reader):
        """Refuse a prefix that stands for too many words in this partition (its search
        would be slow and its results meaningless)."""
        for leaf in parsed.leaves():
            if isinstance(leaf, query.MultiTerm):
                expanded = sum(1 for _ in itertools.islice(leaf._btexts(reader),
                                                           PREFIX_TERMS_MAX + 1))
                if expanded > PREFIX_TERMS_MAX:
                    raise bad_query(_("prefix-too-common", default="'${prefix}*' stands for "
                                      "too many words; type more of the word.",
                                      mapping={"prefix": getattr(leaf, "text", "")}))

    @staticmethod
    def _column(segments, name, doc_count):
        out = np.zeros(doc_count, dtype=np.int64)
        for offset, arrays in segments:
            column = getattr(arrays, name)
            out[offset:offset + column.size] = column
        return out

    def _facets(self, segments, matched, doc_count, q):
        mask = np.zeros(doc_count, dtype=bool)
        mask[matched] = True
        counts = {name: {} for name in FACET_FIELDS}
        for offset, arrays in segments:
            for name in FACET_FIELDS:
                terms, docs, ids = arrays.pairs[name]
                if not terms:
                    continue
                hits = np.bincount(ids[mask[docs + offset]], minlength=len(terms))
                for term, count in zip(terms, hits.tolist(), strict=True):
                    if count:
                        counts[name][term] = counts[name].get(term, 0) + count
        facets = {name: sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
                  for name, values in counts.items()}
        for name in ("year", "month"):
            facets[name] = sorted(counts[name].items(), reverse=(name == "year"))
        overdue = 0
        if q.today is not None:
            limit = q.today.toordinal()
            for offset, arrays in segments:
                terms, docs, ids = arrays.pairs["open"]
                if "1" not in terms:
                    continue
                open_docs = docs[ids == terms.index("1")]
                due = arrays.due[open_docs]
                overdue += int(np.count_nonzero(mask[open_docs + offset] & (due > 0)
                                                & (due < limit)))
        facets["overdue"] = [("1", overdue)] if overdue else []
        return facets

    @staticmethod
    def _terms(parsed, searcher, limit=500):
        """The words of the subject and text the query matches (prefixes expanded against
        the partition's own terms), for highlighting."""
        terms, reader = set(), searcher.reader()
        for leaf in parsed.leaves():
            if getattr(leaf, "fieldname", None) not in ("subject", "text"):
                continue
            if isinstance(leaf, query.MultiTerm):  # a prefix: the words it stands for here
                found = itertools.islice(leaf._btexts(reader), limit)
            else:
                found = (text for _field, text in leaf.iter_all_terms())
            for text in found:
                terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
        return terms

    def _highlight(self, terms, items, text_for):
        analyzer = self.schema["text"].analyzer
        formatter = highlight.HtmlFormatter(tagname="mark", between=" … ")
        fragmenter = highlight.ContextFragmenter(maxchars=240, surround=60)
        for item in items:
            text = text_for(item.key) or ""
            if not text:
                continue
            item.highlights = highlight.highlight(text[:200_000], terms, analyzer, fragmenter,
                                                  formatter, top=2)
