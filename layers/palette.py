"""The one palette of the map: status colours, symbols and road styles.

Colour carries meaning and nothing else, and never alone: every status colour
comes with a label and a second cue (fill, outline, size or a letter), so an
operator who cannot tell two colours apart still reads the status. Colours are
the Okabe-Ito set (safe for the common colour-vision deficiencies), chosen to
stand out on the dark map background.

Pure Python: strings for symbols (pyqtgraph symbol names, or ``"crew_arrow"``
which renderers draw themselves) and ``#rrggbb`` colours.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

#: Okabe & Ito (2008) colour-blind safe palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#A0A0A0",
}

#: Bluish green darkened for healthy assets: visible, but quieter than any problem.
OK_MUTED = "#1F6F5A"

#: The map's background and neutral ink.
BACKGROUND = "#11151c"
INK = "#e8ecf2"
DIM_INK = "#8a93a3"
SELECTION = "#ffffff"


@dataclass(frozen=True)
class StatusStyle:
    """How one status looks: a colour backed by a label, a fill and a size cue."""

    status: str
    label: str
    colour: str
    #: Hollow markers (outline only) read as "not in service" without colour.
    filled: bool = True
    #: Multiplies the kind's base size: alarms are drawn larger.
    size_scale: float = 1.0
    #: Outline width in pixels (0 for none): warnings and alarms get a light ring.
    outline: float = 0.0
    #: A one-letter badge for labels and legends.
    letter: str = ""


ASSET_STATUSES: dict[str, StatusStyle] = {
    s.status: s
    for s in (
        # "Dark cockpit": healthy assets recede (a muted green, smaller), so the
        # eye goes to what needs a person.
        StatusStyle("ok", "OK", OK_MUTED, size_scale=0.75, letter="K"),
        StatusStyle("warning", "Warning", OKABE_ITO["yellow"], outline=1.0, letter="W"),
        StatusStyle(
            "alarm", "Alarm", OKABE_ITO["vermillion"], size_scale=1.5, outline=2.0, letter="A"
        ),
        StatusStyle(
            "out_of_service",
            "Out of service",
            OKABE_ITO["grey"],
            filled=False,
            outline=2.0,
            letter="X",
        ),
        StatusStyle(
            "under_repair", "Under repair", OKABE_ITO["sky_blue"], size_scale=1.2, letter="R"
        ),
    )
}

CREW_STATUSES: dict[str, StatusStyle] = {
    s.status: s
    for s in (
        StatusStyle("available", "Available", OKABE_ITO["bluish_green"], letter="AV"),
        StatusStyle("en_route", "En route", OKABE_ITO["sky_blue"], letter="ER"),
        StatusStyle("on_site", "On site", OKABE_ITO["reddish_purple"], letter="OS"),
        StatusStyle("off_shift", "Off shift", OKABE_ITO["grey"], filled=False, letter="OFF"),
    )
}

#: Open issue statuses (closed issues leave the map).
ISSUE_STATUSES: dict[str, StatusStyle] = {
    s.status: s
    for s in (
        StatusStyle("open", "Open", INK, letter="O"),
        StatusStyle("acknowledged", "Acknowledged", INK, letter="A"),
        StatusStyle("in_progress", "In progress", INK, filled=False, outline=2.0, letter="P"),
    )
}

#: Open job statuses (the replay draws jobs; done and cancelled jobs leave the map). The
#: working statuses match the crews' own colours; the letter backs each colour.
JOB_STATUSES: dict[str, StatusStyle] = {
    s.status: s
    for s in (
        StatusStyle("new", "New", OKABE_ITO["orange"], letter="N"),
        StatusStyle("assigned", "Assigned", OKABE_ITO["yellow"], letter="AS"),
        StatusStyle("en_route", "En route", OKABE_ITO["sky_blue"], letter="ER"),
        StatusStyle("on_site", "On site", OKABE_ITO["reddish_purple"], letter="OS"),
    )
}

#: Unknown statuses still draw, in a neutral style, and say so in the legend.
UNKNOWN_STATUS = StatusStyle("unknown", "Unknown", "#FFFFFF", filled=False, outline=1.0)


@dataclass(frozen=True)
class AgeBand:
    """A band of issue age: colour and size grow with time waiting."""

    label: str
    max_age_s: float
    colour: str
    size: float


#: Issue age bands, youngest first; the last band is open-ended.
ISSUE_AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("< 1 h", 3600.0, OKABE_ITO["yellow"], 9.0),
    AgeBand("< 1 day", 86400.0, OKABE_ITO["orange"], 10.0),
    AgeBand("< 1 week", 7 * 86400.0, OKABE_ITO["vermillion"], 11.0),
    AgeBand("older", float("inf"), OKABE_ITO["reddish_purple"], 12.0),
)

#: Asset kinds with a symbol of their own; others get one by a stable hash.
ASSET_SYMBOLS: dict[str, str] = {
    "street_light": "o",
    "streetlight": "o",
    "hydrant": "s",
    "fire_hydrant": "s",
    "traffic_signal": "d",
    "signal": "d",
    "pump": "p",
    "transformer": "h",
    "water_main": "t1",
    "valve": "t",
    "sensor": "star",
}
_FALLBACK_SYMBOLS = ("o", "s", "d", "t", "t1", "p", "h", "star")
ASSET_BASE_SIZE = 7.0

#: Issue categories (Open311 service names) by keyword, else a stable hash.
_ISSUE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("light", "star"),
    ("signal", "d"),
    ("catch basin", "s"),
    ("pothole", "t"),
    ("graffiti", "x"),
    ("water", "h"),
    ("tree", "p"),
)


def stable_symbol(name: str) -> str:
    """A symbol for a name not listed, the same in every run and on every console."""
    return _FALLBACK_SYMBOLS[zlib.crc32(name.encode("utf-8")) % len(_FALLBACK_SYMBOLS)]


def asset_symbol(kind: str) -> str:
    """The marker symbol of an asset kind."""
    return ASSET_SYMBOLS.get(kind.lower(), stable_symbol(kind.lower()))


def issue_symbol(category: str) -> str:
    """The marker symbol of an issue category."""
    low = category.lower()
    for word, symbol in _ISSUE_KEYWORDS:
        if word in low:
            return symbol
    return stable_symbol(low)


def asset_status_style(status: str) -> StatusStyle:
    """The style of an asset status (unknown statuses draw neutral)."""
    return ASSET_STATUSES.get(status, UNKNOWN_STATUS)


def crew_status_style(status: str) -> StatusStyle:
    """The style of a crew status."""
    return CREW_STATUSES.get(status, UNKNOWN_STATUS)


def job_status_style(status: str) -> StatusStyle:
    """The style of a job status."""
    return JOB_STATUSES.get(status, UNKNOWN_STATUS)


def issue_status_style(status: str) -> StatusStyle:
    """The style of an issue status."""
    return ISSUE_STATUSES.get(status, UNKNOWN_STATUS)


def age_band(age_s: float) -> int:
    """The index into :data:`ISSUE_AGE_BANDS` of an age in seconds."""
    for i, band in enumerate(ISSUE_AGE_BANDS):
        if age_s < band.max_age_s:
            return i
    return len(ISSUE_AGE_BANDS) - 1


#: Opacity multiplier for a crew not heard from for over two minutes.
STALE_ALPHA = 0.35
CLUSTER_COLOUR = OKABE_ITO["orange"]


@dataclass(frozen=True)
class RoadStyle:
    """How one group of road classes is drawn: width in pixels, colour, order."""

    group: str
    colour: str
    width: float
    z: int
    dashed: bool = False


ROAD_STYLES: dict[str, RoadStyle] = {
    s.group: s
    for s in (
        RoadStyle("path", "#39404c", 0.8, 0, dashed=True),
        RoadStyle("service", "#3d4451", 0.9, 1),
        RoadStyle("local", "#566070", 1.3, 2),
        RoadStyle("arterial", "#7a8597", 2.2, 3),
        RoadStyle("major", "#a3acbb", 3.2, 4),
    )
}

_ROAD_GROUPS: dict[str, str] = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link", "highway"), "major"),
    **dict.fromkeys(
        (
            "primary",
            "primary_link",
            "secondary",
            "secondary_link",
            "arterial",
            "major_arterial",
            "minor_arterial",
        ),
        "arterial",
    ),
    **dict.fromkeys(
        (
            "tertiary",
            "tertiary_link",
            "residential",
            "unclassified",
            "living_street",
            "road",
            "local",
            "collector",
            "street",
        ),
        "local",
    ),
    **dict.fromkeys(("service", "alley", "driveway", "parking_aisle", "busway"), "service"),
    **dict.fromkeys(
        (
            "footway",
            "pedestrian",
            "steps",
            "path",
            "cycleway",
            "bridleway",
            "platform",
            "corridor",
            "track",
            "construction",
            "proposed",
        ),
        "path",
    ),
}


def road_group(road_class: str) -> str:
    """The style group of a road class; unknown classes draw as local streets."""
    return _ROAD_GROUPS.get(road_class.lower(), "local")


def hex_to_rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    """``#rrggbb`` to an (r, g, b, a) tuple of 0-255 ints."""
    c = colour.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * alpha))


