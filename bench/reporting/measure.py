"""The run's raw samples (results.json) turned into the measurements the
targets and sections read: one dict, `M`."""

import io
import os
import zipfile

from .stats import p50, p99, pct, sequential, steps, units

MIB = 1024 * 1024
FUNCTIONS = ["set-pin", "submit-port-out", "carrier-webhook", "status-check"]
# Every function; the notifier has no API request, so it has its own phase
# (batches of deliveries) instead of the warm phase's interleaved loop.
ALL_FUNCTIONS = FUNCTIONS + ["notifier"]
ARGON2_FUNCS = {"set-pin": "hash_ms", "submit-port-out": "verify_ms"}
RSS_SLACK_MIB = 4


def cold_plain(R):
    cold = {}
    for b, samples in R["cold"].items():
        init = [s["init_ms"] for s in samples]
        first = [s["first_ms"] for s in samples]
        cold[b] = {"n": len(init), "init50": p50(init), "init90": pct(init, 0.9),
                   "first50": p50(first), "first90": pct(first, 0.9),
                   "rss": max(s["rss_kib"] for s in samples) / 1024}
    return cold


def cold_tls(R):
    """Init, the first request, the same request warm, and the cold total
    (init + first answer, per start) of every binary started with TLS."""
    tls = {}
    for b, samples in (R.get("tls_cold") or {}).items():
        first = [x["first_ms"] for x in samples]
        warm_same = [w for x in samples for w in x["warm_ms"]]
        totals = [x["init_ms"] + x["first_ms"] for x in samples]
        t = {"n": len(samples), "init50": p50([x["init_ms"] for x in samples]),
             "first50": p50(first), "first90": pct(first, 0.9), "warm50": p50(warm_same),
             "total50": p50(totals), "total90": pct(totals, 0.9),
             "rss": max(x["rss_kib"] for x in samples) / 1024}
        t["first_ratio"] = t["first50"] / t["warm50"]
        tls[b] = t
    return tls


def notifier(R):
    N = R.get("notifier") or {}
    if not N.get("batch_ms"):
        return None
    n = {"batch": N["batch"], "p50": p50(N["batch_ms"]), "p90": pct(N["batch_ms"], 0.9),
         "invoke50": p50(N["invocation_ms"]), "floor50": p50(N["floor_ms"]),
         "floor90": pct(N["floor_ms"], 0.9), "n": len(N["batch_ms"]),
         "floor_concurrency": N.get("floor_concurrency", 32),
         "timeout": N["delivery_timeout_ms"], "dead": N.get("dead") or [],
         "rss": N["rss_kib"] / 1024, "floor_rss": N["floor_rss_kib"] / 1024}
    n["ratio"] = n["p50"] / n["floor50"]
    n["dead_live_max"] = max((d["live_last_ms"] for d in n["dead"]), default=None)
    return n


def warm(R, argon_mib):
    argon = {k: p50(v) for k, v in R["argon2"].items()}
    out = {}
    for f in FUNCTIONS:
        w = R["warm"][f]
        fs, ls = w["samples_ms"], w["floor_samples_ms"]
        logged = w.get("argon2_samples_ms") or []
        if f in ARGON2_FUNCS and len(logged) == len(fs):
            # Argon2 as each invocation timed and logged it, subtracted per invocation.
            a2, net = p50(logged), [x - y for x, y in zip(fs, logged)]
            net50, net99 = p50(net), p99(net)
        else:
            a2 = argon[ARGON2_FUNCS[f]] if f in ARGON2_FUNCS else 0.0
            net50, net99 = p50(fs) - a2, p99(fs) - a2
        m = {"n": len(fs), "p50": p50(fs), "p99": p99(fs), "argon": a2,
             "argon_logged": bool(logged) and f in ARGON2_FUNCS,
             "net50": net50, "net99": net99, "floor50": p50(ls), "floor99": p99(ls),
             "rss": w["rss_kib"] / 1024, "floor_rss": w["floor_rss_kib"] / 1024}
        m["ratio50"] = m["net50"] / m["floor50"]
        m["ratio99"] = m["net99"] / m["floor99"]
        m["rss_budget"] = m["floor_rss"] + (argon_mib if f in ARGON2_FUNCS else 0) + RSS_SLACK_MIB
        out[f] = m
    return out, argon


def sizes(zips):
    found, source = {}, {}
    for b in ALL_FUNCTIONS + ["floor-hello", "floor-sdk"]:
        p = os.path.join(zips, b, "bootstrap.zip")
        binary = os.path.join(os.path.dirname(zips.rstrip("/")), "aarch64-unknown-linux-gnu", "release", b)
        found[b] = None
        if os.path.exists(p):
            found[b], source[b] = os.path.getsize(p), "cargo lambda zip"
        elif os.path.exists(binary):
            # The same arm64 release binary `cargo lambda build --release --arm64`
            # (or `sam build`) left in target/, zipped here as `bootstrap`.
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(binary, "bootstrap")
            found[b], source[b] = len(buf.getvalue()), "arm64 binary in target/, zipped by report.py"
    return found, source


