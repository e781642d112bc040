"""Request rates over a request log: the busiest window and the average."""

from __future__ import annotations

import math
from collections.abc import Sequence


def highest_rate(times: Sequence[float], window_seconds: float) -> float:
    """The most of `times` inside one window [t, t + window_seconds), per second."""
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window_seconds:
            start += 1
        most = max(most, end - start + 1)
    return most / window_seconds


def average_rate(times: Sequence[float]) -> float:
    """Intervals between `times` per second of their span: 0.0 for fewer than two times,
    infinite for several at one instant."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else math.inf
