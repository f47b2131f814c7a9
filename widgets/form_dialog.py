"""A small form dialog whose OK waits for one required text (a shelve reason, a job title)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QVBoxLayout


class RequiredTextDialog(QDialog):
    """A form above OK/Cancel; OK is enabled only while the required text is not blank."""

    buttons: QDialogButtonBox

    def finish_form(self, form: QFormLayout, changed: Any, required: Callable[[], str]) -> None:
        """Lay out ``form`` and the buttons; ``changed`` (a signal) re-checks ``required()``."""
        self._required = required
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        changed.connect(self._check)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._check()

    def _check(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self._required().strip()))
