"""The demo city's hidden failure law: one documented place for every hazard parameter.

Asset histories are drawn from a known model so a failure-prediction model
trained on them can be checked against the truth. For an asset of kind ``k``,
the time ``t`` (years) from its last renewal (install or repair) to its next
failure follows a proportional-hazards Weibull:

    h(t) = (ρ_k / λ_k) · (t / λ_k)^(ρ_k − 1) · m
    m    = z · exp(β_age,k · A / 10) · exp(β_prior,k · n)

* ``ρ_k`` shape (> 1: wear-out), ``λ_k`` scale in years;
* ``A`` the asset's age in years when the interval starts (older assets fail
  sooner after a repair: repair is imperfect), ``n`` its earlier failures;
* ``z`` the asset's frailty, fixed for life:
  ``log z = Σ categorical shift(attribute value) + Σ c · log(value / ref) + σ_k · ε``
  with ``ε ~ N(0, 1)``. The shifts tie frailty to visible attributes (lamp
  type, pipe material, controller model...), and ``ε`` stays hidden: it is
  in no database row, only in :class:`HazardTruth` returned by the planner.

Sampling uses the inverse cumulative hazard: ``T = λ · (E / m)^(1/ρ)`` with
``E ~ Exp(1)``. After a failure, a repair follows after a lognormal number of
days; a failure whose repair would fall after ``as_of`` leaves the asset down
now (the generator marks it out of service or under repair and opens an
issue). Periodic inspections record a condition grade 1 (as new) to 5 (poor)
that reads the asset's current risk with noise:

    grade = clip(round(1 + 4 · (1 − exp(−H)) + N(0, GRADE_NOISE)), 1, 5)

where ``H = m · (t / λ)^ρ`` is the cumulative hazard since the last renewal.
A ``demo_city.generated`` event stores ``seed`` and ``as_of``; re-running
:func:`backend.demo_city.generate.plan_city` with them gives the truth back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

#: Standard deviation of the noise on inspection condition grades.
GRADE_NOISE = 0.55
#: Safety cap on failures simulated per asset.
MAX_FAILURES = 60


@dataclass(frozen=True, slots=True)
class KindHazard:
    """Failure, repair and inspection parameters of one asset kind."""

    shape: float  # ρ
    scale_years: float  # λ
    age_per_decade: float  # β_age: log-hazard per 10 years of age at the interval's start
    per_prior_failure: float  # β_prior: log-hazard per earlier failure
    frailty_sigma: float  # σ: spread of the hidden part of log frailty
    categorical: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    numeric: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # (coef, ref)
    repair_median_days: float = 3.0
    repair_sigma: float = 0.6
    inspection_years: float | None = None
    causes: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()


def _frozen(d: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in d.items()})


#: The truth: hazard parameters per asset kind.
HAZARDS: Mapping[str, KindHazard] = MappingProxyType(
    {
        "street_light": KindHazard(
            shape=1.5,
            scale_years=17.0,
            age_per_decade=0.12,
            per_prior_failure=0.15,
            frailty_sigma=0.45,
            categorical=_frozen(
                {
                    "lamp_type": {"LED": -0.7, "HPS": 0.0, "metal_halide": 0.25, "mercury": 0.5},
                    "pole_material": {"steel": 0.0, "aluminium": -0.1, "concrete": 0.15},
                }
            ),
            repair_median_days=4.0,
            inspection_years=8.0,
            causes=("lamp failure", "photocell fault", "ballast/driver fault", "cable fault"),
            repairs=("lamp replaced", "photocell replaced", "driver replaced", "cable jointed"),
        ),
        "traffic_signal": KindHazard(
            shape=1.3,
            scale_years=7.0,
            age_per_decade=0.15,
            per_prior_failure=0.1,
            frailty_sigma=0.35,
            categorical=_frozen(
                {
                    "controller": {
                        "Siemens C800": 0.0,
                        "Swarco ITC-3": -0.2,
                        "Peek PTC-1": 0.3,
                        "legacy relay": 0.8,
                    }
                }
            ),
            repair_median_days=0.6,
            inspection_years=1.0,
            causes=("controller fault", "detector loop failure", "signal head out", "power fault"),
            repairs=("controller reset", "loop recut", "signal head replaced", "fuse replaced"),
        ),
        "hydrant": KindHazard(
            shape=1.7,
            scale_years=30.0,
            age_per_decade=0.2,
            per_prior_failure=0.2,
            frailty_sigma=0.5,
            categorical=_frozen(
                {
                    "material": {"ductile_iron": 0.0, "cast_iron": 0.5},
                    "type": {"pillar": 0.0, "underground": 0.2},
                }
            ),
            repair_median_days=6.0,
            inspection_years=3.0,
            causes=("valve seized", "leaking seal", "vehicle impact", "frost damage"),
            repairs=("valve freed and greased", "seal replaced", "hydrant replaced", "drain fixed"),
        ),
        "water_main": KindHazard(
            shape=1.4,
            scale_years=70.0,
            age_per_decade=0.25,
            per_prior_failure=0.3,
            frailty_sigma=0.6,
            categorical=_frozen(
                {
                    "material": {
                        "PVC": -0.4,
                        "ductile_iron": 0.0,
                        "asbestos_cement": 0.3,
                        "cast_iron": 0.6,
                    }
                }
            ),
            numeric=MappingProxyType({"length_m": (1.0, 100.0), "diameter_mm": (-0.3, 150.0)}),
            repair_median_days=1.5,
            inspection_years=None,
            causes=("circumferential break", "longitudinal split", "joint leak", "corrosion hole"),
            repairs=("repair clamp fitted", "pipe section replaced", "joint resealed"),
        ),
        "pump": KindHazard(
            shape=1.3,
            scale_years=3.5,
            age_per_decade=0.1,
            per_prior_failure=0.08,
            frailty_sigma=0.3,
            categorical=_frozen(
                {
                    "model": {
                        "Grundfos NK": 0.0,
                        "KSB Etanorm": -0.15,
                        "Flygt NP": 0.25,
                        "Wilo Atmos": 0.1,
                    }
                }
            ),
            numeric=MappingProxyType({"rated_flow_lps": (0.2, 50.0)}),
            repair_median_days=3.0,
            inspection_years=0.5,
            causes=("seal leak", "bearing failure", "motor trip", "impeller blockage"),
            repairs=(
                "mechanical seal replaced",
                "bearings replaced",
                "motor rewound",
                "impeller cleared",
            ),
        ),
        "transformer": KindHazard(
            shape=2.2,
            scale_years=45.0,
            age_per_decade=0.15,
            per_prior_failure=0.3,
            frailty_sigma=0.4,
            categorical=_frozen({"insulation": {"mineral_oil": 0.0, "ester": -0.3, "dry": 0.1}}),
            numeric=MappingProxyType({"load_factor": (2.0, 0.6)}),
            repair_median_days=5.0,
            inspection_years=1.0,
            causes=("bushing flashover", "oil leak", "winding fault", "tap changer fault"),
            repairs=(
                "bushing replaced",
                "gasket replaced",
                "unit exchanged",
                "tap changer serviced",
            ),
        ),
        "building": KindHazard(
            shape=1.2,
            scale_years=9.0,
            age_per_decade=0.1,
            per_prior_failure=0.05,
            frailty_sigma=0.35,
            categorical=_frozen(
                {"construction": {"masonry": 0.0, "concrete": -0.2, "timber": 0.3}}
            ),
            repair_median_days=7.0,
            inspection_years=4.0,
            causes=("heating failure", "roof leak", "lift breakdown", "fire alarm fault"),
            repairs=("boiler serviced", "roof patched", "lift repaired", "alarm panel replaced"),
        ),
    }
)


def log_frailty_shift(kind: str, attributes: Mapping[str, Any]) -> float:
    """The visible part of an asset's log frailty, from its attributes."""
    hz = HAZARDS[kind]
    shift = 0.0
    for name, table in hz.categorical.items():
        shift += table.get(str(attributes.get(name)), 0.0)
    for name, (coef, ref) in hz.numeric.items():
        value = attributes.get(name)
        if isinstance(value, int | float) and value > 0:
            shift += coef * float(np.log(value / ref))
    return shift


