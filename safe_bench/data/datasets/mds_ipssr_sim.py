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

and that its mutations and survival follow the molecular IPSS (IPSS-M) of Bernard et al.,
"Molecular International Prognostic Scoring System for Myelodysplastic Syndromes",
NEJM Evidence 2022;1(7):EVIDoa2200008. The IPSS-M model -- its weights (log hazard
ratios), the reference (mean) values of its variables, the SF3B1^5q / SF3B1^alpha and
TP53 multi-hit definitions, the residual genes and the cuts -1.5, -0.5, 0, 0.5, 1.5 -- is
taken from the authors' calculator, papaemmelab/ipssm on GitHub (R/IPSSMmain.R and
R/IPSSMprocess.R; the same numbers in papaemmelab/ipssm-api, src/utils/betasRiskScore.ts).
The category shares and median survivals are those of the paper's 2,701 scored patients,
recomputed (Kaplan-Meier) from the authors' released data, papaemmelab/IPSSMstudy
(data/df_clinical.tsv, df_mut.tsv, df_cna.tsv):

===============  ========  =====================  ======================
IPSS-M category   score    patients (published)   median OS (published)
===============  ========  =====================  ======================
very low          <= -1.5        14 %                  10.6 years
low              -1.5 - -0.5     33 %                   6.0 years
moderate low     -0.5 - 0        11 %                   4.6 years
moderate high     0 - 0.5        10 %                   2.8 years
high              0.5 - 1.5      14 %                   1.7 years
very high         > 1.5          17 %                   1.0 years
===============  ========  =====================  ======================

The schema's IPSS-M expression, applied to the 2,701 scored patients of the released data,
gives the released score (rounded to two decimals) for 99.8 % of them and the same category
for 99.4 % (the rest: a karyotype with del(5q) that these columns cannot tell apart, and
scores within 0.005 of a cut).

The IPSS-M score is sum_j beta_j (x_j - mean_j) / log(2) over hemoglobin (clipped to
4-20 g/dL), platelets (min(platelets, 250) / 100), marrow blasts (min(blasts, 20) / 5),
the IPSS-R cytogenetic category as 0-4, and the genes below; the calculator rounds the
score to two decimals before cutting, the schema's expression does not (a patient within
0.005 of a cut may fall in the neighbouring category).

=================  ==========  ==============  ==================================
IPSS-M variable     beta        mean (model)    column(s)
=================  ==========  ==============  ==================================
hemoglobin          -0.171        9.87          ``hb``
platelets           -0.222        1.41          ``platelets``
marrow blasts        0.352        0.922         ``blasts``
cytogenetics         0.287        1.39          ``cytogenetics``
TP53 multi-hit       1.18         0.0710        ``TP53_multihit``
MLL-PTD              0.798        0.0247        ``MLL_PTD``
FLT3 (ITD or TKD)    0.798        0.0108        ``FLT3``
SF3B1^5q             0.504        0.0166        ``SF3B1``, ``del5q``, ``cytogenetics``
NPM1                 0.430        0.0112        ``NPM1``
RUNX1                0.423        0.126         ``RUNX1``
NRAS                 0.417        0.0362        ``NRAS``
ETV6                 0.391        0.0216        ``ETV6``
IDH2                 0.379        0.0429        ``IDH2``
CBL                  0.295        0.0473        ``CBL``
EZH2                 0.270        0.0588        ``EZH2``
U2AF1                0.247        0.0866        ``U2AF1``
SRSF2                0.239        0.158         ``SRSF2``
DNMT3A               0.221        0.161         ``DNMT3A``
ASXL1                0.213        0.252         ``ASXL1``
KRAS                 0.202        0.0271        ``KRAS``
SF3B1^alpha         -0.0794       0.186         ``SF3B1`` and the genes it excludes
Nres2                0.231        0.388         ``STAG2``, ``BCOR``, ``BCORL1``,
                                                ``residual_other``
=================  ==========  ==============  ==================================

