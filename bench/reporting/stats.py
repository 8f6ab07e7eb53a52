"""Percentiles, formatting, capacity units and sequential round trips."""

import math

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, round((len(s) - 1) * p)))]


def p50(v):
    return pct(v, 0.5)


def p99(v):
    return pct(v, 0.99)


def fmt(x, d=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{d}f}"


def units(operation, consumed):
    """(read, write, total, reported) capacity units of one call. DynamoDB
    Local gives only `CapacityUnits`: a call's units are read units for the
    read operations and write units for the others."""
    items = consumed if isinstance(consumed, list) else ([consumed] if consumed else [])
    t = sum((c.get("CapacityUnits", 0.0) or 0.0) for c in items)
    return (t, 0.0, t, bool(items)) if operation in READS else (0.0, t, t, bool(items))


def sequential(calls):
    """Sequential round trips: the longest chain of calls in which each
    started after the one before it had its answer. Calls issued together
    (their spans overlap) are one step, like the items of one BatchGetItem.
    Without the spans (an older driver), every call is a step."""
    if not calls or any("start_ms" not in c for c in calls):
        return len(calls)
    cs = sorted(calls, key=lambda c: c["start_ms"])
    depth = []
    for i, c in enumerate(cs):
        before = [depth[j] for j in range(i) if cs[j]["end_ms"] <= c["start_ms"]]
        depth.append(1 + max(before, default=0))
    return max(depth)


def steps(calls):
    """The calls grouped into their sequential steps, for the table:
    `GetItem ∥ Query → Tx(3)`."""
    if not calls:
        return []
    if any("start_ms" not in c for c in calls):
        return [[c] for c in calls]
    cs = sorted(calls, key=lambda c: c["start_ms"])
    depth = []
    for i, c in enumerate(cs):
        before = [depth[j] for j in range(i) if cs[j]["end_ms"] <= c["start_ms"]]
        depth.append(1 + max(before, default=0))
    out = [[] for _ in range(max(depth))]
    for c, d in zip(cs, depth):
        out[d - 1].append(c)
    return out
