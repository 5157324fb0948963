"""Parses a Prometheus text exposition from stdin with the reference parser (prometheus_client)
and prints {family: {"type": ..., "samples": [[name, labels, value], ...]}} as JSON.

Exits non-zero when the text does not parse or a histogram is not cumulative and complete
(ascending `le`, non-decreasing counts, a `+Inf` bucket equal to `_count`).
Used by tests/api.rs on the engine's GET /metrics."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    text = sys.stdin.read()
    out = {}
    for fam in text_string_to_metric_families(text):
        if fam.name in out:
            print(f"family {fam.name} appears twice", file=sys.stderr)
            return 1
        out[fam.name] = {
            "type": fam.type,
            "samples": [[s.name, s.labels, s.value] for s in fam.samples],
        }
        if fam.type == "histogram":
            series = {}
            for s in fam.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(key, {"buckets": [], "count": None})
                if s.name.endswith("_bucket"):
                    series[key]["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    series[key]["count"] = s.value
            for key, h in series.items():
                les = [le for le, _ in h["buckets"]]
                counts = [c for _, c in h["buckets"]]
                if les != sorted(les) or not les or not math.isinf(les[-1]):
                    print(f"{fam.name}{key}: buckets not ascending to +Inf: {les}", file=sys.stderr)
                    return 1
                if any(b < a for a, b in zip(counts, counts[1:])) or counts[-1] != h["count"]:
                    print(f"{fam.name}{key}: counts not cumulative: {counts} / {h['count']}", file=sys.stderr)
                    return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
