"""Data: what a table is and where it comes from, before anything is measured.

``schema`` (column kinds, roles, the survival endpoint, declared scores and findings),
``prognostic`` (the expression language of prognostic scores), ``claims`` (the clinical
findings and primary effect a schema declares), ``validation`` (a table checked against its
schema, with errors naming the input and the column), ``io`` (CSV and Parquet),
``datasets`` (the bundled cohorts) and ``protocol`` (the train/holdout split).
"""
