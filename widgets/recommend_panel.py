"""The recommendation panel: the top crews for the selected job, each one click (or key) away.

A thin Qt view of :class:`console.dispatch.recommend.RecommendationModel`:
one row per recommended crew with its number, name, road ETA, how old its
position is (a stale one is marked with ◆ and the word "stale", not colour
alone), its workload and an **Assign** button. Keys **1–3** (with the panel
focused, or from the job queue when no job is armed) assign the crew of that
number through the :class:`~console.dispatch.controller.DispatchController`,
so conflicts, undo and messages are the same as for a drag.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.dispatch.common import format_duration
from console.dispatch.controller import CommandOutcome, DispatchController
from console.dispatch.recommend import RecommendationModel, RecommendationView, RecommendedCrew
from layers import palette

#: Stale positions: orange with a diamond and the word, readable without colour.
STALE_COLOUR = palette.OKABE_ITO["orange"]
#: How many crews can be picked by number key.
KEYED = 9
HEADERS = ("#", "Crew", "ETA", "Position", "Load", "")


def position_text(c: RecommendedCrew) -> str:
    """``12s ago``, ``◆ stale 14m`` or ``◆ stale (depot)`` for a crew that never reported."""
    if c.position_age_s is None:
        return "◆ stale (depot)" if c.position_source == "depot" else "◆ stale (unknown)"
    age = format_duration(max(c.position_age_s, 0.0))
    return f"◆ stale {age}" if c.stale else f"{age} ago"


class RecommendPanelWidget(QWidget):
    """Top crews for the selected job with ETA, stale marker and workload; click or 1–3 assigns."""

    #: A dispatcher message (outcomes, hints) for the status bar.
    message = Signal(str)

    def __init__(
        self,
        model: RecommendationModel,
        controller: DispatchController | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.controller = controller
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel("Select a job to see the nearest crews by road.", self)
        self.title.setWordWrap(True)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.grid_frame = QFrame(self)
        self.grid = QGridLayout(self.grid_frame)
        self.grid.setContentsMargins(0, 4, 0, 4)
        self.grid.setHorizontalSpacing(12)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.MUTED};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.grid_frame)
        layout.addWidget(self.note)
        layout.addStretch(1)
        #: The Assign buttons, in rank order (for tests and keyboard focus).
        self.buttons: list[QPushButton] = []
        self.row_texts: list[tuple[str, ...]] = []
        model.changed.connect(self.show_view)
        if controller is not None:
            controller.outcome.connect(self.show_outcome)
        self.show_view(model.view)

    # -- showing --------------------------------------------------------------------------

    def _job_title(self, job_id: int) -> str:
        job = self.controller.jobs.jobs.get(job_id) if self.controller else None
        if job is None:
            return f"Job {job_id}"
        skills = ", ".join(job.get("skills") or ()) or "any skill"
        return f"Job {job_id} · {job.get('title') or ''} · needs {skills}"

    def show_view(self, view: RecommendationView) -> None:
        """Rebuild the rows for a new recommendation (three rows: cheap)."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            old = None if item is None else item.widget()
            if old is not None:
                old.hide()  # gone from this paint on, not only once deleteLater runs
                old.deleteLater()
        self.buttons, self.row_texts = [], []
        if view.job_id is None:
            self.title.setText("Select a job to see the nearest crews by road.")
            self.note.setText("")
            return
        suffix = " (updating…)" if view.state == "loading" else ""
        self.title.setText(self._job_title(view.job_id) + suffix)
        if view.choices:
            for col, text in enumerate(HEADERS):
                head = QLabel(text, self.grid_frame)
                head.setStyleSheet(f"color: {theme.MUTED};")
                self._place(head, 0, col)
        for r, c in enumerate(view.choices, start=1):
            cells = (
                f"{c.rank}",
                c.crew_name,
                format_duration(c.eta_s),
                position_text(c),
                f"{c.workload} job{'s' if c.workload != 1 else ''}",
            )
            self.row_texts.append(cells)
            for col, text in enumerate(cells):
                label = QLabel(text, self.grid_frame)
                if col == 3 and c.stale:
                    label.setStyleSheet(f"color: {STALE_COLOUR};")
                    label.setToolTip("Position is old: the ETA is a guess, so it is ranked down")
                self._place(label, r, col)
            button = QPushButton(f"Assign [{c.rank}]", self.grid_frame)
            button.setToolTip(f"Give the job to {c.crew_name} (key {c.rank})")
            button.clicked.connect(lambda _checked=False, n=r: self.assign(n))
            self._place(button, r, len(HEADERS) - 1)
            self.buttons.append(button)
        if view.state == "error":
            self.note.setStyleSheet(f"color: {STALE_COLOUR};")
            self.note.setText(view.message)
        else:
            self.note.setStyleSheet(f"color: {theme.MUTED};")
            left_out = ", ".join(f"{name} ({_reason(why)})" for name, why in view.excluded[:6])
            more = f" and {len(view.excluded) - 6} more" if len(view.excluded) > 6 else ""
            self.note.setText(
                "\n".join(
                    t
                    for t in (view.message, f"Left out: {left_out}{more}" if left_out else "")
                    if t
                )
            )

    def _place(self, widget: QWidget, row: int, col: int) -> None:
        # A layout shows new children of a visible widget only on the next event-loop turn;
        # showing them now keeps the panel right for an immediate grab or key press.
        self.grid.addWidget(widget, row, col)
        widget.show()

    def show_outcome(self, outcome: CommandOutcome) -> None:
        """An assignment made here (or anywhere in this console) ended."""
        if self.model.view.job_id == outcome.job_id:
            colour = theme.TEXT if outcome.ok else STALE_COLOUR
            self.note.setStyleSheet(f"color: {colour};")
            self.note.setText(outcome.message)

    # -- acting ---------------------------------------------------------------------------

    def assign(self, number: int) -> bool:
        """Give the selected job to the crew shown as ``number``; False when there is none."""
        view = self.model.view
        choice = self.model.choice(number)
        if self.controller is None or view.job_id is None or choice is None:
            return False
        job = self.controller.jobs.jobs.get(view.job_id)
        if job is None:
            return False
        self.controller.assign(view.job_id, int(job.get("version") or 1), choice.crew_id)
        return True

    def handle_key(self, event: QKeyEvent) -> bool:
        """Keys 1–9 pick the recommended crew of that number; True when handled."""
        if event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            return False
        key = int(event.key())
        if int(Qt.Key.Key_1) <= key <= int(Qt.Key.Key_0) + KEYED:
            number = key - int(Qt.Key.Key_0)
            return self.assign(number)
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.handle_key(event):
            super().keyPressEvent(event)


def _reason(code: str) -> str:
    """A left-out reason in words."""
    if code.startswith("missing_skills:"):
        return "lacks " + code.partition(":")[2].replace(",", ", ")
    return {
        "off_shift": "off shift",
        "no_position": "no position",
        "off_road": "far from a road",
        "unreachable": "no road to the job",
        "job_off_road": "job off the road network",
        "has_this_job": "has this job",
    }.get(code, code.replace("_", " "))
