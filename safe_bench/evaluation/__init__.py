"""Evaluation: one synthetic table judged against train and holdout.

``evaluate`` runs the metrics and writes the result; ``comparison`` holds what the metrics
share for one evaluation (the tables, their encodings, one cache); ``encoding`` turns
mixed columns into numbers for distances; ``uncertainty`` gives every metric its
interval and its real-vs-real scale; ``scoring`` makes pillars and SAFE from the metrics;
``known_answers`` builds tables of known character the scores must order.
"""
