"""The penalised Cox fit both risk models share: fit, relative hazard, probability within a horizon.

:class:`CoxModel` holds what :class:`backend.analytics.model.FailureModel`
(water mains) and :class:`backend.analytics.asset_model.AssetFailureModel`
(every asset kind) do alike with lifelines' ``CoxPHFitter``; each keeps its
own covariates, Newton step and reason groups.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter


class CoxModel:
    """A Cox model over chosen covariate columns (constant ones dropped), centred on their means."""

    #: lifelines ``fit_options`` (the damped Newton step each model was tuned with).
    fit_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, penalizer: float) -> None:
        self.penalizer = penalizer
        self.columns: list[str] = []
        self.means: pd.Series = pd.Series(dtype=float)
        self.coefficients: pd.Series = pd.Series(dtype=float)
        self.fitter = CoxPHFitter(penalizer=penalizer)

    def fit_columns(self, frame: pd.DataFrame, candidates: Iterable[str]) -> None:
        """Fit on a training frame (``duration``, ``event`` and the ``candidates`` columns)."""
        if frame["event"].sum() == 0:
            raise ValueError("no failure in the training window: nothing to learn from")
        self.columns = [c for c in candidates if frame[c].std() > 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines' convergence chatter; checked below
            self.fitter.fit(
                frame[[*self.columns, "duration", "event"]],
                duration_col="duration",
                event_col="event",
                fit_options=dict(self.fit_options),
            )
        self.coefficients = self.fitter.params_
        if not np.all(np.isfinite(self.coefficients.to_numpy())):
            raise ValueError("the Cox fit diverged (non-finite coefficients)")
        self.means = frame[self.columns].mean()

    def log_risk(self, frame: pd.DataFrame) -> pd.Series:
        """Log relative hazard per row against the training average (higher fails sooner)."""
        values = (frame[self.columns] - self.means) @ self.coefficients[self.columns]
        return pd.Series(values, index=frame.index, name="log_risk")

    def probability_within(self, frame: pd.DataFrame, years: float) -> pd.Series:
        """Probability of at least one failure within ``years`` of the frame's origin.

        From the Breslow baseline cumulative hazard (at the training means, where
        :meth:`log_risk` is centred too) and each row's relative hazard.
        """
        base = self.fitter.baseline_cumulative_hazard_
        times = base.index.to_numpy()
        upto = times <= years
        h0 = float(base.iloc[:, 0].to_numpy()[upto][-1]) if upto.any() else 0.0
        hazard = h0 * np.exp(self.log_risk(frame).to_numpy())
        return pd.Series(1.0 - np.exp(-hazard), index=frame.index, name="p")
