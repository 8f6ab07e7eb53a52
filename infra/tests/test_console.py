"""Guards on the console's hosting in infra/template.yaml: a private bucket,
read only by the console's CloudFront distribution through origin access
control, over HTTPS, and the API's CORS open to that distribution alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


@pytest.fixture(scope="module")
def resources() -> dict:
    return load_cfn_yaml(str(TEMPLATE))["Resources"]


def test_console_bucket_is_private_and_encrypted(resources):
    props = resources["ConsoleBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    assert "WebsiteConfiguration" not in props
    assert props["BucketEncryption"]


def test_only_the_distribution_reads_the_bucket(resources):
    statements = resources["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert "${ConsoleDistribution}" in str(source)
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in denies)


def test_distribution_uses_origin_access_control_and_https(resources):
    cfg = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = cfg["Origins"]
    assert "OriginAccessControlId" in origin
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert cfg["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert cfg["DefaultRootObject"] == "index.html"
    oac = resources["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")


def test_console_pages_carry_a_content_security_policy(resources):
    cfg = resources["ConsoleHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = cfg["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_api_cors_names_only_the_console(resources):
    cors = resources["HttpApi"]["Properties"]["CorsConfiguration"]
    (origin,) = cors["AllowOrigins"]
    assert "ConsoleDistribution.DomainName" in str(origin)
    assert "authorization" in cors["AllowHeaders"]
    assert cors.get("AllowCredentials") in (None, False)
