"""The report's capacity and round-trip sections, its misses and the
README's Performance block."""

import re

from .measure import FUNCTIONS
from .stats import fmt
from .targets import MINIMUM, headline, status
from .why import why


def capacity(M):
    L = ["## DynamoDB round trips and capacity\n",
         "Every call the binary made for one request, recorded by a proxy in front of DynamoDB Local that adds "
         "`ReturnConsumedCapacity: INDEXES` and notes when each call started and ended. *Round trips* counts "
         "sequential steps: calls issued together (their spans overlap, shown `a ∥ b`) are one step, like the "
         "items of one BatchGetItem; `→` separates steps. `Tx(n)` is a TransactWriteItems of n actions; a status "
         "after a call is an error answer. The units are DynamoDB Local's own answer.\n",
         "| function | scenario | answer | round trips | calls | steps | read units | write units | total |",
         "|---|---|---|---|---|---|---|---|---|"]
    for x in M["rows"]:
        note = "" if x["reported"] or not x["ops"] else " (not reported)"
        L.append(f"| {x['function']} | {x['scenario']} | {x['status']} | {x['trips']} | {x['calls']} | "
                 f"{compact(x)} | {fmt(x['r'])} | {fmt(x['w'])} | {fmt(x['t'])}{note} |")
    sc = M["sc"]
    if sc:
        L.append(f"\nstatus-check over 1k and 10k closed orders (each table also holds the same due orders, which the "
                 f"run expires: {sc[0]['response']} and {sc[1]['response']}): {sc[0]['t']:.1f} and {sc[1]['t']:.1f} "
                 "capacity units. Closed orders are not in the sparse `OpenOrders` index, so the check never reads them.\n")
    L.append("DynamoDB Local reports 0 units for a Query that reads nothing; AWS bills at least 0.5 RCU per "
             "eventually consistent Query. Otherwise the units follow DynamoDB's rules: strongly consistent "
             "GetItem 1 RCU per 4 KB, writes 1 WCU per 1 KB plus one per index the item enters, leaves or changes "
             "in, transactions twice that.\n")
    L += ["## Sequential round trips against the contract's minimum\n",
          "| request | ours | minimum | what would close the gap |", "|---|---|---|---|"]
    for (f, s), (minimum, what, fix) in MINIMUM.items():
        row = M["by"].get((f, s))
        ours = f"{row['trips']}: {compact(row)}" if row else "not measured"
        gap = fix if not row or row["trips"] > minimum else "—"
        L.append(f"| {f}: {s} | {ours} | {minimum} ({what}) | {gap} |")
    L.append("")
    return L


def compact(row):
    """`GetItem ∥ Query → Tx(3)`; a long run of one step is counted."""
    parts = []
    for step in row["steps"]:
        names = [n.replace("TransactWriteItems", "Tx") for n in step]
        if len(names) > 4:
            counts = {}
            for n in names:
                counts[n] = counts.get(n, 0) + 1
            parts.append(" ∥ ".join(f"{c}× {n}" if c > 1 else n for n, c in counts.items()))
        else:
            parts.append(" ∥ ".join(names))
    if len(parts) > 10:
        parts = parts[:4] + [f"… {len(parts) - 6} steps …"] + parts[-2:]
    return " → ".join(parts) or "–"


def misses(ts, M):
    L = ["## Misses and retired targets: why, and what would close them\n"]
    out = [t for t in ts if status(t) != "met"]
    if not out:
        L.append("None.\n")
    for t in out:
        tag = "retired" if t["retired"] else "missed"
        L.append(f"- **{t['function']}**, {t['name']} ({tag}): {t['measured']}. {why(t, M)}")
    L.append("")
    failures = M["R"].get("failures") or []
    if failures:
        L.append("## Unexpected answers during the run\n")
        L += [f"- `{x[:300]}`" for x in failures]
        L.append("")
    return L


def readme_block(M, ts):
    R, w, tls, sizes, n = M["R"], M["warm"], M["tls"], M["sizes"], M["notify"]
    ci = M["connect_init"]
    trips = {"set-pin": ("set-pin", "PUT /v1/pin (set or change the PIN)"),
             "submit-port-out": ("submit-port-out", "accepted port-out"),
             "carrier-webhook": ("carrier-webhook", "pending → foc_confirmed"),
             "status-check": ("status-check", "scheduled run, main table (nothing due)")}
    L = [f"Latest `make bench` ({R['started']}, {R['params']['cold']} cold starts and {R['params']['warm']} warm "
         f"invocations each; ratios to floors measured in the same run; {headline(ts)} — details, misses and "
         "what would close them in [bench/results/report.md](bench/results/report.md), chart in "
         "[bench/results/latency.png](bench/results/latency.png)):", "",
         "| function | cold total with TLS / (floor init + warm) | first request with TLS / warm | warm p50 (ms) | "
         "of which Argon2 | (p50 − Argon2) / raw floor | p99 ratio | peak RSS (MiB) | arm64 zip (MB) | "
         "sequential round trips |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    zip_mb = lambda f: f"{sizes[f] / 1e6:.2f}" if sizes.get(f) else "–"
    cold = lambda f: f"{tls[f]['total50'] / (ci + tls[f]['warm50']):.2f}" if f in tls and ci else "–"
    first = lambda f: f"{tls[f]['first_ratio']:.2f}" if f in tls else "–"
    for f in FUNCTIONS:
        m, t = w[f], M["by"].get(trips[f])
        L.append(f"| {f} | {cold(f)} | {first(f)} | {m['p50']:.1f} | {m['argon']:.1f} | {m['ratio50']:.2f} | "
                 f"{m['ratio99']:.2f} | {m['rss']:.1f} | {zip_mb(f)} | {t['trips'] if t else '–'} |")
    if n:
        one = M["by"].get(("notifier", "stream record, tenant with an endpoint (one delivery)"))
        L.append(f"| notifier | {cold('notifier')} | {first('notifier')} | {n['p50']:.0f} (a batch of {n['batch']}) | "
                 f"– | {n['ratio']:.2f} (to plain POSTs) | – | {n['rss']:.1f} | {zip_mb('notifier')} | "
                 f"{one['trips'] if one else '–'} a record |")
    return "<!-- bench:start -->\n" + "\n".join(L) + "\n<!-- bench:end -->"


def write_readme(path, block):
    text = open(path).read()
    if "<!-- bench:start -->" in text:
        text = re.sub(r"<!-- bench:start -->.*?<!-- bench:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Performance\n\n" + block + "\n"
    open(path, "w").write(text)
