"""Job drops onto crew markers on the map, and marks on the crews that can take a dragged job.

:func:`install_map_drop` makes a :class:`widgets.map_canvas.MapCanvas` accept
``application/x-cityops-job`` drags: dropping on a crew marker (found with the
crews layer's own pick, a few pixels round the marker) asks the dispatch
controller to assign the job. While a job is being placed (dragged from the
queue or the board, or armed with the keyboard) the crews that can take it
get a ring and their road ETA on the map.

The helper needs only a small hit-test protocol (:class:`CrewHitTest`), so
any map surface can offer the same drop: :class:`CanvasCrewHitTest` is the
one for ``MapCanvas``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from console.dispatch.common import format_duration
from console.dispatch.controller import DispatchController
from layers import palette
from layers.rendering import LabelsItem, StyleBook
from widgets.job_queue import job_ref_from_mime
from widgets.map_canvas import MapCanvas

#: How close (screen pixels) to a crew marker's centre a drop must land.
DROP_RADIUS_PX = 14.0
RING_SIZE = 34.0


class CrewHitTest(Protocol):
    """What the drop helper needs from a map surface."""

    def crew_at(self, pos: QPointF) -> int | None:
        """The crew whose marker is under ``pos`` (pixels of the drop surface), if any."""
        ...

    def crew_position(self, crew_id: int) -> tuple[float, float] | None:
        """The crew marker's position in map coordinates (for the eligibility marks)."""
        ...


class CanvasCrewHitTest:
    """:class:`CrewHitTest` over a ``MapCanvas`` and its crews layer (``layers/crews``)."""

    def __init__(
        self, canvas: MapCanvas, layer: str = "crews", radius_px: float = DROP_RADIUS_PX
    ) -> None:
        self.canvas = canvas
        self.layer = layer
        self.radius_px = radius_px

    @property
    def surface(self) -> QWidget:
        """The widget that receives the drag events (the graphics view's viewport)."""
        return self.canvas.graphics.viewport()

    def map_point(self, pos: QPointF) -> tuple[float, float]:
        """A viewport pixel as map metres."""
        scene = self.canvas.graphics.mapToScene(pos.toPoint())
        p = self.canvas.view.mapSceneToView(scene)
        return float(p.x()), float(p.y())

    def surface_point(self, crew_id: int) -> QPointF | None:
        """Where a crew's marker is on the viewport, in pixels (None: not on the map)."""
        xy = self.crew_position(crew_id)
        if xy is None:
            return None
        scene = self.canvas.view.mapViewToScene(pg.Point(*xy))
        return QPointF(self.canvas.graphics.mapFromScene(scene))

    def crew_at(self, pos: QPointF) -> int | None:
        """The crews layer's pick within ``radius_px`` of the point (hidden crews never)."""
        renderer = self.canvas.renderers.get(self.layer)
        if renderer is None:
            return None
        self.canvas.settle()  # pick against what is drawn now, not a frame ago
        x, y = self.map_point(pos)
        mpp = self.canvas.metres_per_pixel()
        # The renderer's pick looks 8 px around; scale it to this helper's radius.
        ids = renderer.pick(x, y, mpp * self.radius_px / 8.0)
        return int(ids[0]) if ids else None

    def crew_position(self, crew_id: int) -> tuple[float, float] | None:
        """The crew's projected position from the crews layer model."""
        if self.layer not in self.canvas.renderers:
            return None
        model = self.canvas.model(self.layer)
        if crew_id not in model.table:
            return None
        x, y = model.xy()
        row = model.table.row(crew_id)
        if not (np.isfinite(x[row]) and np.isfinite(y[row])):
            return None
        return float(x[row]), float(y[row])


class EligibleCrewMarks:
    """Rings round the crews that can take the job being placed, with their ETA by road."""

    def __init__(self, view: pg.ViewBox) -> None:
        styles = StyleBook()
        colour = palette.OKABE_ITO["bluish_green"]
        self.rings = pg.ScatterPlotItem(
            pxMode=True,
            symbol="o",
            size=RING_SIZE,
            pen=styles.pen(colour, 3.0),
            brush=None,
        )
        self.labels = LabelsItem(offset=(16.0, 18.0))
        self._pen = styles.pen(colour)
        for z, item in ((90, self.rings), (91, self.labels)):
            item.setZValue(z)
            view.addItem(item, ignoreBounds=True)
        self.shown: dict[int, str] = {}

    def show(self, marks: dict[int, tuple[float, float]], texts: dict[int, str]) -> None:
        """Ring these crews (id → map x, y), each labelled with its text."""
        ids = list(marks)
        x = np.array([marks[i][0] for i in ids], dtype=float)
        y = np.array([marks[i][1] for i in ids], dtype=float)
        self.rings.setData(x=x, y=y)
        self.labels.set_labels(x, y, [texts.get(i, "") for i in ids], [self._pen] * len(ids))
        self.shown = {i: texts.get(i, "") for i in ids}

    def clear(self) -> None:
        """Remove every mark."""
        self.show({}, {})


