"""Layer models, the palette and the projection import with Qt made unimportable."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

_SCRIPT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6'):
            raise ImportError('Qt is blocked in this test: ' + name)
sys.meta_path.insert(0, Block())
import layers.base, layers.palette, layers.projection
import layers.assets.model, layers.issues.model, layers.crews.model, layers.roads.model
import layers.replay.model, console.timeline.model, console.timeline.replay
from tests.layers import synthetic as syn
m = layers.assets.model.AssetLayerModel(layers.projection.LocalProjection(*syn.CENTRE))
m.replace_all(syn.assets(50))
assert len(m) == 50
assert not any(k.split('.')[0] in ('PySide6', 'pyqtgraph') for k in sys.modules)
print('ok')
"""


def test_models_import_and_run_without_qt() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_blocker_really_blocks() -> None:
    script = _SCRIPT.replace("import layers.base", "import pyqtgraph\nimport layers.base")
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0 and "Qt is blocked" in out.stderr
