"""Full-text search of correspondence.

The one interface views, the index queue and the CLI use; only the engine modules know the
engine: `registry.search.tantivy_engine` (Tantivy, the default) or `registry.search.engine`
(Whoosh), chosen by the `search.engine` setting. Both parse queries with the project's own
parser and share filters, facets and highlights (`registry.search.parsing`).

- A `Document` is one letter as ONE organisation keeps it: the sender's outgoing letter, or a
  recipient's delivery. Its `org` names the partition it lives in: each organisation has an
  index of its own, so a search reads only the searcher's own correspondence (its cost is
  bounded by that, not by the registry) and can never return another organisation's letter.
- `SearchQuery` is what a user asks; `SearchResults` is a page of `Hit`s (keys, to be resolved
  in ZODB), the total, facets and highlighted snippets.

Text analysis (Mongolian stemming, folding, transliteration) is in `registry.search.analysis`;
text extraction and OCR in `registry.search.text`; the transactional queue and the writer in
`registry.search.indexing`.
"""
from registry.search.query import (FACETS, SORTS, Document, Hit, SearchQuery,  # noqa: F401
                                   SearchResults)

from registry.settings import COMMIT_MS, ENGINES  # noqa: F401 (the engines, the writer's pace)


def open_index(directory, engine="tantivy", **options):
    """Open (creating if needed) the search index kept in `directory`, served by `engine`
    (`search.engine`: "tantivy", the default, or "whoosh")."""
    # Only the engine chosen is imported: each loads a native library or a large package.
    if engine == "tantivy":
        from registry.search.tantivy_engine import TantivyIndex

        return TantivyIndex(directory, **options)
    if engine == "whoosh":
        from registry.search.engine import WhooshIndex

        return WhooshIndex(directory, **options)
    raise ValueError(f"search.engine must be one of {', '.join(ENGINES)}, not {engine!r}")

