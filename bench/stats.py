"""Figures the benchmarks share: percentiles, timing, memory."""
import resource
import statistics
import time


def percentile(samples, q):
    """The q-quantile (0..1) of `samples`, nearest rank; NaN for no samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def median(samples):
    return statistics.median(samples) if samples else float("nan")


def summary(samples):
    """(p50, p95, max) of `samples`."""
    return median(samples), percentile(samples, 0.95), max(samples)


def timed(fn, items):
    """Milliseconds `fn(item)` took, for each item."""
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
