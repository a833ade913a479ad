"""``mds_ipssr_sim``: a SIMULATED cohort of patients with myelodysplastic syndromes (MDS).

No row of this table is a real patient. It is drawn by :func:`simulate` (seeded; run
``python -c "from safe_bench.data.datasets.mds_ipssr_sim import write; write()"`` to rewrite
the shipped file, byte for byte) so that
its revised International Prognostic Scoring System (IPSS-R) risk groups follow the
published figures of Greenberg et al., "Revised International Prognostic Scoring System
for Myelodysplastic Syndromes", Blood 2012;120(12):2454-2465:

========================  ===========  ==========================
IPSS-R risk group          patients    median overall survival
========================  ===========  ==========================
very low   (score <= 1.5)     19 %        8.8 years
low        (1.5 - 3)          38 %        5.3 years
intermediate (3 - 4.5)        20 %        3.0 years
high       (4.5 - 6)          13 %        1.6 years
very high  (> 6)              10 %        0.8 years
========================  ===========  ==========================

How close the simulation is, and where it is only approximate:

- The risk-group shares are met exactly (up to rounding of n x share): patients are
  drawn until each group's quota is full.
- The median survival of each group equals the published one in the simulated event
  times before censoring; the Kaplan-Meier medians of the shipped (censored) table
  are within sampling error of it (a few percent).
- The cytogenetic categories are seeded from the shares reported for the IPSS-R
  cytogenetic groups (Schanz et al., J Clin Oncol 2012: very good ~4 %, good ~72 %,
  intermediate ~13 %, poor ~4 %, very poor ~7 %); the quota sampling on risk groups
  shifts them somewhat, so they are approximate.
- Everything else is a plausible assumption, not a published figure: the laws of
  hemoglobin, platelets, neutrophils (ANC) and marrow blasts and their correlation
  (one latent disease severity), age (median about 71 years, as the IPSS-R cohort) with
  a hazard ratio of 1.3 per decade, sex (about 60 % men, no effect on survival), and
  uniform censoring between 0.5 and 14 years.

Columns: ``age`` (years), ``sex``, ``hb`` (hemoglobin, g/dL), ``platelets`` (x10^9/L),
``anc`` (absolute neutrophil count, x10^9/L), ``blasts`` (bone-marrow blasts, %),
``cytogenetics`` (IPSS-R category), ``os_months`` (overall survival, months) and
``death`` (1 = died, 0 = censored). The schema declares the IPSS-R as prognostic score.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.data.datasets.registry import Dataset, register_dataset
from safe_bench.data.prognostic import PrognosticScore
from safe_bench.data.schema import Kind, Schema, Survival

N_ROWS = 6_000
SEED = 2012
FILE = "mds_ipssr_sim.csv.gz"

#: Greenberg et al. 2012: IPSS-R risk groups, their share of patients and median OS (years).
RISK_GROUPS = ("very low", "low", "intermediate", "high", "very high")
GROUP_SHARES = (0.19, 0.38, 0.20, 0.13, 0.10)
MEDIAN_SURVIVAL_YEARS = (8.8, 5.3, 3.0, 1.6, 0.8)
#: IPSS-R cytogenetic categories and the shares used to seed them (Schanz et al. 2012).
CYTOGENETICS = ("very good", "good", "intermediate", "poor", "very poor")
CYTOGENETIC_SHARES = (0.04, 0.72, 0.13, 0.04, 0.07)

#: The IPSS-R (Greenberg et al. 2012, Table 3): cytogenetics 0-4, marrow blasts 0-3
#: (<= 2 %, > 2 to < 5 %, 5-10 %, > 10 %), hemoglobin 0-1.5 (>= 10, 8 to < 10, < 8 g/dL),
#: platelets 0-1 (>= 100, 50 to < 100, < 50 x10^9/L), ANC 0-0.5 (>= 0.8, < 0.8 x10^9/L).
IPSS_R = PrognosticScore(
    "IPSS-R",
    "(cytogenetics == 'good') + 2 * (cytogenetics == 'intermediate') + 3 * (cytogenetics == 'poor')"
    " + 4 * (cytogenetics == 'very poor')"
    " + (blasts > 2) + (blasts >= 5) + (blasts > 10)"
    " + (hb < 10) + 0.5 * (hb < 8)"
    " + 0.5 * (platelets < 100) + 0.5 * (platelets < 50)"
    " + 0.5 * (anc < 0.8)",
    cuts=(1.5, 3.0, 4.5, 6.0),
    labels=RISK_GROUPS,
)

N, C, B = Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN
SCHEMA = Schema(
    kinds={"age": N, "sex": C, "hb": N, "platelets": N, "anc": N, "blasts": N,
           "cytogenetics": C, "os_months": N, "death": B},
    survival=Survival("os_months", "death"),
    groups=("cytogenetics", "sex"),
    sensitive=("cytogenetics", "death"),
    quasi_identifiers=("age", "sex"),
    scores=(IPSS_R,),
)


def _candidates(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Patients whose laboratory values share one latent disease severity."""
    severity = rng.standard_normal(n)

    def linked(rho: float) -> np.ndarray:
        return rho * severity + np.sqrt(1 - rho**2) * rng.standard_normal(n)

    cut = stats.norm.ppf(np.cumsum(CYTOGENETIC_SHARES)[:-1])
    cytogenetics = np.array(CYTOGENETICS, dtype=object)[np.searchsorted(cut, linked(0.5))]
    return pd.DataFrame(
        {
            "age": np.clip(np.round(rng.normal(71, 10, n)), 25, 95),
            "sex": np.where(rng.random(n) < 0.6, "M", "F"),
            "hb": np.clip(np.round(rng.normal(10.2, 1.6, n) - 0.9 * linked(0.6), 1), 4.5, 16.5),
            "platelets": np.clip(np.round(np.exp(np.log(140) + 0.7 * rng.standard_normal(n) - 0.5 * linked(0.6))), 3, 1000),
            "anc": np.clip(np.round(np.exp(np.log(1.9) + 0.7 * rng.standard_normal(n) - 0.4 * linked(0.6)), 2), 0.05, 15),
            "blasts": np.clip(np.round(np.exp(np.log(2.5) + 0.9 * linked(0.7)), 1), 0.0, 29.0),
            "cytogenetics": cytogenetics,
        }
    )


