#!/usr/bin/env bash
# The project's test command (README "Test"): installs/starts what the tests need, then runs every
# test. Today the tests need nothing outside the repository (no Kafka, no network, no Python);
# later issues add their services here, never to .ci/run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --bench pipeline --bench features   # each benchmark runs once, as a smoke test
cargo test --locked --doc
cargo test --locked --lib --bins --tests