SF3B1^5q is SF3B1 mutated with del(5q) and neither -7/del(7q) nor a complex karyotype (here:
``del5q`` with good or intermediate cytogenetics); SF3B1^alpha is SF3B1 mutated, not
SF3B1^5q, and none of SRSF2, STAG2, BCOR, BCORL1, RUNX1, NRAS mutated. Nres2 is
min(number of mutated residual genes, 2) over BCOR, BCORL1, CEBPA, ETNK1, GATA2, GNB1, IDH1,
NF1, PHF6, PPM1D, PRPF8, PTPN11, SETBP1, STAG2, WT1; STAG2, BCOR and BCORL1 have columns of
their own (SF3B1^alpha reads them), ``residual_other`` is min(number of the other twelve
mutated, 2), so Nres2 = min(STAG2 + BCOR + BCORL1 + residual_other, 2).

How close the simulation is, and where it is only approximate:

- The IPSS-R risk-group shares are met exactly (up to rounding of n x share): patients are
  drawn until each group's quota is full.
- The median survival of each IPSS-R group equals the published one in the simulated event
  times before censoring; the Kaplan-Meier medians of the shipped (censored) table
  are within sampling error of it (a few percent).
- Each gene's frequency is met exactly (up to rounding of n x frequency): the IPSS-M
  model's mean for the main genes, the frequency in the IPSS-M study's data for SF3B1
  (24.1 %), STAG2 (8.8 %), BCOR (5.0 %), BCORL1 (1.4 %) and for one or more of the other
  twelve residual genes (21.2 %, two or more 3.0 %). A gene's carriers are the patients
  with the largest logistic propensity plus logistic noise, which is a logistic model
  whose intercept is set by the frequency. The slopes (on marrow blasts, hemoglobin,
  log platelets, the cytogenetic category and del(5q)) are logistic regressions fitted to
  the IPSS-M study's data (rounded): e.g. TP53 multi-hit with very poor cytogenetics and
  del(5q), SF3B1 with low blasts and high platelets, RUNX1, ASXL1, NRAS, STAG2 and NPM1 with
  higher blasts. SF3B1's fitted slope on del(5q) (-0.90, carried by complex karyotypes,
  which its very-poor slope already covers) is set to 0 so that SF3B1^5q comes out near the
  model's mean. Genes are independent given these clinical values, except that SRSF2 and
  U2AF1 avoid SF3B1 (splicing-factor mutations are mutually exclusive: a logistic slope of
  -3 on SF3B1, an assumed size); other co-mutation (e.g. SRSF2 with IDH2) is not
  modelled. SF3B1^5q, SF3B1^alpha and Nres2 follow from the columns, so their means are
  near the model's (0.0166, 0.186, 0.388: here 0.0185, 0.172, 0.386), not equal to them.
- del(5q) is drawn by cytogenetic category with the study's rates (good 10 %,
  intermediate 5 %, poor 18 %, very poor 77 %, very good none).
