"""Name pools for the demo city: streets, people, places. Plain data, drawn by seed."""

from __future__ import annotations

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text`` (keeps long name lists compact)."""
    return tuple(text.split())


STREET_STEMS = _words(
    """
    Abbey Acorn Alder Anchor Apple Ash Aspen Bakers Barley Barn Beacon Beech Bell Birch Bishop
    Blackthorn Bramble Brewer Brook Butter Canal Carter Castle Cedar Chalk Chapel Cherry
    Chestnut Church Clay Clover Cobble Copper Coronation Cross Dairy Deer Dove Dyers Elder Elm
    Falcon Farrier Fern Ferry Fisher Flax Forge Fountain Fox Friars Garden Glebe Goose Granary
    Grove Guild Hawthorn Hazel Heath Heron Holly Hop Juniper Kestrel Kiln King Lantern Larch
    Lark Laurel Lime Linden Lock Malt Maple Meadow Mill Mint Moor Mulberry Nettle Oak Orchard
    Osprey Otter Paddock Pear Pebble Pilgrim Pine Plough Poplar Potter Priory Quarry Queen
    Rectory Reed Robin Rope Rose Rowan Saddler Salt School Shepherd Silver Smith Sorrel Spring
    Stable Station Swan Tanner Teasel Thatch Thistle Tower Vicarage Walnut Warren Weaver Well
    Wharf Willow Windmill Wren Yew
    """
)
RESIDENTIAL_SUFFIXES = ("Street", "Lane", "Road", "Close", "Terrace", "Grove", "Row", "Walk")
ARTERIAL_STEMS = _words(
    """
    Harbour Kingsway Cathedral Market Northgate Southgate Eastgate Westgate Exchange
    Parliament University Hospital Victoria Albert Regent Crown Jubilee Riverside Larkhaven
    Heathfield Moorland Wellington Sovereign Hanover
    """
)
ARTERIAL_SUFFIXES = ("Road", "Avenue", "Boulevard", "Way", "Parade", "Street")

FIRST_NAMES = _words(
    """
    Ada Aiden Amara Anika Arjun Ben Bianca Carlos Chen Chloe Dara David Elena Emil Esther
    Farah Felix Grace Hana Hugo Ines Isaac Jana Jonas Kai Karin Lars Leila Lena Luca Maja
    Malik Marta Mateo Mia Nadia Nils Noah Olga Omar Paula Pavel Priya Rafael Rosa Sami Sara
    Sven Tara Theo Tomas Uma Viktor Wen Yara Yusuf Zoe
    """
)
LAST_NAMES = _words(
    """
    Abadi Andersen Bauer Becker Brandt Costa Demir Eriksen Fischer Garcia Hansen Hartmann
    Ivanova Jansen Kaya Keller Klein Kowalski Lange Lindqvist Meyer Moreau Nowak Okafor Olsen
    Park Petrov Quinn Richter Rossi Schulz Silva Sommer Tanaka Vogel Wagner Weber Wolf Yilmaz
    Zimmermann
    """
)


def person(rng: np.random.Generator) -> str:
    """A plausible full name."""
    return (
        f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"
    )


def street_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct residential street names (stem and suffix each used sparingly)."""
    stems = [STREET_STEMS[k] for k in rng.permutation(len(STREET_STEMS))]
    names: list[str] = []
    for k in range(count):
        stem = stems[k % len(stems)]
        suffix = RESIDENTIAL_SUFFIXES[
            (k // len(stems) + rng.integers(3)) % len(RESIDENTIAL_SUFFIXES)
        ]
        name = f"{stem} {suffix}"
        names.append(name if name not in names else f"Upper {name}")
    return names


def arterial_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct arterial road names."""
    stems = rng.permutation(len(ARTERIAL_STEMS))
    out: list[str] = []
    for k in range(count):
        stem = ARTERIAL_STEMS[stems[k % len(stems)]]
        suffix = ARTERIAL_SUFFIXES[rng.integers(len(ARTERIAL_SUFFIXES))]
        name = f"{stem} {suffix}" if k < len(stems) else f"New {stem} {suffix}"
        out.append(name)
    return out
