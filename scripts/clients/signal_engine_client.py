"""A small client of signal-engine's sidecar API (schemas/openapi.json) for Python bots.

Standard library only (Python 3.9+). A bot in five lines:

    from signal_engine_client import signals
    for event_id, signal in signals():
        if signal["decision"] == "long" and signal["features_valid"]:
            place_order(signal["symbol"])

Run as a script to print signals as JSON lines:
    python scripts/clients/signal_engine_client.py [--url http://127.0.0.1:8787] [--max N]
"""
import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = os.environ.get("SIGNAL_ENGINE_URL", "http://127.0.0.1:8787")


def _get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def latest(base=DEFAULT_URL, symbol=None):
    """Every symbol's newest signal (a list), or one symbol's (a dict; None when it has none)."""
    if symbol is None:
        return _get_json(base + "/v1/signals/latest")
    try:
        return _get_json(base + "/v1/signals/latest?symbol=" + urllib.parse.quote(symbol))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def ready(base=DEFAULT_URL):
    """(ready, reasons): whether the engine's signals can be trusted now, and why not."""
    try:
        body = _get_json(base + "/readyz")
    except urllib.error.HTTPError as e:  # 503 carries the same JSON
        body = json.load(e)
    return body["ready"], body["reasons"]


def signals(base=DEFAULT_URL, last_event_id=None, retry_secs=1.0, on_gap=None):
    """Yields (id, signal) for every new signal, forever. Follows /v1/signals/stream and, after a
    dropped connection, resumes with Last-Event-ID so the engine's resume buffer fills the hole."""
    url = urllib.parse.urlsplit(base)
    while True:
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        try:
            headers = {"Accept": "text/event-stream"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = str(last_event_id)
            conn.request("GET", "/v1/signals/stream", headers=headers)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ConnectionError(f"stream: {resp.status} {resp.read().decode(errors='replace')}")
            event, ev_id, data = "message", None, []
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if event == "gap" and on_gap:
                        on_gap("\n".join(data))
                    if event == "signal" and ev_id is not None:
                        last_event_id = ev_id
                        yield ev_id, json.loads("\n".join(data))
                    event, ev_id, data = "message", None, []
                    continue
                if line.startswith(":"):
                    continue  # keep-alive comment
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "id":
                    ev_id = value
                elif field == "data":
                    data.append(value)
        except (OSError, http.client.HTTPException, ConnectionError) as e:
            print(f"signal-engine stream: {e}; reconnecting", file=sys.stderr)
        finally:
            conn.close()
        time.sleep(retry_secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--max", type=int, default=0, help="stop after N signals (0: never)")
    args = ap.parse_args()
    print("ready:", ready(args.url), file=sys.stderr)
    print("latest:", [s["symbol"] for s in latest(args.url)], file=sys.stderr)
    for n, (ev_id, sig) in enumerate(signals(args.url), start=1):
        print(json.dumps({"id": ev_id, **sig}), flush=True)
        if args.max and n >= args.max:
            break


if __name__ == "__main__":
    main()
