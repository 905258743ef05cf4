"""Folder: the persistent container every listing in the registry is built on.

Children live in an `OOBTree` keyed by name, counted by a `Length` (so `len()` costs nothing and
concurrent adds do not conflict on a counter). `add` and `remove` are the only code that sets a
child's `__parent__` and `__name__`.
"""
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class FolderKeyError(KeyError):
    """A child name is already taken (on add) or unknown (on remove)."""


class Folder(Persistent):
    __parent__ = None
    __name__ = None

    def __init__(self):
        self.data = OOBTree()
        self._num = Length()

    # Mapping protocol (read side) -------------------------------------------------------
    def __getitem__(self, name):
        """Return the child called `name`; raise KeyError if there is none."""
        return self.data[name]

    def get(self, name, default=None):
        return self.data.get(name, default)

    def __contains__(self, name):
        return name in self.data

    def __len__(self):
        return self._num()

    def __bool__(self):
        # A folder is a place, true even when empty.
        return True

    def keys(self, min=None, max=None, excludemax=False):
        """Names in key order, optionally within [min, max]; lazy over the BTree."""
        return self.data.keys(min=min, max=max, excludemax=excludemax)

    def values(self, min=None, max=None, excludemax=False):
        return self.data.values(min=min, max=max, excludemax=excludemax)

    def items(self, min=None, max=None, excludemax=False):
        return self.data.items(min=min, max=max, excludemax=excludemax)

    # Changes ---------------------------------------------------------------------------
    def add(self, name, obj):
        """Add `obj` as `name` and return it; raise FolderKeyError if the name is taken."""
        if not isinstance(name, str) or not name or "/" in name or name.startswith("@"):
            raise ValueError(f"not a valid child name: {name!r}")
        if name in self.data:
            raise FolderKeyError(name)
        obj.__parent__ = self
        obj.__name__ = name
        self.data[name] = obj
        self._num.change(1)
        return obj

    def remove(self, name):
        """Remove the child `name` and return it; raise FolderKeyError if there is none."""
        try:
            obj = self.data.pop(name)
        except KeyError:
            raise FolderKeyError(name) from None
        self._num.change(-1)
        obj.__parent__ = None
        obj.__name__ = None
        return obj

    def page(self, start=0, size=20):
        """Return the children from position `start`, at most `size` of them, in key order.

        Costs O(start + size): the BTree is walked lazily, never loaded whole.
        """
        out = []
        for index, obj in enumerate(self.data.values()):
            if index < start:
                continue
            if len(out) >= size:
                break
            out.append(obj)
        return out
