"""Crew labels on a real map canvas: never drawn over each other, at any zoom."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore
from pytestqt.qtbot import QtBot

from layers.crews.model import CrewLayerModel
from layers.crews.renderer import CrewLayerRenderer
from layers.projection import LocalProjection
from tests.layers import synthetic as syn
from widgets.map_canvas import MapCanvas


def _crowded_crews(n: int) -> list[dict]:
    """Crews bunched in a few streets' worth of city, several on the very same spot."""
    recs = syn.crews(n, km=0.6)
    for r in recs[: n // 4]:  # a quarter share positions with another crew
        twin = recs[r["id"] % (n // 4) + n // 4]
        r["last_lon"], r["last_lat"] = twin["last_lon"], twin["last_lat"]
    return recs


@pytest.fixture
def canvas(qtbot: QtBot) -> Iterator[MapCanvas]:
    p = LocalProjection(*syn.CENTRE)
    crews = CrewLayerModel(p)
    crews.replace_all(_crowded_crews(80))
    c = MapCanvas(p, tick_interval_ms=0)
    qtbot.addWidget(c)
    c.add_layer(crews)
    c.resize(1000, 700)
    c.show()
    qtbot.waitExposed(c)
    c.home()
    c.render_now()
    yield c


def _renderer(c: MapCanvas) -> CrewLayerRenderer:
    r = c.renderers["crews"]
    assert isinstance(r, CrewLayerRenderer)
    return r


def _overlapping(boxes: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of drawn boxes (left, top, w, h) sharing any area."""
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if (
                a[0] < b[0] + b[2]
                and b[0] < a[0] + a[2]
                and a[1] < b[1] + b[3]
                and b[1] < a[1] + a[3]
            ):
                out.append((i, j))
    return out


def _rest(qtbot: QtBot, canvas: MapCanvas) -> None:
    """Let the zoom rest so labels are placed fully, and paint."""
    qtbot.wait(_renderer(canvas).labels.settle_ms + 60)
    canvas.render_now()


def test_no_two_drawn_labels_overlap_at_any_zoom(qtbot: QtBot, canvas: MapCanvas) -> None:
    labels = _renderer(canvas).labels
    scatter = _renderer(canvas).scatter
    scatter.lod_points_per_mpx = 1e9  # always symbols, so last_drawn counts markers
    x, y = _renderer(canvas).model.xy()
    cx, cy = float(x[0]), float(y[0])
    hidden_at = []
    for size in (2400.0, 1000.0, 400.0, 160.0, 60.0):
        canvas.zoom_to((cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2))
        canvas.render_now()  # while zooming: the last placement, repaired
        assert not _overlapping(labels.last_boxes), size
        _rest(qtbot, canvas)  # at rest: placed fully
        boxes = labels.last_boxes
        assert len(boxes) == labels.last_drawn > 0
        assert not _overlapping(boxes), size
        # Every crew's marker on screen is still drawn, labelled or not.
        r = canvas.view.viewRect()
        on_screen = np.flatnonzero(
            (x >= r.left()) & (x <= r.right()) & (y >= r.top()) & (y <= r.bottom())
        )
        assert scatter.last_drawn >= len(on_screen)  # (it culls with a margin)
        hidden_at.append(len(set(on_screen.tolist()) - set(labels.last_indices.tolist())))
    assert hidden_at[0] > 0  # zoomed out, some labels had to go
    assert hidden_at[-1] < hidden_at[0]  # zoomed in, they come back


def test_crews_at_work_keep_their_labels_over_those_off_shift(canvas: MapCanvas) -> None:
    r = _renderer(canvas)
    model = r.model
    # Two crews on one spot: the off-shift one has the lower id, the on-site one wins anyway.
    spot = model.records[1]
    model.upsert(
        [
            {"id": 1, "status": "off_shift"},
            {
                "id": 2,
                "status": "on_site",
                "last_lon": spot["last_lon"],
                "last_lat": spot["last_lat"],
            },
        ]
    )
    canvas.render_now()
    assert _side(canvas, 2) == "right"  # its usual place
    assert _side(canvas, 1) != "right"  # moved aside (or hidden)
    # Its tooltip names the crew all along; selecting it (pinning) gives it the usual place.
    x, y = model.xy()
    row = model.table.row(1)
    assert canvas.hover_text_at(float(x[row]), float(y[row])).startswith("Crew ")
    canvas.select("crews", [1])  # the operator clicks it: its label is pinned
    canvas.render_now()
    assert _side(canvas, 1) == "right"
    assert _side(canvas, 2) != "right"
    canvas.clear_selection()
    canvas.render_now()
    assert _side(canvas, 2) == "right"


def _side(canvas: MapCanvas, fid: int) -> str:
    """Where a crew's label was drawn by the last paint: right/left of its point, or hidden."""
    r = _renderer(canvas)
    row = r.model.table.row(fid)
    shown = np.flatnonzero(r.model.shown_mask())
    k = int(np.flatnonzero(shown == row)[0])
    hit = np.flatnonzero(r.labels.last_indices == k)
    if not len(hit):
        return "hidden"
    x, y = r.model.xy()
    sx = r.labels.mapToDevice(QtCore.QPointF(float(x[row]), float(y[row]))).x()
    left, _, w, _ = r.labels.last_boxes[hit[0]]
    return "right" if left > sx else "left" if left + w < sx else "above/below"


def test_placement_is_reused_on_pans_and_redone_on_zoom_and_moves(
    qtbot: QtBot, canvas: MapCanvas
) -> None:
    r = _renderer(canvas)
    labels = r.labels
    canvas.render_now()
    before = labels.placements
    canvas.pan_by(0.1, 0.05)
    canvas.render_now()
    canvas.render_now()
    assert labels.placements == before  # a pan or a repaint costs no placement
    for _ in range(3):  # a zoom in steps: repaired placements, one full one at rest
        canvas.zoom_by(0.9)
        canvas.render_now()
        assert labels.placements == before
        assert not _overlapping(labels.last_boxes)
    _rest(qtbot, canvas)
    assert labels.placements == before + 1
    spot = r.model.records[5]
    r.model.upsert([{"id": 6, "last_lon": spot["last_lon"], "last_lat": spot["last_lat"]}])
    canvas.render_now()
    assert labels.placements == before + 2
    assert not _overlapping(labels.last_boxes)
