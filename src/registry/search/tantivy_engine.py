"""The Tantivy search engine (`search.engine = tantivy`, the default), one index per
organisation (`registry.search.partitions`) under `<directory>/tantivy/<regno>/`.

Tantivy (native code) stores, matches, scores (BM25), sorts and counts; everything that makes
the search Mongolian stays ours:
- subject, text and names are indexed as the analyser's terms (`registry.search.analysis`:
  stems, folding), one term per position, through Tantivy's whitespace tokenizer, so Tantivy
  never analyses a word itself;
- a query is parsed by the project's parser (`registry.search.parsing`) and its tree turned
  into Tantivy queries here (Tantivy's own query parser is never used): a Term is a term
  query, a Phrase a phrase query, a prefix is expanded against the partition's own words (at
  most 300, `PREFIX_TERMS_MAX`), each word counting its field's boost, as in Whoosh;
- the page comes from Tantivy's top-k (relevance; letters of equal score newest first: the
  whole group of equal scores at the page's end is fetched and ordered by date) or from the
  `date` fast field (newest, oldest); the total is Tantivy's count, the facets its terms
  aggregations over fast fields, the overdue count a count query;
- highlights are made for the page's hits only, from text the caller supplies, as in Whoosh.

Writing: one Tantivy writer per partition at a time. Tantivy takes a lock file for it, shared
by every process; a writer that finds it busy (another process writing that partition) waits
and tries again, up to `lock_timeout` seconds. After each commit the partition's reader is
reloaded, so a letter is found as soon as the batch that holds it is applied; another
process's commits are seen at its next search (the reader reloads when `meta.json` changed).
"""
import os
import threading
import time

import tantivy
from tantivy import Occur, Order, Query
from whoosh import query

from registry.search import parsing
from registry.search.parsing import (FACET_FIELDS, PREFIX_TERMS_MAX, TEXT_FIELDS, to_fields,
                                     write_lock)
from registry.search.partitions import PartitionedIndex
from registry.search.query import FACETS, Hit, SearchResults

#: The engine's subdirectory of `search.directory` (the Whoosh engine uses its root).
SUBDIRECTORY = "tantivy"
#: Fields that hold terms as given, one per value.
RAW_FIELDS = ("executor", "day", "open", "stamp")
#: Memory the writer of one batch may use before it writes a segment (Tantivy's minimum is 15 MB
#: per thread); a rebuild uses more.
WRITER_HEAP = 32_000_000
REBUILD_HEAP = 256_000_000
#: Buckets a facet's aggregation returns at most (a partition has fewer distinct values).
FACET_BUCKETS = 65_000
LOCK_BUSY = "LockBusy"


def make_tantivy_schema():
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", stored=True, tokenizer_name="raw", index_option="basic")
    for name in RAW_FIELDS:
        builder.add_text_field(name, stored=(name == "stamp"), tokenizer_name="raw",
                               index_option="basic")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in FACET_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_integer_field("date", indexed=True, fast=True)
    builder.add_integer_field("due", indexed=True, fast=True)
    return builder.build()


def _analysed(analyzer, value):
    """The analyser's terms of `value`, one per position, for the whitespace tokenizer."""
    return " ".join(token.text for token in analyzer(value, mode="index"))


class _Partition:
    """One organisation's Tantivy index, reloaded when its `meta.json` changed."""

    def __init__(self, path, schema):
        self.path = path
        self.lock = threading.RLock()
        os.makedirs(path, exist_ok=True)
        self.ix = tantivy.Index(schema, path=path, reuse=True)
        self.ix.config_reader(reload_policy="Manual")
        self.seen = self._meta()

    def _meta(self):
        try:
            info = os.stat(os.path.join(self.path, "meta.json"))
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def searcher(self):
        """The searcher of the last commit (of this process or another); None if another
        process dropped the partition meanwhile."""
        meta = self._meta()
        if meta is None:
            return None
        if meta != self.seen:
            self.ix.reload()
            self.seen = meta
        return self.ix.searcher()

    def reload(self):
        self.ix.reload()
        self.seen = self._meta()

    def close(self):
        """Nothing to release here: Tantivy closes the files with the last reference (a
        writer still using the partition keeps it)."""


