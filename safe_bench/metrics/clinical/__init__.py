"""Pillar C, clinical utility: does the clinical message drawn from train survive?

One module per metric: ``km``, ``logrank``, ``cox``, ``rmst``, ``censoring``, ``tstr``,
``risk_groups`` (C.score) and ``findings``. Engines: ``estimators`` (weighted survival
statistics on arrays), ``cohort`` (what the metrics share: the endpoint, tau, group
variables, curves) and ``coxmodel`` (the multivariable Cox model).
"""
