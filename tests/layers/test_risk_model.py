"""The risk layer model: bands, colours, legend, filters and words, without Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from layers.base import LayerInputError
from layers.projection import LocalProjection
from layers.risk.model import RISK_BANDS, RiskLayerModel, band_of, percent

CENTRE = (10.45, 53.05)
ROOT = Path(__file__).resolve().parents[2]


def _model() -> RiskLayerModel:
    m = RiskLayerModel(LocalProjection(*CENTRE))
    m.replace_all(
        RiskLayerModel.records_from_reply(
            [
                {"asset_id": 1, "lon": 10.45, "lat": 53.05, "p30": 0.001, "kind": "hydrant"},
                {"asset_id": 2, "lon": 10.46, "lat": 53.05, "p30": 0.012, "kind": "pump"},
                {
                    "asset_id": 3,
                    "lon": 10.47,
                    "lat": 53.05,
                    "p30": 0.3,
                    "kind": "water_main",
                    "name": "Elm St",
                    "reasons": ["3 failures since 2012", "cast iron"],
                },
                {"asset_id": 4, "lon": None, "lat": None, "p30": 0.07, "kind": "water_main"},
            ]
        )
    )
    return m


def test_bands_split_probabilities_and_brighten_with_risk() -> None:
    assert [band_of(p).key for p in (0.0, 0.004, 0.005, 0.03, 0.05, 0.1, 1.0)] == [
        "p0",
        "p0",
        "p1",
        "p2",
        "p3",
        "p4",
        "p4",
    ]

    # Colour-blind safe ramp: lightness (and size) rise with risk, so order reads without hue.
    def lightness(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light = [lightness(b.colour) for b in RISK_BANDS]
    assert light == sorted(light) and len(set(light)) == len(light)
    sizes = [b.size for b in RISK_BANDS]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert percent(0.0042) == "0.42 %" and percent(0.042) == "4.2 %" and percent(0.42) == "42 %"


def test_model_holds_positions_bands_and_riskiest_first() -> None:
    m = _model()
    assert len(m) == 4
    rows = m.table.rows
    codes = {
        int(i): m.vocab["band"].names[c] for i, c in zip(rows["id"], rows["band_code"], strict=True)
    }
    assert codes == {1: "p0", 2: "p1", 3: "p4", 4: "p3"}
    assert m.riskiest(3) == [3, 2, 1]  # asset 4 has no position: never drawn, never listed
    m.set_value_shown("band", "p4", False)
    assert m.riskiest(3) == [2, 1]
    legend = m.legend()
    assert [e.value for e in legend] == ["p4", "p3", "p2", "p1", "p0"]
    assert legend[0].hidden and legend[0].count == 1 and legend[0].colour == "#fde725"
    text = m.describe(3)
    assert "Water main 3" in text and "30 %" in text and "3 failures since 2012" in text


def test_a_bad_probability_is_refused_and_the_rest_applied() -> None:
    m = _model()
    with pytest.raises(LayerInputError):
        m.upsert([{"id": 5, "lon": 10.45, "lat": 53.05, "p30": 1.7}, {"id": 1, "p30": 0.2}])
    assert 5 not in m.records and m.records[1]["p30"] == 0.2


def test_the_model_imports_without_qt() -> None:
    code = "import sys, layers.risk.model; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
