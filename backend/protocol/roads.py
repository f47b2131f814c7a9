"""Reading the road network over the bus: ``get_roads`` pages until the last one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

#: One ``get_roads`` call: the command's args in, its ``result`` out (None: no answer).
FetchPage = Callable[[dict[str, Any]], dict[str, Any] | None]


def road_pages(fetch: FetchPage, **args: Any) -> Iterator[dict[str, Any]]:
    """Every road ``get_roads`` returns, page by page, geometry decoded to WKB bytes.

    ``args`` go along with each call (e.g. ``drivable_only=True``). Iteration
    stops on the last page, or early when ``fetch`` gets no answer.
    """
    after = 0
    while True:
        result = fetch({**args, "after_id": after})
        if not result:
            return
        page = result.get("roads") or []
        for road in page:
            road["geom"] = bytes.fromhex(road["geom"])  # the wire carries hex WKB
            yield road
        after = result.get("next_after_id") or 0
        if not page or not after:
            return
