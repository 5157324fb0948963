#!/usr/bin/env bash
# The Kafka benchmark (benches/kafka.rs) against a real broker on loopback, in release mode:
# raw rdkafka produce/consume rates (the reference, same run), events/s through publish ->
# engine (model stubbed in the bench only) -> signals, and publish -> signal latency with the
# real model. Starts its own tansu (scripts/kafka-broker.sh) and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAFKA_BROKER_STATE=${KAFKA_BROKER_STATE:-$PWD/target/kafka-bench-broker}
SIGNAL_ENGINE_KAFKA=$(scripts/kafka-broker.sh start)
export SIGNAL_ENGINE_KAFKA
trap 'scripts/kafka-broker.sh stop' EXIT
cargo bench --locked --bench kafka
