"""Workflow definitions: read from TOML, checked before anything runs.

A definition names its states (each with a title, whether it is final, and the permissions each
role holds in it) and its transitions (sources, target, the permission it needs, named guards
and named effects). Names of permissions, roles, guards and effects come from closed sets in
code; anything else is an error, and the application refuses to start on an error.
"""
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from registry.paths import shipped
from registry.security import permissions as P
from registry.security.principals import ORG_ROLES


class WorkflowError(ValueError):
    """A workflow definition is inconsistent; the message names the file and the fault."""


@dataclass(frozen=True)
class State:
    name: str
    title: str
    final: bool = False
    #: permission -> roles (within the owning organisation) that hold it in this state
    permissions: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    name: str
    title: str
    sources: tuple
    target: str
    permission: str
    guards: tuple = ()
    effects: tuple = ()
    #: The comment (reason) is required, and stored in the history.
    comment_required: bool = False


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    initial: str
    states: dict
    transitions: dict
    source: str = ""

    def state(self, name):
        return self.states[name]

    def transitions_from(self, state):
        """Transitions leaving `state`, in definition order."""
        return [t for t in self.transitions.values() if state in t.sources]


def message_id(kind, name):
    """The catalogs' message id of the title of a state (`kind` "state") or a transition
    ("transition") named `name`: `state-<name>`, `transition-<name>`; its default (English)
    is the title in the TOML. One id a name, whatever the workflow: `load` refuses two
    workflows giving one name two titles."""
    return f"{kind}-{name}"


def _require(condition, source, message):
    if not condition:
        raise WorkflowError(f"{source}: {message}")


def parse(data, source, guards=None, effects=None):
    """Build and check a Workflow from parsed TOML `data` (the names of its guards and effects
    too, unless `guards` or `effects` is None). Raises WorkflowError."""
    meta = data.get("workflow", {})
    name = meta.get("name")
    _require(isinstance(name, str) and name, source, "[workflow] needs a name")
    initial = meta.get("initial")
    raw_states = data.get("states", {})
    raw_transitions = data.get("transitions", {})
    _require(raw_states, source, "no [states]")
    _require(initial in raw_states, source, f"initial state {initial!r} is not a state")
    known_permissions = set(P.ALL) | {P.SYSTEM}

    states = {}
    for state_name, spec in raw_states.items():
        perms = {}
        for permission, roles in spec.get("permissions", {}).items():
            _require(permission in known_permissions, source,
                     f"state {state_name!r}: unknown permission {permission!r}")
            _require(isinstance(roles, list), source,
                     f"state {state_name!r}: roles of {permission!r} must be a list")
            for role in roles:
                _require(role in ORG_ROLES, source,
                         f"state {state_name!r}: unknown role {role!r} for {permission!r}")
            perms[permission] = tuple(roles)
        unknown = set(spec) - {"title", "final", "permissions"}
        _require(not unknown, source, f"state {state_name!r}: unknown keys {sorted(unknown)}")
        states[state_name] = State(state_name, spec.get("title", state_name),
                                   bool(spec.get("final", False)), perms)

    transitions = {}
    for transition_name, spec in raw_transitions.items():
        unknown = set(spec) - {"title", "from", "to", "permission", "guards", "effects",
                               "comment_required"}
        _require(not unknown, source,
                 f"transition {transition_name!r}: unknown keys {sorted(unknown)}")
        sources = spec.get("from", [])
        sources = [sources] if isinstance(sources, str) else sources
        _require(sources, source, f"transition {transition_name!r} has no 'from'")
        for state_name in sources:
            _require(state_name in states, source,
                     f"transition {transition_name!r}: unknown state {state_name!r}")
            _require(not states[state_name].final, source,
                     f"transition {transition_name!r} leaves final state {state_name!r}")
        target = spec.get("to")
        _require(target in states, source,
                 f"transition {transition_name!r}: unknown target state {target!r}")
        permission = spec.get("permission")
        _require(permission in known_permissions, source,
                 f"transition {transition_name!r}: unknown permission {permission!r}")
        for guard in spec.get("guards", []):
            _require(guards is None or guard in guards, source,
                     f"transition {transition_name!r}: unknown guard {guard!r}")
        for effect in spec.get("effects", []):
            _require(effects is None or effect in effects, source,
                     f"transition {transition_name!r}: unknown effect {effect!r}")
        transitions[transition_name] = Transition(
            transition_name, spec.get("title", transition_name), tuple(sources), target,
            permission, tuple(spec.get("guards", [])), tuple(spec.get("effects", [])),
            bool(spec.get("comment_required", False)))

    # Every state is reachable from the initial one: a state nothing leads to is a typo.
    reachable, frontier = {initial}, [initial]
    while frontier:
        current = frontier.pop()
        for transition in transitions.values():
            if current in transition.sources and transition.target not in reachable:
                reachable.add(transition.target)
                frontier.append(transition.target)
    unreachable = sorted(set(states) - reachable)
    _require(not unreachable, source, f"states {unreachable} cannot be reached from {initial!r}")
    return Workflow(name, meta.get("title", name), initial, states, transitions, source)


def load(folder, guards=None, effects=None):
    """Load every `*.toml` in `folder`; return {name: Workflow}. Raises WorkflowError."""
    workflows, titles = {}, {}
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkflowError(f"{path.name}: not valid TOML: {exc}") from None
        workflow = parse(data, path.name, guards, effects)
        _require(workflow.name not in workflows, path.name,
                 f"workflow {workflow.name!r} is defined twice")
        workflows[workflow.name] = workflow
        for kind, items in (("state", workflow.states), ("transition", workflow.transitions)):
            for item in items.values():
                titles.setdefault((kind, item.name), (item.title, path.name))
                title, where = titles[(kind, item.name)]
                _require(title == item.title, path.name,
                         f"{kind} {item.name!r} is titled {item.title!r} here and {title!r} in "
                         f"{where}: one name, one title (message {message_id(kind, item.name)})")
    return workflows


_loaded = None


def workflows():
    """{name: Workflow} from the shipped folder; loaded and checked on first use, the names of
    guards and effects aside (`registry.workflow.check`). Raises WorkflowError on an
    inconsistent definition."""
    global _loaded
    if _loaded is None:
        _loaded = load(shipped("workflows"))
    return _loaded
