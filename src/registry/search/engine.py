"""The Whoosh search engine (`search.engine = whoosh`), one index per organisation
(`registry.search.partitions`), queries parsed by `registry.search.parsing`.

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
import threading
import time

import numpy as np
from whoosh import index, query
from whoosh.collectors import (FilterCollector, TimeLimit, TimeLimitCollector,
                               UnlimitedCollector)
from whoosh.query.qcore import QueryError
from whoosh.writing import CLEAR

from registry.search import parsing
from registry.search.parsing import FACET_FIELDS, to_fields, write_lock
from registry.search.partitions import PartitionedIndex
from registry.search.query import FACETS, Hit, SearchResults

#: Segments as separate files, not one compound file: Whoosh copies a compound file's parts
#: into memory at every opening (of a writer, after each commit, or a searcher), which cost a
#: one-letter update of a large partition a copy of its whole index, and as much memory.
WRITER_OPTIONS = {"compound": False}
#: Segments of a partition that make a commit merge its small ones.
MERGE_SEGMENTS = 10


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


class WhooshIndex(PartitionedIndex):
    """The registry's search index in Whoosh: `directory/<regno>/` per organisation.

    Thread-safe: searches of one partition are serialised (Whoosh readers are not shared
    across threads), writes are serialised per partition within the process and by Whoosh's
    lock file across processes."""

    def __init__(self, directory, **options):
        super().__init__(directory, directory, **options)

    def _exists(self, path):
        return index.exists_in(path)

    def _open_partition(self, path):
        return _Partition(path, self.schema)

    # Writing -------------------------------------------------------------------------------

    def update(self, documents=(), removed=()):
        """Add or replace `documents` and remove the documents keyed `removed`; one commit
        per partition touched. Idempotent: applying the same change twice changes nothing."""
        for org, (docs, keys) in self.by_partition(documents, removed).items():
            part = self._partition(org)
            with write_lock(part.path):
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
        with write_lock(part.path):
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

    def keys(self, org):
        """{key: stamp} of every document in partition `org`."""
        part = self._partition(org, create=False)
        if part is None:
            return {}
        with part.lock:
            searcher = part.current()
            return {f["key"]: f.get("stamp", "") for f in searcher.all_stored_fields()}

    # Querying ------------------------------------------------------------------------------

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
        filtered = parsing.filter_query(q)
        end = q.start + q.size
        with part.lock:
            searcher = part.current()
            parsing.check_prefixes(parsed, self._expander(searcher.reader()))
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
                raise parsing.phrase_refused() from None
            page = order[q.start:end]
            items = [Hit(searcher.stored_fields(int(matched[i]))["key"],
                         round(float(scores[i]), 3)) for i in page]
            facets = self._facets(segments, matched, doc_count, q) if q.facets else {}
            terms = parsing.highlight_terms(parsed, self._expander(searcher.reader())) \
                if q.highlight and items else set()
        if terms and text_for is not None:
            parsing.add_highlights(terms, items, text_for)
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

    @staticmethod
    def _expander(reader):
        """expand(leaf, limit): up to `limit` words of the partition a pattern leaf stands for."""
        def expand(leaf, limit):
            return list(itertools.islice(leaf._btexts(reader), limit))

        return expand

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
        return parsing.facet_lists(counts, overdue)
