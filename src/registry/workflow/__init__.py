"""Workflows: the shipped definitions (workflows/*.toml), checked once per process, and the
engine that runs them with the closed sets of guards and effects."""
from collections import ChainMap

from registry.i18n import _
from registry.paths import shipped
from registry.workflow.definition import WorkflowError, load, message_id, workflows  # noqa: F401
from registry.workflow.engine import Context, Engine, GuardResult, TransitionRefused  # noqa: F401

#: The named guards and effects transitions may use: the modules that define them provide them
#: when imported (`registry.exchange` the letters' and deliveries'), so that the engine
#: depends on none of them and they may fire transitions.
_guards, _effects, _state_guards = [], [], set()


def provide(guards=None, effects=None, state_guards=()):
    """Add the named guards ({name: guard}) and effects ({name: effect}) the workflows may use;
    `state_guards` names the guards that read only states (a transition one of them refuses is
    not offered)."""
    if guards is not None:
        _guards.append(guards)
    if effects is not None:
        _effects.append(effects)
    _state_guards.update(state_guards)


def check():
    """Raise WorkflowError if a workflow names a guard or an effect no module provides."""
    load(shipped("workflows"), ChainMap(*_guards), ChainMap(*_effects))


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
    return Engine(workflows(), ChainMap(*_guards), ChainMap(*_effects), frozenset(_state_guards))


def includeme(config):
    # Refuse to start on an inconsistent definition, before serving anything: its states and
    # permissions now, its guards and effects once every include has provided them.
    workflows()
    config.action(None, check)
