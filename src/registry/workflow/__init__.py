"""Workflows: the shipped definitions (workflows/*.toml), checked once per process, and the
engine that runs them with the closed sets of guards and effects."""
from registry.i18n import _
from registry.paths import shipped
from registry.workflow.definition import WorkflowError, load, message_id  # noqa: F401
from registry.workflow.engine import Context, Engine, GuardResult, TransitionRefused  # noqa: F401

_loaded = None


def workflows():
    """{name: Workflow} from the shipped folder; loaded and checked on first use.
    Raises WorkflowError on an inconsistent definition."""
    global _loaded
    if _loaded is None:
        from registry.exchange import EFFECTS
        from registry.workflow.guards import GUARDS

        _loaded = load(shipped("workflows"), GUARDS, EFFECTS)
    return _loaded


def state_titles(*names):
    """{state name: its title} over the workflows `names` (every workflow without): each
    translatable, the message `state-<name>` whose default is the state's title in the TOML
    (extracted into the catalogs by registry.workflow.extract)."""
    return _titles("state", "states", names)


def transition_titles(*names):
    """{transition name: its title} as `state_titles` (`transition-<name>`)."""
    return _titles("transition", "transitions", names)


def _titles(kind, attribute, names):
    return {name: _(message_id(kind, name), default=item.title)
            for workflow in workflows().values() if not names or workflow.name in names
            for name, item in getattr(workflow, attribute).items()}


def engine():
    from registry.exchange import EFFECTS
    from registry.workflow.guards import GUARDS, STATE_GUARDS

    return Engine(workflows(), GUARDS, EFFECTS, STATE_GUARDS)


def includeme(config):
    # Refuse to start on an inconsistent definition, before serving anything.
    workflows()