@dataclass(slots=True)
class HazardTruth:
    """The hidden per-asset quantities (never stored in the database)."""

    log_frailty: np.ndarray  # total log z
    hidden: np.ndarray  # σ·ε, the part no attribute explains


@dataclass(slots=True)
class Histories:
    """Simulated events, one entry per event, in flat arrays."""

    asset: np.ndarray  # asset index
    kind: list[str]  # install, inspection, failure, repair
    years_before: np.ndarray  # time before as_of
    detail: list[dict[str, Any]]
    down: np.ndarray  # per asset: True when its last failure is not repaired by as_of
    last_grade: np.ndarray  # per asset: condition grade at its latest inspection (0: none)
    truth: HazardTruth


def simulate(
    rng: np.random.Generator,
    kinds: Sequence[str],
    install_age_years: np.ndarray,
    attributes: Sequence[Mapping[str, Any]],
) -> Histories:
    """Draw every asset's failures, repairs and inspections from :data:`HAZARDS`."""
    n = len(kinds)
    params = [HAZARDS[k] for k in kinds]
    shape = np.array([h.shape for h in params])
    scale = np.array([h.scale_years for h in params])
    beta_age = np.array([h.age_per_decade for h in params])
    beta_prior = np.array([h.per_prior_failure for h in params])
    sigma = np.array([h.frailty_sigma for h in params])
    hidden = sigma * rng.standard_normal(n)
    log_z = hidden + np.array(
        [log_frailty_shift(k, a) for k, a in zip(kinds, attributes, strict=True)]
    )
    repair_median = np.array([h.repair_median_days for h in params])
    repair_sigma = np.array([h.repair_sigma for h in params])

    ev_asset: list[np.ndarray] = [np.arange(n)]
    ev_kind: list[str] = ["install"] * n
    ev_time: list[np.ndarray] = [install_age_years.copy()]
    ev_detail: list[dict[str, Any]] = [{} for _ in range(n)]
    # Renewals (install, then each repair): asset, years since install, multiplier.
    ren_asset, ren_age, ren_mult = [np.arange(n)], [np.zeros(n)], []
    failures = np.zeros(n, dtype=np.int64)
    clock = install_age_years.copy()  # years before as_of of the current renewal
    down = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    mult = np.exp(log_z)
    ren_mult.append(mult.copy())
    for _round in range(MAX_FAILURES):
        e = rng.exponential(size=n)
        repair_days = repair_median * np.exp(repair_sigma * rng.standard_normal(n))
        cause_pick = rng.random(n)
        if not active.any():
            break
        age = install_age_years - clock
        m = np.exp(log_z + beta_age * age / 10 + beta_prior * failures)
        fail_at = clock - scale * (e / m) ** (1 / shape)
        failed = active & (fail_at > 0)
        repair_at = fail_at - repair_days / 365.25
        repaired = failed & (repair_at > 0)
        down |= failed & ~repaired
        idx = np.flatnonzero(failed)
        ev_asset.append(idx)
        ev_time.append(fail_at[idx])
        ev_kind.extend(["failure"] * len(idx))
        ev_detail.extend(
            {"cause": _pick(params[i].causes, cause_pick[i]), "failure_no": int(failures[i]) + 1}
            for i in idx
        )
        idx = np.flatnonzero(repaired)
        ev_asset.append(idx)
        ev_time.append(repair_at[idx])
        ev_kind.extend(["repair"] * len(idx))
        ev_detail.extend(
            {
                "action": _pick(params[i].repairs, cause_pick[i]),
                "downtime_h": round(float(repair_days[i]) * 24, 1),
            }
            for i in idx
        )
        failures[repaired] += 1
        clock = np.where(repaired, repair_at, clock)
        ren_asset.append(idx)
        ren_age.append((install_age_years - repair_at)[idx])
        ren_mult.append(
            np.exp(log_z + beta_age * (install_age_years - repair_at) / 10 + beta_prior * failures)[
                idx
            ]
        )
        active = repaired

    insp_asset, insp_time, insp_grade = _inspections(
        rng, params, install_age_years, shape, scale, ren_asset, ren_age, ren_mult
    )
    ev_asset.append(insp_asset)
    ev_time.append(insp_time)
    ev_kind.extend(["inspection"] * len(insp_asset))
    ev_detail.extend({"condition": int(g)} for g in insp_grade)
    last_grade = np.zeros(n, dtype=np.int64)
    order = np.argsort(-insp_time, kind="stable")  # oldest first, so the latest wins
    last_grade[insp_asset[order]] = insp_grade[order]
    return Histories(
        asset=np.concatenate(ev_asset),
        kind=ev_kind,
        years_before=np.concatenate(ev_time),
        detail=ev_detail,
        down=down,
        last_grade=last_grade,
        truth=HazardTruth(log_frailty=log_z, hidden=hidden),
    )


