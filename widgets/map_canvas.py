"""The live map: layers drawn in local metres, pan/zoom, selection, one redraw per frame."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
from shapely.geometry import Polygon

from layers import palette
from layers.base import LayerModel
from layers.projection import LocalProjection
from layers.registry import renderer_for
from layers.rendering import LayerRenderer
from widgets.map_overlays import CursorReadout, ScaleBar
from widgets.map_view import MapViewBox

#: Pan step of the arrow keys, as a share of the view.
PAN_STEP = 0.15
#: Zoom factor of +/- (and one wheel notch is pyqtgraph's own).
ZOOM_STEP = 1.4
#: Hover/pick radius in pixels.
PICK_PX = 8.0


class MapCanvas(QtWidgets.QWidget):
    """A map of layer models, in projected metres with a locked aspect.

    Layer models announce changes; their renderers gather them, and the canvas
    settles every dirty renderer once per frame (a coalescing timer, and the
    scene's prepare-for-paint hook so no paint ever shows half-applied state).
    """

    #: (layer name, ids): the selection changed.
    selection_changed = QtCore.Signal(str, list)
    #: (lon, lat) under the cursor, rate-limited.
    cursor_moved = QtCore.Signal(float, float)
    #: Renderers settled in one frame (for tests and the status bar).
    frame_settled = QtCore.Signal(int)

    def __init__(
        self,
        projection: LocalProjection,
        parent: QtWidgets.QWidget | None = None,
        *,
        frame_interval_ms: int = 16,
        tick_interval_ms: int = 5000,
    ) -> None:
        super().__init__(parent)
        self.projection = projection
        self.renderers: dict[str, LayerRenderer] = {}
        self.selection: tuple[str, list[int]] = ("", [])
        self.hover_text = ""
        self.frames = 0
        self._home: tuple[float, float, float, float] | None = None
        self._mpp = 0.0

        self.graphics = pg.GraphicsView(background=palette.BACKGROUND)
        self.view = MapViewBox()
        self.graphics.setCentralItem(self.view)
        self.graphics.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.graphics.installEventFilter(self)
        self.scale_bar = ScaleBar(self.graphics)
        self.readout = CursorReadout(self.graphics)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

        self._highlight = pg.ScatterPlotItem(
            pxMode=True, symbol="o", size=24, brush=None, pen=pg.mkPen(palette.SELECTION, width=2.5)
        )
        self._highlight.setZValue(100)
        self.view.addItem(self._highlight, ignoreBounds=True)

        self._frame_timer = QtCore.QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.setInterval(frame_interval_ms)
        self._frame_timer.timeout.connect(self._on_frame)
        self._tick_timer = QtCore.QTimer(self)
        self._tick_timer.setInterval(tick_interval_ms)
        self._tick_timer.timeout.connect(self.tick)
        if tick_interval_ms > 0:
            self._tick_timer.start()

        scene = self.graphics.scene()
        scene.sigPrepareForPaint.connect(self.settle)
        self._mouse_proxy = pg.SignalProxy(
            scene.sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.view.sigRangeChanged.connect(self._on_range_changed)
        self.view.sig_clicked.connect(self._on_clicked)
        self.view.sig_area.connect(self._on_area)

    # -- layers ---------------------------------------------------------------------------------

    def add_layer(self, model: LayerModel) -> LayerRenderer:
        """Draw a layer model (its renderer comes from the registry)."""
        if model.name in self.renderers:
            raise ValueError(f"a layer named {model.name!r} is already on the map")
        renderer = renderer_for(model, self.view, self.request_frame)
        self.renderers[model.name] = renderer
        if self._mpp > 0:
            renderer.view_scale_changed(self._mpp)
        self.request_frame()
        return renderer

    def remove_layer(self, name: str) -> None:
        """Take a layer off the map."""
        renderer = self.renderers.pop(name)
        renderer.detach()
        if self.selection[0] == name:
            self.clear_selection()

    def model(self, name: str) -> LayerModel:
        """The model of a layer on the map."""
        return self.renderers[name].model

    def models(self) -> list[LayerModel]:
        """All layer models, bottom first."""
        return [r.model for r in sorted(self.renderers.values(), key=lambda r: r.z)]

    # -- frames --------------------------------------------------------------------------------

    def request_frame(self) -> None:
        """Ask for one settle-and-redraw soon; repeated asks before it fire once."""
        if not self._frame_timer.isActive():
            self._frame_timer.start()

    def _on_frame(self) -> None:
        self.settle()
        self.graphics.viewport().update()

    def settle(self) -> int:
        """Apply every pending model change to the items; returns how many layers changed."""
        changed = 0
        for renderer in list(self.renderers.values()):
            if renderer.settle():
                changed += 1
        if changed:
            self.frames += 1
            self._refresh_highlight()
            self.frame_settled.emit(changed)
        return changed

    def render_now(self) -> None:
        """Settle and paint synchronously (benchmarks and tests)."""
        self._frame_timer.stop()
        self.settle()
        self.graphics.viewport().repaint()

    def tick(self) -> None:
        """Let models re-evaluate time (issue ages, crews going stale)."""
        for m in self.models():
            m.tick()

    # -- view -----------------------------------------------------------------------------------

    def metres_per_pixel(self) -> float:
        """Current zoom: metres per screen pixel."""
        px, _ = self.view.viewPixelSize()
        return float(px)

    def _on_range_changed(self, *args: Any) -> None:
        mpp = self.metres_per_pixel()
        if mpp <= 0 or not math.isfinite(mpp):
            return
        self.scale_bar.set_metres_per_pixel(mpp)
        if self._mpp <= 0 or abs(mpp - self._mpp) / self._mpp > 1e-6:
            self._mpp = mpp
            for r in self.renderers.values():
                r.view_scale_changed(mpp)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        """Keep the overlays in their corners."""
        super().resizeEvent(event)
        h = self.graphics.height()
        self.scale_bar.move(10, h - self.scale_bar.height() - 10)
        self.readout.move(self.graphics.width() - 260, h - 34)

    def set_home(self, bounds: tuple[float, float, float, float]) -> None:
        """The extent Home returns to, in metres (xmin, ymin, xmax, ymax)."""
        self._home = bounds

    def set_home_lon_lat(
        self, min_lon: float, min_lat: float, max_lon: float, max_lat: float
    ) -> None:
        """The extent Home returns to, in lon/lat."""
        x, y = self.projection.forward([min_lon, max_lon], [min_lat, max_lat])
        self._home = (float(x.min()), float(y.min()), float(x.max()), float(y.max()))

    def home(self) -> None:
        """Zoom to the city: the home extent, else all the layers' data."""
        bounds = self._home or self._data_bounds()
        if bounds is not None:
            self.zoom_to(bounds)

    def _data_bounds(self) -> tuple[float, float, float, float] | None:
        boxes = [b for m in self.models() if (b := m.bounds()) is not None]
        if not boxes:
            return None
        a = np.array(boxes)
        return (
            float(a[:, 0].min()),
            float(a[:, 1].min()),
            float(a[:, 2].max()),
            float(a[:, 3].max()),
        )

    def zoom_to(self, bounds: tuple[float, float, float, float], min_size: float = 150.0) -> None:
        """Show a box in metres (at least ``min_size`` across)."""
        x0, y0, x1, y1 = bounds
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = max(x1 - x0, min_size), max(y1 - y0, min_size)
        self.view.setRange(QtCore.QRectF(cx - w / 2, cy - h / 2, w, h), padding=0.05, update=True)

    def zoom_to_selection(self) -> None:
        """Show the selected features."""
        name, ids = self.selection
        if name and ids:
            b = self.model(name).bounds(ids)
            if b is not None:
                self.zoom_to(b)

    def centre_on(self, x: float, y: float) -> None:
        """Pan so (x, y) metres is in the middle, keeping the zoom."""
        r = self.view.viewRect()
        w, h = r.width(), r.height()
        self.view.setRange(QtCore.QRectF(x - w / 2, y - h / 2, w, h), padding=0, update=True)

    def centre_on_selection(self) -> bool:
        """Pan to the selected features' middle, keeping the zoom; False when none is drawn."""
        name, ids = self.selection
        if not name or not ids or name not in self.renderers:
            return False
        b = self.model(name).bounds(ids)
        if b is None:
            return False
        self.centre_on((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        return True

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor < 1) or out (> 1) about the view's centre."""
        self.view.scaleBy((factor, factor))

    def pan_by(self, fx: float, fy: float) -> None:
        """Pan by a share of the view's width/height."""
        r = self.view.viewRect()
        self.view.translateBy(x=fx * r.width(), y=fy * r.height())

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """Map keys on the graphics view: arrows, +/-, Home."""
        if obj is self.graphics and event.type() == QtCore.QEvent.Type.KeyPress:
            return self.handle_key(event)
        return super().eventFilter(obj, event)

    def handle_key(self, event: QtGui.QKeyEvent) -> bool:
        """Pan with arrows, zoom with +/-, Home for the city, Z for the selection."""
        k = event.key()
        key = QtCore.Qt.Key
        actions = {
            key.Key_Left: lambda: self.pan_by(-PAN_STEP, 0),
            key.Key_Right: lambda: self.pan_by(PAN_STEP, 0),
            key.Key_Up: lambda: self.pan_by(0, PAN_STEP),
            key.Key_Down: lambda: self.pan_by(0, -PAN_STEP),
            key.Key_Plus: lambda: self.zoom_by(1 / ZOOM_STEP),
            key.Key_Equal: lambda: self.zoom_by(1 / ZOOM_STEP),
            key.Key_Minus: lambda: self.zoom_by(ZOOM_STEP),
            key.Key_Home: self.home,
            key.Key_Z: self.zoom_to_selection,
            key.Key_Escape: self.clear_selection,
        }
        action = actions.get(key(k))
        if action is None:
            return False
        action()
        return True

    # -- cursor and hover -------------------------------------------------------------------------

    def _on_mouse_moved(self, args: tuple[Any, ...]) -> None:
        scene_pos = args[0]
        if not self.view.sceneBoundingRect().contains(scene_pos):
            return
        p = self.view.mapSceneToView(scene_pos)
        lon, lat = self.projection.inverse(p.x(), p.y())
        self.readout.show_lon_lat(float(lon), float(lat))
        self.cursor_moved.emit(float(lon), float(lat))
        text = self.hover_text_at(p.x(), p.y())
        if text != self.hover_text:
            self.hover_text = text
            self.graphics.setToolTip(text)
            if text:
                QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), text, self.graphics)
            else:
                QtWidgets.QToolTip.hideText()

    def hover_text_at(self, x: float, y: float) -> str:
        """The tooltip for a point in metres: the topmost layer's features under it."""
        name, ids = self.pick(x, y)
        return self.renderers[name].tooltip(ids) if name else ""

    # -- selection ------------------------------------------------------------------------------

    def _top_down(self) -> list[LayerRenderer]:
        return sorted(self.renderers.values(), key=lambda r: -r.z)

    def pick(self, x: float, y: float) -> tuple[str, list[int]]:
        """The topmost layer with features within a few pixels of (x, y) metres."""
        mpp = self.metres_per_pixel()
        for r in self._top_down():
            ids = r.pick(x, y, mpp * PICK_PX / 8.0)
            if ids:
                return r.name, ids
        return "", []

    def _on_clicked(self, x: float, y: float, modifiers: Any) -> None:
        self.settle()
        name, ids = self.pick(x, y)
        self.select(name, ids)

    def _on_area(self, polygon: Sequence[tuple[float, float]], modifiers: Any) -> None:
        self.settle()
        self.select_area(polygon)

    def select_area(self, polygon: Sequence[tuple[float, float]]) -> tuple[str, list[int]]:
        """Select what lies inside a polygon in metres: the topmost layer with hits wins."""
        if len(polygon) < 3:
            return "", []
        area = Polygon(polygon)
        if not area.is_valid:
            area = area.buffer(0)  # a self-crossing lasso: take the area it encloses
        for r in self._top_down():
            ids = r.select_area(area)
            if ids:
                self.select(r.name, ids)
                return r.name, ids
        self.select("", [])
        return "", []

    def select(self, layer: str, ids: Sequence[int]) -> None:
        """Set the selection and announce it."""
        sel = (layer, [int(i) for i in ids])
        if sel == self.selection:
            return
        self.selection = sel
        self._refresh_highlight()
        for r in self.renderers.values():
            pin = getattr(r, "pin_labels", None)  # layers whose labels declutter
            if pin is not None:
                pin(frozenset(sel[1]) if r.name == sel[0] else frozenset())
        self.selection_changed.emit(sel[0], sel[1])

    def clear_selection(self) -> None:
        """Select nothing."""
        self.select("", [])

    def _refresh_highlight(self) -> None:
        name, ids = self.selection
        if not name or name not in self.renderers:
            self._highlight.setData(x=[], y=[])
            return
        m = self.model(name)
        rows = m.table.rows_of(ids)
        x, y = m.xy()
        self._highlight.setData(x=x[rows], y=y[rows])

    # -- pictures --------------------------------------------------------------------------------

    def grab_image(self) -> QtGui.QImage:
        """Settle, then render the canvas to an image."""
        self.settle()
        return self.grab().toImage()
