"""What a missed target means and what would close it (the report's
"Misses" section). Written from what the code does; the numbers beside
each come from the run."""

from .measure import ARGON2_FUNCS


def why(t, M):
    kind, f = t["kind"], t["function"]
    if kind == "cold":
        return _cold(f, M)
    if kind == "first":
        if f == "notifier":
            return ("The first delivery opens the HTTPS connection to the tenant's endpoint (TCP, TLS "
                    "handshake, certificate verification against the native roots loaded on first use); "
                    "the endpoint is only known from the record, so init cannot open it.")
        return ("What the first request still pays beyond the warm ones is the first use of each code path "
                "(page faults in the binary, lazily built tables) and, for the SDK, the first signing and "
                "endpoint resolution of each operation; the connection is opened at init.")
    if kind == "batch":
        return ("The floor only POSTs, all 100 at once; the notifier also reads the endpoints and records "
                "each delivery and its outcome in DynamoDB around its POSTs. The capacity table has the "
                "calls of one batch of 100 and how many of them are sequential.")
    if kind == "rss" and f == "notifier":
        return ("Beyond the SDK and the HTTP client, the notifier holds a batch's payloads, the SES client "
                "and the connection pool of every endpoint it delivered to.")
    if kind == "trips":
        return "See the round-trip table: why the extra step is there and what removing it would take."
    if kind == "warm":
        return _warm(f)
    if kind == "rss":
        return _rss(f)
    if kind == "zip" and "not built" in t["measured"]:
        return ("Not measured in this run: no arm64 build was available (`BENCH_SKIP_PACKAGE=1`, or the "
                "cross build failed).")
    if kind == "zip":
        return "The release profile optimises for size (`opt-level = \"s\"`, thin LTO, stripped)."
    if kind in ("bandwidth", "bandwidth-cold"):
        return ("The validation runs the same decision as the POST; beyond it, Bandwidth's XML is parsed "
                "and the answer written as XML, and its Basic credentials are checked.")
    if kind == "telnyx":
        return ("Beyond the POST's decision and the one call, a Telnyx event checks its Ed25519 signature, "
                "looks up its event id, claims the decision for the port-out, stores it, marks the call "
                "made and records the event id: DynamoDB round trips a POST does not make (the capacity "
                "table lists them).")
    if kind == "email":
        return ("An email reads the tenant's alert contacts, takes the contact's hourly slot and records "
                "the delivery before SES's SendEmail; a webhook reads the endpoint and records the delivery "
                "before its POST. The capacity table has both records' calls.")
    if kind == "flat":
        return "Capacity should not depend on closed orders; see the capacity table for which call grew."
    return ""


def _cold(f, M):
    t, ci = M["tls"][f], M["connect_init"]
    over_init = t["init50"] - ci
    over_first = t["first50"] - t["warm50"]
    split = (f"Of the {t['total50'] - ci - t['warm50']:.1f} ms beyond the budget's sum, init is {over_init:.1f} ms "
             f"longer than the floor's and the first answer {over_first:.1f} ms longer than the warm one (p50s). ")
    if f in ARGON2_FUNCS:
        w = M.get("init_work")
        timed = (f" (timed alone: {w['prepare50']:.1f} ms and {w['metadata50']:.1f} ms)" if w else "")
        return split + ("Init touches Argon2's 19 MiB working block (`PinHasher::prepare`) and parses the US "
                        f"phone-number metadata (`PhoneNumber::prepare`){timed}; the floor does neither. The "
                        "same milliseconds would otherwise land on the first request. The rest is beyond them: "
                        "configuration, secrets, the integrations' clients.")
    return split + ("Beyond the floor that also connects at init: reading and checking the configuration, "
                    "parsing secrets, building the other clients (Telnyx's, SES's, the webhooks' HTTPS client).")


def _warm(f):
    if f in ARGON2_FUNCS:
        return ("Argon2 is subtracted as each invocation timed it, so what remains is the request's own "
                "work beside its raw DynamoDB calls: event conversion, validation, JSON, one log line and "
                "one metric line, and the SDK calls that follow Argon2 running with cold CPU caches "
                "(Argon2 streams through 19 MiB; the floor never does).")
    return ("Beyond the raw calls, a request pays API Gateway event parsing, validation, JSON responses, "
            "logs and metrics; the p99 also carries the noisy machine.")


def _rss(f):
    if f == "submit-port-out":
        return ("Argon2 runs inline and reuses one 19 MiB working block (`PinHasher`). What submit-port-out "
                "holds beyond set-pin is libphonenumber's US metadata (about 3 MiB measured alone) and the "
                "clients of its integrations (Telnyx's HTTPS client).")
    if f in ARGON2_FUNCS:
        return ("Argon2 runs inline and reuses one 19 MiB working block (`PinHasher`); the excess is the "
                "allocator keeping freed request buffers resident.")
    return "Memory beyond the floor is the function's own state and buffers (event, response, logging, clients)."
