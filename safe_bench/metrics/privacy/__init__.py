"""Pillar P, privacy preservation: does the synthetic table leak the training patients?

Every P metric compares the table under test with the holdout (real rows never trained
on): what fresh patients show is the level the table is held to. Like every metric,
each is also computed with real holdout rows in place of the synthetic table (the
reference).

Metrics: ``copies`` (P.exact), ``distances`` (P.dcr_share, P.dcr_p5, P.nndr,
P.leakage), ``membership`` (P.mia) and ``anonymeter`` (P.attribute, P.linkability,
P.singling_out).

Engines: ``neighbours`` (exact nearest-neighbour distances between tables in the
train-fitted encoding, searched once per evaluation and cached), ``attacks`` (singling
out, linkability and attribute inference, after Giomi et al. 2023) and ``shares`` (a
share of rows under test against the fresh patients' share); ``verdict`` reads the P
metrics together in plain words.
"""
