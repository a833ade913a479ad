"""Real survival cohorts shipped with scikit-survival, each with a curated schema."""

from __future__ import annotations

import pandas as pd

from safe_bench.data.claims import PrimaryEffect
from safe_bench.data.datasets.registry import Dataset, register_dataset
from safe_bench.data.prognostic import PrognosticScore
from safe_bench.data.schema import Kind, Schema, Survival

N, C, B = Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN


def _from_sksurv(loader_name: str, drop: tuple[str, ...] = (), **kwargs: object) -> pd.DataFrame:
    from sksurv import datasets

    X, y = getattr(datasets, loader_name)(**kwargs)
    frame = X.drop(columns=list(drop)).copy()
    event, time = y.dtype.names
    frame[time] = y[time].astype(float)
    frame[event] = y[event].astype(int)
    return frame.reset_index(drop=True)


#: The Nottingham Prognostic Index (Haybittle et al., Br J Cancer 1982; Galea et al., Breast
#: Cancer Res Treat 1992): 0.2 x tumour size in cm (GBSG2's tsize is in mm) + lymph-node
#: stage (0 nodes: 1, 1-3: 2, 4 or more: 3) + histological grade (1-3); risk groups
#: good (<= 3.4), moderate (3.4-5.4) and poor (> 5.4). GBSG2 is node-positive, so few
#: patients are "good".
NOTTINGHAM_PROGNOSTIC_INDEX = PrognosticScore(
    "NPI",
    "0.2 * tsize / 10 + (1 + (pnodes >= 1) + (pnodes >= 4))"
    " + ((tgrade == 'I') + 2 * (tgrade == 'II') + 3 * (tgrade == 'III'))",
    cuts=(3.4, 5.4),
    labels=("good", "moderate", "poor"),
)


@register_dataset("gbsg2")
def gbsg2() -> Dataset:
    frame = _from_sksurv("load_gbsg2")
    schema = Schema(
        kinds={"age": N, "estrec": N, "horTh": C, "menostat": C, "pnodes": N,
               "progrec": N, "tgrade": C, "tsize": N, "time": N, "cens": B},
        survival=Survival("time", "cens", unit="days"),
        groups=("horTh", "menostat", "tgrade"),
        sensitive=("tgrade", "pnodes", "cens"),
        quasi_identifiers=("age", "menostat", "tsize"),
        scores=(NOTTINGHAM_PROGNOSTIC_INDEX,),
        # hormone therapy was a factor of the trial's 2 x 2 design, but randomised for only
        # part of the patients (the others chose): not a randomised comparison here
        primary=PrimaryEffect("horTh", "yes"),
    )
    return Dataset(
        "gbsg2", frame, schema,
        "German Breast Cancer Study Group 2: 686 node-positive breast cancer patients, "
        "recurrence-free survival (days)",
        "Schumacher et al., J Clin Oncol 1994; via scikit-survival load_gbsg2",
    )


@register_dataset("whas500")
def whas500() -> Dataset:
    frame = _from_sksurv("load_whas500")
    binary = ("afb", "av3", "chf", "cvd", "gender", "miord", "mitype", "sho", "fstat")
    kinds = {c: (B if c in binary else N) for c in frame.columns}
    schema = Schema(
        kinds=kinds,
        survival=Survival("lenfol", "fstat", unit="days"),
        groups=("gender", "chf", "afb", "sho"),
        sensitive=("chf", "cvd", "afb"),
        quasi_identifiers=("age", "gender", "bmi"),
    )
    return Dataset(
        "whas500", frame, schema,
        "Worcester Heart Attack Study: 500 patients after acute myocardial infarction, "
        "all-cause survival (days)",
        "Hosmer, Lemeshow & May, Applied Survival Analysis 2008; via scikit-survival load_whas500",
    )


@register_dataset("flchain")
def flchain() -> Dataset:
    # `chapter` is the cause of death: it is only known for patients who died and would
    # leak the outcome, so it is dropped.
    frame = _from_sksurv("load_flchain", drop=("chapter",))
    # Three patients died on the day of sampling (time 0); survival times must be
    # positive, so they are set to half a day.
    frame.loc[frame["futime"] <= 0, "futime"] = 0.5
    schema = Schema(
        kinds={"age": N, "creatinine": N, "flc.grp": C, "kappa": N, "lambda": N,
               "mgus": C, "sample.yr": C, "sex": C, "futime": N, "death": B},
        survival=Survival("futime", "death", unit="days"),
        groups=("sex", "mgus", "flc.grp"),
        sensitive=("mgus", "creatinine"),
        quasi_identifiers=("age", "sex", "sample.yr"),
        # the study's exposure: the serum free light chain (lambda: the stronger of the two)
        primary=PrimaryEffect("lambda"),
    )
    return Dataset(
        "flchain", frame, schema,
        "Serum free light chains, Olmsted County: 7,874 residents, all-cause survival "
        "(days); `chapter` (cause of death) dropped, 3 zero times set to 0.5 day",
        "Dispenzieri et al., Mayo Clin Proc 2012; via scikit-survival load_flchain",
    )


@register_dataset("aids")
def aids() -> Dataset:
    # `txgrp` (4 arms) determines `tx` (indinavir yes/no); keeping both makes the Cox
    # design singular, so the randomised comparison `tx` is kept.
    frame = _from_sksurv("load_aids", drop=("txgrp",), endpoint="aids")
    schema = Schema(
        kinds={"age": N, "cd4": N, "hemophil": C, "ivdrug": C, "karnof": C, "priorzdv": N,
               "raceth": C, "sex": C, "strat2": C, "tx": C, "time": N, "censor": B},
        survival=Survival("time", "censor", unit="days"),
        groups=("tx", "strat2", "ivdrug"),
        sensitive=("ivdrug", "hemophil"),
        quasi_identifiers=("age", "sex", "raceth"),
        primary=PrimaryEffect("tx", "1"),  # the randomised treatment: indinavir
    )
    return Dataset(
        "aids", frame, schema,
        "ACTG 320 trial: 1,151 HIV patients randomised to indinavir or not, time to AIDS "
        "or death (days); `txgrp` dropped (it determines `tx`)",
        "Hammer et al., N Engl J Med 1997; via scikit-survival load_aids",
        randomised=True,
    )


@register_dataset("veterans")
def veterans() -> Dataset:
    frame = _from_sksurv("load_veterans_lung_cancer")
    schema = Schema(
        kinds={"Age_in_years": N, "Celltype": C, "Karnofsky_score": N,
               "Months_from_Diagnosis": N, "Prior_therapy": C, "Treatment": C,
               "Survival_in_days": N, "Status": B},
        survival=Survival("Survival_in_days", "Status", unit="days"),
        groups=("Celltype", "Treatment", "Prior_therapy"),
        sensitive=("Celltype",),
        quasi_identifiers=("Age_in_years", "Treatment"),
        primary=PrimaryEffect("Treatment", "test"),  # the randomised treatment
    )
    return Dataset(
        "veterans", frame, schema,
        "Veterans' Administration lung cancer trial: 137 patients, standard vs test "
        "chemotherapy, survival (days)",
        "Kalbfleisch & Prentice 1980; via scikit-survival load_veterans_lung_cancer",
        randomised=True,
    )
