#!/usr/bin/env python3
"""Example bot-side consumer of signal-engine's `signals` topic (confluent-kafka).

    scripts/consume_signals.py --brokers 127.0.0.1:9092              # follow live signals
    scripts/consume_signals.py --brokers HOST:PORT --from-beginning --idle-exit 10 --raw

Each message: key = symbol, value = Signal JSON (schemas/signal.schema.json), headers
`schema_version` and `model_version`. Delivery is at-least-once: a restart of the engine can
repeat a signal, so a bot keys its actions on `signal_id`, as below.
"""
import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--topic", default="signals")
    ap.add_argument("--group", help="consumer group (default: a fresh one per run)")
    ap.add_argument("--from-beginning", action="store_true", help="read the topic from its start")
    ap.add_argument("--idle-exit", type=float, help="exit after this many seconds without a message")
    ap.add_argument("--raw", action="store_true",
                    help="print every message as JSON {key, value, headers, partition, offset} (duplicates too)")
    a = ap.parse_args()

    consumer = Consumer({
        "bootstrap.servers": a.brokers,
        "group.id": a.group or f"signals-example-{uuid.uuid4()}",
        "auto.offset.reset": "earliest" if a.from_beginning else "latest",
        "enable.auto.commit": True,
    })
    consumer.subscribe([a.topic])
    seen = set()
    last = time.monotonic()
    try:
        while a.idle_exit is None or time.monotonic() - last < a.idle_exit:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    print(f"consumer error: {msg.error()}", file=sys.stderr)
                continue
            last = time.monotonic()
            signal = json.loads(msg.value())
            if a.raw:
                headers = {k: v.decode() for k, v in (msg.headers() or [])}
                print(json.dumps({"key": msg.key().decode(), "value": signal, "headers": headers,
                                  "partition": msg.partition(), "offset": msg.offset()}), flush=True)
                continue
            if signal["signal_id"] in seen:  # an at-least-once repeat
                continue
            seen.add(signal["signal_id"])
            print(f'{signal["symbol"]:>12} {signal["bar_close_time_ms"]} p={signal["p_profitable"]:.3f} '
                  f'{signal["decision"]:<4} model={signal["model_version"]} '
                  f'valid={signal["features_valid"]}', flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