def simulate(n: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    """The simulated cohort: ``n`` patients, IPSS-R groups in the published shares and
    each group's median survival the published one (see the module docstring)."""
    rng = np.random.default_rng(seed)
    quotas = np.round(np.array(GROUP_SHARES) * n).astype(int)
    quotas[1] += n - quotas.sum()
    chosen: list[pd.DataFrame] = []
    filled = np.zeros(len(RISK_GROUPS), dtype=int)
    while (filled < quotas).any():
        batch = _candidates(4 * n, rng)
        group = IPSS_R.group_codes(batch)
        for g in range(len(RISK_GROUPS)):
            take = batch.loc[group == g].iloc[: quotas[g] - filled[g]]
            filled[g] += len(take)
            chosen.append(take.assign(_group=g))
    cohort = pd.concat(chosen).sample(frac=1.0, random_state=seed).reset_index(drop=True)

    # Weibull event times (shape 0.9), age hazard ratio 1.3 per decade; each group's
    # scale makes its median event time the published median.
    hazard = np.exp(np.log(1.3) * (cohort["age"].to_numpy() - 71) / 10)
    unit = (rng.exponential(size=n) / hazard) ** (1 / 0.9)
    years = np.empty(n)
    for g, median in enumerate(MEDIAN_SURVIVAL_YEARS):
        rows = cohort["_group"].to_numpy() == g
        years[rows] = unit[rows] * median / np.median(unit[rows])
    censor = rng.uniform(0.5, 14.0, size=n)
    cohort["os_months"] = np.maximum(np.round(np.minimum(years, censor) * 12, 1), 0.1)
    cohort["death"] = (years <= censor).astype(int)
    return cohort.drop(columns="_group")


@register_dataset("mds_ipssr_sim")
def mds_ipssr_sim() -> Dataset:
    with (resources.files("safe_bench.data.datasets") / "data" / FILE).open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip")
    return Dataset(
        "mds_ipssr_sim", frame, SCHEMA,
        "SIMULATED myelodysplastic-syndrome cohort (not real patients): 6,000 rows whose IPSS-R "
        "risk groups follow the published shares and median survivals; overall survival (months)",
        "Simulated (safe_bench.data.datasets.mds_ipssr_sim, seed 2012) from Greenberg et al., Blood 2012 "
        "(IPSS-R group shares and median survival); other laws are assumptions",
    )


def write(path: Path | None = None) -> Path:
    """Write the shipped file (gzip without a timestamp, so it is byte-reproducible)."""
    path = path or Path(__file__).parent / "data" / FILE
    simulate().to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    return path

