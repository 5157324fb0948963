#!/usr/bin/env python3
"""Merges `signal-engine device-check --out` files (one per precision on a GPU) with the PyTorch
reference's `reference_model.py --json` (when given) into Markdown tables with same-run ratios and
the issue-11 goals, and writes the inputs plus the ratios as one JSON file.

Usage: gpu_check_report.py --engine E.json [--engine E2.json] [--torch T.json] [--json OUT.json]
Standard library only (runs in CI's venv and on the GPU machine's python3).
"""

import argparse
import json

# Issue 11's goals, on one H200.
GOAL_WINDOWS_PER_S = 500_000
GOAL_TRAIN_RATIO = 1.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", action="append", required=True)
    ap.add_argument("--torch")
    ap.add_argument("--json")
    args = ap.parse_args()
    runs = []
    for path in args.engine:
        with open(path) as f:
            runs.append(json.load(f))
    eng = dict(runs[0])
    for key in ("equivalence", "inference", "train_step", "fit"):
        eng[key] = [row for run in runs for row in run[key]]
    eng["ok"] = all(run["ok"] for run in runs)
    ref = None
    if args.torch:
        with open(args.torch) as f:
            ref = json.load(f)

    dev = eng["device"]
    print(f"# Device check: {dev['name']} ({dev['device']}), bundle {eng['bundle']}, "
          f"{eng['windows']} real windows")
    if ref:
        print(f"PyTorch {ref['torch']} (cuDNN {ref['cudnn']}) on {ref['device']}; "
              f"its outputs match the engine's exported check batch: {ref.get('check_ok')}")
    print("\n## Outputs against burn's CPU forward (p and return head, max |Δ|)\n")
    print("| forward | windows | max abs diff | limit | decisions flipped | ok |")
    print("|---|---|---|---|---|---|")
    for e in eng["equivalence"]:
        print(f"| {e['forward']} | {e['windows']} | {e['max_abs_diff']:.3e} | {e['limit']:.0e} | "
              f"{e['decisions_flipped']} | {'yes' if e['ok'] else 'NO'} |")

    torch_infer = {(r["precision"], r["batch"]): r for r in (ref or {}).get("infer", [])}
    torch_train = {(r["precision"], r["batch"]): r for r in (ref or {}).get("train", [])}
    ratios = []
    print("\n## Inference (a call: upload the windows, forward, read both heads back)\n")
    print("| forward | batch | p50 µs | p99 µs | windows/s | torch windows/s | engine/torch |")
    print("|---|---|---|---|---|---|---|")
    for r in eng["inference"]:
        precision = r["forward"].rsplit("-", 1)[-1]
        t = torch_infer.get((precision, r["batch"])) if not r["forward"].startswith("cpu") else None
        ratio = r["windows_per_s"] / t["windows_per_s"] if t else None
        if ratio is not None:
            ratios.append({"what": "inference", "forward": r["forward"], "batch": r["batch"],
                           "engine_over_torch_throughput": ratio})
        print(f"| {r['forward']} | {r['batch']} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
              f"{r['windows_per_s']:.0f} | {t['windows_per_s']:.0f} | {ratio:.2f} |" if t else
              f"| {r['forward']} | {r['batch']} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
              f"{r['windows_per_s']:.0f} | – | – |")
    print("\n## Training step (batch upload, forward, loss read, backward, clipped Adam)\n")
    print("| precision | batch | engine ms | torch ms | engine/torch time |")
    print("|---|---|---|---|---|")
    for r in eng["train_step"]:
        t = torch_train.get((r["precision"], r["batch"]))
        ratio = r["step_ms_p50"] / t["step_ms"] if t else None
        if ratio is not None:
            ratios.append({"what": "train_step", "precision": r["precision"], "batch": r["batch"],
                           "engine_over_torch_time": ratio})
        print(f"| {r['precision']} | {r['batch']} | {r['step_ms_p50']:.2f} | "
              + (f"{t['step_ms']:.2f} | {ratio:.2f} |" if t else "– | – |"))
    if eng["fit"]:
        print("\n## Short training per precision (same data, split and seed; test split)\n")
        print("| precision | epochs (best) | seconds | test windows | AUC | log loss | Brier |")
        print("|---|---|---|---|---|---|---|")
        for r in eng["fit"]:
            print(f"| {r['precision']} | {r['epochs_run']} ({r['best_epoch']}) | {r['seconds']:.1f} | "
                  f"{r['test_windows']} | {r['test_roc_auc']:.4f} | {r['test_log_loss']:.4f} | "
                  f"{r['test_brier']:.4f} |")

    goals = {}
    if not dev["device"].startswith("cpu"):
        gpu = [r for r in eng["inference"] if not r["forward"].startswith("cpu")]
        best = max((r["windows_per_s"] for r in gpu), default=0.0)
        goals["inference_windows_per_s_at_large_batch"] = {
            "goal": GOAL_WINDOWS_PER_S, "measured": best, "met": best >= GOAL_WINDOWS_PER_S}
        at1024 = [x for x in ratios if x["what"] == "inference" and x["batch"] == 1024
                  and x["forward"].endswith("f32")]
        if at1024:
            v = at1024[0]["engine_over_torch_throughput"]
            goals["inference_vs_torch_f32_at_1024"] = {"goal": 1.0, "measured": v, "met": v >= 1.0}
        for x in ratios:
            if x["what"] == "train_step" and x["precision"] == "f32":
                v = x["engine_over_torch_time"]
                goals[f"train_step_f32_batch_{x['batch']}_time_vs_torch"] = {
                    "goal": GOAL_TRAIN_RATIO, "measured": v, "met": v <= GOAL_TRAIN_RATIO}
        print("\n## Goals\n")
        for name, g in goals.items():
            print(f"- {name}: {g['measured']:.3g} against {g['goal']}: "
                  f"{'met' if g['met'] else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"engine": eng, "torch": ref, "ratios": ratios, "goals": goals}, f, indent=2)


if __name__ == "__main__":
    main()
