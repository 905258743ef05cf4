"""Workflows: the shipped definitions (workflows/*.toml), checked once per process, and the
engine that runs them with the closed sets of guards and effects."""
from registry.paths import shipped
from registry.workflow.definition import WorkflowError, load  # noqa: F401
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


def engine():
    from registry.exchange import EFFECTS
    from registry.workflow.guards import GUARDS, STATE_GUARDS

    return Engine(workflows(), GUARDS, EFFECTS, STATE_GUARDS)


def includeme(config):
    # Refuse to start on an inconsistent definition, before serving anything.
    workflows()