class MapDropHelper(QObject):
    """Accepts job drags on a map surface and turns a drop on a crew into an assign intent."""

    #: (job id, version seen, crew id): a job was dropped on a crew's marker.
    job_dropped = Signal(int, int, int)
    #: The crew under a dragged job (-1: none), for hover feedback.
    hovered_crew = Signal(int)

    def __init__(
        self,
        surface: QWidget,
        hit_test: CrewHitTest,
        controller: DispatchController | None = None,
        marks: EligibleCrewMarks | None = None,
    ) -> None:
        super().__init__(surface)
        self.surface = surface
        self.hit_test = hit_test
        self.controller = controller
        self.marks = marks
        self._hover: int | None = None
        surface.setAcceptDrops(True)
        surface.installEventFilter(self)
        if controller is not None:
            self.job_dropped.connect(controller.assign)
            controller.placing.connect(self.show_placing)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Handle job drags on the surface; every other event goes on as usual."""
        if obj is not self.surface:
            return False
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            assert isinstance(event, QDragEnterEvent)
            if job_ref_from_mime(event.mimeData()) is None:
                return False
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.DragMove:
            assert isinstance(event, QDragMoveEvent)
            if job_ref_from_mime(event.mimeData()) is None:
                return False
            crew_id = self.hit_test.crew_at(event.position())
            self._set_hover(crew_id)
            if crew_id is None:
                event.ignore()  # the cursor says "no drop here" between markers
            else:
                event.acceptProposedAction()
            return True
        if kind == QEvent.Type.DragLeave:
            self._set_hover(None)
            return False
        if kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            return self._drop(event)
        return False

    def _drop(self, event: QDropEvent) -> bool:
        ref = job_ref_from_mime(event.mimeData())
        if ref is None:
            return False
        self._set_hover(None)
        crew_id = self.hit_test.crew_at(event.position())
        if crew_id is None:
            event.ignore()
            return True
        event.setDropAction(Qt.DropAction.CopyAction)  # the map redraws from the delta
        event.accept()
        self.job_dropped.emit(ref.job_id, ref.version, crew_id)
        return True

    def _set_hover(self, crew_id: int | None) -> None:
        if crew_id != self._hover:
            self._hover = crew_id
            self.hovered_crew.emit(-1 if crew_id is None else crew_id)

    def show_placing(self, job_id: int | None) -> None:
        """Mark the crews that can take the job being placed (None clears the marks)."""
        if self.marks is None:
            return
        if job_id is None or self.controller is None:
            self.marks.clear()
            return
        board = self.controller.crews
        marks: dict[int, tuple[float, float]] = {}
        texts: dict[int, str] = {}
        for crew_id in board.eligible_ids():
            xy = self.hit_test.crew_position(crew_id)
            if xy is None:
                continue
            marks[crew_id] = xy
            number = board.number_of(crew_id)
            eta = board.eta_s(crew_id)
            parts = [f"[{number}]" if number else "", f"ETA {format_duration(eta)}" if eta else ""]
            texts[crew_id] = " ".join(p for p in parts if p) or "can take it"
        self.marks.show(marks, texts)


def install_map_drop(
    canvas: MapCanvas, controller: DispatchController | None = None, layer: str = "crews"
) -> MapDropHelper:
    """Let ``canvas`` take job drops on the markers of its ``layer`` crews layer."""
    hit_test = CanvasCrewHitTest(canvas, layer)
    return MapDropHelper(hit_test.surface, hit_test, controller, EligibleCrewMarks(canvas.view))


__all__ = [
    "CanvasCrewHitTest",
    "CrewHitTest",
    "EligibleCrewMarks",
    "MapDropHelper",
    "install_map_drop",
]
