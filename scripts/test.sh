#!/usr/bin/env bash
# The project's test command (README "Test"): installs what the tests need, then runs every test.
# - scripts/oracle.sh makes a venv with the pinned outside oracles (TA-Lib, numpy, scikit-learn)
#   and re-derives the committed goldens from them, byte for byte;
#   (the same venv carries confluent-kafka, the independent Kafka client of the Kafka tests);
# - scripts/kafka-broker.sh installs the pinned tansu broker once per machine (cached; about 15
#   minutes the first time) and starts it on a free 127.0.0.1 port for the Kafka tests;
# - scripts/clients-setup.sh installs Debian's chromium when missing and the pinned Node packages
#   of scripts/clients (npm ci: TypeScript, playwright-core), and compiles the TypeScript client,
#   for the client and dashboard tests (tests/clients.rs);
# - cargo runs the unit, property and integration tests against those goldens, real data and
#   the broker, and each benchmark once as a smoke test.
# Services are started here, never in .ci/run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# The broker's one-time build overlaps the oracle venv and the test build.
mkdir -p target
scripts/kafka-broker.sh install >target/tansu-install.log 2>&1 &
install_pid=$!
scripts/oracle.sh
scripts/clients-setup.sh
cargo test --locked --no-run --lib --bins --tests \
  --bench pipeline --bench features --bench training --bench kafka
if ! wait "$install_pid"; then
  cat target/tansu-install.log >&2
  echo "test.sh: installing the Kafka broker (tansu) failed" >&2
  exit 1
fi
SIGNAL_ENGINE_KAFKA=$(scripts/kafka-broker.sh start)
trap 'scripts/kafka-broker.sh stop' EXIT
SIGNAL_ENGINE_TANSU=$(scripts/kafka-broker.sh path)
SIGNAL_ENGINE_PYTHON=$PWD/${ORACLE_VENV:-.venv-oracle}/bin/python
SIGNAL_ENGINE_REQUIRE_KAFKA=1
SIGNAL_ENGINE_REQUIRE_CLIENTS=1
export SIGNAL_ENGINE_KAFKA SIGNAL_ENGINE_TANSU SIGNAL_ENGINE_PYTHON SIGNAL_ENGINE_REQUIRE_KAFKA
export SIGNAL_ENGINE_REQUIRE_CLIENTS
cargo test --locked --bench pipeline --bench features --bench training --bench kafka   # each benchmark once, as a smoke test
cargo test --locked --doc
cargo test --locked --lib --bins --tests
cargo test --locked -p signal-engine-kernels   # the product kernel, on every path this CPU has
