"""A map canvas with synthetic roads, assets, issues and crews, shown offscreen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from layers.assets.model import AssetLayerModel
from layers.crews.model import CrewLayerModel
from layers.issues.model import IssueLayerModel
from layers.projection import LocalProjection
from layers.roads.model import RoadLayerModel
from tests.layers import synthetic as syn
from widgets.map_canvas import MapCanvas


class Clock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now = syn.NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Scene:
    """The canvas and its models."""

    canvas: MapCanvas
    roads: RoadLayerModel
    assets: AssetLayerModel
    issues: IssueLayerModel
    crews: CrewLayerModel
    clock: Clock


@pytest.fixture
def scene(qtbot) -> Iterator[Scene]:  # type: ignore[no-untyped-def]
    """1,000 assets, 300 issues, 12 crews and a street grid on a 1000x700 canvas."""
    p = LocalProjection(*syn.CENTRE)
    clock = Clock()
    roads = RoadLayerModel(p)
    roads.replace_all(syn.roads())
    assets = AssetLayerModel(p)
    assets.replace_all(syn.assets(1000))
    issues = IssueLayerModel(p, clock=clock)
    issues.replace_all(syn.issues(300))
    crews = CrewLayerModel(p, clock=clock)
    crews.replace_all(syn.crews(12))
    canvas = MapCanvas(p, tick_interval_ms=0)
    qtbot.addWidget(canvas)
    for m in (roads, assets, issues, crews):
        canvas.add_layer(m)
    canvas.resize(1000, 700)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.home()
    canvas.render_now()
    yield Scene(canvas, roads, assets, issues, crews, clock)