def _pick(options: tuple[str, ...], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def _inspections(
    rng: np.random.Generator,
    params: Sequence[KindHazard],
    install_age: np.ndarray,
    shape: np.ndarray,
    scale: np.ndarray,
    ren_asset: list[np.ndarray],
    ren_age: list[np.ndarray],
    ren_mult: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periodic inspections with a condition grade that reads the current risk."""
    interval = np.array([h.inspection_years or 0.0 for h in params])
    has = interval > 0
    counts = np.where(has, np.floor(install_age / np.where(has, interval, 1.0)), 0).astype(np.int64)
    asset = np.repeat(np.arange(len(params)), counts)
    k = np.concatenate([np.arange(1, c + 1) for c in counts]) if counts.any() else np.zeros(0)
    jitter = rng.uniform(-0.08, 0.08, len(asset))
    since_install = np.clip((k + jitter) * interval[asset], 0.01, None)
    since_install = np.minimum(since_install, install_age[asset] - 1 / 365.25)
    keep = since_install > 0
    asset, since_install = asset[keep], since_install[keep]
    # The renewal in force at each inspection: sort renewals by (asset, age).
    r_asset = np.concatenate(ren_asset)
    r_age = np.concatenate(ren_age)
    r_mult = np.concatenate(ren_mult)
    span = float(install_age.max()) + 1.0
    r_key = r_asset * span + r_age
    order = np.argsort(r_key, kind="stable")
    r_key, r_age, r_mult = r_key[order], r_age[order], r_mult[order]
    pos = np.searchsorted(r_key, asset * span + since_install, side="right") - 1
    elapsed = np.clip(since_install - r_age[pos], 0.0, None)
    cum_hazard = r_mult[pos] * (elapsed / scale[asset]) ** shape[asset]
    score = 1 + 4 * (1 - np.exp(-cum_hazard)) + GRADE_NOISE * rng.standard_normal(len(asset))
    grade = np.clip(np.rint(score), 1, 5).astype(np.int64)
    return asset, install_age[asset] - since_install, grade
