"""`make deploy` guard: says what is missing before a long `sam build`.

Usage: deploy-check.py infra/samconfig.toml CONFIG_ENV

Needs, and checks: AWS credentials and a region that boto3 (SAM's own SDK)
resolves (environment, profile, SSO or instance role), and a `[CONFIG_ENV]`
table in samconfig.toml whose deploy parameters give the template's
parameters that have no default. `make deploy-sam` (sam deploy --guided)
asks for those once and saves them there.
"""

import os
import sys
import tomllib

import boto3

REQUIRED = ("JwtIssuer", "JwtAudience", "SecretsExtensionLayerArn")


def main(config_path: str, env: str) -> int:
    problems = []
    with open(config_path, "rb") as f:
        config = tomllib.load(f)
    deploy = config.get(env, {}).get("deploy", {}).get("parameters", {})
    session = boto3.Session()
    region = (
        deploy.get("region")
        or config.get(env, {}).get("global", {}).get("parameters", {}).get("region")
        or os.environ.get("AWS_REGION")
        or session.region_name
    )
    if session.get_credentials() is None:
        problems.append(
            "no AWS credentials: set AWS_PROFILE (aws configure / aws sso login) "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if not region:
        problems.append("no AWS region: export AWS_REGION=<region> (or set one in your profile)")
    overrides = deploy.get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    missing = [p for p in REQUIRED if f"{p}=" not in overrides]
    if missing:
        problems.append(
            f"{config_path} [{env}.deploy.parameters] has no parameter_overrides for "
            f"{', '.join(missing)}: run `make deploy-sam` once (sam deploy --guided) and save "
            f"the answers under a config environment, then `make deploy SAM_CONFIG_ENV=<it>`"
        )
    if problems:
        print("make deploy: cannot deploy yet (see docs/deploy.md):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"make deploy: region {region}, config env [{env}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
