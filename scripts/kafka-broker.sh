#!/usr/bin/env bash
# A real Kafka-protocol broker for the tests: tansu (DESIGN.md §8), pinned and cached.
#
#   scripts/kafka-broker.sh install              # cargo install tansu 0.6.0 --locked into the cache (once)
#   scripts/kafka-broker.sh start [STORAGE]      # start on a free 127.0.0.1 port; prints HOST:PORT
#   scripts/kafka-broker.sh stop                 # stop the broker `start` started
#   scripts/kafka-broker.sh path                 # the tansu binary (installs it first)
#
# STORAGE: memory://tansu/ (default) or sqlite://FILE (FILE relative to the broker's working
# directory, which is the state directory below; an absolute sqlite:/// path was mangled).
# The broker's pid, address and log live in $KAFKA_BROKER_STATE (default target/kafka-broker).
# Installing builds tansu from crates.io (about 12-19 minutes on 2 cores); the binary is kept in
# $TANSU_CACHE (default ~/.cache/signal-engine/tansu-0.6.0), so that happens once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0
CACHE=${TANSU_CACHE:-$HOME/.cache/signal-engine/tansu-$TANSU_VERSION}
TANSU=$CACHE/bin/tansu
STATE=${KAFKA_BROKER_STATE:-$PWD/target/kafka-broker}

install() {
  if [[ -x $TANSU ]] && "$TANSU" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    return
  fi
  echo "kafka-broker: installing tansu $TANSU_VERSION into $CACHE (once; about 15 minutes)" >&2
  mkdir -p "$CACHE"
  CARGO_TARGET_DIR=${TANSU_BUILD_DIR:-$CACHE/build} \
    cargo install tansu --version "$TANSU_VERSION" --features dynostore,libsql --locked \
      --root "$CACHE" >&2
  rm -rf "${TANSU_BUILD_DIR:-$CACHE/build}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  install
  local storage=${1:-memory://tansu/}
  stop >/dev/null 2>&1 || true
  mkdir -p "$STATE"
  local port
  port=$(free_port)
  (cd "$STATE" && exec "$TANSU" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$storage" >"$STATE/broker.log" 2>&1) &
  echo $! >"$STATE/pid"
  echo "127.0.0.1:$port" >"$STATE/address"
  # Ready when it accepts connections.
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      echo "127.0.0.1:$port"
      return
    fi
    if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      echo "kafka-broker: tansu exited; its log:" >&2
      cat "$STATE/broker.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "kafka-broker: tansu did not open port $port within 10 s" >&2
  exit 1
}

stop() {
  if [[ -f $STATE/pid ]]; then
    kill "$(cat "$STATE/pid")" 2>/dev/null || true
    rm -f "$STATE/pid" "$STATE/address"
  fi
}

case ${1:-} in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  path) install; echo "$TANSU" ;;
  *) echo "usage: $0 install|start [STORAGE]|stop|path" >&2; exit 2 ;;
esac
