#!/usr/bin/env bash
# Writes shared/validation/src/us-metadata.xml: the US territory of
# libphonenumber's metadata, taken unchanged from the `phonenumber` crate that
# Cargo.lock names. Run it after bumping that crate, then
# `cargo test -p portguard-validation`.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(awk '/^name = "phonenumber"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
src="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "phonenumber-$version" | head -n 1)"
[ -n "$src" ] || { echo "phonenumber $version is not in the cargo registry: run cargo fetch" >&2; exit 1; }
python3 - "$src/assets/PhoneNumberMetadata.xml" shared/validation/src/us-metadata.xml "$version" <<'PY'
import re, sys
source, target, version = sys.argv[1:]
us = re.search(r'<territory id="US".*?</territory>', open(source).read(), re.S).group(0)
open(target, "w").write(f"""<!-- The US territory of libphonenumber's PhoneNumberMetadata.xml, extracted
     unchanged from the `phonenumber` crate {version} by
     scripts/us-metadata.sh (Apache-2.0, Copyright (C) 2009 The
     Libphonenumber Authors). portguard accepts US numbers only, and
     compiles only this territory's number patterns, ASCII-only
     (shared/validation/src/us_rules.rs); its tests check they decide as
     the crate's whole database. -->
<phoneNumberMetadata>
  <territories>
    {us}
  </territories>
</phoneNumberMetadata>
""")
PY
echo "wrote shared/validation/src/us-metadata.xml from phonenumber $version"
