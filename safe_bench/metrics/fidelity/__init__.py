"""Pillar S, statistical fidelity: do the marginals,
associations and joint distribution of the table under test match train's?

Every statistic compares train with the table under test (the synthetic table, or the
holdout for the real-vs-real reference); every transform it uses (category lists,
scales, bins) is fitted on train (:mod:`safe_bench.evaluation.encoding`). Datetimes are
compared as numbers (days), booleans as categories. A missing value is a value of its
own: S.missing compares missing rates, categorical statistics count *missing* (and
*never seen in train*) as categories, and the numeric statistics that cannot use a
missing number (S.ks, S.range, Pearson and the correlation ratio in S.pairs) leave those
cells out and say how many in their details.

Metrics, by what they compare: ``marginals`` (S.ks, S.tv, S.missing, S.range: one
column at a time), ``pairs`` (S.pairs, S.kway: several columns together),
``detection`` (S.detect) and ``prdc`` (S.prdc): the joint distribution, on seeded
subsamples (``subsample``).

Engines: ``counts`` (the count-matrix bootstrap: a resample is a vector of row counts,
so every replicate's sums are one matrix product, in one vectorised pass over the
evaluation's shared resamples), ``columnwise`` (per-column statistics to one
measurement, judged against real sampling), ``kolmogorov`` (the vectorised KS
replicates) and ``associations`` (Pearson, correlation ratio, Cramér's V).
"""