@dataclass(frozen=True)
class SeverityStyle:
    """How one alarm severity looks: a colour backed by a glyph, a marker shape and a label."""

    severity: str
    label: str
    colour: str
    #: A text glyph for lists (the shape alone tells the severities apart).
    glyph: str
    #: The pyqtgraph marker symbol for charts.
    symbol: str
    #: 0 (info) to 3 (critical): sorting and "worst of a group".
    rank: int


#: Alarm severities, least to most urgent. Shapes grow more angular and heavier with urgency,
#: so an operator who cannot tell vermillion from orange still reads the order. Info is grey:
#: sky blue is the console's selection accent.
ALARM_SEVERITIES: dict[str, SeverityStyle] = {
    s.severity: s
    for s in (
        SeverityStyle("info", "Info", OKABE_ITO["grey"], "●", "o", 0),
        SeverityStyle("minor", "Minor", OKABE_ITO["yellow"], "◆", "d", 1),
        SeverityStyle("major", "Major", OKABE_ITO["orange"], "▲", "t1", 2),
        SeverityStyle("critical", "Critical", OKABE_ITO["vermillion"], "■", "s", 3),
    )
}


def alarm_severity_style(severity: str) -> SeverityStyle:
    """The style of an alarm severity (an unknown one draws as info, never hidden)."""
    return ALARM_SEVERITIES.get(severity, ALARM_SEVERITIES["info"])