- Survival follows the IPSS-M's genes within the IPSS-R calibration: the hazard of a
  patient is the Weibull (shape 0.9) baseline of their IPSS-R group times
  exp(sum_j beta_j x_j) over the genetic IPSS-M variables (TP53 multi-hit to Nres2, the
  IPSS-M betas) and age (hazard ratio 1.3 per decade); each IPSS-R group's times are then
  scaled so its median is the published one, which multiplies the group's hazard by a
  constant. So the genes' betas are their log hazard ratios exactly, conditional on the
  clinical variables through the IPSS-R group (a Cox model stratified by IPSS-R group,
  with the genetic IPSS-M variables and age, recovers them). The clinical variables act
  through the IPSS-R groups' medians, not through the IPSS-M's clinical betas (adding
  those within groups would count the clinical risk twice and spread the IPSS-M
  categories' medians too far: very low 13.4, very high 0.67 years).
- The IPSS-M categories' shares and median survivals therefore come out near the
  published ones, not equal to them. In the shipped table: shares 12.9, 31.6, 16.0,
  11.7, 13.5, 14.3 % (published 14, 33, 11, 10, 14, 17 %) and Kaplan-Meier medians
  10.0, 6.4, 4.6, 2.9, 2.1, 0.78 years (published 10.6, 6.0, 4.6, 2.8, 1.7, 1.0). The
  extreme categories are furthest: they inherit the IPSS-R groups' medians, which are
  Greenberg's (very high 0.8 years), not those of the IPSS-M cohort.
- ``site``: three centres of different size and case mix (not published figures):
  centre A, a referral centre (about half the patients) with more higher-risk IPSS-R
  groups; centre B with older patients; centre C, a small one. Site has no effect on
  survival beyond its case mix.
- Everything else is a plausible assumption, not a published figure: the laws of
  hemoglobin, platelets, neutrophils (ANC) and marrow blasts and their correlation
  (one latent disease severity), age (median about 71 years, as the IPSS-R cohort),
  sex (about 60 % men, no effect on survival), uniform censoring between 0.5 and 14
  years, and the cytogenetic categories seeded from the shares reported for the IPSS-R
  cytogenetic groups (Schanz et al., J Clin Oncol 2012: very good ~4 %, good ~72 %,
  intermediate ~13 %, poor ~4 %, very poor ~7 %), which the quota sampling on risk groups
  shifts somewhat.

Columns: ``age`` (years), ``sex``, ``hb`` (hemoglobin, g/dL), ``platelets`` (x10^9/L),
``anc`` (absolute neutrophil count, x10^9/L), ``blasts`` (bone-marrow blasts, %),
``cytogenetics`` (IPSS-R category), ``del5q`` (1 = del(5q) in the karyotype), the mutation
indicators (1 = mutated) ``TP53_multihit``, ``MLL_PTD``, ``FLT3``, ``SF3B1``, ``NPM1``,
``RUNX1``, ``NRAS``, ``ETV6``, ``IDH2``, ``CBL``, ``EZH2``, ``U2AF1``, ``SRSF2``, ``DNMT3A``,
``ASXL1``, ``KRAS``, ``STAG2``, ``BCOR``, ``BCORL1``, ``residual_other`` (0, 1, 2 = two or
more), ``site`` (centre), ``os_months`` (overall survival, months) and ``death`` (1 = died,
0 = censored). The schema declares the IPSS-R and the IPSS-M as prognostic scores, ``site``
as the site, and two column blocks: ``clinical`` (age to del5q) and ``genomic`` (the
mutation columns).
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

#: Bernard et al. 2022 (papaemmelab/ipssm, R/IPSSMmain.R): each IPSS-M variable's weight
#: (log hazard ratio) and reference mean, in the model's order; the name is the model's.
IPSS_M_BETAS = {
    "HB1": (-0.171, 9.87), "TRANSF_PLT100": (-0.222, 1.41), "BLAST5": (0.352, 0.922), "CYTOVEC": (0.287, 1.39),
    "TP53multi": (1.18, 0.0710), "FLT3": (0.798, 0.0108), "MLL_PTD": (0.798, 0.0247), "SF3B1_5q": (0.504, 0.0166),
    "NPM1": (0.430, 0.0112), "RUNX1": (0.423, 0.126), "NRAS": (0.417, 0.0362), "ETV6": (0.391, 0.0216),
    "IDH2": (0.379, 0.0429), "CBL": (0.295, 0.0473), "EZH2": (0.270, 0.0588), "U2AF1": (0.247, 0.0866),
    "SRSF2": (0.239, 0.158), "DNMT3A": (0.221, 0.161), "ASXL1": (0.213, 0.252), "KRAS": (0.202, 0.0271),
    "SF3B1_alpha": (-0.0794, 0.186), "Nres2": (0.231, 0.388),
}
IPSS_M_CUTS = (-1.5, -0.5, 0.0, 0.5, 1.5)
IPSS_M_CATEGORIES = ("very low", "low", "moderate low", "moderate high", "high", "very high")
#: Shares and median OS (years) of the IPSS-M categories among the paper's 2,701 scored
#: patients (recomputed from papaemmelab/IPSSMstudy: 14.1, 32.9, 11.2, 10.4, 14.0, 17.4 %;
#: Kaplan-Meier medians 10.62, 6.03, 4.57, 2.85, 1.70, 1.02 years).
IPSS_M_SHARES = (0.14, 0.33, 0.11, 0.10, 0.14, 0.17)
IPSS_M_MEDIAN_SURVIVAL_YEARS = (10.6, 6.0, 4.6, 2.8, 1.7, 1.0)

_CYTOVEC = ("(cytogenetics == 'good') + 2 * (cytogenetics == 'intermediate') + 3 * (cytogenetics == 'poor')"
            " + 4 * (cytogenetics == 'very poor')")
_SF3B1_5Q = "(SF3B1 == 1 and del5q == 1 and (cytogenetics == 'good' or cytogenetics == 'intermediate'))"
#: Each IPSS-M variable as an expression over this table's columns.
IPSS_M_VARIABLES = {
    "HB1": "min(max(hb, 4), 20)",
    "TRANSF_PLT100": "min(platelets, 250) / 100",
    "BLAST5": "min(blasts, 20) / 5",
    "CYTOVEC": f"({_CYTOVEC})",
    "TP53multi": "TP53_multihit", "FLT3": "FLT3", "MLL_PTD": "MLL_PTD",
    "SF3B1_5q": _SF3B1_5Q,
    "NPM1": "NPM1", "RUNX1": "RUNX1", "NRAS": "NRAS", "ETV6": "ETV6", "IDH2": "IDH2", "CBL": "CBL",
    "EZH2": "EZH2", "U2AF1": "U2AF1", "SRSF2": "SRSF2", "DNMT3A": "DNMT3A", "ASXL1": "ASXL1", "KRAS": "KRAS",
    "SF3B1_alpha": f"(SF3B1 == 1 and not {_SF3B1_5Q} and SRSF2 == 0 and STAG2 == 0 and BCOR == 0"
                   " and BCORL1 == 0 and RUNX1 == 0 and NRAS == 0)",
    "Nres2": "min(STAG2 + BCOR + BCORL1 + residual_other, 2)",
}


def _ipss_m_expression(variables: tuple[str, ...]) -> str:
    terms = []
    for name in variables:
        beta, mean = IPSS_M_BETAS[name]
        terms.append(f"{beta} * ({IPSS_M_VARIABLES[name]} - {mean})")
    return "(" + "\n + ".join(terms) + ") / log(2)"


#: The IPSS-M (Bernard et al. 2022): sum_j beta_j (x_j - mean_j) / log(2), cut at
#: -1.5, -0.5, 0, 0.5, 1.5 (right-closed, as the calculator's cut()).
IPSS_M = PrognosticScore("IPSS-M", _ipss_m_expression(tuple(IPSS_M_BETAS)), cuts=IPSS_M_CUTS,
                         labels=IPSS_M_CATEGORIES)

#: The genetic part of the IPSS-M (its variables other than the four clinical ones).
_GENETIC = PrognosticScore("IPSS-M genes", _ipss_m_expression(tuple(IPSS_M_BETAS)[4:]), cuts=(0.0,), labels=("a", "b"))

#: The mutation columns, in the table's order.
GENES = ("TP53_multihit", "MLL_PTD", "FLT3", "SF3B1", "NPM1", "RUNX1", "NRAS", "ETV6", "IDH2", "CBL",
         "EZH2", "U2AF1", "SRSF2", "DNMT3A", "ASXL1", "KRAS", "STAG2", "BCOR", "BCORL1")
#: Frequency of each gene: the IPSS-M model's mean for its main genes, the IPSS-M study's
#: data for SF3B1, STAG2, BCOR, BCORL1 (which the model does not use on their own).
GENE_FREQUENCIES = {
    "TP53_multihit": 0.0710, "MLL_PTD": 0.0247, "FLT3": 0.0108, "SF3B1": 0.241, "NPM1": 0.0112,
    "RUNX1": 0.126, "NRAS": 0.0362, "ETV6": 0.0216, "IDH2": 0.0429, "CBL": 0.0473, "EZH2": 0.0588,
    "U2AF1": 0.0866, "SRSF2": 0.158, "DNMT3A": 0.161, "ASXL1": 0.252, "KRAS": 0.0271,
    "STAG2": 0.088, "BCOR": 0.050, "BCORL1": 0.014,
}
#: One or more / two or more of the twelve other residual genes mutated (IPSS-M study's data).
RESIDUAL_OTHER_FREQUENCIES = (0.212, 0.030)
#: Logistic slopes of each gene (and of one or more other residual genes) on
#: min(blasts, 20) / 5, hb - 10, log(platelets / 100), cytogenetics very good, intermediate,
#: poor, very poor (against good) and del5q: fitted to the IPSS-M study's data, rounded.
_SLOPES = {
    "TP53_multihit": (0.25, 0.06, -0.69, -0.46, 0.16, 1.69, 4.04, 3.02),
    "MLL_PTD": (0.55, -0.10, -0.22, 0.00, 0.08, -0.82, -0.70, -0.36),
    "FLT3": (0.66, -0.22, -0.04, -0.46, -0.22, 0.11, -1.03, -0.57),
    "SF3B1": (-0.39, -0.22, 1.21, 0.41, -0.24, -0.40, -1.13, 0.00),  # del5q: fitted -0.90, see below
    "NPM1": (0.82, -0.20, -0.35, -0.48, -0.51, -0.90, -0.82, -1.55),
    "RUNX1": (0.46, -0.04, -0.43, -0.71, 0.07, 0.28, -1.06, -1.45),
    "NRAS": (0.42, 0.03, -0.46, 0.06, 0.16, 0.71, -1.03, -0.43),
    "ETV6": (0.12, -0.10, -0.24, -0.26, 1.00, 1.78, -0.07, -1.14),
    "IDH2": (0.66, 0.08, 0.23, -0.59, 0.13, -0.83, -1.63, -0.54),
    "CBL": (0.07, -0.07, -0.10, 0.30, 0.41, 0.09, -0.04, -1.18),
    "EZH2": (0.00, -0.16, 0.07, -0.34, 0.84, 0.39, 0.46, -0.99),
    "U2AF1": (-0.01, -0.11, -0.26, 0.10, 0.31, 0.94, -0.14, -1.27),
    "SRSF2": (0.31, 0.15, -0.39, -0.84, 0.19, -0.32, -1.75, -2.06),
    "DNMT3A": (0.06, -0.06, 0.19, -0.71, -0.14, -0.08, -0.26, 0.04),
    "ASXL1": (0.36, -0.12, -0.06, -0.67, 0.29, -0.16, -1.98, -1.11),
    "KRAS": (0.29, 0.15, -0.53, 0.85, 0.07, 0.60, -0.80, -1.24),
    "STAG2": (0.75, -0.18, -0.11, -0.27, 0.29, -1.16, -1.89, -1.74),
    "BCOR": (0.44, -0.21, -0.49, -0.91, -0.20, -0.26, -1.98, -0.68),
    "BCORL1": (0.31, -0.15, -0.23, -0.53, 0.12, -0.12, 0.05, -0.04),
    "residual_other": (0.41, -0.01, -0.09, 0.30, 0.40, 0.86, -0.12, -0.37),
}
#: Splicing-factor mutations exclude one another (Papaemmanuil et al., Blood 2013): SRSF2 and
#: U2AF1 get this logistic slope on SF3B1 (an assumption of size, not a fitted value).
SPLICING_EXCLUSION = -3.0
#: del(5q) by cytogenetic category (IPSS-M study's data).
DEL5Q_RATES = {"very good": 0.0, "good": 0.10, "intermediate": 0.054, "poor": 0.18, "very poor": 0.77}
#: Weibull shape of the event times; age hazard ratio per decade (assumptions).
WEIBULL_SHAPE = 0.9
AGE_HR_PER_DECADE = 1.3
SITES = ("centre A", "centre B", "centre C")

N, C, B = Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN
CLINICAL = ("age", "sex", "hb", "platelets", "anc", "blasts", "cytogenetics", "del5q")
GENOMIC = (*GENES, "residual_other")
SCHEMA = Schema(
    kinds={"age": N, "sex": C, "hb": N, "platelets": N, "anc": N, "blasts": N, "cytogenetics": C,
           "del5q": B, **dict.fromkeys(GENES, B), "residual_other": N, "site": C,
           "os_months": N, "death": B},
    survival=Survival("os_months", "death", unit="months"),
    groups=("cytogenetics", "sex"),
    sensitive=("cytogenetics", "death"),
    quasi_identifiers=("age", "sex"),
    site="site",
    scores=(IPSS_R, IPSS_M),
    blocks={"clinical": CLINICAL, "genomic": GENOMIC},
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


def _carriers(propensity: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``count`` carriers: the largest propensity + logistic noise (a logistic model
    whose intercept is set by the count)."""
    noisy = propensity + rng.logistic(size=len(propensity))
    chosen = np.zeros(len(propensity), dtype=int)
    chosen[np.argsort(-noisy, kind="stable")[:count]] = 1
    return chosen


def _genomics(cohort: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """del(5q) and the mutation columns of the chosen patients (see the module docstring)."""
    n = len(cohort)
    cyto = cohort["cytogenetics"].to_numpy()
    del5q = (rng.random(n) < np.array([DEL5Q_RATES[c] for c in cyto])).astype(int)
    features = np.column_stack([
        np.minimum(cohort["blasts"].to_numpy(), 20) / 5,
        cohort["hb"].to_numpy() - 10,
        np.log(cohort["platelets"].to_numpy() / 100),
        *[(cyto == c).astype(float) for c in ("very good", "intermediate", "poor", "very poor")],
        del5q,
    ])
    out = {"del5q": del5q}
    for gene in GENES:
        propensity = features @ np.array(_SLOPES[gene])
        if gene in ("SRSF2", "U2AF1"):
            propensity = propensity + SPLICING_EXCLUSION * out["SF3B1"]
        out[gene] = _carriers(propensity, round(GENE_FREQUENCIES[gene] * n), rng)
    any_other = _carriers(features @ np.array(_SLOPES["residual_other"]), round(RESIDUAL_OTHER_FREQUENCIES[0] * n), rng)
    second = np.zeros(n, dtype=int)
    holders = np.flatnonzero(any_other)
    second[rng.permutation(holders)[: round(RESIDUAL_OTHER_FREQUENCIES[1] * n)]] = 1
    out["residual_other"] = any_other + second
    return pd.DataFrame(out, index=cohort.index)


def _sites(cohort: pd.DataFrame, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Centre A refers higher-risk patients, centre B sees older ones, centre C is small."""
    age = cohort["age"].to_numpy()
    logits = np.column_stack([
        0.55 * (group - 1.5),
        -0.35 + 0.06 * (age - 71),
        np.full(len(cohort), -0.95),
    ])
    pick = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return np.array(SITES, dtype=object)[pick]


def simulate(n: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    """The simulated cohort: ``n`` patients, IPSS-R groups in the published shares, each
    group's median survival the published one, the IPSS-M genes in their published
    frequencies with the IPSS-M hazard effects (see the module docstring)."""
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
    # The genes and the site come from a stream of their own, so the clinical columns
    # and the survival draws below are those of the cohort without genes.
    extra = np.random.default_rng([seed, 1])
    cohort = pd.concat([cohort, _genomics(cohort, extra)], axis=1)
    group = cohort["_group"].to_numpy()
    cohort["site"] = _sites(cohort, group, extra)

    # Weibull event times: the IPSS-M linear predictor (its betas as log hazard ratios)
    # and age; each IPSS-R group's scale makes its median event time the published median.
    log_hazard = _GENETIC.values(cohort) * np.log(2) + np.log(AGE_HR_PER_DECADE) * (cohort["age"].to_numpy() - 71) / 10
    unit = (rng.exponential(size=n) / np.exp(log_hazard)) ** (1 / WEIBULL_SHAPE)
    years = np.empty(n)
    for g, median in enumerate(MEDIAN_SURVIVAL_YEARS):
        rows = group == g
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
        "risk groups follow the published shares and median survivals, with the IPSS-M genes in their "
        "published frequencies and hazard effects and three centres; overall survival (months)",
        "Simulated (safe_bench.data.datasets.mds_ipssr_sim, seed 2012) from Greenberg et al., Blood 2012 "
        "(IPSS-R group shares and median survival) and Bernard et al., NEJM Evidence 2022 (IPSS-M model, "
        "gene frequencies); other laws are assumptions",
        simulated=True,
    )


def write(path: Path | None = None) -> Path:
    """Write the shipped file (gzip without a timestamp, so it is byte-reproducible)."""
    path = path or Path(__file__).parent / "data" / FILE
    simulate().to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    return path
