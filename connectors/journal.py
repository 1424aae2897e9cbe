"""A connector's state that records its own changes, so that saving progress costs
O(change), not O(state).

The runner lends a connector a :class:`TrackedDict`; every assignment or deletion, at
any depth of nested dicts, is noted in its :class:`Journal`. ``drain`` hands over the
changes since the last call (a list of operations), ``apply`` replays them on the saved
state::

    >>> journal = Journal()
    >>> state = TrackedDict({"lastmod": {"https://e.org/a": "2024"}}, journal)
    >>> state.setdefault("lastmod", {})["https://e.org/b"] = "2025"
    >>> state["etag"] = '"x"'
    >>> del state["lastmod"]["https://e.org/a"]
    >>> ops = journal.drain()
    >>> for op in ops: print(op)
    [['lastmod', 'https://e.org/b'], 1, '2025']
    [['etag'], 1, '"x"']
    [['lastmod', 'https://e.org/a'], 0, None]
    >>> apply({"lastmod": {"https://e.org/a": "2024"}}, ops)
    {'lastmod': {'https://e.org/b': '2025'}, 'etag': '"x"'}
    >>> journal.drain()
    []

Values are JSON: dicts (tracked), lists and scalars. A list changed in place is not
seen (assign it again); the runner also saves the whole state at the end of a pass.
"""

from __future__ import annotations

import copy
from typing import Any

Path = tuple[str, ...]
Op = list[Any]  # [path, 1, value] sets, [path, 0, None] deletes
MISSING = object()


class Journal:
    def __init__(self) -> None:
        self._ops: dict[Path, tuple[bool, Any]] = {}  # in order; the latest op per path

    def note(self, path: Path, value: Any = MISSING) -> None:
        self._ops.pop(path, None)
        self._ops[path] = (value is not MISSING, value)

    def drain(self) -> list[Op]:
        """The changes since the last drain, as JSON-ready operations, oldest first."""
        ops = [[list(path), int(is_set), plain(value) if is_set else None]
               for path, (is_set, value) in self._ops.items()]
        self._ops = {}
        return ops


def plain(value: Any) -> Any:
    """``value`` as plain JSON data (a copy: later changes do not reach it)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return copy.deepcopy(value)
    return value


class TrackedDict(dict[str, Any]):
    """A dict whose changes (and its nested dicts') are noted in ``journal``."""

    def __init__(self, data: dict[str, Any], journal: Journal, path: Path = ()) -> None:
        super().__init__()
        self._journal, self._path = journal, path
        for key, value in data.items():
            dict.__setitem__(self, key, self._wrap(key, value))

    def _wrap(self, key: str, value: Any) -> Any:
        if isinstance(value, dict) and not (isinstance(value, TrackedDict)
                                            and value._path == (*self._path, key)
                                            and value._journal is self._journal):
            return TrackedDict(dict(value), self._journal, (*self._path, key))
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        value = self._wrap(key, value)
        dict.__setitem__(self, key, value)
        self._journal.note((*self._path, key), value)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._journal.note((*self._path, key))

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = dict.__getitem__(self, key)
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (plain(self),))


def apply(state: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    """Replay ``ops`` on ``state`` (changed in place, and returned)."""
    for path, is_set, value in ops:
        node = state
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if is_set:
            node[path[-1]] = value
        else:
            node.pop(path[-1], None)
    return state
