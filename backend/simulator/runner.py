"""Running the simulator: fetch the road network over the bus, then tick until stopped."""

from __future__ import annotations

import logging
import threading
import time

from shapely import wkb

from backend.protocol.client import BusTimeout, CommandClient, CommandFailed
from backend.protocol.roads import road_pages
from backend.routing.graph import RoadRecord
from backend.simulator.city import CitySimulator, SimOptions
from backend.simulator.clock import SimClock

log = logging.getLogger(__name__)

#: Wall seconds between ticks: smooth crew motion without flooding the bus.
TICK_S = 0.5


def fetch_road_records(client: CommandClient) -> list[RoadRecord]:
    """The drivable roads, page by page through ``get_roads``."""
    return [
        RoadRecord(
            road_id=int(road["id"]),
            geom=wkb.loads(road["geom"]),
            road_class=road["road_class"],
            oneway=int(road["oneway"]),
            drivable=bool(road["drivable"]),
            length_m=road.get("length_m"),
            name=road.get("name"),
        )
        for road in road_pages(
            lambda args: client.command("get_roads", args).get("result") or {},
            drivable_only=True,
        )
    ]


def run_simulator(
    router_endpoint: str,
    options: SimOptions,
    stop: threading.Event,
    user: str = "simulator",
) -> CitySimulator | None:
    """Connect, build the simulator and tick until ``stop`` is set; survives backend hiccups."""
    client = CommandClient(router_endpoint, user=user, timeout_s=10.0, retries=3)
    try:
        while not stop.is_set():
            try:
                roads = fetch_road_records(client)
                sim = CitySimulator(client, roads, SimClock(options.speed), options)
                sim.refresh()
                break
            except (BusTimeout, CommandFailed) as exc:
                log.warning("simulator: backend not ready (%s); retrying", exc)
                stop.wait(2.0)
        else:
            return None
        log.info(
            "simulator: %d roads, %d crews, %d sensors, speed x%g",
            len(roads),
            len(sim.crews),
            len(sim.sensors),
            options.speed,
        )
        last_refresh = time.monotonic()
        while not stop.wait(TICK_S):
            try:
                if time.monotonic() - last_refresh > options.refresh_every_s:
                    sim.refresh()
                    last_refresh = time.monotonic()
                sim.tick()
            except BusTimeout as exc:
                log.warning("simulator: backend silent (%s); will retry", exc)
        return sim
    finally:
        client.close()
