"""Guards on infra/template.yaml and infra/openapi.yaml.

Run from the repository root with the project venv:

    .local/venv/bin/python -m pytest infra/tests

They fail when a function loses its own least-privilege policy, when the
table loses a protection (PITR, deletion protection, Retain, SSE, TTL) or its
keys drift from docs/table-design.md, when a route of the contract (docs/contract.md) is missing or
a self-authenticating route (the carrier webhook, Bandwidth's two routes) gets
an authorizer, when a secret, a function's configuration or an alarm goes
missing, when alert emails could be sent from any address but the one
sender (or SES is granted with no sender set), and when openapi.yaml and the
template disagree on the routes, their security or the error codes of
docs/contract.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
OPENAPI = ROOT / "infra" / "openapi.yaml"
TABLE_DESIGN = ROOT / "docs" / "table-design.md"

# ---------------------------------------------------------------------------
# The contract (docs/contract.md §1 and 3-6).
# ---------------------------------------------------------------------------
ADMIN = "portguard/admin"
CARRIER = "portguard/carrier"

# (method, path) -> (function package, scopes or None for no authorizer)
ROUTES = {
    ("ANY", "/v1/pin"): ("set-pin", {ADMIN}),
    ("GET", "/v1/audit-events"): ("set-pin", {ADMIN}),
    ("ANY", "/v1/notification-endpoint"): ("set-pin", {ADMIN}),
    ("GET", "/v1/transfer-pins"): ("set-pin", {ADMIN}),
    ("POST", "/v1/transfer-pins"): ("set-pin", {ADMIN}),
    ("DELETE", "/v1/transfer-pins/{id}"): ("set-pin", {ADMIN}),
    ("GET", "/v1/port-out-protection"): ("set-pin", {ADMIN}),
    ("PATCH", "/v1/port-out-protection"): ("set-pin", {ADMIN}),
    ("GET", "/v1/numbers"): ("set-pin", {ADMIN}),
    ("GET", "/v1/numbers/{phoneNumber}"): ("set-pin", {ADMIN}),
    ("PATCH", "/v1/numbers/{phoneNumber}"): ("set-pin", {ADMIN}),
    # contract §17: alert contacts.
    ("GET", "/v1/alert-contacts"): ("set-pin", {ADMIN}),
    ("POST", "/v1/alert-contacts"): ("set-pin", {ADMIN}),
    ("POST", "/v1/alert-contacts/{id}/confirm"): ("set-pin", {ADMIN}),
    ("PATCH", "/v1/alert-contacts/{id}"): ("set-pin", {ADMIN}),
    ("DELETE", "/v1/alert-contacts/{id}"): ("set-pin", {ADMIN}),
    ("POST", "/v1/port-outs"): ("submit-port-out", {CARRIER}),
    ("GET", "/v1/port-outs"): ("submit-port-out", {CARRIER, ADMIN}),
    ("GET", "/v1/port-outs/{id}"): ("submit-port-out", {CARRIER, ADMIN}),
    ("POST", "/v1/port-outs/{id}/reject"): ("submit-port-out", {ADMIN}),
    ("POST", "/v1/carrier-events/{carrierId}"): ("carrier-webhook", None),
    # contract §15: XML, HTTP Basic checked by the function.
    ("POST", "/v1/integrations/bandwidth/port-out-validation"): ("submit-port-out", None),
    ("POST", "/v1/integrations/bandwidth/notifications"): ("submit-port-out", None),
    # contract §16: JSON, Ed25519 signature checked by the function.
    ("POST", "/v1/integrations/telnyx/port-out-events"): ("submit-port-out", None),
}

# Routes without a JWT authorizer: each authenticates its caller itself.
NO_AUTHORIZER_ROUTES = {key for key, (_fn, scopes) in ROUTES.items() if scopes is None}
BANDWIDTH_ROUTES = {
    ("POST", "/v1/integrations/bandwidth/port-out-validation"),
    ("POST", "/v1/integrations/bandwidth/notifications"),
}

FUNCTIONS = ["set-pin", "submit-port-out", "carrier-webhook", "status-check", "notifier"]

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}


def index_arn(name: str) -> dict:
    return {"Fn::Sub": "${Table.Arn}/index/" + name}


# function -> {resource label -> {dynamodb action -> key prefixes it may touch}}.
# Every grant is conditioned on dynamodb:LeadingKeys (the partition key of the
# table, or of the index queried), so a function can only touch the kinds of
# items it uses (docs/table-design.md), and an action nothing calls is not
# granted at all. Read off shared/store and the functions' handlers:
DYNAMODB_GRANTS = {
    # GET /v1/pin: pointer then record; PUT: a transaction updating both and
    # putting the audit item; the `known` rule queries the tenant's numbers
    # on GSI2; GET /v1/audit-events and /v1/transfer-pins query the tenant's
    # partition; number routes and POST /v1/transfer-pins read with one
    # BatchGetItem; protection, transfer PINs and number locks are updates;
    # the notification endpoint is read, updated and deleted by its key.
    # Alert contacts (contract §17) live in the tenant's partition: the book
    # is one Query, a contact one GetItem; adding and removing one is a
    # transaction (Update the book, Put or Delete the contact, Put audit).
    "set-pin": {
        "table": {
            "GetItem": {"TENANT#", "ACCOUNT#", "ENDPOINT#tenant#"},
            "BatchGetItem": {"TENANT#", "ACCOUNT#", "NUMBER#"},
            "UpdateItem": {"TENANT#", "ACCOUNT#", "NUMBER#", "ENDPOINT#tenant#"},
            "PutItem": {"TENANT#"},
            "Query": {"TENANT#"},
            "DeleteItem": {"ENDPOINT#tenant#", "TENANT#"},
        },
        "GSI2": {"Query": {"TENANT#"}},
    },
    # The port-out's one BatchGetItem (record and numbers); the order's
    # transaction (tenant guard update, order, reservations, a consumed
    # transfer PIN, audit), locked-attempt markers (TENANT#), idempotency
    # records (a failed request deletes its claim); the tenant's reject
    # updates the order. Bandwidth's completion notification reads the
    # numbers (BatchGetItem) and the order (GetItem), then completes it in one
    # transaction that updates the order, deletes the ported numbers, frees
    # the others and puts the audit item. Lists are served by GSI1/GSI2 only.
    "submit-port-out": {
        "table": {
            # Telnyx (contract §16): the holder of the first number (NUMBER#,
            # TENANT#), event dedupe (WEBHOOK#), the decision per port-out
            # (UPSTREAM#).
            "GetItem": {"ACCOUNT#", "ORDER#", "IDEMPOTENCY#", "NUMBER#", "TENANT#", "WEBHOOK#", "UPSTREAM#"},
            "BatchGetItem": {"ACCOUNT#", "NUMBER#"},
            "PutItem": {"ORDER#", "TENANT#", "IDEMPOTENCY#", "WEBHOOK#", "UPSTREAM#"},
            "UpdateItem": {"ACCOUNT#", "NUMBER#", "TENANT#", "ORDER#", "UPSTREAM#"},
            "DeleteItem": {"IDEMPOTENCY#", "NUMBER#", "UPSTREAM#"},
        },
        "GSI1": {"Query": {"CARRIER#"}},
        "GSI2": {"Query": {"TENANT#"}},
    },
    # Order transitions: Update order, Update or (completed) Delete numbers,
    # Put audit and the webhook dedupe record; GetItem order and dedupe.
    "carrier-webhook": {
        "table": {
            "GetItem": {"ORDER#", "WEBHOOK#"},
            "UpdateItem": {"ORDER#", "NUMBER#"},
            "DeleteItem": {"NUMBER#"},
            "PutItem": {"TENANT#", "WEBHOOK#"},
        },
    },
    # Expiry frees numbers (Update), never deletes them.
    "status-check": {
        "table": {
            "GetItem": {"ORDER#"},
            "UpdateItem": {"ORDER#", "NUMBER#"},
            "PutItem": {"TENANT#"},
        },
        "OpenOrders": {"Query": {"OPEN#"}},
    },
    # Endpoints, deliveries and orders by key; due deliveries; its stream.
    # (Streams take no LeadingKeys condition: the stream statement has none.)
    # Alert contacts (contract §17, TENANT#): read (the book by Query, one
    # contact by GetItem) and updated (window, left-out count, delivery
    # state), never put or deleted.
    # Issue 23: orders are only read; endpoints and contacts only read and
    # updated in their delivery state (NOTIFIER_ATTRIBUTE_GRANTS).
    "notifier": {
        "table": {
            "GetItem": {"ENDPOINT#", "DELIVERY#", "ORDER#", "TENANT#"},
            # Issue 26: a stream batch's keys (endpoints, deliveries,
            # orders, the contact books' indexes and contacts) at once.
            "BatchGetItem": {"ENDPOINT#", "DELIVERY#", "ORDER#", "TENANT#"},
            "PutItem": {"DELIVERY#"},
            "UpdateItem": {"ENDPOINT#", "DELIVERY#", "TENANT#"},
            "DeleteItem": {"DELIVERY#"},
            "Query": {"TENANT#"},
        },
        "DueDeliveries": {"Query": {"DUE"}},
        "stream": {action: set() for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")},
    },
}

# Issue 23: the notifier's UpdateItem on items that are not its own, per
# key prefix: the attributes it may name (dynamodb:Attributes, the key
# included) and the ReturnValues it may ask for. Read off shared/store:
# note_endpoint_result (notify.rs); note_contact_result and take_alert_slot
# (contacts.rs, whose window update returns ALL_OLD of an item the notifier
# may read anyway).
NOTIFIER_ATTRIBUTE_GRANTS = {
    "ENDPOINT#": (
        {"PK", "SK", "lastDeliveryAt", "lastFailureAt", "lastFailure"},
        {"NONE", "UPDATED_OLD", "UPDATED_NEW"},
    ),
    "TENANT#": (
        {"PK", "SK", "lastDeliveryAt", "lastFailure", "windowStart", "windowCount", "leftOut"},
        {"NONE", "ALL_OLD", "UPDATED_OLD", "UPDATED_NEW"},
    ),
}
# The store functions whose updates those grants cover: file -> functions.
# (one attempt's note and the stream batch's notes build the same update)
NOTIFIER_UPDATES = {
    "notify.rs": ["note_update"],
    "contacts.rs": ["note_update"],
    "contacts/window.rs": ["take_alert_slot"],
}

# function -> other actions it may take, on the resource (logical id) named
OTHER_GRANTS = {
    "notifier": {"sqs:SendMessage": {"Fn::GetAtt": ["NotifierFailureQueue", "Arn"]}},
}

# function -> {secret it may read (logical id) -> the env variable naming it}
SECRETS = {
    "set-pin": {
        "PinPepperSecret": "PIN_PEPPER_SECRET_ARN",
        "EndpointSecretKey": "ENDPOINT_SECRET_KEY_ARN",
    },
    "submit-port-out": {
        "PinPepperSecret": "PIN_PEPPER_SECRET_ARN",
        "BandwidthCredentials": "BANDWIDTH_CREDENTIALS_ARN",
        "TelnyxApiKey": "TELNYX_API_KEY_ARN",
    },
    "carrier-webhook": {"CarrierWebhookSecrets": "CARRIER_WEBHOOK_SECRETS_ARN"},
    "status-check": {},
    # It forwards a tenant's reject of a Telnyx order (contract §16).
    # It signs webhooks with secrets derived from EndpointSecretKey (contract §14).
    "notifier": {
        "TelnyxApiKey": "TELNYX_API_KEY_ARN",
        "EndpointSecretKey": "ENDPOINT_SECRET_KEY_ARN",
    },
}
SECRET_ENV_VARS = {
    "PIN_PEPPER_SECRET_ARN",
    "CARRIER_WEBHOOK_SECRETS_ARN",
    "BANDWIDTH_CREDENTIALS_ARN",
    "TELNYX_API_KEY_ARN",
    "ENDPOINT_SECRET_KEY_ARN",
}
# Secrets given directly (development only): never in the template.
DIRECT_SECRET_ENV_VARS = {
    "PIN_PEPPER",
    "CARRIER_WEBHOOK_SECRETS",
    "BANDWIDTH_CREDENTIALS",
    "TELNYX_API_KEY",
    "ENDPOINT_SECRET_KEY",
}
# function -> other variables it must have: name -> value (contract §9)
# Alert emails (contract §17): the sender only when one is set (absent, the
# functions manage contacts and send nothing); the console this stack hosts
# unless ConsoleUrl names another.
ALERT_ENV = {
    "ALERT_FROM_ADDRESS": {"Fn::If": ["AlertEmailEnabled", {"Ref": "AlertFromAddress"}, {"Ref": "AWS::NoValue"}]},
    "CONSOLE_URL": {
        "Fn::If": ["HasConsoleUrl", {"Ref": "ConsoleUrl"}, {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/"}]
    },
}
OTHER_ENV = {
    "submit-port-out": {"BANDWIDTH_CARRIER_ID": {"Ref": "BandwidthCarrierId"}},
    "set-pin": ALERT_ENV,
    "notifier": ALERT_ENV,
}
POLICY_ENV_VARS = {
    "TABLE_NAME",
    "PIN_MAX_FAILED_ATTEMPTS",
    "PIN_LOCKOUT_SECONDS",
    "PENDING_EXPIRY_HOURS",
    "FOC_GRACE_HOURS",
    "TRANSFER_PIN_TTL_SECONDS",
    "PROTECTION_DISABLE_DELAY_SECONDS",
}

# contract §2: every route answers 413 for a body over 64 KiB, unparsed.
COMMON_CODES = {"413": {"PAYLOAD_TOO_LARGE"}, "500": {"INTERNAL"}, "503": {"UNAVAILABLE"}}
JWT_CODES = {"401": {"UNAUTHENTICATED"}, "403": {"FORBIDDEN"}}

# (method, path) in openapi.yaml -> status -> error codes docs/contract.md gives it
ERROR_CODES = {
    ("get", "/v1/pin"): {**JWT_CODES, **COMMON_CODES, "404": {"TENANT_NOT_FOUND"}},
    ("put", "/v1/pin"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "PIN_REQUIRED", "INVALID_PIN_FORMAT", "WEAK_PIN", "PIN_UNCHANGED"},
        "404": {"TENANT_NOT_FOUND"},
        "422": {"TENANT_NOT_ELIGIBLE"},
    },
    ("delete", "/v1/pin"): {**JWT_CODES, **COMMON_CODES, "405": {"PIN_CANNOT_BE_REMOVED"}},
    ("get", "/v1/audit-events"): {**JWT_CODES, **COMMON_CODES, "400": {"INVALID_REQUEST"}},
    ("get", "/v1/notification-endpoint"): {
        **JWT_CODES,
        **COMMON_CODES,
        "404": {"NOTIFICATION_ENDPOINT_NOT_FOUND"},
    },
    ("put", "/v1/notification-endpoint"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_URL"},
        "404": {"TENANT_NOT_FOUND"},
    },
    ("delete", "/v1/notification-endpoint"): {**JWT_CODES, **COMMON_CODES},
    ("post", "/v1/transfer-pins"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_PHONE_NUMBER"},
        "404": {"TENANT_NOT_FOUND"},
        "409": {"TOO_MANY_TRANSFER_PINS"},
        "422": {"TENANT_NOT_ELIGIBLE", "NUMBER_NOT_ON_ACCOUNT"},
    },
    ("get", "/v1/transfer-pins"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST"},
        "404": {"TENANT_NOT_FOUND"},
    },
    ("delete", "/v1/transfer-pins/{id}"): {
        **JWT_CODES,
        **COMMON_CODES,
        "404": {"TRANSFER_PIN_NOT_FOUND"},
    },
    # contract §17
    ("get", "/v1/alert-contacts"): {**JWT_CODES, **COMMON_CODES},
    ("post", "/v1/alert-contacts"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_EMAIL"},
        "404": {"TENANT_NOT_FOUND"},
        "409": {"TOO_MANY_ALERT_CONTACTS", "ALERT_CONTACT_EXISTS"},
    },
    ("post", "/v1/alert-contacts/{id}/confirm"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_CONFIRMATION_CODE"},
        "404": {"ALERT_CONTACT_NOT_FOUND"},
        "410": {"CONFIRMATION_EXPIRED"},
    },
    ("patch", "/v1/alert-contacts/{id}"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST"},
        "404": {"ALERT_CONTACT_NOT_FOUND"},
    },
    ("delete", "/v1/alert-contacts/{id}"): {**JWT_CODES, **COMMON_CODES, "404": {"ALERT_CONTACT_NOT_FOUND"}},
    ("get", "/v1/port-out-protection"): {**JWT_CODES, **COMMON_CODES, "404": {"TENANT_NOT_FOUND"}},
    ("patch", "/v1/port-out-protection"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST"},
        "404": {"TENANT_NOT_FOUND"},
        "422": {"TENANT_NOT_ELIGIBLE"},
    },
    ("get", "/v1/numbers"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST"},
        "404": {"TENANT_NOT_FOUND"},
    },
    ("get", "/v1/numbers/{phoneNumber}"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_PHONE_NUMBER"},
        "404": {"TENANT_NOT_FOUND", "NUMBER_NOT_FOUND"},
    },
    ("patch", "/v1/numbers/{phoneNumber}"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_PHONE_NUMBER"},
        "404": {"TENANT_NOT_FOUND", "NUMBER_NOT_FOUND"},
        "422": {"TENANT_NOT_ELIGIBLE"},
    },
    ("post", "/v1/port-outs"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST", "INVALID_PHONE_NUMBER", "DUPLICATE_PHONE_NUMBER", "INVALID_PIN_FORMAT"},
        "409": {"PORT_OUT_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED"},
        "422": {
            "TOO_MANY_NUMBERS",
            "ACCOUNT_NOT_FOUND",
            "TENANT_NOT_ELIGIBLE",
            "PIN_NOT_SET",
            "PIN_MISMATCH",
            "PORT_OUT_LOCKED",
            "NUMBER_NOT_ON_ACCOUNT",
        },
        "429": {"PIN_LOCKED"},
    },
    ("get", "/v1/port-outs"): {**JWT_CODES, **COMMON_CODES, "400": {"INVALID_REQUEST"}},
    ("get", "/v1/port-outs/{id}"): {**JWT_CODES, **COMMON_CODES, "404": {"PORT_OUT_NOT_FOUND"}},
    ("post", "/v1/port-outs/{id}/reject"): {
        **JWT_CODES,
        **COMMON_CODES,
        "400": {"INVALID_REQUEST"},
        "404": {"PORT_OUT_NOT_FOUND"},
        "409": {"INVALID_TRANSITION"},
    },
    ("post", "/v1/carrier-events/{carrierId}"): {
        **COMMON_CODES,
        "400": {"INVALID_EVENT"},
        "401": {"INVALID_SIGNATURE"},
        "404": {"PORT_OUT_NOT_FOUND"},
        "409": {"INVALID_TRANSITION"},
    },
    # contract §15.1: after authentication the validation route answers only
    # 200 XML (never 413 nor 5xx); its JSON errors come before it.
    ("post", "/v1/integrations/bandwidth/port-out-validation"): {
        "401": {"UNAUTHENTICATED"},
        "404": {"NOT_FOUND"},
    },
    ("post", "/v1/integrations/bandwidth/notifications"): {
        **COMMON_CODES,
        "400": {"INVALID_EVENT"},
        "401": {"UNAUTHENTICATED"},
        "404": {"NOT_FOUND"},
    },
    ("post", "/v1/integrations/telnyx/port-out-events"): {
        **COMMON_CODES,
        "400": {"INVALID_EVENT"},
        "401": {"INVALID_SIGNATURE"},
        "404": {"NOT_FOUND"},
        "409": {"INVALID_TRANSITION"},
    },
}

# (method, path) -> the security requirement openapi.yaml gives a route
# without a JWT: the carrier webhook is authenticated by its signature (no
# scheme), Bandwidth's routes by HTTP Basic.
NO_JWT_SECURITY = {
    ("POST", "/v1/carrier-events/{carrierId}"): [],
    ("POST", "/v1/integrations/bandwidth/port-out-validation"): [{"bandwidthBasic": []}],
    ("POST", "/v1/integrations/bandwidth/notifications"): [{"bandwidthBasic": []}],
    ("POST", "/v1/integrations/telnyx/port-out-events"): [],
}

# Bandwidth's codes (contract §15.5) the validation route may answer.
BANDWIDTH_CODES = {7510, 7511, 7512, 7513, 7516, 7517, 7519, 7598}

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ANY_METHOD_EXTENSION = "x-amazon-apigateway-any-method"


# ---------------------------------------------------------------------------
# Loading helpers
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict:
    return load_cfn_yaml(str(TEMPLATE))


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="module")
def openapi() -> dict:
    with OPENAPI.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def functions_by_name(resources) -> dict:
    """Function package name (from CodeUri) -> (logical id, resource)."""
    out = {}
    for logical_id, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        code_uri = res["Properties"]["CodeUri"]
        assert isinstance(code_uri, str), f"{logical_id}: CodeUri must be a path"
        out[code_uri.rsplit("/", 1)[-1]] = (logical_id, res)
    return out


def effective(template, res, key):
    """A function property, falling back to Globals.Function."""
    props = res.get("Properties", {})
    if key in props:
        return props[key]
    return template.get("Globals", {}).get("Function", {}).get(key)


def function_env(template, res) -> dict:
    env = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    env.update(res.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    return env


def template_routes(resources) -> dict:
    """(METHOD, path) -> (function package, Auth dict or None)."""
    routes = {}
    for name, (logical_id, res) in functions_by_name(resources).items():
        for event_name, event in res["Properties"].get("Events", {}).items():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            key = (props["Method"].upper(), props["Path"])
            assert key not in routes, f"route {key} declared twice"
            assert props.get("ApiId") == {"Ref": "HttpApi"}, f"{logical_id}/{event_name} must use the HttpApi"
            assert str(props.get("PayloadFormatVersion", "2.0")) == "2.0", f"{logical_id}/{event_name}: payload 2.0"
            routes[key] = (name, props.get("Auth"))
    return routes


def openapi_routes(openapi) -> set:
    routes = set()
    for path, item in openapi["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                routes.add((method.upper(), path))
        if ANY_METHOD_EXTENSION in item:
            routes.add(("ANY", path))
    return routes


def statements(res) -> list:
    out = []
    for policy in as_list(res["Properties"].get("Policies")):
        out.extend(as_list(policy["Statement"]))
    return out


def resource_label(resource) -> str | None:
    if resource == TABLE_ARN:
        return "table"
    if resource == {"Fn::Sub": "${Table.Arn}/stream/*"}:
        return "stream"
    for name in ("GSI1", "GSI2", "OpenOrders", "DueDeliveries"):
        if resource == index_arn(name):
            return name
    return None


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------
def test_five_rust_functions(template, resources):
    funcs = functions_by_name(resources)
    assert sorted(funcs) == sorted(FUNCTIONS)
    for name, (logical_id, res) in funcs.items():
        assert res["Properties"]["CodeUri"] == f"../functions/{name}", logical_id
        # Issue 26: built by infra/Makefile (test_one_cargo_build_for_all_functions).
        metadata = res.get("Metadata", {})
        assert metadata.get("BuildMethod") == "makefile", logical_id
        assert metadata.get("ContextPath") == ".", logical_id
        assert effective(template, res, "Runtime") == "provided.al2023", logical_id
        assert effective(template, res, "Handler") == "bootstrap", logical_id
        assert effective(template, res, "Architectures") == ["arm64"], logical_id
        assert effective(template, res, "Timeout"), logical_id
        assert effective(template, res, "MemorySize"), logical_id
        assert (ROOT / "functions" / name / "Cargo.toml").is_file(), f"no package functions/{name}"


def test_every_function_has_its_own_inline_least_privilege_policy(resources):
    for name, (logical_id, res) in functions_by_name(resources).items():
        props = res["Properties"]
        assert "Role" not in props, f"{logical_id}: use the per-function role SAM creates from Policies"
        policies = as_list(props.get("Policies"))
        assert policies, f"{logical_id} has no policy of its own"
        for policy in policies:
            # A string is a managed policy (AmazonDynamoDBFullAccess, ...); a dict
            # without Statement is a SAM policy template (DynamoDBCrudPolicy, ...).
            assert isinstance(policy, dict) and "Statement" in policy, (
                f"{logical_id}: only inline statements are allowed, found {policy!r}"
            )

        granted: dict[str, dict[str, set]] = {}
        secrets_read = set()
        for st in statements(res):
            assert st.get("Effect") == "Allow", f"{logical_id}: unexpected statement {st!r}"
            actions = as_list(st["Action"])
            for action in actions:
                assert isinstance(action, str) and "*" not in action, f"{logical_id}: wildcard action {action!r}"
            ddb = [a for a in actions if a.startswith("dynamodb:")]
            sm = [a for a in actions if a.startswith("secretsmanager:")]
            other = [a for a in actions if a not in ddb and a not in sm]
            for action in other:
                allowed = OTHER_GRANTS.get(name, {})
                assert action in allowed, f"{logical_id}: unexpected action {action}"
                assert as_list(st["Resource"]) == [allowed[action]], f"{logical_id}: {action} on {st['Resource']!r}"
            if other:
                continue
            assert len(ddb) + len(sm) == len(actions), f"{logical_id}: unexpected actions {actions}"
            on_stream = all(resource_label(r) == "stream" for r in as_list(st["Resource"]))
            if ddb:
                prefixes = set() if on_stream else leading_key_prefixes(logical_id, st)
            for resource in as_list(st["Resource"]):
                assert resource != "*", f"{logical_id}: Resource '*' in {st!r}"
                if ddb:
                    label = resource_label(resource)
                    assert label, f"{logical_id}: dynamodb actions on {resource!r}, not the table or its indexes"
                    for action in ddb:
                        granted.setdefault(label, {}).setdefault(action.split(":", 1)[1], set()).update(prefixes)
                if sm:
                    assert sm == ["secretsmanager:GetSecretValue"], f"{logical_id}: {sm}"
                    assert isinstance(resource, dict) and set(resource) == {"Ref"}, f"{logical_id}: {resource!r}"
                    secrets_read.add(resource["Ref"])

        assert granted == DYNAMODB_GRANTS[name], f"{logical_id}: dynamodb grants {granted}"
        assert secrets_read == set(SECRETS[name]), f"{logical_id}: {secrets_read}"


def leading_key_prefixes(logical_id, statement) -> set:
    """The key prefixes a DynamoDB statement allows: it must carry exactly
    `ForAllValues:StringLike: {dynamodb:LeadingKeys: ["PREFIX#*", ...]}`."""
    condition = statement.get("Condition")
    assert condition, f"{logical_id}: {statement.get('Sid')} has no dynamodb:LeadingKeys condition"
    # Besides the keys, a statement may narrow the attributes named and the
    # values returned (the notifier's, issue 23); nothing else.
    assert "ForAllValues:StringLike" in condition, f"{logical_id}: {condition!r}"
    extra = {k: v for k, v in condition.items() if k != "ForAllValues:StringLike"}
    assert set(extra) <= {"ForAllValues:StringEquals", "StringEqualsIfExists"}, f"{logical_id}: {condition!r}"
    assert all(list(v) == ["dynamodb:Attributes"] for k, v in extra.items() if k == "ForAllValues:StringEquals")
    assert all(list(v) == ["dynamodb:ReturnValues"] for k, v in extra.items() if k == "StringEqualsIfExists")
    keys = condition["ForAllValues:StringLike"]
    assert list(keys) == ["dynamodb:LeadingKeys"], f"{logical_id}: {keys!r}"
    out = set()
    for pattern in as_list(keys["dynamodb:LeadingKeys"]):
        # `PREFIX#*`, `PREFIX#kind#*`, or one exact key (`DUE`, the due index's shard).
        assert isinstance(pattern, str) and re.fullmatch(r"[A-Z]+#([a-z]+#)?\*|[A-Z]+", pattern), (
            f"{logical_id}: leading key pattern {pattern!r} must be PREFIX#*, PREFIX#kind#* or KEY"
        )
        out.add(pattern.removesuffix("*"))
    return out


def test_granted_key_prefixes_are_the_stores(resources):
    """Every prefix a policy allows is one the store writes keys with, so a
    renamed prefix cannot leave a grant (or a function) behind."""
    source = "\n".join(p.read_text() for p in (ROOT / "shared" / "store" / "src").rglob("*.rs"))
    used = set(re.findall(r'"([A-Z]+#)', source)) | set(re.findall(r'format!\("([A-Z]+#)', source))
    exact = set(re.findall(r'"([A-Z]+)"', source))
    for name, grants in DYNAMODB_GRANTS.items():
        for actions in grants.values():
            for prefixes in actions.values():
                for prefix in prefixes:
                    assert (
                        prefix in exact or re.match(r"[A-Z]+#", prefix) and re.match(r"[A-Z]+#", prefix)[0] in used
                    ), f"{name}: {prefix} not used by shared/store"


def test_reserved_concurrency_per_function(template, resources):
    params = template["Parameters"]
    total = 0
    for name, (logical_id, res) in functions_by_name(resources).items():
        reserved = res["Properties"].get("ReservedConcurrentExecutions")
        assert isinstance(reserved, dict) and set(reserved) == {"Ref"}, f"{logical_id}: reserved concurrency"
        param = params[reserved["Ref"]]
        assert param["Type"] == "Number" and int(param["MinValue"]) >= 1, f"{logical_id}: {param}"
        assert int(param["Default"]) >= 1
        total += int(param["Default"])
    # AWS keeps 100 unreserved: the defaults fit an account's default 1000.
    assert total <= 900, total


def test_no_broad_dynamodb_access_anywhere(resources):
    """No role or policy in the template grants dynamodb:* or DynamoDB on '*'."""

    def walk(node):
        if isinstance(node, dict):
            if "Action" in node and "Resource" in node:
                actions = as_list(node["Action"])
                if any(isinstance(a, str) and a.lower().startswith("dynamodb:") for a in actions):
                    assert all("*" not in a for a in actions), f"wildcard dynamodb action in {node!r}"
                    assert "*" not in as_list(node["Resource"]), f"dynamodb on Resource '*' in {node!r}"
            if "ManagedPolicyArns" in node:
                for arn in as_list(node["ManagedPolicyArns"]):
                    assert "DynamoDB" not in str(arn), f"managed DynamoDB policy {arn!r}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resources)
    for logical_id, res in resources.items():
        for policy in as_list(res.get("Properties", {}).get("Policies")):
            assert not isinstance(policy, str), f"{logical_id}: managed policy {policy!r}"


def test_environment(template, resources):
    for name, (logical_id, res) in functions_by_name(resources).items():
        env = function_env(template, res)
        missing = POLICY_ENV_VARS - set(env)
        assert not missing, f"{logical_id} lacks {missing}"
        assert env["TABLE_NAME"] == {"Ref": "Table"}
        secrets = SECRETS[name]
        present = SECRET_ENV_VARS & set(env)
        assert present == set(secrets.values()), f"{logical_id}: secret variables {present}"
        for secret, var in secrets.items():
            assert env[var] == {"Ref": secret}, f"{logical_id}: {var}"
        direct = DIRECT_SECRET_ENV_VARS & set(env)
        assert not direct, f"{logical_id}: a secret's value in the template: {direct}"
        for var, value in OTHER_ENV.get(name, {}).items():
            assert env.get(var) == value, f"{logical_id}: {var} = {env.get(var)!r}"
        others = {var for extra in OTHER_ENV.values() for var in extra} - set(OTHER_ENV.get(name, {}))
        assert not others & set(env), f"{logical_id}: {others & set(env)}"


def test_secrets_are_retained(resources):
    """Every secret a function reads exists, is a Secrets Manager secret and
    outlives the stack (a deleted pepper makes every PIN hash unverifiable; a
    regenerated Bandwidth password locks Bandwidth out until it is told)."""
    secrets = {s for per_function in SECRETS.values() for s in per_function}
    declared = {k for k, r in resources.items() if r.get("Type") == "AWS::SecretsManager::Secret"}
    assert declared == secrets, f"declared {declared}, read {secrets}"
    for logical_id in secrets:
        res = resources[logical_id]
        assert res.get("DeletionPolicy") == "Retain", logical_id
        assert res.get("UpdateReplacePolicy") == "Retain", logical_id


def test_bandwidth_credentials_are_generated(template, resources):
    """A {"username", "password"} pair the function accepts (contract §9:
    password 16-128 visible ASCII), generated at creation, and its ARN an
    output the operator reads it from (docs/deploy.md)."""
    import json

    generated = resources["BandwidthCredentials"]["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": "bandwidth"}
    assert generated["GenerateStringKey"] == "password"
    assert int(generated["PasswordLength"]) == 40
    assert generated.get("ExcludePunctuation") is True
    assert "SecretString" not in resources["BandwidthCredentials"]["Properties"]
    assert template["Outputs"]["BandwidthCredentialsArn"]["Value"] == {"Ref": "BandwidthCredentials"}


def test_bandwidth_carrier_id_parameter(template):
    """BANDWIDTH_CARRIER_ID must be a carrier id (shared/validation/src/ids.rs:
    1-64 of A-Z a-z 0-9 . _ -) or submit-port-out refuses to start."""
    param = template["Parameters"]["BandwidthCarrierId"]
    assert param["Type"] == "String"
    assert param["Default"] == "bandwidth"
    pattern = re.compile(param["AllowedPattern"])
    for good in ("bandwidth", "bw.prod_2-a", "a" * 64):
        assert pattern.search(good), good
    for bad in ("", "a" * 65, "band#width", "band width", "bänd", "bw/1", "bw:1"):
        assert not pattern.search(bad), bad


def test_functions_with_a_secret_have_the_secrets_extension(template, resources):
    assert "SecretsExtensionLayerArn" in template["Parameters"]
    assert "Default" not in template["Parameters"]["SecretsExtensionLayerArn"]
    for name, (logical_id, res) in functions_by_name(resources).items():
        layers = res["Properties"].get("Layers", [])
        if SECRETS[name]:
            assert layers == [{"Ref": "SecretsExtensionLayerArn"}], logical_id
        else:
            assert not layers, f"{logical_id} reads no secret and needs no layer"


def test_an_idempotency_claim_outlives_the_function(template, resources):
    """A claim younger than CLAIM_SECONDS is taken as a request still running:
    submit-port-out must time out before it lapses."""
    source = (ROOT / "shared/store/src/idempotency.rs").read_text()
    claim = int(re.search(r"pub const CLAIM_SECONDS: i64 = (\d+);", source).group(1))
    _, res = functions_by_name(resources)["submit-port-out"]
    timeout = res["Properties"].get("Timeout", template["Globals"]["Function"]["Timeout"])
    assert timeout < claim, f"timeout {timeout} s, claim {claim} s"


def test_log_groups_with_retention(resources):
    for name, (logical_id, _res) in functions_by_name(resources).items():
        groups = [
            r
            for r in resources.values()
            if r.get("Type") == "AWS::Logs::LogGroup"
            and r["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        ]
        assert len(groups) == 1, f"{logical_id}: log group"
        assert groups[0]["Properties"].get("RetentionInDays"), f"{logical_id}: retention"


def test_alarms(resources):
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    for name, (logical_id, _res) in functions_by_name(resources).items():
        for metric in ("Errors", "Throttles"):
            assert any(
                a.get("Namespace") == "AWS/Lambda"
                and a.get("MetricName") == metric
                and {"Name": "FunctionName", "Value": {"Ref": logical_id}} in a.get("Dimensions", [])
                for a in alarms
            ), f"no {metric} alarm for {logical_id}"
    ddb = [
        m["MetricStat"]["Metric"]["MetricName"]
        for a in alarms
        for m in a.get("Metrics", [])
        if "MetricStat" in m and m["MetricStat"]["Metric"]["Namespace"] == "AWS/DynamoDB"
    ] + [a["MetricName"] for a in alarms if a.get("Namespace") == "AWS/DynamoDB"]
    assert {"ReadThrottleEvents", "WriteThrottleEvents"} <= set(ddb), "no DynamoDB throttle alarm"
    # Metrics the functions count (EMF, namespace portguard) -> the service
    # dimension they are counted under.
    for metric, service in (
        ("PinLocked", "submit-port-out"),
        # Bandwidth was told 7598: portguard could not decide (contract §15).
        ("ValidationUnavailable", "submit-port-out"),
        # Wrong HTTP Basic credentials on a Bandwidth route.
        ("IntegrationAuthFailed", "submit-port-out"),
    ):
        assert any(
            a.get("Namespace") == "portguard"
            and a.get("MetricName") == metric
            and a.get("Dimensions") == [{"Name": "service", "Value": service}]
            and a.get("Threshold") == 1
            and a.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
            and a.get("TreatMissingData") == "notBreaching"
            for a in alarms
        ), f"no {metric} alarm"
    source = "\n".join(p.read_text() for p in (ROOT / "functions" / "submit-port-out" / "src").rglob("*.rs"))
    for metric in ("PinLocked", "ValidationUnavailable", "IntegrationAuthFailed"):
        assert f'"{metric}"' in source, f"submit-port-out no longer counts {metric}: an alarm on nothing"
    # The notifier's: an abandoned delivery (webhook, alert email, Telnyx
    # reject) and an alert left out by a contact's hourly limit (contract §17).
    notifier = "\n".join(p.read_text() for p in (ROOT / "functions" / "notifier" / "src").rglob("*.rs"))
    for metric in ("NotificationAbandoned", "AlertsLeftOut"):
        assert any(
            a.get("Namespace") == "portguard"
            and a.get("MetricName") == metric
            and a.get("Dimensions") == [{"Name": "service", "Value": "notifier"}]
            and a.get("Threshold") == 1
            and a.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
            and a.get("TreatMissingData") == "notBreaching"
            for a in alarms
        ), f"no {metric} alarm"
        assert f'"{metric}"' in notifier, f"the notifier no longer counts {metric}: an alarm on nothing"
    # An unknown pepper version (an operator error) from either function
    # that verifies PINs.
    unknown = [
        a
        for a in alarms
        if any(
            m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "UnknownPepperVersion"
            for m in a.get("Metrics", [])
        )
    ]
    assert len(unknown) == 1, "no UnknownPepperVersion alarm"
    services = {
        d["Value"]
        for m in unknown[0]["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "service" and m["MetricStat"]["Metric"]["Namespace"] == "portguard"
    }
    assert services == {"set-pin", "submit-port-out"}, services


def test_carrier_enumeration_is_alarmed_across_instances(resources):
    """Per-carrier probes (contract §4.1): one instance's EnumerationSuspected,
    and the busiest carrier's AccountNotFound summed over every instance."""
    queries = {
        name: m["Expression"]
        for name, r in resources.items()
        if r.get("Type") == "AWS::CloudWatch::Alarm"
        for m in r["Properties"].get("Metrics", [])
        if "SELECT" in m.get("Expression", "")
    }
    suspected = [q for q in queries.values() if "SUM(EnumerationSuspected)" in q]
    assert suspected and all("SCHEMA(portguard, CarrierId, service)" in q for q in suspected)
    probes = [q for q in queries.values() if "SUM(AccountNotFound)" in q]
    assert probes, "no alarm on the busiest carrier's probes"
    assert all("GROUP BY CarrierId" in q and "LIMIT 1" in q for q in probes), probes
    source = "\n".join(
        p.read_text() for p in (ROOT / "functions" / "submit-port-out" / "src").rglob("*.rs")
    )
    for metric in ("EnumerationSuspected", "AccountNotFound"):
        assert f'"{metric}"' in source, f"submit-port-out no longer counts {metric}"


