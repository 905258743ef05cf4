"""The workflow engine: which transitions an object offers, and firing one.

Firing a transition: check the permission, run every guard (all of them, so the user sees every
reason at once), and only if all pass: run the effects, change the state, append an immutable
history entry and an audit record, and announce it (listeners act after commit). Guards never
write; effects are the only writers besides the engine itself.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyramid.authorization import DENY_ALL, Allow

from registry.errors import RegistryError
from registry.i18n import _
from registry.security import permissions as P
from registry.security.principals import org_role_principal
from registry.workflow.definition import workflows


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    guard: str = ""
    reason: str = ""  # a stable code, e.g. SIGNATURE_INVALID
    message: object = ""  # a TranslationString for people
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    time: str
    actor: str
    transition: str
    from_state: str
    to_state: str
    comment: str = ""
    evidence: dict = field(default_factory=dict)


@dataclass
class Context:
    """What guards and effects may consult. `permits(permission, obj)` answers for the actor;
    `verify(stored_pdf, expected_regno, item)` runs the signature gate on the PDF of `item` (a
    letter or delivery) and returns a Verdict; `trust()` is the gate's Trust (its CRLs, which
    effects keep as evidence)."""

    site: object
    actor: str
    permits: object
    verify: object = None
    trust: object = None
    settings: dict = field(default_factory=dict)
    comment: str = ""
    options: dict = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    notify: object = None


class TransitionRefused(RegistryError):
    """A transition was asked for but may not happen now; `results` holds every refusal."""

    def __init__(self, code, message, results=(), status=409):
        super().__init__(code, message, status=status)
        self.results = list(results)


class Workflowed:
    """Mixin for persistent objects that live in a workflow: `state`, `history` (a tuple of
    HistoryEntry, replaced never mutated) and an ACL computed from the state."""

    workflow_name = None
    state = None
    history = ()

    def owner_regno(self):
        """The organisation whose roles the state's permissions are granted to."""
        raise NotImplementedError

    def __acl__(self):
        workflow = workflows().get(self.workflow_name)
        if workflow is None or self.state not in workflow.states:
            return [DENY_ALL]
        regno = self.owner_regno()
        acl = []
        for permission, roles in workflow.states[self.state].permissions.items():
            for role in roles:
                acl.append((Allow, org_role_principal(regno, role), permission))
        acl.append(DENY_ALL)
        return acl


class Engine:
    def __init__(self, workflows, guards, effects, state_guards=frozenset()):
        self.workflows = workflows
        self.guards = guards
        self.effects = effects
        #: The guards that read only states: one that refuses hides its transition.
        self.state_guards = state_guards

    def workflow(self, obj):
        return self.workflows[obj.workflow_name]

    def offered(self, obj, ctx):
        """Transitions leaving the object's state that the actor holds the permission for
        and that no guard of `state_guards` refuses already: withdrawing a
        letter a recipient has registered is not offered. Those the registry fires itself
        are never offered."""
        workflow = self.workflow(obj)
        return [t for t in workflow.transitions_from(obj.state)
                if t.permission != P.SYSTEM and ctx.permits(t.permission, obj)
                and all(self.guards[name](obj, ctx).ok for name in t.guards
                        if name in self.state_guards)]

    def check(self, obj, name, ctx, system=False):
        """Return (transition, results): every guard's GuardResult. Raises TransitionRefused
        if the transition is unknown here, or not permitted to the actor. Writes nothing."""
        workflow = self.workflow(obj)
        transition = workflow.transitions.get(name)
        if transition is None or obj.state not in transition.sources:
            raise TransitionRefused(
                "TRANSITION_NOT_AVAILABLE",
                _("transition-not-available", default="'${transition}' cannot be done to "
                  "what is in state '${state}'.", mapping={"transition": name,
                                                          "state": obj.state}))
        if transition.permission == P.SYSTEM:
            if not system:
                raise TransitionRefused("FORBIDDEN", _("The registry does this by itself."),
                                        status=403)
        elif not ctx.permits(transition.permission, obj):
            raise TransitionRefused("FORBIDDEN",
                                    _("You do not have permission to do this here."),
                                    status=403)
        results = []
        if transition.comment_required and not ctx.comment.strip():
            results.append(GuardResult(False, "comment_required", "COMMENT_REQUIRED",
                                       _("Give a reason.")))
        for guard_name in transition.guards:
            result = self.guards[guard_name](obj, ctx)
            results.append(GuardResult(result.ok, guard_name, result.reason, result.message,
                                       result.evidence))
        return transition, results

    def fire(self, obj, name, ctx, system=False):
        """Fire the transition `name` on `obj`; return its HistoryEntry.

        Raises TransitionRefused (with every failed guard's result) and leaves `obj` as it was.
        """
        transition, results = self.check(obj, name, ctx, system=system)
        refused = [r for r in results if not r.ok]
        if refused:
            raise TransitionRefused("GUARD_REFUSED", refused[0].message, refused)
        evidence = {r.guard: r.evidence for r in results if r.evidence}
        from_state = obj.state
        obj.state = transition.target
        container = getattr(obj, "__parent__", None)
        if hasattr(container, "state_changed"):
            container.state_changed(obj, from_state)
        # Effects run once the state has changed (so that they see it); if one raises, the
        # request's transaction is aborted and nothing of this transition remains.
        for effect_name in transition.effects:
            produced = self.effects[effect_name](obj, ctx, evidence)
            if produced:
                evidence[effect_name] = produced
        entry = HistoryEntry(
            seq=len(obj.history) + 1, time=ctx.now.isoformat(), actor=ctx.actor,
            transition=name, from_state=from_state, to_state=transition.target,
            comment=ctx.comment.strip(), evidence=evidence)
        obj.history = obj.history + (entry,)
        ctx.site.audit.append(
            ctx.actor, f"{obj.workflow_name}.{name}", target=object_path(obj),
            org=obj.owner_regno(),
            detail={"from": entry.from_state, "to": entry.to_state, "comment": entry.comment,
                    "guards": sorted(evidence)})
        if ctx.notify is not None:
            ctx.notify(TransitionEvent(obj, transition, entry))
        return entry


@dataclass(frozen=True)
class TransitionEvent:
    """Announced after a transition, inside its transaction; listeners that act outside the
    database (indexing, notifications) must wait for commit."""

    object: object
    transition: object
    entry: HistoryEntry


def object_path(obj):
    names = []
    while obj is not None and getattr(obj, "__name__", None):
        names.append(obj.__name__)
        obj = obj.__parent__
    return "/" + "/".join(reversed(names))
