"""The asset history panel: readings over time, limits, alarms, the asset's story, a new job.

A thin Qt adapter over :class:`console.alarms.history.AssetHistoryModel`:

- a search box finds an asset by name or id (a completer over the replica's
  assets, :class:`console.alarms.history.AssetIndex`);
- a pyqtgraph chart of one metric at a time (metric picker), time on a
  :class:`pyqtgraph.DateAxisItem`, zoom and pan with the mouse, the catalog's
  alarm and warning limits as dashed lines, alarms as severity markers at
  their raise times;
- the asset's events in time order (install, inspections, failures, repairs,
  jobs and their crews, alarms, citizen reports nearby); activating one
  centres the chart on it;
- **Create job** sends ``create_job`` for the asset.

Commands go through a :class:`console.alarms.commands.CommandRunner`; the
history itself comes from the ``get_asset_history`` command.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.alarms.commands import CommandRunner, Outcome, create_job_args
from console.alarms.history import AssetEntry, AssetHistoryModel, AssetIndex, JobDraft
from console.dispatch.common import Clock, utc_now
from layers.palette import OKABE_ITO, alarm_severity_style
from widgets.form_dialog import RequiredTextDialog

#: How many readings to ask the backend for (its maximum).
HISTORY_LIMIT = 5000
CURVE_COLOUR = OKABE_ITO["sky_blue"]
LIMIT_COLOURS = {"alarm": OKABE_ITO["vermillion"], "warn": OKABE_ITO["yellow"]}
#: Event kinds → a glyph backing their colour in the list.
EVENT_GLYPHS = {
    "install": "+",
    "inspection": "◎",
    "failure": "✖",
    "repair": "✔",
    "note": "✎",
    "job": "⚒",
    "alarm": "",  # the title carries the severity's own glyph
    "report": "☎",
}
EVENT_COLOURS = {
    "failure": OKABE_ITO["vermillion"],
    "unmatched_failure": OKABE_ITO["vermillion"],
    "predecessor_failure": OKABE_ITO["orange"],
    "repair": OKABE_ITO["bluish_green"],
    "install": OKABE_ITO["sky_blue"],
}
#: Role carrying an event row's epoch time.
EVENT_TIME_ROLE = int(Qt.ItemDataRole.UserRole) + 31
#: Role carrying an event row's topic reference (``job/12``...).
EVENT_REF_ROLE = int(Qt.ItemDataRole.UserRole) + 32
#: Due-time choices of the Create job dialog (hours; None: no due time).
DUE_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("No due time", None),
    ("4 hours", 4.0),
    ("24 hours", 24.0),
    ("3 days", 72.0),
    ("1 week", 168.0),
)


def local_time_text(t: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM`` (the operator's wall clock), or "—"."""
    if t is None:
        return "—"
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M")