class _Lexicon:
    """The partition's words as Whoosh's pattern queries ask for them (to expand a prefix,
    a wildcard or a term range against them)."""

    def __init__(self, schema, searcher):
        self.schema = schema
        self.searcher = searcher

    def expand_prefix(self, fieldname, prefix):
        prefix = prefix.decode("utf-8") if isinstance(prefix, bytes) else prefix
        words = self.searcher.terms_with_prefix(fieldname, prefix)
        return sorted(word.encode("utf-8") for word, _count in words)

    def lexicon(self, fieldname):
        return self.expand_prefix(fieldname, "")

    def terms_from(self, fieldname, start):
        for word in self.lexicon(fieldname):
            if word >= start:
                yield fieldname, word


class TantivyIndex(PartitionedIndex):
    """The registry's search index in Tantivy: `directory/tantivy/<regno>/` per organisation.

    Thread-safe: a partition's searchers are used under its lock; writes are serialised per
    partition within the process and by Tantivy's lock file across processes."""

    def __init__(self, directory, **options):
        super().__init__(directory, os.path.join(directory, SUBDIRECTORY), **options)
        self.tschema = make_tantivy_schema()
        self.analyzer = self.schema["text"].analyzer

    def _exists(self, path):
        return os.path.exists(os.path.join(path, "meta.json"))

    def _open_partition(self, path):
        return _Partition(path, self.tschema)

    # Writing -------------------------------------------------------------------------------

    def _document(self, doc):
        values = to_fields(doc, self.zone)
        out = tantivy.Document()
        out.add_text("key", values["key"])
        out.add_text("stamp", values["stamp"] or "")
        for name in ("subject", "text", "sender", "recipient"):
            out.add_text(name, _analysed(self.analyzer, values[name]))
        out.add_text("number", values["number"].lower())
        for name in ("executor", "day", "open", "year", "month", "direction", "state"):
            if values[name]:
                out.add_text(name, values[name])
        for regno in values["counterpart"].split():
            out.add_text("counterpart", regno)
        out.add_integer("date", values["date"])
        out.add_integer("due", values["due"])
        return out

    def _writer(self, part, heap):
        """The partition's writer; waits (up to `lock_timeout`) while another process holds
        it. Raises TimeoutError if it stays busy."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.01
        while True:
            try:
                return part.ix.writer(heap, 1)
            except ValueError as exc:
                if LOCK_BUSY not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"the search index of {os.path.basename(part.path)} "
                                       "is locked by another writer") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def update(self, documents=(), removed=()):
        """Add or replace `documents` and remove the documents keyed `removed`; one commit
        per partition touched. Idempotent: applying the same change twice changes nothing."""
        for org, (docs, keys) in self.by_partition(documents, removed).items():
            part = self._partition(org)
            with write_lock(part.path):
                writer = self._writer(part, WRITER_HEAP)
                try:
                    for key in keys:
                        writer.delete_documents_by_term("key", key)
                    for doc in docs:
                        writer.delete_documents_by_term("key", doc.key)
                        writer.add_document(self._document(doc))
                    writer.commit()
                except BaseException:
                    writer.rollback()
                    del writer  # (a traceback would keep it, and the lock file, alive)
                    raise
                # The merges this commit started (small segments pile up otherwise: one per
                # batch); then the writer is gone and the lock file released.
                writer.wait_merging_threads()
                del writer
                part.reload()

    def rebuild(self, org, documents):
        """Replace everything in partition `org` by `documents` (an iterable, streamed) in one
        commit: searches read the old contents until then. Other writers of the partition
        wait meanwhile. Returns the count."""
        part = self._partition(org)
        count = 0
        with write_lock(part.path):
            writer = self._writer(part, REBUILD_HEAP)
            try:
                writer.delete_all_documents()
                for doc in documents:
                    writer.add_document(self._document(doc))
                    count += 1
                writer.commit()
            except BaseException:
                writer.rollback()
                del writer
                raise
            writer.wait_merging_threads()
            del writer
            part.reload()
        return count

    def keys(self, org):
        """{key: stamp} of every document in partition `org`."""
        part = self._partition(org, create=False)
        if part is None:
            return {}
        with part.lock:
            searcher = part.searcher()
            if searcher is None:
                return {}
            found = searcher.search(Query.all_query(), max(searcher.num_docs, 1), count=False)
            out = {}
            for _score, address in found.hits:
                stored = searcher.doc(address)
                out[stored.get_first("key")] = stored.get_first("stamp") or ""
            return out

    # Querying ------------------------------------------------------------------------------

    def search(self, q, text_for=None):
        """Answer a registry.search.SearchQuery from the searcher's partition only.

        The page and the total, then the facets; if the time budget is spent before the
        facets, they are left out and `partial` is set (the page and total are exact)."""
        if q.overdue and q.today is None:
            raise ValueError("an overdue filter needs `today`")
        parsed = self.parse(q.text)
        part = self._partition(q.org, create=False)
        searcher = part.searcher() if part is not None else None
        if searcher is None:
            return SearchResults(facets={name: [] for name in FACETS} if q.facets else {})
        deadline = time.monotonic() + self.time_budget
        filtered = parsing.filter_query(q)
        with part.lock:
            lexicon = _Lexicon(self.schema, searcher)
            expand = self._expander(lexicon)
            parsing.check_prefixes(parsed, expand)
            matching = self._query(parsed, lexicon)
            whole = matching if filtered is None else Query.boolean_query(
                [(Occur.Must, matching),
                 (Occur.Must, Query.const_score_query(self._query(filtered, lexicon), 0.0))])
            if q.sort == "relevance" and not isinstance(parsed, query.Every):
                items, total = self._scored(searcher, whole, q.start, q.start + q.size)
            else:
                found = searcher.search(whole, q.size, count=True, order_by_field="date",
                                        offset=q.start,
                                        order=Order.Asc if q.sort == "oldest" else Order.Desc)
                items = [Hit(self._key(searcher, address), 0.0) for _d, address in found.hits]
                total = found.count
            partial = False
            facets = {}
            if q.facets:
                if time.monotonic() > deadline:
                    partial = True
                    facets = {name: [] for name in FACETS}
                else:
                    facets = self._facets(searcher, whole, q, lexicon)
            terms = parsing.highlight_terms(parsed, expand) if q.highlight and items else set()
        if terms and text_for is not None:
            parsing.add_highlights(terms, items, text_for)
        return SearchResults(items=items, total=total, facets=facets, partial=partial)

    @staticmethod
    def _key(searcher, address):
        return searcher.doc(address).get_first("key")

    def _scored(self, searcher, whole, start, end):
        """(hits start:end by score, equal scores newest first; the total)."""
        limit = end + 20
        while True:
            found = searcher.search(whole, limit, count=True)
            hits = found.hits
            if len(hits) < limit or len(hits) < end or \
                    round(hits[-1][0], 6) < round(hits[end - 1][0], 6):
                break  # every letter scoring as the page's last one is here
            limit *= 4
        dates = searcher.fast_field_values("date", [address for _s, address in hits])
        order = sorted(range(len(hits)), key=lambda i: (-round(hits[i][0], 6), -dates[i]))
        items = [Hit(self._key(searcher, hits[i][1]), round(float(hits[i][0]), 3))
                 for i in order[start:end]]
        return items, found.count

    @staticmethod
    def _expander(lexicon):
        """expand(leaf, limit): up to `limit` words of the partition a pattern leaf stands for."""
        def expand(leaf, limit):
            words = []
            for word in leaf._btexts(lexicon):
                words.append(word.decode("utf-8"))
                if len(words) >= limit:
                    break
            return words

        return expand

    def _facets(self, searcher, whole, q, lexicon):
        aggregations = {name: {"terms": {"field": name, "size": FACET_BUCKETS}}
                        for name in FACET_FIELDS}
        answer = searcher.aggregate(whole, aggregations)
        counts = {name: {bucket["key"]: bucket["doc_count"]
                         for bucket in answer.get(name, {}).get("buckets", ())}
                  for name in FACET_FIELDS}
        overdue = 0
        if q.today is not None:
            late = self._query(parsing.overdue_query(q.today), lexicon)
            overdue = searcher.search(Query.boolean_query(
                [(Occur.Must, whole), (Occur.Must, late)]), 1, count=True).count
        return parsing.facet_lists(counts, overdue)

    # The query tree as Tantivy queries -----------------------------------------------------

    def _boost(self, node, fieldname=None):
        boost = getattr(node, "boost", 1.0)
        if fieldname and fieldname in self.schema:
            boost *= getattr(self.schema[fieldname], "field_boost", 1.0)
        return boost

    def _query(self, node, lexicon):
        """The Tantivy query of a parsed query tree (`registry.search.parsing`)."""
        if isinstance(node, query.Every):
            return Query.all_query()
        if isinstance(node, type(query.NullQuery)):
            return Query.empty_query()
        if isinstance(node, query.Term):
            return self._boosted(self._term(node.fieldname, node.text), self._boost(
                node, node.fieldname))
        if isinstance(node, query.Phrase):
            return self._phrase(node)
        if isinstance(node, query.NumericRange):
            return Query.range_query(self.tschema, node.fieldname, tantivy.FieldType.Integer,
                                     node.start, node.end, include_lower=not node.startexcl,
                                     include_upper=not node.endexcl)
        if isinstance(node, query.MultiTerm):  # a prefix, wildcard or term range
            # As Whoosh: one word is a scored term; several count one (the boost) each, so
            # a letter with more of the words ranks higher.
            words = self._expander(lexicon)(node, PREFIX_TERMS_MAX + 1)
            boost = self._boost(node, node.fieldname)
            if len(words) == 1:
                return self._boosted(self._term(node.fieldname, words[0]), boost)
            return Query.boolean_query([
                (Occur.Should, Query.const_score_query(self._term(node.fieldname, word), boost))
                for word in words])
        if isinstance(node, query.AndNot):
            return self._boolean([(Occur.Must, node.a), (Occur.MustNot, node.b)], node,
                                 lexicon)
        if isinstance(node, query.AndMaybe):
            return self._boolean([(Occur.Must, node.a), (Occur.Should, node.b)], node, lexicon)
        if isinstance(node, query.Require):
            return self._boolean([(Occur.Must, node.a), (Occur.Must, node.b)], node, lexicon)
        if isinstance(node, query.Not):
            return self._boolean([(Occur.Must, query.Every()), (Occur.MustNot, node.query)],
                                 node, lexicon)
        if isinstance(node, query.DisjunctionMax):
            return self._boosted(Query.disjunction_max_query(
                [self._query(sub, lexicon) for sub in node.subqueries],
                tie_breaker=node.tiebreak), self._boost(node))
        if isinstance(node, query.And):
            return self._boolean([(Occur.Must, sub) for sub in node.subqueries], node, lexicon)
        if isinstance(node, query.Or):
            return self._boolean([(Occur.Should, sub) for sub in node.subqueries], node,
                                 lexicon)
        raise parsing.unsupported()

    def _term(self, fieldname, text):
        if fieldname in ("date", "due"):
            return Query.term_query(self.tschema, fieldname, int(text))
        return Query.term_query(self.tschema, fieldname, text)

    def _phrase(self, node):
        if node.fieldname not in TEXT_FIELDS:
            raise parsing.phrase_refused()
        if len(node.words) == 1:
            return self._boosted(self._term(node.fieldname, node.words[0]),
                                 self._boost(node, node.fieldname))
        # Whoosh counts slop from 1 (adjacent words), Tantivy from 0.
        phrase = Query.phrase_query(self.tschema, node.fieldname, list(node.words),
                                    slop=max(node.slop - 1, 0))
        return self._boosted(phrase, self._boost(node, node.fieldname))

    def _boolean(self, clauses, node, lexicon):
        subqueries = [(occur, self._query(sub, lexicon)) for occur, sub in clauses]
        return self._boosted(Query.boolean_query(subqueries), self._boost(node))

    @staticmethod
    def _boosted(q, boost):
        return q if boost == 1.0 else Query.boost_query(q, boost)
