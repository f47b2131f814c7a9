"""Which renderer draws which layer model (napari's model-to-view registry)."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg

from layers.assets.model import AssetLayerModel
from layers.assets.renderer import AssetLayerRenderer
from layers.base import LayerModel
from layers.crews.model import CrewLayerModel
from layers.crews.renderer import CrewLayerRenderer
from layers.issues.model import IssueLayerModel
from layers.issues.renderer import IssueLayerRenderer
from layers.rendering import LayerRenderer
from layers.replay.model import ReplayLayerModel
from layers.replay.renderer import ReplayLayerRenderer
from layers.risk.model import RiskLayerModel
from layers.risk.renderer import RiskLayerRenderer
from layers.roads.model import RoadLayerModel
from layers.roads.renderer import RoadLayerRenderer
from layers.routes.model import RouteLayerModel
from layers.routes.renderer import RouteLayerRenderer

RENDERERS: dict[type[LayerModel], type[LayerRenderer]] = {
    RoadLayerModel: RoadLayerRenderer,
    AssetLayerModel: AssetLayerRenderer,
    IssueLayerModel: IssueLayerRenderer,
    CrewLayerModel: CrewLayerRenderer,
    RouteLayerModel: RouteLayerRenderer,
    RiskLayerModel: RiskLayerRenderer,
    ReplayLayerModel: ReplayLayerRenderer,
}


def register(model_type: type[LayerModel], renderer_type: type[LayerRenderer]) -> None:
    """Teach the canvas to draw a new kind of layer."""
    RENDERERS[model_type] = renderer_type


def renderer_for(
    model: LayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
) -> LayerRenderer:
    """A renderer for a model (looked up along the model's class hierarchy)."""
    for cls in type(model).__mro__:
        if cls in RENDERERS:
            return RENDERERS[cls](model, view, request_frame)
    raise TypeError(f"no renderer registered for {type(model).__name__}")
