"""Tasks: what a registered incoming letter asks of the organisation, and the desk's indexes.

A Task belongs to one Delivery (`delivery.task`, traversed as `<delivery>/task` only through
the delivery's views). It moves through workflows/task.toml: `open` until it is answered (a
letter "in reply to" it is sent) or closed with a note, then `done`. Its resolution, executor,
co-executors and due date change only by transitions of that workflow.

The organisation's `Desk` keeps the open tasks' read indexes (BTrees beside the content):
every open task by due date, and by responsible executor and by co-executor, each ordered by
(due date, delivery id), with counts kept as `Length`s; so a page of "My tasks" or of the
control list reads only the rows it shows, and "overdue" is a range of keys.
"""
import heapq
from itertools import islice

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from registry.workflow.engine import Workflowed

#: The key of a task without a due date: after every date.
NO_DUE = "9999-12-31"


class Task(Workflowed, Persistent):
    workflow_name = "task"

    def __init__(self, delivery, kind):
        self.__parent__ = delivery
        self.__name__ = "task"
        self.kind = kind
        self.state = "open"
        self.history = ()
        self.resolution = ""
        self.executor = None
        self.co_executors = ()
        self.due = None
        self.extensions = 0
        self.note = ""
        #: Paths of this organisation's letters sent in reply to it.
        self.answered_by = ()
        self.done_at = None

    #: The due-date notifications sent of it: ((kind, due date ISO), ...); each goes once
    #: per due date (`registry.notifications.check_due`).
    notified = ()

    @property
    def delivery(self):
        return self.__parent__

    def owner_regno(self):
        return self.__parent__.recipient

    def key(self):
        return (self.due.isoformat() if self.due else NO_DUE, self.__parent__.__name__)


class Desk(Persistent):
    """The open tasks' indexes of one organisation (see the module's docstring)."""

    def __init__(self):
        self.open = OOTreeSet()
        self.by_executor = OOBTree()
        self.by_co_executor = OOBTree()
        self.executor_counts = OOBTree()
        self.total = Length()
        #: delivery id -> the entries it is indexed under: (key, executor, co-executors)
        self.indexed = OOBTree()
        #: The sender's side: answers this organisation awaits from recipients, by due date:
        #: (due, recipient regno, delivery id), and (recipient, delivery id) -> that key.
        self.awaited = OOTreeSet()
        self.awaited_keys = OOBTree()

    def await_answer(self, task):
        """Keep `task` (at a recipient) in this sender's awaited answers while it is open with
        a due date. Idempotent."""
        delivery = task.__parent__
        ident = (delivery.recipient, delivery.__name__)
        old = self.awaited_keys.get(ident)
        new = (task.due.isoformat(), *ident) if task.state == "open" and task.due else None
        if old == new:
            return
        if old is not None:
            self.awaited.remove(old)
            del self.awaited_keys[ident]
        if new is not None:
            self.awaited.add(new)
            self.awaited_keys[ident] = new

    def awaited_count(self, before=None, since=None):
        """Awaited answers due before `before` and/or on or after `since` (ISO dates)."""
        return len(self.awaited.keys(min=(since,) if since else None,
                                     max=(before,) if before else None,
                                     excludemax=before is not None))

    def update(self, task):
        """Index `task` as it is now (open) or drop it (done). Idempotent."""
        name = task.__parent__.__name__
        old = self.indexed.get(name)
        new = (task.key(), task.executor, tuple(task.co_executors)) \
            if task.state == "open" else None
        if old == new:
            return
        if old is not None:
            key, executor, co = old
            self.open.remove(key)
            self.total.change(-1)
            if executor:
                self.by_executor[executor].remove(key)
                self.executor_counts[executor].change(-1)
            for login in co:
                self.by_co_executor[login].remove(key)
            del self.indexed[name]
        if new is not None:
            key, executor, co = new
            self.open.add(key)
            self.total.change(1)
            if executor:
                self.by_executor.setdefault(executor, OOTreeSet()).add(key)
                if executor not in self.executor_counts:
                    self.executor_counts[executor] = Length()
                self.executor_counts[executor].change(1)
            for login in co:
                self.by_co_executor.setdefault(login, OOTreeSet()).add(key)
            self.indexed[name] = new

    def _trees(self, executor):
        if executor is None:
            return [self.open]
        return [tree for tree in (self.by_executor.get(executor),
                                  self.by_co_executor.get(executor)) if tree is not None]

    def page(self, executor=None, overdue_on=None, start=0, size=25, after=None):
        """Delivery ids of open tasks, due first: all, or those `executor` is responsible for
        or a co-executor of; with `overdue_on` (an ISO date), only those due before it.
        From `start`, or after the delivery id `after`. Returns (ids, total)."""
        floor = self.indexed[after][0] if after in self.indexed else None
        limit = (overdue_on,) if overdue_on else None
        streams = [tree.keys(min=floor, max=limit, excludemin=floor is not None,
                             excludemax=limit is not None) for tree in self._trees(executor)]
        merged = heapq.merge(*streams)
        skip = 0 if floor else start
        names = [name for _due, name in islice(merged, skip, skip + size)]
        return names, self.count(executor, overdue_on)

    def due_between(self, since=None, before=None):
        """Delivery ids of the open tasks due on or after `since` and before `before` (ISO
        dates; None: unbounded), due first. Reads those keys only."""
        keys = self.open.keys(min=(since,) if since else None,
                              max=(before,) if before else None, excludemax=before is not None)
        return [name for _due, name in keys]

    def count(self, executor=None, overdue_on=None):
        """How many open tasks (of `executor`; due before `overdue_on`). Counting overdue ones
        reads the overdue keys only."""
        if overdue_on is None:
            if executor is None:
                return self.total()
            counted = self.executor_counts.get(executor)
            co = self.by_co_executor.get(executor)
            return (counted() if counted is not None else 0) + (len(co) if co else 0)
        return sum(len(tree.keys(max=(overdue_on,), excludemax=True))
                   for tree in self._trees(executor))

    def due_within(self, since, before, executor=None, size=25):
        """Delivery ids of open tasks (all, or `executor`'s) due on or after `since` and before
        `before` (ISO dates), due first, at most `size`; returns (ids, how many in all). Reads
        the keys of that range only."""
        ranges = [tree.keys(min=(since,), max=(before,), excludemax=True)
                  for tree in self._trees(executor)]
        names = [name for _due, name in islice(heapq.merge(*ranges), size)]
        return names, sum(len(keys) for keys in ranges)

    def executors(self):
        """[(login, open tasks they are responsible for)] of everyone with one."""
        return [(login, count()) for login, count in self.executor_counts.items() if count()]

    def overdue_of(self, login, overdue_on):
        tree = self.by_executor.get(login)
        return len(tree.keys(max=(overdue_on,), excludemax=True)) if tree else 0
