"""The slot table: which running request holds which row of an engine's fixed-size state.

One definition for both engines that batch requests of different ages: the local engine's static
rows (keyed by ticket: a slot is a row of the static KV cache and of the controller) and the SGLang
table (keyed by request id: a slot is a row of the controller). The lowest free slot is taken
first, so the rows in use stay packed at the front (a captured step runs slots [0, highest]).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)


class SlotTable(Generic[K]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._slot: dict[K, int] = {}
        self._free = list(range(capacity))  # a heap: the lowest free slot first

    def take(self, key: K) -> int | None:
        """A free slot for `key` (its own if it holds one), or None when every slot is taken."""
        if key in self._slot:
            return self._slot[key]
        if not self._free:
            return None
        slot = self._slot[key] = heapq.heappop(self._free)
        return slot

    def release(self, key: K) -> int | None:
        """Free `key`'s slot; returns it (None: `key` held none)."""
        slot = self._slot.pop(key, None)
        if slot is not None:
            heapq.heappush(self._free, slot)
        return slot

    @overload
    def get(self, key: K) -> int | None: ...
    @overload
    def get(self, key: K, default: int) -> int: ...
    def get(self, key: K, default: int | None = None) -> int | None:
        return self._slot.get(key, default)

    def __getitem__(self, key: K) -> int:
        return self._slot[key]

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    def __iter__(self) -> Iterator[K]:
        return iter(self._slot)

    def __len__(self) -> int:
        return len(self._slot)

    def items(self) -> Iterator[tuple[K, int]]:
        return iter(self._slot.items())

    def values(self) -> list[int]:
        return list(self._slot.values())
