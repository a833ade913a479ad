"""Numbers as reports print them: three decimals, intervals in brackets, a dash for none."""

from __future__ import annotations

import math


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals; an en dash when it is missing or not finite."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def ci_text(low: float | None, high: float | None, digits: int = 3) -> str:
    """``[low, high]``, or an empty string when either bound is missing."""
    if low is None or high is None or not (math.isfinite(float(low)) and math.isfinite(float(high))):
        return ""
    return f"[{float(low):.{digits}f}, {float(high):.{digits}f}]"
