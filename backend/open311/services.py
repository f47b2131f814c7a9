"""The services citizens can report: configuration (a JSON file, else the city's built-in
categories) merged with the service codes the city's issues already use.

The built-in list is the demo city's categories (``backend.demo_city.operations``):
the same codes its issues carry, so a demo city answers with what it has.
A configured service also says which job a report makes (priority, skills);
a service seen only in the data makes no job (a dispatcher decides).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from backend.open311.mapping import Service, merge_services, services_from_config

#: How long the merged list is kept before the data is asked again.
REFRESH_S = 30.0


def builtin_services() -> list[Service]:
    """The city's own categories, as services with the job each report makes."""
    from backend.demo_city.operations import CATEGORY, OTHER_CATEGORIES

    services = [
        Service(code=code, name=name, group=agency, priority=priority, skills=(skill,))
        for name, code, skill, priority, agency in CATEGORY.values()
    ]
    services += [
        Service(code=code, name=name, group=agency, priority=priority, skills=(skill,))
        for name, code, skill, priority, agency, _kind in OTHER_CATEGORIES
    ]
    return services


def load_services(path: Path | None) -> list[Service]:
    """Services from a JSON file (a list of GeoReport service objects plus ``priority``,
    ``skills``), else the built-in ones. A bad file is a ValueError naming it."""
    if path is None:
        return builtin_services()
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read services from {path}: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON list of services")
    return services_from_config(items)


class ServiceCatalogue:
    """Configured services merged with the data's, refreshed at most every ``refresh_s``.

    ``fetch`` asks the backend for the data's services (``list_services``);
    an unknown code asks again at once, so a service new in the data is
    usable without waiting.
    """

    def __init__(
        self,
        configured: Sequence[Service],
        fetch: Callable[[], list[Mapping[str, Any]]],
        refresh_s: float = REFRESH_S,
    ) -> None:
        self.configured = list(configured)
        self.fetch = fetch
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._services: list[Service] | None = None
        self._at = 0.0

    def services(self, fresh: bool = False) -> list[Service]:
        """Every service, in listing order."""
        with self._lock:
            stale = time.monotonic() - self._at > self.refresh_s
            if self._services is None or stale or fresh:
                self._services = merge_services(self.configured, self.fetch())
                self._at = time.monotonic()
            return self._services

    def by_code(self, code: str | None = None) -> dict[str, Service]:
        """Services by code; when ``code`` is not among them, the data is asked again."""
        found = {s.code: s for s in self.services()}
        if code is not None and code not in found:
            found = {s.code: s for s in self.services(fresh=True)}
        return found
