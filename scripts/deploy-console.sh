#!/usr/bin/env bash
# Uploads console/ to the stack's private console bucket, writes its
# config.json (OIDC issuer, client id, API URL) and invalidates CloudFront.
# Run after `make deploy-sam`; needs the AWS CLI and credentials.
#
#   scripts/deploy-console.sh --client-id ID [--stack portguard] [--scope "openid portguard/admin"]
#
# The client id is the OIDC app client the tenant admins sign in with
# (authorization code + PKCE, no secret); its callback URL must be the
# stack's ConsoleUrl output followed by "/", and the tokens it issues must
# carry an audience the API's JwtAudience parameter accepts.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=portguard
CLIENT_ID=
SCOPE="openid portguard/admin"
while [ $# -gt 0 ]; do
  case $1 in
    --stack) STACK=$2; shift 2 ;;
    --client-id) CLIENT_ID=$2; shift 2 ;;
    --scope) SCOPE=$2; shift 2 ;;
    *) echo "usage: $0 --client-id ID [--stack NAME] [--scope SCOPES]" >&2; exit 2 ;;
  esac
done
[ -n "$CLIENT_ID" ] || { echo "deploy-console: --client-id is required" >&2; exit 2; }
command -v aws >/dev/null 2>&1 || { echo "deploy-console: needs the AWS CLI" >&2; exit 1; }

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
param() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text
}
BUCKET="$(output ConsoleBucketName)"
DIST="$(output ConsoleDistributionId)"
API_URL="$(output ApiUrl)"
ISSUER="$(param JwtIssuer)"
URL="$(output ConsoleUrl)"

CONFIG="$(mktemp)"
trap 'rm -f "$CONFIG"' EXIT
python3 - "$ISSUER" "$CLIENT_ID" "$API_URL" "$SCOPE" >"$CONFIG" <<'PY'
import json, sys
issuer, client_id, api_url, scope = sys.argv[1:]
print(json.dumps({"mode": "oidc", "issuer": issuer, "clientId": client_id, "apiUrl": api_url, "scope": scope}))
PY

# Everything but the development config.json, then the deployed one.
aws s3 sync console/ "s3://$BUCKET/" --delete --exclude config.json --cache-control no-cache
aws s3 cp "$CONFIG" "s3://$BUCKET/config.json" --content-type application/json --cache-control no-store
aws cloudfront create-invalidation --distribution-id "$DIST" --paths '/*' >/dev/null
echo "console deployed: $URL/ (API $API_URL, issuer $ISSUER)"
