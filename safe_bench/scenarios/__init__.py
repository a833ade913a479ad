"""Use-case scenarios: is a synthetic cohort fit for a use that rests on inference?

A synthetic control arm (:mod:`~safe_bench.scenarios.control_arm`) and the augmentation
of a small cohort (:mod:`~safe_bench.scenarios.augmentation`) are judged by what a trial
statistician asks of them: type I error, power, coverage, bias and RMSE over Monte-Carlo
replicates, for the analysis done as if the synthetic rows were real and for analyses
that account for the synthesis (:mod:`~safe_bench.scenarios.inference`). The analyses
themselves are in :mod:`~safe_bench.scenarios.analysis`, the trial and the simulated
outcomes in :mod:`~safe_bench.scenarios.trial`.
"""
