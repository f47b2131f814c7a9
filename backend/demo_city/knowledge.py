"""The demo city's knowledge base: the procedures an operator reaches for during an alarm.

Written for the demo city's assets and crews (E1–E4 electrical, W water, S
signals, G general); each article names the asset kinds, Open311 service
codes and alarm rules (``metric`` or ``metric:rule``, see
:mod:`backend.telemetry.catalog`) it is about, so ``articles_for`` can put it
beside an alarm. Markdown bodies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    """One seeded article."""

    title: str
    body: str
    tags: tuple[str, ...]
    asset_kinds: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    alarm_rules: tuple[str, ...] = ()


ARTICLES: tuple[Article, ...] = (
    Article(
        "Pump trip: restoring a pumping station",
        """A pump that trips shows as flow falling to zero with pressure sagging behind it.

1. **Check the standby took over.** Flow should recover within a minute. If it
   does not, start the standby by hand from the station screen before anything else:
   the reservoir gives you about two hours, less at the morning peak.
2. **Read why it tripped.** Vibration above 7 mm/s or bearing temperature above
   85 °C in the minutes before the trip point to bearings or the mechanical seal;
   a trip with normal vibration is usually electrical (overload relay, phase loss).
3. **Do not reset more than once.** One reset is allowed for an electrical trip.
   A second trip within the hour means a site visit by W crew: repeated starts on
   a failing bearing turn a repair into a replacement.
4. **Lift stations by the river:** after heavy rain check the wet-well level first;
   a flooded dry well trips the pumps on purpose.
5. Create a job for the tripped pump (priority 2) and note the trip in its history.
""",
        ("pump", "water", "trip", "procedure"),
        asset_kinds=("pump",),
        service_codes=("pump_fault",),
        alarm_rules=("flow", "flow:limit", "vibration", "vibration:drift", "temperature"),
    ),
    Article(
        "Transformer overheating: load and oil temperature",
        """Oil temperature above 90 °C is a warning, above 105 °C an alarm: insulation
ages twice as fast for every 6–7 °C above its rating.

1. **Look at the load.** Above 95 % the heat is load: ask the utility control room
   to shift load to the neighbouring feeder. Heat at normal load points to cooling:
   fans stopped, radiators blocked, oil low.
2. **Check the cooling from the asset history:** a fan fault often shows as a slow
   drift in oil temperature over days, not a jump.
3. **Hot and rising fast (more than 5 °C in 15 minutes):** treat as critical. Keep
   the public away, send E3 Power, and ask the utility to switch the unit out.
4. **Oil leak or smell of burning:** do not approach a unit under load; the spill
   kit is for mineral oil, ester-filled units are less hazardous.
5. Record the peak temperature and load in the job note: the risk model uses them.
""",
        ("transformer", "electrical", "overheating", "procedure"),
        asset_kinds=("transformer", "substation"),
        service_codes=("power_outage",),
        alarm_rules=("oil_temperature", "oil_temperature:limit", "oil_temperature:drift", "load"),
    ),
    Article(
        "Water main break: isolating the section",
        """Goal: stop the water with the fewest customers cut off, without a pressure surge.

1. **Find the valves.** On the map select the main; its two nearest line valves are
   the first choice. A main under an arterial road usually has a valve at each
   junction. Note any hospital, school or dialysis customer on the section.
2. **Warn before you close.** Tell the hydrant crew and the fire service which
   hydrants will be dry. Notify customers in the pressure zone through the citizen
   record (one notice per affected address, not per report).
3. **Close slowly.** Quarter turns, a minute apart on large valves: closing fast
   causes water hammer and a second break upstream.
4. **Check it held.** Pressure at the nearest hydrant downstream should fall to zero;
   if not, a valve is passing: close the next one out.
5. **Road closure:** a break under an arterial needs a closure request to Highways
   before excavation. Expect a repair of four to eight hours.
6. Link every citizen report about the break to the one job, so one closure notice
   reaches them all.
""",
        ("water_main", "water", "break", "isolation", "procedure"),
        asset_kinds=("water_main", "hydrant"),
        service_codes=("main_break", "hydrant_leak"),
        alarm_rules=("pressure", "pressure:limit"),
    ),
    Article(
        "Street light outages in a batch: one fault, many lamps",
        """Several dark lamps reported along one street in a day are rarely several lamp
failures: it is a cable fault, a tripped feeder pillar or a failed timer.

1. **Look at the map:** select the reports. Lamps dark in a row on one side of the
   street share a cable; lamps dark across a whole area share a feeder pillar.
2. **Check telemetry:** lamps reporting zero power while "on" have lost supply;
   lamps not reporting at all may have a communications fault only.
3. **Make one job,** not one per report: attach every report to it so one closure
   notice reaches every citizen. Priority 3, or 2 near a crossing or a school.
4. **Send E3/E4 Power before E1/E2 Lighting** when a cable fault is likely: a lamp
   crew cannot fix a cable and digging needs a permit.
5. A single dark lamp: photocell first (cover it in daylight: the lamp should strike
   within two minutes), then the fuse in the column base, then the lamp or driver.
""",
        ("street_light", "electrical", "outage", "batch", "procedure"),
        asset_kinds=("street_light",),
        service_codes=("streetlight_out", "streetlight_flicker"),
        alarm_rules=("power", "power:limit", "on"),
    ),
    Article(
        "Signal dark at an intersection",
        """A dark signal is an all-way stop by law, but drivers do not treat it as one.
It is priority 1.

1. **Confirm it is dark, not flashing.** A fault code with a running cycle time is a
   flash-mode fallback (see the flash-mode article); no cycle time at all is a
   power loss.
2. **Call the police for traffic control** at any junction of two arterials or near a
   school, before anything else.
3. **Check the supply:** a dark transformer or a street-light outage batch nearby
   points to the utility; ask the utility control room before sending S crew.
4. **Send S crew with the portable stop signs.** If the cabinet has a battery backup
   that did not take over, note it: the batteries are due.
5. When restored, watch one full cycle on the telemetry before clearing the alarm.
""",
        ("traffic_signal", "signals", "outage", "procedure"),
        asset_kinds=("traffic_signal",),
        service_codes=("signal_repair",),
        alarm_rules=("cycle_time", "cycle_time:missing", "fault_code:missing"),
    ),
    Article(
        "Traffic signal in flash mode",
        """A controller that falls back to flashing amber has found a conflict. Read the
fault log before resetting; two resets in an hour mean a site visit. Detector loop
faults keep the junction running on fixed time: schedule, do not rush.
""",
        ("traffic_signal", "signals", "procedure"),
        asset_kinds=("traffic_signal",),
        service_codes=("signal_repair",),
        alarm_rules=("fault_code", "fault_code:fault_code"),
    ),
    Article(
        "Hydrant leaking at the base",
        """Usually a worn drain valve or seal. Close the isolating valve, replace the seal,
flush for two minutes, record the flow class in the inspection.
""",
        ("hydrant", "water"),
        asset_kinds=("hydrant",),
        service_codes=("hydrant_leak",),
        alarm_rules=("pressure",),
    ),
    Article(
        "Who to call for a building fault out of hours",
        """Facilities on-call (G2) handles heating, lifts and alarms; roof leaks wait for day
shift unless water reaches electrics. Schools first in winter.
""",
        ("building", "general", "contacts"),
        asset_kinds=("building",),
        service_codes=("building_fault",),
    ),
)
