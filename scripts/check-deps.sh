#!/usr/bin/env bash
# Dependency checks, run by scripts/test.sh before any test (docs/RELIABILITY.md):
#   Rust: cargo-deny (pinned, installed on first use) checks every crate's licence against
#         deny.toml's allow list, bans (wildcard versions, crates we refuse) and sources
#         (crates.io only, no git); then its advisories check against the RustSec database.
#   npm:  lockfile-lint (a devDependency) checks that package-lock.json resolves every package
#         over https from registry.npmjs.org with an integrity hash; then `npm audit`.
# The page itself ships no npm code: playwright-core and the test tools are test-only.
#
# The two advisory checks need services this machine cannot reach (the RustSec database is a
# git repository on github.com; npm's audit endpoint refuses POST here with HTTP 405). When
# the service does not answer, the check says BLOCKED and why and the run goes on; when it
# answers, any advisory fails the run. Every other check always runs and can fail.
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "cargo-deny $DENY_VERSION"; then
  echo "== installing cargo-deny $DENY_VERSION (once, ~10 min on 2 cores)" >&2
  cargo install cargo-deny --version "$DENY_VERSION" --locked
fi

echo "== cargo deny: licences, bans, sources" >&2
cargo deny --all-features check --hide-inclusion-graph licenses bans sources

echo "== cargo deny: advisories (RustSec)" >&2
if timeout 120 cargo deny fetch db >/tmp/spikeplay-deny-fetch.log 2>&1; then
  cargo deny --all-features check --hide-inclusion-graph advisories
else
  echo "BLOCKED: the RustSec advisory database (github.com/rustsec/advisory-db) could not be fetched:" >&2
  tail -n 3 /tmp/spikeplay-deny-fetch.log | sed 's/^/  /' >&2
fi

scripts/setup-web.sh # npm packages from package-lock.json, lockfile-lint among them
echo "== lockfile-lint: package-lock.json hosts, https, integrity" >&2
npx --no-install lockfile-lint --path package-lock.json --type npm --allowed-hosts npm \
  --validate-https --validate-integrity --validate-package-names

echo "== npm audit" >&2
set +e
audit=$(timeout 120 npm audit --audit-level=low 2>&1)
rc=$?
set -e
if [ $rc -eq 0 ]; then
  echo "$audit" | tail -n 1 >&2
elif echo "$audit" | grep -qE 'audit endpoint returned an error|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|405 Method Not Allowed'; then
  echo "BLOCKED: npm's advisory endpoint did not answer:" >&2
  echo "$audit" | grep -E 'npm (warn|error)' | head -n 2 | sed 's/^/  /' >&2
else
  echo "$audit" >&2
  exit 1
fi
