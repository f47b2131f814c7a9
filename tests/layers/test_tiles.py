"""Tile bookkeeping: zoom levels matched within a tolerance, an LRU bounded by bytes."""

from __future__ import annotations

from layers.tiles import TILE_PX, Levels, TileCache, tile_data_rect, tile_range


def test_levels_match_within_a_part_in_a_million() -> None:
    levels = Levels()
    a = levels.get(2.0, -2.0)
    assert levels.get(2.0 * (1 + 5e-7), -2.0) is a
    b = levels.get(2.0 * 1.01, -2.0)
    assert b.id != a.id and len(levels) == 2
    levels.drop({a.id})
    assert levels.find(2.0, -2.0) is None


def test_lru_drops_the_least_recently_used_past_the_budget() -> None:
    evicted: list[tuple[int, int, int]] = []
    cache = TileCache(300, on_evict=evicted.append)
    for k in range(3):
        cache.put((0, k, 0), f"tile{k}", 100)
    cache.get((0, 0, 0))  # touch the oldest
    cache.put((0, 3, 0), "tile3", 100)
    assert evicted == [(0, 1, 0)]
    assert (0, 0, 0) in cache and (0, 1, 0) not in cache
    assert cache.bytes == 300
    cache.put((0, 4, 0), None, 0)  # an empty tile costs nothing
    assert len(cache) == 4 and cache.bytes == 300


def test_tile_range_and_rect_agree() -> None:
    levels = Levels()
    lv = levels.get(0.5, -0.5)  # 2 m per pixel, y up
    x0, y0, x1, y1 = tile_data_rect(lv, 1, -2)
    assert x1 - x0 == TILE_PX * 2 and y1 - y0 == TILE_PX * 2
    # The rectangle's pixels fall in exactly that tile.
    u0, u1 = x0 * lv.sx, x1 * lv.sx
    v0, v1 = sorted((y0 * lv.sy, y1 * lv.sy))
    assert tile_range(u0, v0, u1, v1) == (1, -2, 1, -2)