def ses_statements(node, path=""):
    """Every IAM statement anywhere in the template that names an ses: action."""
    if isinstance(node, dict):
        actions = as_list(node.get("Action"))
        if "Effect" in node and any(isinstance(a, str) and a.lower().startswith("ses:") for a in actions):
            yield path, node
        for key, value in node.items():
            yield from ses_statements(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from ses_statements(value, f"{path}/{i}")


def test_alert_emails_only_from_the_one_sender(template, resources):
    """contract §17: set-pin (confirmation codes) and the notifier (alerts)
    may call SES v2 SendEmail from AlertFromAddress only; with no sender set,
    no SES permission exists at all."""
    param = template["Parameters"]["AlertFromAddress"]
    assert param["Type"] == "String" and param["Default"] == ""
    assert template["Conditions"]["AlertEmailEnabled"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertFromAddress"}, ""]}]
    }
    # What shared/validation/src/email.rs accepts, as far as a pattern can say.
    pattern = re.compile(param["AllowedPattern"])
    for good in ("", "alerts@example.com", "port.guard+alerts@mail.example.co.uk"):
        assert pattern.search(good), good
    for bad in ("portguard <alerts@example.com>", "alerts@localhost", "alerts@", "@example.com", "a b@example.com",
                " alerts@example.com", "alerts@example.com\n"):
        assert not pattern.fullmatch(bad), bad
    assert int(param["MaxLength"]) == 254

    found = list(ses_statements(resources))
    assert [path.split("/")[1] for path, _ in found] == ["AlertEmailPolicy"], found
    policy = resources["AlertEmailPolicy"]
    assert policy["Type"] == "AWS::IAM::Policy"
    assert policy.get("Condition") == "AlertEmailEnabled"
    roles = {r["Ref"] for r in policy["Properties"]["Roles"]}
    logical = {name: logical_id for name, (logical_id, _res) in functions_by_name(resources).items()}
    assert roles == {logical["set-pin"] + "Role", logical["notifier"] + "Role"}, roles
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["ses:SendEmail"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
    }
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "AlertFromAddress"}}}


