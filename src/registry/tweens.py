"""After a writing request: the one tween shape the background workers share (the audit
sealer, the search writer, the preservation stamper, the receipt issuer)."""

#: Requests that change nothing: no worker is woken after them.
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def after_writes(handler, wake):
    """A tween that calls `wake()` after each request that may have written, once pyramid_tm
    has committed (or aborted) it: the worker finds what the request left, or nothing."""

    def tween(request):
        response = handler(request)
        if request.method not in SAFE_METHODS:
            wake()
        return response

    return tween