class AssetSearchBox(QLineEdit):
    """Type a name or an id; pick from the completer (or press Enter for the best match)."""

    asset_chosen = Signal(int)

    def __init__(self, index: AssetIndex | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index or AssetIndex()
        self.setPlaceholderText("Find asset by name or id…")
        self.setClearButtonEnabled(True)
        self.matches: list[AssetEntry] = []
        self.list_model = QStringListModel(self)
        completer = QCompleter(self.list_model, self)
        # Matching is ours (ids, word prefixes), so the popup shows our list unfiltered.
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        completer.activated.connect(self._on_activated)
        self.setCompleter(completer)
        self.textEdited.connect(self._update)
        self.returnPressed.connect(self._on_return)

    def set_assets(self, entries: list[tuple[int, str, str]]) -> None:
        """The assets to search: ``(id, name, kind)``."""
        self.index.set_entries(entries)

    def _update(self, text: str) -> None:
        self.matches = self.index.find(text)
        self.list_model.setStringList([e.label for e in self.matches])
        completer = self.completer()
        if self.matches and completer is not None:
            completer.complete()

    def _on_activated(self, label: Any) -> None:
        label = str(label.data() if hasattr(label, "data") else label)
        entry = next((e for e in self.matches if e.label == label), None)
        if entry is not None:
            self.asset_chosen.emit(entry.id)

    def _on_return(self) -> None:
        matches = self.index.find(self.text()) if self.text().strip() else []
        if matches:
            self.setText(matches[0].label)
            self.asset_chosen.emit(matches[0].id)


class CreateJobDialog(RequiredTextDialog):
    """Title, priority, skills and due time of a new job for the shown asset."""

    def __init__(self, asset_name: str, draft: JobDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Create job: {asset_name}")
        self.title = QLineEdit(draft.title, self)
        self.title.setMaxLength(200)
        self.priority = QSpinBox(self)
        self.priority.setRange(1, 5)
        self.priority.setValue(draft.priority)
        self.priority.setPrefix("P")
        self.priority.setToolTip("1 is the most urgent")
        self.skills = QLineEdit(", ".join(draft.skills), self)
        self.skills.setPlaceholderText("comma-separated, e.g. water, mechanical")
        self.due = QComboBox(self)
        for text, hours in DUE_CHOICES:
            self.due.addItem(text, hours)
        self.due.setCurrentIndex(2 if draft.priority <= 2 else 0)
        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Priority", self.priority)
        form.addRow("Skills", self.skills)
        form.addRow("Due in", self.due)
        self.finish_form(form, self.title.textChanged, self.title.text)

    def values(self, now: datetime) -> tuple[str, int, list[str], datetime | None]:
        """(title, priority, skills, due_at) as entered; ``due_at`` counts from ``now``."""
        hours = self.due.currentData()
        due = None if hours is None else now + timedelta(hours=float(hours))
        skills = [s.strip() for s in self.skills.text().split(",") if s.strip()]
        return self.title.text().strip(), self.priority.value(), skills, due


class AssetHistoryWidget(QWidget):
    """Search, chart (metric picker, limits, alarm markers), events list and Create job."""

    #: The asset shown changed (its id).
    asset_changed = Signal(int)
    #: An outcome or hint for the status bar.
    message = Signal(str)

    def __init__(
        self,
        runner: CommandRunner | None = None,
        model: AssetHistoryModel | None = None,
        clock: Clock = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model = model or AssetHistoryModel()
        self.clock = clock
        self.current_metric: str | None = None
        self.loading: int | None = None

        self.search = AssetSearchBox(parent=self)
        self.search.asset_chosen.connect(self.show_asset)
        self.title = QLabel("No asset selected", self)
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.details = QLabel("", self)
        self.details.setStyleSheet(f"color: {theme.MUTED};")
        self.metric_picker = QComboBox(self)
        self.metric_picker.currentIndexChanged.connect(self._on_metric_picked)
        self.fit_button = QPushButton("Fit", self)
        self.fit_button.setToolTip("Show every reading and the limits (F)")
        self.fit_button.clicked.connect(self.fit)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        self.create_job_button = QPushButton("Create job…", self)
        self.create_job_button.setToolTip("Create a work order for this asset (Ctrl+J)")
        self.create_job_button.clicked.connect(lambda: self.open_create_job_dialog())
        self.create_job_button.setEnabled(False)

        self.plot = pg.PlotWidget(
            parent=self, background=theme.BACKGROUND, axisItems={"bottom": pg.DateAxisItem()}
        )
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(theme.MUTED))
            axis.setTextPen(pg.mkPen(theme.TEXT))
        item.setClipToView(True)
        # No downsampling: pyqtgraph's peak mode drops the trailing partial chunk, which
        # is the newest reading, the one an operator is looking at. 5,000 points draw fast.
        self.curve = item.plot([], [], pen=pg.mkPen(CURVE_COLOUR, width=2))
        self.markers = pg.ScatterPlotItem(pxMode=True)
        self.markers.setZValue(10)
        item.addItem(self.markers)
        self.limit_lines: list[pg.InfiniteLine] = []
        self.empty_text = pg.TextItem("", color=theme.MUTED, anchor=(0.5, 0.5))
        item.addItem(self.empty_text, ignoreBounds=True)

        self.events = QTreeWidget(self)
        self.events.setHeaderLabels(["When", "What", "Details"])
        self.events.setRootIsDecorated(False)
        self.events.setAlternatingRowColors(True)
        self.events.setUniformRowHeights(True)
        self.events.itemActivated.connect(self._on_event_activated)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(QLabel("Metric", self))
        bar.addWidget(self.metric_picker, 1)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.create_job_button)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.plot)
        split.addWidget(self.events)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(split, 1)

        # Panel-local keys: live only while focus is inside this panel, and a text box
        # keeps its letters (Qt lets a line edit override single-key shortcuts).
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+J", lambda: self.open_create_job_dialog()),
            ("F", self.fit),
            ("M", self.next_metric),
        ):
            QShortcut(QKeySequence(keys), self, slot, context)

        self.model.changed.connect(self._on_model_changed)
        if runner is not None:
            runner.outcome.connect(self._on_outcome)

    # -- feeding ------------------------------------------------------------------------

    def set_assets(self, entries: list[tuple[int, str, str]]) -> None:
        """The assets the search box can find: ``(id, name, kind)`` from the replica."""
        self.search.set_assets(entries)

    def show_asset(self, asset_id: int) -> Outcome | None:
        """Ask the backend for an asset's history; the panel fills in when it answers."""
        if self.runner is None:
            return None
        self.loading = asset_id
        self.title.setText(f"Loading asset {asset_id}…")
        args = {"asset_id": int(asset_id), "limit": HISTORY_LIMIT}

        def got(result: Any) -> None:
            if self.loading == asset_id:  # a later pick wins over a slow answer
                self.loading = None
                self.set_history(result)

        return self.runner.run("history", asset_id, "get_asset_history", args, "", got)

    def refresh(self) -> None:
        """Fetch the shown asset's history again."""
        if self.model.asset_id is not None:
            self.show_asset(self.model.asset_id)

    def set_history(self, result: Any) -> None:
        """Show a ``get_asset_history`` result."""
        self.model.set_history(result)

    def apply_many(self, items: list[tuple[str, dict[str, Any] | None]]) -> None:
        """Live entity changes from the replica (this asset's readings, alarms, jobs)."""
        self.model.apply_many(items)

    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.intent == "history" and not outcome.ok:
            if self.loading == outcome.target:
                self.loading = None
                self.title.setText(f"Asset {outcome.target}: {outcome.message}")
            return
        if outcome.message:
            self.message.emit(outcome.message)

    # -- drawing ------------------------------------------------------------------------

    def _on_model_changed(self, what: frozenset[str]) -> None:
        m = self.model
        if "asset" in what:
            self._show_header()
        if "asset" in what and "readings" in what and "events" in what:  # a new history
            self._fill_metric_picker()
            self.asset_changed.emit(int(m.asset_id or 0))
        if "readings" in what or "events" in what:
            self.draw_chart(fit="events" in what and "asset" in what)
        if "events" in what:
            self._fill_events()

    def _show_header(self) -> None:
        m = self.model
        a = m.asset or {}
        self.title.setText(
            f"{m.name}  ·  {m.kind or 'asset'} #{a.get('id')}  ·  {a.get('status', '?')}"
        )
        latest = a.get("latest") or {}
        bits = [
            f"installed {a.get('install_date')}"
            if a.get("install_date")
            else "install date unknown"
        ]
        for name in m.metrics():
            pair = latest.get(name)
            if pair and pair[1] is not None:
                info = m.metric_info(name)
                bits.append(
                    f"{name} {float(pair[1]):g}{' ' + info.unit if info and info.unit else ''}"
                )
        self.details.setText("  ·  ".join(bits))
        self.create_job_button.setEnabled(m.asset_id is not None and self.runner is not None)

    def _fill_metric_picker(self) -> None:
        m = self.model
        self.metric_picker.blockSignals(True)
        self.metric_picker.clear()
        for name in m.metrics():
            info = m.metric_info(name)
            n = len(m.series(name).x)
            unit = f" ({info.unit})" if info and info.unit else ""
            self.metric_picker.addItem(f"{name}{unit} · {n}", name)
        default = m.default_metric()
        self.current_metric = default
        if default is not None:
            self.metric_picker.setCurrentIndex(self.metric_picker.findData(default))
        self.metric_picker.blockSignals(False)

    def _on_metric_picked(self, _index: int) -> None:
        data = self.metric_picker.currentData()
        self.current_metric = None if data is None else str(data)
        self.draw_chart(fit=True)

    def select_metric(self, metric: str) -> bool:
        """Show one metric; False when the asset has no such metric."""
        i = self.metric_picker.findData(metric)
        if i < 0:
            return False
        self.metric_picker.setCurrentIndex(i)
        return True

    def next_metric(self) -> None:
        """Cycle to the next metric (M)."""
        n = self.metric_picker.count()
        if n:
            self.metric_picker.setCurrentIndex((self.metric_picker.currentIndex() + 1) % n)

    def draw_chart(self, fit: bool = False) -> None:
        """Redraw the curve, limit lines and alarm markers of the picked metric."""
        item = self.plot.getPlotItem()
        for line in self.limit_lines:
            item.removeItem(line)
        self.limit_lines = []
        metric = self.current_metric
        if metric is None or self.model.asset is None:
            self.curve.setData([], [])
            self.markers.setData([])
            self.empty_text.setText("No readings" if self.model.asset is not None else "")
            return
        series = self.model.series(metric)
        self.curve.setData(series.x, series.y, stepMode="right" if series.discrete else None)
        self.empty_text.setText("" if len(series.x) else f"No {metric} readings")
        item.setLabel("left", metric, units=series.unit or None, color=theme.TEXT)
        for limit in self.model.limits(metric):
            colour = LIMIT_COLOURS[limit.level]
            style = Qt.PenStyle.DashLine if limit.level == "alarm" else Qt.PenStyle.DotLine
            anchor = (0, 0) if limit.side == "high" else (0, 1)
            line = pg.InfiniteLine(
                pos=limit.value,
                angle=0,
                movable=False,
                pen=pg.mkPen(colour, width=1.5, style=style),
                label=limit.label,
                # High limits label below the line, low ones above: inside the band that matters.
                labelOpts={"position": 0.02, "color": colour, "anchors": [anchor, anchor]},
            )
            item.addItem(line, ignoreBounds=True)
            self.limit_lines.append(line)
        self._draw_markers(series.x, series.y, metric)
        if fit:
            self.fit()

    def _draw_markers(self, x: np.ndarray, y: np.ndarray, metric: str) -> None:
        spots = []
        for marker in self.model.alarm_markers(metric):
            style = alarm_severity_style(marker.severity)
            at = float(np.interp(marker.t, x, y)) if len(x) else 0.0
            spots.append(
                {
                    "pos": (marker.t, at),
                    "symbol": style.symbol,
                    "size": 14 if marker.severity == "critical" else 12,
                    "brush": pg.mkBrush(style.colour),
                    "pen": pg.mkPen(theme.TEXT, width=1),
                    "data": marker.alarm_id,
                }
            )
        self.markers.setData(spots)

    def marker_points(self) -> list[tuple[float, float, int]]:
        """(time, value, alarm id) of the drawn alarm markers."""
        return [
            (float(p.pos().x()), float(p.pos().y()), int(p.data())) for p in self.markers.points()
        ]

    def fit(self) -> None:
        """Show every reading of the metric, with its limits in view."""
        metric = self.current_metric
        if metric is None:
            return
        s = self.model.series(metric)
        values = list(s.y) + [lim.value for lim in self.model.limits(metric)]
        times = list(s.x) + [m.t for m in self.model.alarm_markers(metric)]
        if not times or not values:
            return
        vb = self.plot.getPlotItem().getViewBox()
        x0, x1 = min(times), max(times)
        y0, y1 = min(values), max(values)
        vb.setRange(
            xRange=(x0, x1 if x1 > x0 else x0 + 3600),
            yRange=(y0, y1 if y1 > y0 else y0 + 1),
            padding=0.05,
        )
        self.empty_text.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    # -- events ---------------------------------------------------------------------------

    def _fill_events(self) -> None:
        self.events.clear()
        items = []
        for e in self.model.events():
            glyph = EVENT_GLYPHS.get(e.kind, "•")
            what = f"{glyph} {e.title}" if glyph else e.title
            item = QTreeWidgetItem([local_time_text(e.t), what, e.detail])
            item.setData(0, EVENT_TIME_ROLE, e.t)
            item.setData(0, EVENT_REF_ROLE, e.ref)
            item.setToolTip(2, e.detail)
            colour = (
                alarm_severity_style(e.severity).colour if e.severity else EVENT_COLOURS.get(e.kind)
            )
            if colour is not None:
                item.setForeground(1, QColor(colour))
            items.append(item)
        self.events.addTopLevelItems(items)
        for col in (0, 1):
            self.events.resizeColumnToContents(col)
        if items:
            self.events.scrollToItem(items[-1])  # the newest is what an operator looks for

    def event_rows(self) -> list[tuple[str, str]]:
        """(what, details) of each listed event, top to bottom."""
        out = []
        for i in range(self.events.topLevelItemCount()):
            item = self.events.topLevelItem(i)
            assert item is not None
            out.append((item.text(1), item.text(2)))
        return out

    def _on_event_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        t = item.data(0, EVENT_TIME_ROLE)
        if t is None:
            return
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = vb.viewRange()
        half = max((x1 - x0) / 2, 1800.0)
        vb.setXRange(float(t) - half, float(t) + half, padding=0)

    # -- create job -------------------------------------------------------------------------

    def open_create_job_dialog(self, exec_dialog: bool = True) -> CreateJobDialog | None:
        """Open the Create job dialog (modal); sends ``create_job`` when accepted.

        With ``exec_dialog=False`` the dialog is returned unopened; call
        :meth:`submit_job_dialog` after filling it (tests, automation).
        """
        if self.model.asset_id is None:
            self.message.emit("Pick an asset first")
            return None
        dialog = CreateJobDialog(self.model.name, self.model.job_draft(), self)
        if not exec_dialog:
            return dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.submit_job_dialog(dialog)
        return dialog

    def submit_job_dialog(self, dialog: CreateJobDialog) -> Outcome | None:
        """Send ``create_job`` with the dialog's values."""
        title, priority, skills, due = dialog.values(self.clock())
        return self.create_job(title, priority, skills, due)

    def create_job(
        self, title: str, priority: int, skills: list[str], due_at: datetime | None = None
    ) -> Outcome | None:
        """Send ``create_job {asset_id, title, priority, skills, due_at?}`` for the shown asset."""
        asset_id = self.model.asset_id
        if self.runner is None or asset_id is None:
            return None
        try:
            args = create_job_args(asset_id, title, priority, skills, due_at)
        except ValueError as exc:
            return self.runner.refuse("create_job", asset_id, f"Job not created: {exc}")
        done = f"Job created for {self.model.name}: {args['title']}"
        return self.runner.run("create_job", asset_id, "create_job", args, done)

    def focus_search(self) -> None:
        """Put the cursor in the asset search box."""
        self.search.setFocus()
        self.search.selectAll()
