"""Firing a transition from a view: the workflow Context of a request, and a refusal as a
GuardResult for the page that lists every reason (the letter's, the delivery's, the desk's)."""
from registry import exchange
from registry.workflow import GuardResult


def workflow_context(request, comment="", options=None):
    return exchange.context(
        request.root, request.account.login,
        permits=lambda permission, obj: bool(request.has_permission(permission, obj)),
        gate=request.signature_gate, settings=request.registry.settings, comment=comment,
        options=options, notify=request.registry.notify, now=request.now)


def _as_result(exc):
    return GuardResult(False, "", exc.code, exc.message)


def refused_page(request, page, error, **values):
    """`page` (the context's page view) again for a refused change (a RegistryError, or a
    TransitionRefused with every guard's reason), at the refusal's status, the request's
    transaction doomed: nothing of it is kept."""
    request.tm.doom()
    request.response.status = error.status
    return page(request, refusals=getattr(error, "results", None) or [_as_result(error)],
                **values)
