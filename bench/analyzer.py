"""Benchmark: the search analyzer (registry.search.analysis) on Mongolian-like letters.

Generates letters of about 300 words: inflected forms of real nouns (the stems and endings the
stemmer knows), verbs and particles of official letters, pseudo-words to widen the vocabulary
(Zipf-distributed, so a few words are frequent and most are rare), some Latin and English words,
numbers like 01/123. Then it times:

- the analyzer in index mode (what the single index writer pays per letter), once with an
  empty word cache and once warm; in query mode; Whoosh's StemmingAnalyzer as a yardstick;
- indexing the letters into an in-memory Whoosh index with subject + text fields (letters/s).

    python bench/analyzer.py                  # 1,000 letters
    python bench/analyzer.py --letters 3000
"""
import argparse
import random
import sys
import time

from whoosh import fields
from whoosh.analysis import StemmingAnalyzer
from whoosh.filedb.filestore import RamStorage

from registry.search import analysis
from stats import peak_rss_mib  # bench/

NOUNS = [
    "байгууллага", "засаг", "захиргаа", "хот", "дүүрэг", "сургууль", "шийдвэр", "тушаал",
    "өргөдөл", "гэрээ", "хороо", "хүн", "ажил", "төсөв", "Улаанбаатар", "газар", "хууль",
    "тайлан", "сайд", "хэлтэс", "аймаг", "сум", "бодлого", "төлөвлөгөө", "хугацаа", "мэдээлэл",
    "зөвлөл", "хурал", "дарга", "албан", "бичиг", "иргэн", "төсөл", "хөрөнгө", "санхүү",
]
ENDINGS = ["", "", "", "ын", "ийн", "д", "т", "аас", "ээс", "аар", "тай", "тэй", "ууд", "үүд",
           "уудын", "ыг", "ийг", "нд", "ны", "руу", "аа", "даа"]
WORDS = ["ба", "болон", "нь", "юм", "байна", "тухай", "дагуу", "хүргүүлэв", "ирүүлсэн",
         "шийдвэрлэх", "хүсье", "холбогдуулан", "мэдэгдэж", "байгаа", "оны", "сарын", "өдрийн",
         "тоот", "албан", "бичгийн", "хариу", "хамтран", "ажиллах", "зорилгоор"]
LATIN = ["Ulaanbaatar", "report", "organizations", "registered", "contract", "LLC", "ISO"]
LETTERS = "абвгдежзийклмноөпрстуүфхцчшыэюя"


def vocabulary(rng, size):
    words = [noun + ending for noun in NOUNS for ending in ENDINGS] + WORDS * 8 + LATIN
    while len(words) < size:
        stem = "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 8)))
        words.append(stem + rng.choice(ENDINGS))
    return words


def letters(count, words_per_letter, rng):
    vocab = vocabulary(rng, 40_000)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]  # Zipf
    out = []
    for number in range(count):
        words = rng.choices(vocab, weights=weights, k=words_per_letter)
        words[rng.randrange(len(words))] = f"{number % 97:02d}/{number}"
        subject = " ".join(rng.choices(vocab[:400], k=7)).capitalize()
        out.append((subject, " ".join(words) + "."))
    return out


def rate(analyzer, texts, **kwargs):
    started = time.perf_counter()
    count = 0
    for text in texts:
        for _token in analyzer(text, positions=True, chars=True, **kwargs):
            count += 1
    seconds = time.perf_counter() - started
    return count, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--words", type=int, default=300)
    args = parser.parse_args(argv)
    rng = random.Random(4)
    data = letters(args.letters, args.words, rng)
    texts = [subject + "\n" + text for subject, text in data]
    ours = analysis.analyzer()
    print(f"{len(texts)} letters of {args.words} words "
          f"({sum(len(t.split()) for t in texts):,} words)")

    analysis.terms.cache_clear()
    tokens, seconds = rate(ours, texts, mode="index")
    print(f"index mode, empty cache: {tokens:,} tokens in {seconds:.2f} s = "
          f"{tokens / seconds:,.0f} tokens/s, {len(texts) / seconds:,.0f} letters/s")
    tokens, seconds = rate(ours, texts, mode="index")
    print(f"index mode, warm cache:  {tokens:,} tokens in {seconds:.2f} s = "
          f"{tokens / seconds:,.0f} tokens/s, {len(texts) / seconds:,.0f} letters/s")
    info = analysis.terms.cache_info()
    print(f"word cache: {info.currsize:,} words, {info.hits / (info.hits + info.misses):.0%} hits")
    tokens, seconds = rate(ours, texts, mode="query")
    print(f"query mode:              {tokens:,} tokens in {seconds:.2f} s = "
          f"{tokens / seconds:,.0f} tokens/s")
    tokens, seconds = rate(StemmingAnalyzer(), texts, mode="index")
    print(f"whoosh StemmingAnalyzer: {tokens:,} tokens in {seconds:.2f} s = "
          f"{tokens / seconds:,.0f} tokens/s (yardstick, no Mongolian)")

    for name, field_analyzer in (("ours", ours), ("StemmingAnalyzer", StemmingAnalyzer())):
        analysis.terms.cache_clear()
        schema = fields.Schema(key=fields.ID(stored=True),
                               subject=fields.TEXT(analyzer=field_analyzer),
                               text=fields.TEXT(analyzer=field_analyzer))
        index = RamStorage().create_index(schema)
        started = time.perf_counter()
        with index.writer() as writer:
            for number, (subject, text) in enumerate(data):
                writer.add_document(key=str(number), subject=subject, text=text)
        seconds = time.perf_counter() - started
        print(f"whoosh indexing with {name} (RAM, subject + text, one commit): "
              f"{len(data) / seconds:,.0f} letters/s")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
