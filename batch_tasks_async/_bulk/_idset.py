"""A compact, append-only set of task ids, used to find duplicate ids in the bulk input.

The bulk engine must remember every task id it has read (the service compares ids
case-insensitively, and a duplicate must be reported without being sent) while the input may
hold millions of tasks. A ``set[str]`` costs well over 100 bytes per id; this set stores one
64-bit hash per id in an `array.array` of type ``'Q'`` used as an open-addressing table
with double hashing, kept between 40% and 80% full: **10 to 20 bytes per id** (16 on average),
and no per-id Python object.

The hash is CPython's ``hash()`` of the id's comparison key (``id_key``: the service's
ordinal, per-character, case-insensitive comparison; SipHash-1-3 with a per-process random
key), so it is well distributed and cannot be steered by crafted ids. Storing hashes instead of
ids means a *new* id is taken for a duplicate when its 64-bit hash equals that of an earlier id:
for ``n`` ids the probability that this happens at all is about ``n**2 / 2**65`` -- 3e-8 for a
million ids, 3e-6 for ten million. Such a task would be reported as a duplicate (never sent, never
reported added), so the error is always on the safe side.
"""

from __future__ import annotations

from array import array
from typing import Final

__all__ = ["IdSet", "id_key"]

_MASK64: Final = 0xFFFF_FFFF_FFFF_FFFF
_MIN_CAPACITY: Final = 1024


def id_key(task_id: str) -> str:
    """The key under which the service compares task ids: ordinal, ignoring case per character.

    Each character is upper-cased on its own, and a character whose upper case is more than one
    character (``ß`` -> ``SS``) is kept as it is, as .NET's ``OrdinalIgnoreCase`` does: so
    ``STRASSE`` and ``straße`` are different ids, and ``TASK-1`` and ``task-1`` are one.
    """
    key = task_id.upper()
    if len(key) == len(task_id):
        return key  # no character expanded: the full mapping is the simple one here
    out = []
    for char in task_id:
        upper = char.upper()
        out.append(upper if len(upper) == 1 else char)
    return "".join(out)


class IdSet:
    """An append-only set of case-insensitive task ids, about 16 bytes per id.

    ``add()`` returns ``False`` when an equal id (ignoring case) was added before.
    """

    __slots__ = ("_count", "_limit", "_mask", "_table")

    def __init__(self, capacity: int = _MIN_CAPACITY) -> None:
        size = _MIN_CAPACITY
        while size * 4 < capacity * 5:  # room for `capacity` ids at 80% load
            size *= 2
        self._table = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._limit = size * 4 // 5
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held by the hash table, in bytes."""
        return len(self._table) * self._table.itemsize

    def add(self, task_id: str) -> bool:
        """Add ``task_id`` (compared by `id_key`); ``False`` if it was already present."""
        return self.add_hash(hash(id_key(task_id)))

    def add_hash(self, h: int) -> bool:
        """Add a precomputed ``hash(id_key(task_id))``; ``False`` if it was already present."""
        h &= _MASK64
        if not h:
            h = 1  # 0 marks an empty slot
        table = self._table
        mask = self._mask
        i = h & mask
        slot = table[i]
        if slot:
            if slot == h:
                return False
            step = (h >> 32) | 1  # odd, hence co-prime with the power-of-two table size
            while True:
                i = (i + step) & mask
                slot = table[i]
                if not slot:
                    break
                if slot == h:
                    return False
        table[i] = h
        self._count += 1
        if self._count > self._limit:
            self._grow()
        return True

    def __contains__(self, task_id: object) -> bool:
        if not isinstance(task_id, str):
            return False
        h = hash(id_key(task_id)) & _MASK64 or 1
        table = self._table
        mask = self._mask
        i = h & mask
        step = (h >> 32) | 1
        while True:
            slot = table[i]
            if not slot:
                return False
            if slot == h:
                return True
            i = (i + step) & mask

    def _grow(self) -> None:
        old = self._table
        size = len(old) * 2
        table = array("Q", bytes(8 * size))
        mask = size - 1
        for h in old:
            if h:
                i = h & mask
                if table[i]:
                    step = (h >> 32) | 1
                    i = (i + step) & mask
                    while table[i]:
                        i = (i + step) & mask
                table[i] = h
        self._table = table
        self._mask = mask
        self._limit = size * 4 // 5
