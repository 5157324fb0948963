#!/usr/bin/env bash
# The project's test command (README "Test"): installs what the tests need, then runs every test.
# - scripts/oracle.sh makes a venv with the pinned outside oracles (TA-Lib, numpy, scikit-learn)
#   and re-derives the committed goldens from them, byte for byte;
# - cargo runs the unit, property and integration tests against those goldens and real data,
#   and each benchmark once as a smoke test.
# Later issues add their services (the Kafka broker) here, never to .ci/run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/oracle.sh
cargo test --locked --bench pipeline --bench features --bench training   # each benchmark once, as a smoke test
cargo test --locked --doc
cargo test --locked --lib --bins --tests
