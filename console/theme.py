"""The control-room look: a dark palette and fonts sized to be read across a room."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#14181d"
PANEL = "#1c2128"
TEXT = "#e6e9ee"
MUTED = "#8b95a3"
ACCENT = "#56b4e9"  # Okabe-Ito sky blue: selection and focus, never a status

#: Point size of body text on a 1080-line screen; larger screens scale up.
BASE_POINT_SIZE = 11.0


def font_point_size(screen_height_px: int, device_pixel_ratio: float = 1.0) -> float:
    """Body text size for a screen: bigger walls get bigger text, capped for sanity.

    Qt already scales points by the screen's logical DPI, so only the screen's
    height in logical pixels matters: a 2160-line wall shows 1.5x the text.
    """
    logical = screen_height_px / max(device_pixel_ratio, 1.0)
    scale = min(max(logical / 1080.0, 1.0), 2.0) ** 0.6
    return round(BASE_POINT_SIZE * scale, 1)


def apply_dark_theme(app: QApplication) -> None:
    """Dark palette, Fusion style, and a screen-appropriate font for the whole app."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: PANEL,
        QPalette.ColorRole.AlternateBase: "#232932",
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#000000",
        QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(MUTED))
    app.setPalette(palette)
    screen = QGuiApplication.primaryScreen()
    if screen is not None:
        size = font_point_size(screen.geometry().height(), screen.devicePixelRatio())
        font = QFont(app.font())
        font.setPointSizeF(size)
        app.setFont(font)
    app.setStyleSheet(
        f"QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid {MUTED}; }}"
        f"QDockWidget::title {{ background: {PANEL}; padding: 4px; }}"
        f"QStatusBar {{ background: {PANEL}; }}"
    )
