"""P.exact: rows under test that are exact copies of training rows, against the
holdout's share of such copies. Its typed details (:class:`ExactDetails`) give the
verdict its memorisation signal."""

from __future__ import annotations

from dataclasses import dataclass

from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.base import Details, Measurement, metric
from safe_bench.metrics.privacy.shares import comparable, excess_score, share_measurement
from safe_bench.metrics.signals import Signal, VerdictRole
from safe_bench.metrics.stored import Stored


@dataclass(frozen=True)
class ExactDetails(Details):
    """Rows under test that copy a train row, of ``rows``, and the holdout's share of
    copies (fresh patients who repeat a training patient)."""

    copies: int
    rows: int
    holdout_share: float

    def to_dict(self) -> dict[str, object]:
        return {"copies": self.copies, "rows": self.rows, "holdout_share": self.holdout_share}

    @classmethod
    def read(cls, stored: Stored) -> ExactDetails:
        return cls(stored.whole("copies"), stored.whole("rows"), stored.number("holdout_share"))


def _copies_signal(details: ExactDetails, value: float, score: float) -> Signal | None:
    """More copies than fresh patients show: copied training patients."""
    if value <= details.holdout_share:
        return None
    return Signal(f"{value:.1%} of synthetic rows are exact copies of training patients "
                  f"({details.holdout_share:.1%} of fresh patients are)", near_copy=True)


@metric("P.exact", pillar="P", name="Exact copies of training rows", goal="minimize", requires=("holdout",),
        details=ExactDetails, verdict=VerdictRole("distance", _copies_signal))
def exact_matches(cmp: Comparison) -> Measurement:
    """Share ``s_Y`` of rows of the table under test identical to a train row, against
    the same share ``s_H`` of the holdout (real rows never trained on; on coarse data
    fresh patients repeat training patients too: 10 to 15 % of the holdout on the
    Rossi recidivism table at the 70/30 split). Score: the share of copies in excess
    of the holdout's over what was left to copy, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)`` (the residual-risk form of Giomi et al. 2023), so a table of copies scores
    0 whatever ``s_H`` is and one copying no more than fresh patients do scores 1.
    Interval: Wilson interval of ``s_Y`` mapped through the score."""
    comparable(cmp)
    copied = cmp.copies("synthetic", "train").astype(float)
    holdout_share = float(cmp.copies("holdout", "train").mean())
    return share_measurement(
        cmp,
        copied,
        lambda share: excess_score(share, holdout_share),
        ExactDetails(int(copied.sum()), len(copied), holdout_share).to_dict(),
    )
