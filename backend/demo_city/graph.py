"""Small graph algorithms the street generator needs (pure Python, no extra dependency)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class DisjointSets:
    """Union-find with path halving, over nodes ``0..n-1``."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        """The representative of ``x``'s set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``; False when they were already one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def union_find_components(n: int, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Connected-component label (the smallest node id in it) of every node."""
    sets = DisjointSets(n)
    for a, b in pairs:
        sets.union(a, b)
    return np.array([sets.find(x) for x in range(n)], dtype=np.int64)


def spanning_forest(n: int, pairs: Sequence[tuple[int, int]], weights: np.ndarray) -> set[int]:
    """Indices of the pairs in a minimum spanning forest under ``weights`` (Kruskal)."""
    sets = DisjointSets(n)
    return {int(k) for k in np.argsort(weights, kind="stable") if sets.union(*pairs[int(k)])}


def strongly_connected(n: int, arcs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Strongly-connected-component label of every node (iterative Kosaraju)."""
    forward: list[list[int]] = [[] for _ in range(n)]
    backward: list[list[int]] = [[] for _ in range(n)]
    for a, b in arcs:
        forward[a].append(b)
        backward[b].append(a)
    seen = [False] * n
    order: list[int] = []
    for root in range(n):
        if seen[root]:
            continue
        seen[root] = True
        stack = [(root, 0)]
        while stack:
            x, k = stack[-1]
            if k < len(forward[x]):
                stack[-1] = (x, k + 1)
                y = forward[x][k]
                if not seen[y]:
                    seen[y] = True
                    stack.append((y, 0))
            else:
                stack.pop()
                order.append(x)
    label = [-1] * n
    for root in reversed(order):
        if label[root] >= 0:
            continue
        label[root] = root
        todo = [root]
        while todo:
            x = todo.pop()
            for y in backward[x]:
                if label[y] < 0:
                    label[y] = root
                    todo.append(y)
    return np.array(label, dtype=np.int64)
