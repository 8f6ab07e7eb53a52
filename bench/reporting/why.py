"""What a missed target means and what would close it (the report's
"Misses" section). Written from what the code does; the numbers beside
each come from the run."""

from .measure import ARGON2_FUNCS


def why(t, M):
    kind, f = t["kind"], t["function"]
    if kind == "cold":
        return _cold(f, M)
    if kind == "first":
        first_pin = M["by"].get(("set-pin", "PUT /v1/pin, a process's first (finds the tenant's account)"))
        if f == "set-pin" and first_pin:
            return (f"A process's first PUT /v1/pin also reads the tenant pointer to learn the account "
                    f"({first_pin['trips']} sequential round trips, {_steps(first_pin)}, against 2 warm: the "
                    "capacity table), on a connection whose Query and TransactWriteItems paths are used for the "
                    "first time (the GetItem made at init warms only its own). One GetItem is a millisecond or "
                    "two here; the rest is first use of code paths.")
        if f == "status-check":
            return ("Its request is two Queries of the OpenOrders index, issued together; init already runs "
                    "the same two reads (`pending` and `foc_confirmed` orders older than 1970, so none), so both "
                    "connections are open and that read's path has run once. What remains is under a "
                    "millisecond on a 2 ms request: the first run's own code paths (the EventBridge event, "
                    "the report, the log line); not traced further.")
        if f == "notifier":
            return ("The first delivery opens the HTTPS connection to the tenant's endpoint (TCP, TLS "
                    "handshake, certificate verification against the native roots loaded on first use); "
                    "the endpoint is only known from the record, so init cannot open it.")
        return ("What the first request still pays beyond the warm ones is the first use of each code path "
                "(page faults in the binary, lazily built tables) and, for the SDK, the first signing and "
                "endpoint resolution of each operation; the connection is opened at init.")
    if kind == "batch":
        row = M["by"].get(("notifier", "stream batch of 100 records, each tenant with an endpoint"))
        calls = (f": {row['calls']} calls in {row['trips']} sequential steps ({_steps(row)})" if row else "")
        return ("The floor only POSTs, all 100 at once; the notifier must first read the batch's endpoints "
                "(and which deliveries a redelivered record already made) before any POST, and records each "
                f"delivery after it{calls}. The last acknowledgement therefore comes after one batch read of "
                "100 keys (DynamoDB Local answers it in milliseconds per dozen items) plus the POSTs; the "
                "records are written after the acknowledgements and are not in this time.")
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
        row = M["by"].get(("submit-port-out", "Telnyx pending, wrong PIN (PIN_MISMATCH; then the call to Telnyx)"))
        trips = (f" {row['trips']} sequential DynamoDB round trips ({_steps(row)}) against the POST's 2:"
                 if row else "")
        return (f"Beyond the POST's decision and the one call, a Telnyx event makes{trips} it reads its event "
                "id's record, claims the decision for the port-out and reads the first number's owner together "
                "(the claim must land before deciding, so two deliveries never both count), reads what the "
                "decision needs, decides, tells Telnyx, then stores the decision beside recording the event id "
                "(a refusal is stored as told only once Telnyx acknowledged it). Writing the decision inside the "
                "decision's own transaction, its condition standing in for the claim, would take one more step "
                "off.")
    if kind == "email":
        mail = M["by"].get(("notifier", "stream record, tenant with a confirmed alert contact (one email)"))
        hook = M["by"].get(("notifier", "stream record, tenant with an endpoint (one delivery)"))
        steps = (f" ({mail['trips']} sequential DynamoDB steps, {_steps(mail)}, against the webhook's "
                 f"{hook['trips']}, {_steps(hook)})" if mail and hook else "")
        return ("An email reads the tenant's alert contacts (beside the endpoints), then takes the "
                "contact's hourly slot, a conditional write that must land before SES's SendEmail (at most 30 "
                "an hour, also under racing alerts), and records the delivery after it; a webhook reads its "
                f"endpoint and POSTs{steps}. The slot's step is the contract's, so the email keeps one more "
                "sequential round trip than the webhook, and the local SES (a Node.js server) answers more "
                "slowly than the loopback receiver.")
    if kind == "flat":
        return "Capacity should not depend on closed orders; see the capacity table for which call grew."
    return ""


def _steps(row):
    from .trips import compact
    return compact(row)


def _longer(ms):
    return f"{ms:.1f} ms longer" if ms >= 0 else f"{-ms:.1f} ms shorter"


def _cold(f, M):
    t, ci = M["tls"][f], M["connect_init"]
    over_init = t["init50"] - ci
    over_first = t["first50"] - t["warm50"]
    split = (f"The total is {t['total50'] - ci - t['warm50']:.1f} ms over the budget's sum: init is "
             f"{_longer(over_init)} than the floor's, the first answer {_longer(over_first)} than the warm "
             "one (p50s). ")
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