def test_notifier_reads_new_audit_items_and_retries_every_minute(resources):
    _logical_id, res = functions_by_name(resources)["notifier"]
    events = res["Properties"].get("Events", {})
    assert any(
        e["Type"] == "ScheduleV2" and e["Properties"]["ScheduleExpression"] == "rate(1 minute)"
        for e in events.values()
    )
    mappings = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 1
    m = mappings[0]
    assert m["FunctionName"] == {"Ref": _logical_id}
    assert m["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["BisectBatchOnFunctionError"] is True
    queue = m["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert resources[queue]["Type"] == "AWS::SQS::Queue"
    patterns = " ".join(f["Pattern"] for f in m["FilterCriteria"]["Filters"]).replace(" ", "")
    assert '"eventName":["INSERT"]' in patterns and '"prefix":"AUDIT#"' in patterns
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    assert any(a.get("MetricName") == "NotificationAbandoned" and a.get("Namespace") == "portguard" for a in alarms)
    assert any(
        a.get("Namespace") == "AWS/SQS"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in a.get("Dimensions", [])
        for a in alarms
    ), "no alarm on the notifier's on-failure queue"


def test_status_check_is_scheduled(resources):
    _logical_id, res = functions_by_name(resources)["status-check"]
    events = res["Properties"].get("Events", {})
    assert any(e["Type"] in ("ScheduleV2", "Schedule") for e in events.values())


# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------
def table_design_indexes() -> dict:
    """Index name -> (partition key, sort key, projection) from docs/table-design.md."""
    text = TABLE_DESIGN.read_text(encoding="utf-8")
    section = text.split("## Keys and indexes", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[1].startswith("`"):
            continue
        name = re.match(r"`?([A-Za-z0-9]+)`?", cells[0]).group(1)
        out[name] = (cells[1].strip("`"), cells[2].strip("`"), cells[3])
    return out


def test_table_protections(resources):
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table.get("DeletionPolicy") == "Retain"
    assert table.get("UpdateReplacePolicy") == "Retain"
    p = table["Properties"]
    assert p.get("BillingMode") == "PAY_PER_REQUEST"
    assert p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True
    assert p.get("DeletionProtectionEnabled") is True
    assert p.get("SSESpecification", {}).get("SSEEnabled") is True
    assert p.get("SSESpecification", {}).get("SSEType") == "KMS"
    assert p.get("TimeToLiveSpecification") == {"AttributeName": "expiresAt", "Enabled": True}
    assert p.get("StreamSpecification", {}).get("StreamViewType") == "NEW_IMAGE"


def test_table_keys_match_table_design(resources):
    p = resources["Table"]["Properties"]
    design = table_design_indexes()
    assert set(design) == {"table", "GSI1", "GSI2", "OpenOrders", "DueDeliveries"}, design

    def keys(schema):
        by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
        return by_type["HASH"], by_type.get("RANGE")

    assert keys(p["KeySchema"]) == design["table"][:2]
    gsis = {g["IndexName"]: g for g in p.get("GlobalSecondaryIndexes", [])}
    assert set(gsis) == {"GSI1", "GSI2", "OpenOrders", "DueDeliveries"}
    for name, gsi in gsis.items():
        assert keys(gsi["KeySchema"]) == design[name][:2], name
        assert gsi["Projection"]["ProjectionType"] == design[name][2] == "ALL", name
    attrs = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
    key_names = {k for pair in ([design["table"][:2]] + [design[n][:2] for n in gsis]) for k in pair}
    assert attrs == {k: "S" for k in key_names}, attrs
    assert not p.get("LocalSecondaryIndexes")


def test_audit_items_reach_the_event_bus(resources):
    pipes = [r for r in resources.values() if r.get("Type") == "AWS::Pipes::Pipe"]
    assert len(pipes) == 1
    p = pipes[0]["Properties"]
    assert p["Source"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    target = p["Target"]
    bus_id = target["Fn::GetAtt"][0]
    assert resources[bus_id]["Type"] == "AWS::Events::EventBus"
    patterns = " ".join(f["Pattern"] for f in p["SourceParameters"]["FilterCriteria"]["Filters"])
    assert '"SK"' in patterns and '"prefix":"AUDIT#"' in patterns.replace(" ", "")


# ---------------------------------------------------------------------------
# HTTP API and routes
# ---------------------------------------------------------------------------
def test_jwt_authorizer_from_parameters(template, resources):
    api = resources["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    auth = api["Properties"]["Auth"]
    jwt = auth["Authorizers"][auth["DefaultAuthorizer"]]["JwtConfiguration"]
    assert jwt["issuer"] == {"Ref": "JwtIssuer"}
    assert jwt["audience"] == {"Ref": "JwtAudience"}
    assert {"JwtIssuer", "JwtAudience"} <= set(template["Parameters"])


def test_every_spec_route_is_in_the_template(resources):
    routes = template_routes(resources)
    assert set(routes) == set(ROUTES), f"missing {set(ROUTES) - set(routes)}, extra {set(routes) - set(ROUTES)}"
    for key, (function, scopes) in ROUTES.items():
        got_function, auth = routes[key]
        assert got_function == function, f"{key} served by {got_function}"
        if scopes is None:
            assert auth == {"Authorizer": "NONE"}, f"{key} must have no authorizer, got {auth!r}"
        else:
            assert auth and auth.get("Authorizer") == "JwtAuthorizer", f"{key}: {auth!r}"
            assert set(auth.get("AuthorizationScopes", [])) == scopes, f"{key}: {auth!r}"


def test_webhook_route_has_no_authorizer(resources):
    routes = template_routes(resources)
    _fn, auth = routes[("POST", "/v1/carrier-events/{carrierId}")]
    assert auth == {"Authorizer": "NONE"}


def test_only_self_authenticating_routes_have_no_authorizer(resources):
    """The carrier webhook (signature) and Bandwidth's routes (HTTP Basic, in
    submit-port-out) take no JWT; every other route keeps the authorizer."""
    routes = template_routes(resources)
    without = {key for key, (_fn, auth) in routes.items() if auth == {"Authorizer": "NONE"}}
    assert without == NO_AUTHORIZER_ROUTES, without
    assert BANDWIDTH_ROUTES <= without
    for key in BANDWIDTH_ROUTES:
        assert routes[key][0] == "submit-port-out", key


def test_openapi_routes_match_template(resources, openapi):
    tpl = set(template_routes(resources))
    oas = openapi_routes(openapi)
    any_paths = {p for m, p in tpl if m == "ANY"}
    # every template route is described...
    for method, path in tpl:
        assert (method, path) in oas, f"openapi.yaml lacks {method} {path}"
    # ...and openapi.yaml describes no route the template does not deploy
    for method, path in oas:
        assert (method, path) in tpl or path in any_paths, f"openapi.yaml has {method} {path}, the template does not"


def test_openapi_security_matches_template(resources, openapi):
    for (method, path), (_fn, scopes) in ROUTES.items():
        item = openapi["paths"][path]
        ops = [item[ANY_METHOD_EXTENSION]] if method == "ANY" else [item[method.lower()]]
        if method == "ANY":
            ops += [item[m] for m in HTTP_METHODS if m in item]
        for op in ops:
            security = op.get("security", openapi.get("security"))
            if scopes is None:
                assert security == NO_JWT_SECURITY[(method, path)], f"{method} {path} must need no token: {security}"
            else:
                got = {s for req in security for s in req.get("jwt", [])}
                assert got == scopes, f"{method} {path}: {security}"


def test_openapi_bandwidth_basic_scheme(openapi):
    scheme = openapi["components"]["securitySchemes"]["bandwidthBasic"]
    assert scheme["type"] == "http" and scheme["scheme"] == "basic", scheme
    assert set(NO_JWT_SECURITY) == NO_AUTHORIZER_ROUTES


def resolve(openapi, node):
    while isinstance(node, dict) and "$ref" in node:
        target = openapi
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def codes_in(openapi, schema) -> set:
    """Error codes a response schema allows (enum on error.code)."""
    schema = resolve(openapi, schema)
    found = set()
    if "allOf" in schema:
        # the narrowest enum of the parts wins
        enums = [codes_in(openapi, s) for s in schema["allOf"]]
        enums = [e for e in enums if e]
        return min(enums, key=len) if enums else set()
    for key in ("oneOf", "anyOf"):
        for s in schema.get(key, []):
            found |= codes_in(openapi, s)
    code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
    found |= set(code.get("enum", []))
    return found


def test_openapi_error_codes_per_route(openapi):
    for (method, path), expected in ERROR_CODES.items():
        op = openapi["paths"][path][method]
        for status, codes in expected.items():
            assert status in op["responses"], f"{method.upper()} {path} lacks {status}"
            response = resolve(openapi, op["responses"][status])
            schema = response["content"]["application/json"]["schema"]
            assert codes_in(openapi, schema) == codes, f"{method.upper()} {path} {status}"


def test_openapi_headers(openapi):
    post = openapi["paths"]["/v1/port-outs"]["post"]
    params = [resolve(openapi, p) for p in post.get("parameters", [])]
    assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params)
    created = post["responses"]["201"]["headers"]
    assert {"Location", "Idempotent-Replayed"} <= set(created)
    assert "Retry-After" in post["responses"]["429"]["headers"]
    hook = openapi["paths"]["/v1/carrier-events/{carrierId}"]["post"]
    names = {resolve(openapi, p)["name"] for p in hook["parameters"] if resolve(openapi, p)["in"] == "header"}
    assert names == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    # Bandwidth answers the Basic challenge with its credentials (contract §15.1).
    for _method, path in BANDWIDTH_ROUTES:
        challenge = resolve(openapi, openapi["paths"][path]["post"]["responses"]["401"])
        header = challenge["headers"]["WWW-Authenticate"]
        assert header.get("required") is True, path
        assert header["schema"].get("const") == 'Basic realm="portguard"', path


def xml_name(openapi, schema) -> str | None:
    return resolve(openapi, schema).get("xml", {}).get("name")


def test_openapi_bandwidth_validation_is_xml_and_fails_closed(openapi):
    """The validation route: XML in, XML out, and nothing but 200 once the
    caller is authenticated (Bandwidth lets the numbers go on anything else)."""
    op = openapi["paths"]["/v1/integrations/bandwidth/port-out-validation"]["post"]
    assert set(op["responses"]) == {"200", "401", "404"}, set(op["responses"])
    assert set(op["requestBody"]["content"]) == {"application/xml"}
    request = resolve(openapi, op["requestBody"]["content"]["application/xml"]["schema"])
    assert xml_name(openapi, request) == "PortOutValidationRequest"
    assert {"PON", "Pin", "AccountNumber", "ZipCode", "SubscriberName", "TelephoneNumbers"} <= set(
        request["properties"]
    )
    numbers = request["properties"]["TelephoneNumbers"]
    assert numbers["xml"] == {"name": "TelephoneNumbers", "wrapped": True}
    assert numbers["items"]["xml"]["name"] == "TelephoneNumber"
    assert request.get("additionalProperties", True) is True, "unknown elements are ignored"

    ok = op["responses"]["200"]
    assert set(ok["content"]) == {"application/xml"}
    answer = resolve(openapi, ok["content"]["application/xml"]["schema"])
    assert xml_name(openapi, answer) == "PortOutValidationResponse"
    assert answer["required"] == ["Portable"]
    errors = answer["properties"]["Errors"]
    assert errors["xml"] == {"name": "Errors", "wrapped": True}
    assert errors["minItems"] == errors["maxItems"] == 1, "exactly one Error"
    error = resolve(openapi, errors["items"])
    assert xml_name(openapi, error) == "Error"
    assert set(error["properties"]["Code"]["enum"]) == BANDWIDTH_CODES
    assert error["properties"]["Description"]["maxLength"] == 100
    table = op["description"]
    for code in BANDWIDTH_CODES:
        assert f"| `{code}` |" in table, f"code {code} missing from the code table"
    for example in ok["content"]["application/xml"]["examples"].values():
        assert example["value"].startswith("<PortOutValidationResponse><Portable>")


def test_openapi_bandwidth_notifications_are_xml(openapi):
    op = openapi["paths"]["/v1/integrations/bandwidth/notifications"]["post"]
    assert set(op["requestBody"]["content"]) == {"application/xml"}
    notification = resolve(openapi, op["requestBody"]["content"]["application/xml"]["schema"])
    assert xml_name(openapi, notification) == "Notification"
    assert {"OrderType", "OrderId", "Status", "CompletedTelephoneNumbers"} <= set(notification["properties"])
    completed = notification["properties"]["CompletedTelephoneNumbers"]
    assert completed["xml"] == {"name": "CompletedTelephoneNumbers", "wrapped": True}
    assert completed["items"]["xml"]["name"] == "TelephoneNumber"
    assert "content" not in op["responses"]["200"], "the answer is an empty body"


def test_openapi_orders_name_their_source(openapi):
    """Every order has source (the store's values) and externalId; pon may be
    null (an upstream's order without a valid PON)."""
    order = openapi["components"]["schemas"]["PortOut"]
    assert {"source", "externalId", "pon"} <= set(order["required"])
    props = order["properties"]
    source = (ROOT / "shared" / "store" / "src" / "order.rs").read_text()
    stored = set(re.findall(r'Source::[A-Za-z]+ => "([a-z]+)"', source))
    assert stored and set(props["source"]["enum"]) == stored, (props["source"], stored)
    assert set(props["externalId"]["type"]) == {"string", "null"}
    assert set(props["pon"]["type"]) == {"string", "null"}


def test_openapi_documents_what_the_functions_send(openapi):
    """Clients are generated from openapi.yaml: every 503 says Retry-After,
    every INVALID_TRANSITION has details.status, and ANY /v1/pin lists its
    methods in standard OpenAPI, not only in the API Gateway extension."""
    for path, item in openapi["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if not op:
                continue
            unavailable = resolve(openapi, op["responses"].get("503", {}))
            if unavailable:
                assert "Retry-After" in unavailable.get("headers", {}), f"{method} {path} 503"
            conflict = op["responses"].get("409")
            if conflict and "INVALID_TRANSITION" in codes_in(
                openapi, resolve(openapi, conflict)["content"]["application/json"]["schema"]
            ):
                assert conflict == {"$ref": "#/components/responses/InvalidTransition"}, f"{method} {path}"
    transition = resolve(openapi, {"$ref": "#/components/responses/InvalidTransition"})
    details = transition["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]
    assert "status" in details["properties"]["details"]["required"]
    pin = openapi["paths"]["/v1/pin"]
    assert {"get", "put", "delete", "post", "patch"} <= set(pin)


def test_openapi_is_valid_3_1(openapi):
    assert openapi["openapi"].startswith("3.1")
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi)


def test_default_members_are_every_member_but_bench():
    """`cargo lambda watch` (make dev, the e2e stage) runs the functions with
    a bare `cargo run --bin NAME`, which only sees the default members: a
    function missing there never starts locally."""
    import tomllib

    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]
    assert set(workspace["default-members"]) == set(workspace["members"]) - {"bench"}



# ---------------------------------------------------------------------------
# Issue 23: the template's findings
# ---------------------------------------------------------------------------
def notifier_update_statements(resources) -> list:
    _logical_id, res = functions_by_name(resources)["notifier"]
    return [st for st in statements(res) if "dynamodb:UpdateItem" in as_list(st["Action"])]


def rust_fn_body(source: str, name: str) -> str:
    """The text of `fn name` up to the next `pub async fn`/`fn` at its depth."""
    start = source.index(f"fn {name}(")
    nxt = re.search(r"\n    (pub(\(crate\))? )?(async )?fn |\n}\n", source[start + 1 :])
    return source[start : start + 1 + (nxt.start() if nxt else len(source))]


def test_notifier_writes_only_its_deliveries_and_the_delivery_state(resources):
    """The notifier may not write orders, nor put or delete endpoints or
    contacts; its UpdateItem on an endpoint or a contact names only their
    delivery state (and window) and the key, and returns nothing more."""
    _logical_id, res = functions_by_name(resources)["notifier"]
    for st in statements(res):
        actions = {a.split(":", 1)[1] for a in as_list(st["Action"]) if a.startswith("dynamodb:")}
        if not actions or all(resource_label(r) == "stream" for r in as_list(st["Resource"])):
            continue
        prefixes = leading_key_prefixes("notifier", st)
        writes = actions & {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
        assert not (writes and "ORDER#" in prefixes), f"{st['Sid']}: writes orders"
        if writes & {"PutItem", "DeleteItem"}:
            assert prefixes == {"DELIVERY#"}, f"{st['Sid']}: puts or deletes {prefixes}"
        if "UpdateItem" in actions and prefixes != {"DELIVERY#"}:
            assert actions == {"UpdateItem"}, f"{st['Sid']}: {actions} beside an attribute-limited update"
            assert len(prefixes) == 1, f"{st['Sid']}: one key prefix per attribute list"
            (prefix,) = prefixes
            attributes, returns = NOTIFIER_ATTRIBUTE_GRANTS[prefix]
            condition = st["Condition"]
            assert set(condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]) == attributes, st["Sid"]
            assert set(condition["StringEqualsIfExists"]["dynamodb:ReturnValues"]) == returns, st["Sid"]
    covered = {p for st in notifier_update_statements(resources) for p in leading_key_prefixes("notifier", st)}
    assert covered == {"DELIVERY#"} | set(NOTIFIER_ATTRIBUTE_GRANTS), covered

    # The attributes the store's updates name are within those lists.
    named = set()
    for file, fns in NOTIFIER_UPDATES.items():
        source = (ROOT / "shared" / "store" / "src" / file).read_text()
        for fn in fns:
            body = rust_fn_body(source, fn)
            found = set(re.findall(r'\.(?:set|remove|name)\("(\w+)"', body))
            assert found, f"{file}: {fn} names no attribute: the store changed, read it again"
            named |= found
            if "ReturnValue::" in body or "update_returning_old" in body:
                assert file.startswith("contacts"), f"{fn} returns values the endpoint grant refuses"
    allowed = set().union(*(attrs for attrs, _ in NOTIFIER_ATTRIBUTE_GRANTS.values()))
    assert named <= allowed, f"the store updates {named - allowed}, which the notifier may not"


def test_route_throttles_of_their_own(template, resources):
    """The lock, the carrier-facing routes and Bandwidth's validation each
    have route settings of their own, from parameters no other route uses."""
    api = resources["HttpApi"]["Properties"]
    settings = api["RouteSettings"]
    routes = {f"{m} {p}" for m, p in ROUTES}
    assert set(settings) <= routes, set(settings) - routes

    def params(route_key):
        s = settings[route_key]
        assert set(s) == {"ThrottlingBurstLimit", "ThrottlingRateLimit"}, route_key
        out = (s["ThrottlingRateLimit"]["Ref"], s["ThrottlingBurstLimit"]["Ref"])
        for name in out:
            p = template["Parameters"][name]
            assert p["Type"] == "Number" and int(p["MinValue"]) >= 1 and int(p["Default"]) >= 1, name
        return out

    default = (api["DefaultRouteSettings"]["ThrottlingRateLimit"]["Ref"],
               api["DefaultRouteSettings"]["ThrottlingBurstLimit"]["Ref"])
    protection = params("PATCH /v1/port-out-protection")
    carrier_routes = [
        "POST /v1/port-outs",
        "POST /v1/carrier-events/{carrierId}",
        "POST /v1/integrations/bandwidth/notifications",
        "POST /v1/integrations/telnyx/port-out-events",
    ]
    carrier = {params(r) for r in carrier_routes}
    assert len(carrier) == 1, carrier
    (carrier,) = carrier
    validation = params("POST /v1/integrations/bandwidth/port-out-validation")
    assert len({default, protection, carrier, validation}) == 4
    assert not set(protection) & (set(default) | set(carrier) | set(validation))
    assert not set(validation) & (set(default) | set(carrier))
    # The carrier routes share submit-port-out's concurrency with the
    # validation: together under it, by default.
    reserved = int(template["Parameters"]["SubmitPortOutReservedConcurrency"]["Default"])
    rate = lambda pair: int(template["Parameters"][pair[0]]["Default"])  # noqa: E731
    assert rate(carrier) < reserved and rate(validation) < reserved


def rate_rules(acl) -> dict:
    return {r["Name"]: r for r in acl["Rules"] if "RateBasedStatement" in r.get("Statement", {})}


def test_waf_rules_live_in_the_template(template, resources):
    """AWS WAF cannot attach to an HTTP API: an optional CLOUDFRONT web ACL
    (EnableWaf) on a distribution in front of the API, with rate rules per
    IP, per Authorization header (carrier, admin session, Bandwidth), per
    carrier webhook path and per caller of the lock."""
    param = template["Parameters"]["EnableWaf"]
    assert param["Default"] == "false" and set(param["AllowedValues"]) == {"true", "false"}
    assert template["Conditions"]["WafEnabled"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    acl = resources["ApiWebAcl"]
    assert acl["Type"] == "AWS::WAFv2::WebACL" and acl["Condition"] == "WafEnabled"
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT" and props["DefaultAction"] == {"Allow": {}}
    rules = rate_rules(props)

    def key_of(rule):
        st = rule["Statement"]["RateBasedStatement"]
        if st["AggregateKeyType"] == "IP":
            return "ip"
        assert st["AggregateKeyType"] == "CUSTOM_KEYS"
        (key,) = st["CustomKeys"]
        if "Header" in key:
            assert key["Header"]["Name"].lower() == "authorization"
            return "authorization"
        assert "UriPath" in key
        return "path"

    def scope(rule):
        return rule["Statement"]["RateBasedStatement"].get("ScopeDownStatement")

    def limit_param(rule):
        ref = rule["Statement"]["RateBasedStatement"]["Limit"]["Ref"]
        assert int(template["Parameters"][ref]["MinValue"]) >= 10, ref
        return ref

    by_key = {}
    for rule in rules.values():
        assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429, rule["Name"]
        by_key.setdefault(key_of(rule), []).append(rule)
        limit_param(rule)
    assert any(scope(r) is None for r in by_key["ip"]), "no per-IP rule over every route"
    # per caller, everywhere but Bandwidth's validation (blocked = silent = approved)
    general = [r for r in by_key["authorization"] if "NotStatement" in (scope(r) or {})]
    assert len(general) == 1
    excluded = general[0]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["NotStatement"]["Statement"]
    assert excluded["ByteMatchStatement"]["SearchString"] == "/v1/integrations/bandwidth/port-out-validation"
    # the lock, per caller, tighter than the general rule
    lock = [r for r in by_key["authorization"] if (scope(r) or {}).get("ByteMatchStatement", {}).get("SearchString")
            == "/v1/port-out-protection"]
    assert len(lock) == 1
    params = template["Parameters"]
    assert int(params[limit_param(lock[0])]["Default"]) < int(params[limit_param(general[0])]["Default"])
    # the signed webhooks, per carrier by path
    (webhook,) = by_key["path"]
    assert scope(webhook)["ByteMatchStatement"]["SearchString"] == "/v1/carrier-events/"
    assert any(
        r.get("Statement", {}).get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesAmazonIpReputationList"
        for r in props["Rules"]
    )
    assert len({r["Priority"] for r in props["Rules"]}) == len(props["Rules"])

    dist = resources["ApiDistribution"]
    assert dist["Condition"] == "WafEnabled"
    config = dist["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    behaviour = config["DefaultCacheBehavior"]
    assert {"POST", "PATCH", "PUT", "DELETE"} <= set(behaviour["AllowedMethods"])
    # CachingDisabled; AllViewerExceptHostHeader (Authorization and the signatures reach the API)
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    assert template["Outputs"]["ApiProtectedUrl"]["Condition"] == "WafEnabled"
    region_rule = template["Rules"]["WafOnlyInUsEast1"]
    assert region_rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    assert region_rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_protection_delay_at_least_an_hour_outside_dev(template, resources):
    """A stolen admin session turns the lock off and ports after the delay:
    below 3600 s only in a stack whose Stage is dev, by a parameter of its
    own that a rule refuses in any other stage."""
    params = template["Parameters"]
    delay = params["ProtectionDisableDelaySeconds"]
    assert int(delay["MinValue"]) >= 3600 and int(delay["Default"]) >= 3600
    assert params["Stage"]["Default"] == "prod" and set(params["Stage"]["AllowedValues"]) == {"prod", "dev"}
    dev = params["DevProtectionDisableDelaySeconds"]
    assert dev["Default"] == ""
    cond = template["Conditions"]["UseDevProtectionDelay"]
    assert {"Fn::Equals": [{"Ref": "Stage"}, "dev"]} in cond["Fn::And"]
    rule = template["Rules"]["ProtectionDelayOnlyShortInDev"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Stage"}, "dev"]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "DevProtectionDisableDelaySeconds"}, ""]}
    for name, (logical_id, res) in functions_by_name(resources).items():
        value = function_env(template, res)["PROTECTION_DISABLE_DELAY_SECONDS"]
        assert value == {
            "Fn::If": [
                "UseDevProtectionDelay",
                {"Ref": "DevProtectionDisableDelaySeconds"},
                {"Ref": "ProtectionDisableDelaySeconds"},
            ]
        }, logical_id
    # Nothing else reads the dev override.
    text = TEMPLATE.read_text()
    assert text.count("!Ref DevProtectionDisableDelaySeconds") == 3, "the override is used beyond the rule and the If"


def test_one_cargo_build_for_all_functions(resources):
    """Issue 26: `sam build` compiles the five functions in one cargo-lambda
    run (the SDK once, not once per function): infra/Makefile's
    build-<LogicalId> targets share one compile of every package, guarded by
    a stamp in SAM's build directory and a lock, then copy their bootstrap."""
    import subprocess

    makefile = ROOT / "infra" / "Makefile"
    text = makefile.read_text()
    funcs = functions_by_name(resources)
    for name, (logical_id, _res) in funcs.items():
        assert f"{logical_id}:{name}" in text, f"infra/Makefile does not map {logical_id} to {name}"

    # What make would run for one function, as SAM calls it.
    for name, (logical_id, _res) in funcs.items():
        artifacts = "/nonexistent/.aws-sam/build/" + logical_id
        out = subprocess.run(
            ["make", "--no-print-directory", "-n", "--makefile", str(makefile), f"build-{logical_id}"],
            cwd=ROOT / "infra",
            env={"PATH": "/usr/bin:/bin", "ARTIFACTS_DIR": artifacts},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        builds = re.findall(r"cargo lambda build [^;\n]*", out)
        assert builds, out
        for build in builds:
            assert "--release" in build and "--arm64" in build, build
            packages = set(re.findall(r"--package ([a-z-]+)", build))
            assert packages == set(FUNCTIONS), f"{logical_id}: one build of every function, got {packages}"
            assert "--bin " not in build, build
        # once per sam build: the stamp lives in SAM's build directory (emptied by each sam build)
        assert '[ -e "/nonexistent/.aws-sam/build/.portguard-cargo-lambda-built" ]' in out, out
        assert "flock" in out, out
        assert f'install -m 0755 "' in out and f'/lambda/{name}/bootstrap" "{artifacts}/bootstrap"' in out, out