def capacity(R):
    rows = []
    for c in R["capacity"]:
        calls = c["calls"]
        r = w = t = 0.0
        reported = True
        for call in calls:
            cr, cw, ct, has = units(call["operation"], call["consumed"])
            r, w, t = r + cr, w + cw, t + ct
            reported &= has
        grouped = steps(calls)
        first = grouped[0] if grouped and all("start_ms" in x for x in grouped[0]) else []
        rows.append({"function": c["function"], "scenario": c["scenario"], "status": c["status"],
                     # The first step's span at DynamoDB's end (the proxy's clock).
                     "first_step_ms": (max(x["end_ms"] for x in first) - min(x["start_ms"] for x in first))
                     if first else None,
                     "trips": sequential(calls), "calls": len(calls),
                     "ops": [op_name(x) for x in calls],
                     "steps": [[op_name(x) for x in step] for step in grouped],
                     "r": r, "w": w, "t": t, "reported": reported, "response": c["response"]})
    return rows


def op_name(call):
    name = call["operation"]
    if call["actions"]:
        name += f"({call['actions']})"
    if call["status"] != 200:
        name += f" → {call['status']}"
    return name


def flatness(rows):
    sc = [x for x in rows if x["function"] == "status-check" and "closed orders" in x["scenario"]]
    if len(sc) == 2 and sc[0]["t"] > 0:
        return sc, sc[1]["t"] / sc[0]["t"] - 1
    if len(sc) == 2 and sc[0]["t"] == sc[1]["t"] == 0:
        return sc, 0.0
    return sc, None


def doors(R):
    """Bandwidth's validation and Telnyx's events beside a right-PIN POST;
    one alert email beside one webhook."""
    B, T, A = R.get("bandwidth") or {}, R.get("telnyx") or {}, R.get("alerts") or {}
    out = {}
    if B.get("validation_ms"):
        total = lambda xs: p50([c["init_ms"] + c["first_ms"] for c in xs]) if xs else None
        out["bandwidth"] = {"bw50": p50(B["validation_ms"]), "post50": p50(B["post_ms"]),
                            "n": len(B["validation_ms"]),
                            "cold50": total(B.get("cold_tls")), "post_cold50": total(B.get("post_cold_tls")),
                            "cold_n": len(B.get("cold_tls") or []),
                            "cold_max": max((c["init_ms"] + c["first_ms"] for c in B.get("cold_tls") or []),
                                            default=None)}
    if T.get("refused_ms"):
        out["telnyx"] = {"post50": p50(T["post_ms"]), "refused50": p50(T["refused_ms"]),
                         "accepted50": p50(T["accepted_ms"]), "plain50": p50(T["plain_call_ms"]),
                         "refused99": p99(T["refused_ms"]), "n": len(T["refused_ms"])}
    if A.get("email_ms"):
        out["alerts"] = {"email50": p50(A["email_ms"]), "webhook50": p50(A["webhook_ms"]),
                         "email90": pct(A["email_ms"], 0.9), "webhook90": pct(A["webhook_ms"], 0.9),
                         "plain_email50": p50(A["plain_email_ms"]) if A.get("plain_email_ms") else None,
                         "plain_post50": p50(A["plain_post_ms"]) if A.get("plain_post_ms") else None,
                         "sdk_email50": p50(A["sdk_email_ms"]) if A.get("sdk_email_ms") else None,
                         "sdk_slot50": p50(A["sdk_slot_ms"]) if A.get("sdk_slot_ms") else None,
                         "n": len(A["email_ms"]), "sent": A.get("emails_sent"),
                         "received": A.get("emails_received")}
    return out


def init_work(R):
    """Argon2's working block touched and the US metadata parsed, each
    timed alone in a fresh process (what set-pin's and submit-port-out's
    init do beyond connecting)."""
    W = R.get("init_work") or {}
    if not W.get("argon2_prepare_ms"):
        return None
    kib = W.get("metadata_rss_kib")
    return {"prepare50": p50(W["argon2_prepare_ms"]), "metadata50": p50(W["metadata_ms"]),
            "metadata_mib": p50(kib) / 1024 if kib else None,
            "n": len(W["argon2_prepare_ms"])}


def measure(R, zips):
    """Everything the report shows, from the raw results `R`."""
    argon_mib = R["params"]["argon2_memory_kib"] / 1024
    cold = cold_plain(R)
    tls = cold_tls(R)
    w, argon = warm(R, argon_mib)
    rows = capacity(R)
    sc, flat = flatness(rows)
    found, source = sizes(zips)
    M = {"R": R, "argon_mib": argon_mib, "cold": cold, "tls": tls, "warm": w, "argon": argon,
         "argon_n": {k: len(v) for k, v in R["argon2"].items()},
         "hello": R["hello_warm"], "notify": notifier(R), "sizes": found, "size_src": source,
         "rows": rows, "by": {(x["function"], x["scenario"]): x for x in rows},
         "sc": sc, "flat": flat, "doors": doors(R), "init_work": init_work(R),
         "init_floor": cold.get("floor-sdk-connect", cold["floor-sdk"])["init50"],
         "connect_init": tls["floor-sdk-connect"]["init50"] if "floor-sdk-connect" in tls else None}
    if M["notify"]:
        M["notify"]["rss_budget"] = max(w[f]["floor_rss"] for f in FUNCTIONS) + M["notify"]["floor_rss"] \
            - R["hello_warm"]["rss_kib"] / 1024 + RSS_SLACK_MIB
    return M
