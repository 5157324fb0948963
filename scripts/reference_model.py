#!/usr/bin/env python3
"""PyTorch (CPU) reference of SignalNet: the training-speed benchmark (issue 4) and, with a
bundle's exported weights, the inference equivalence check and benchmark (issue 10).

The same architecture and sizes as src/model/net.rs (DESIGN.md §5), the same loss as
src/trainer/train.rs and the same optimiser settings, timed the same way as benches/training.rs:
one untimed warm-up step, then `--steps` full training steps at `--batch` on random seeded data;
windows/s from the median step (robust to bursts of other load on a shared machine).
scripts/bench_training.sh runs both on the same machine and reports burn/torch.

With `--weights FILE` (written by `signal-engine export-weights`: the bundle's weights under this
module's state_dict names, a check batch and the engine's outputs on it) the model is the engine's:
  --check   runs the check batch and fails unless p and the return agree with the engine's to 1e-4
            (the return head in its training unit of 100 bps);
  --infer   times inference (`torch.inference_mode`, eval mode): batch 1 over `--calls` calls
            (p50, p99), and batches 64 and 256 (windows/s of the median of `--reps` calls).
scripts/bench_inference.sh runs it beside benches/inference.rs.

On a GPU (`--device cuda`, cuDNN's LSTM; scripts/gpu-check.sh): `--infer --batches 1,64,1024,8192`
times each batch as the engine's `device-check` does (upload the windows, forward, read both heads
back; the median of `--reps` calls), `--train-batches 256,4096` times full training steps (batch
upload included), `--bf16` adds the same under `torch.autocast(bfloat16)`, and `--json FILE`
writes every result as JSON.

Prints machine-readable lines:
  torch_train windows_per_s=.. step_ms=.. step_ms_mean=.. step_ms_min=.. batch=.. steps=.. threads=.. params=..
  torch_phases forward_ms=.. backward_ms=.. optim_ms=..
  torch_layer name=bilstm|attention forward_ms=.. fwd_bwd_ms=..   (with --breakdown)
  torch_check max_abs_p=.. max_abs_return_head=.. ok=1|0            (with --weights --check)
  torch_infer batch=.. threads=.. p50_us=.. p99_us=.. windows_per_s=..   (with --weights --infer)
  torch_device_infer device=.. precision=.. batch=.. p50_us=.. p99_us=.. windows_per_s=..
  torch_device_train device=.. precision=.. batch=.. step_ms=.. windows_per_s=..

Usage: reference_model.py [--batch 256] [--steps N (default $BENCH_STEPS or 5)] [--threads N]
       [--breakdown]
       reference_model.py --weights FILE [--check] [--infer [--calls 500] [--reps 20]] [--threads N]
       reference_model.py --weights FILE --device cuda [--check] [--infer] [--batches 1,64,1024,8192]
                          [--train-batches 256,4096] [--bf16] [--reps 20] [--json FILE]
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reference_numpy import load as load_weights

N_FEATURES = 9
SEQ_LEN = 60
# TrainConfig defaults (src/config/model.rs) and SignalNetConfig defaults (src/model/net.rs).
D_MODEL = 128
N_HEADS = 4
D_HIDDEN = 64
DROPOUT = 0.2
LEARNING_RATE = 1e-3
RETURN_LOSS_WEIGHT = 0.1
RETURN_SCALE_BPS = 100.0
# burn's AdamConfig default epsilon (torch's is 1e-8); betas are the same.
ADAM_EPS = 1e-5
SEED = 42


class SignalNet(nn.Module):
    """Linear F→d → BiLSTM (d/2 per direction) + residual + LayerNorm → BiLSTM + residual +
    LayerNorm → 4-head self-attention + residual + LayerNorm → concat(last step, mean over T) →
    Linear → ReLU → dropout → LayerNorm → two Linear(d_hidden, 1) heads."""

    def __init__(self, n_features=N_FEATURES, d=D_MODEL, heads=N_HEADS, hidden=D_HIDDEN,
                 dropout=DROPOUT):
        super().__init__()
        self.input = nn.Linear(n_features, d)
        self.lstm1 = nn.LSTM(d, d // 2, batch_first=True, bidirectional=True)
        self.norm1 = nn.LayerNorm(d)
        self.lstm2 = nn.LSTM(d, d // 2, batch_first=True, bidirectional=True)
        self.norm2 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(d)
        self.fc = nn.Linear(2 * d, hidden)
        self.dropout = nn.Dropout(dropout)
        self.norm_fc = nn.LayerNorm(hidden)
        self.head_profitable = nn.Linear(hidden, 1)
        self.head_return = nn.Linear(hidden, 1)

    def forward(self, x):
        h = self.input(x)
        o, _ = self.lstm1(h)
        h = self.norm1(o + h)
        o, _ = self.lstm2(h)
        h = self.norm2(o + h)
        # need_weights=False: burn's MultiHeadAttention does not average the weights either, and
        # it lets torch take its fastest path (a fair reference is torch at its best).
        a, _ = self.attn(h, h, h, need_weights=False)
        h = self.norm3(a + h)
        z = torch.cat([h[:, -1, :], h.mean(dim=1)], dim=1)
        z = self.norm_fc(self.dropout(F.relu(self.fc(z))))
        logit = self.head_profitable(z).squeeze(1)
        expected_return_bps = self.head_return(z).squeeze(1) * RETURN_SCALE_BPS
        return logit, expected_return_bps


def loss_fn(logit, ret_bps, y, r, w_pos, w_neg):
    """train.rs `loss`: class-weighted BCE on the logit + weighted Huber (delta 1) on the return
    head in units of 100 bps."""
    weights = y * (w_pos - w_neg) + w_neg
    bce = F.binary_cross_entropy_with_logits(logit, y, weight=weights)
    huber = F.huber_loss(ret_bps / RETURN_SCALE_BPS, r, delta=1.0)
    return bce + RETURN_LOSS_WEIGHT * huber


def ms(t0):
    return (time.perf_counter() - t0) * 1e3


def train_setup(batch, n_features=N_FEATURES, seq_len=SEQ_LEN, device="cpu"):
    """A fresh model in training mode (dropout on, as in burn's autodiff model) with its Adam,
    random host data for one batch and its balanced class weights: (model, opt, x, y, r, w_pos,
    w_neg)."""
    model = SignalNet(n_features=n_features).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS)
    x = torch.randn(batch, seq_len, n_features)
    y = torch.bernoulli(torch.full((batch,), 0.4))
    r = torch.randn(batch) * 0.5
    pos = float(y.sum())
    w_pos, w_neg = batch / (2 * max(pos, 1.0)), batch / (2 * max(batch - pos, 1.0))
    return model, opt, x, y, r, w_pos, w_neg


def bench_train(batch, steps, threads):
    model, opt, x, y, r, w_pos, w_neg = train_setup(batch)
    params = sum(p.numel() for p in model.parameters())
    times = []  # per timed step: (total, forward, backward, optimiser) in ms
    for step in range(steps + 1):  # step 0 is the untimed warm-up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logit, ret = model(x)
        loss = loss_fn(logit, ret, y, r, w_pos, w_neg)
        lv = loss.item()  # train.rs reads the loss every step too
        assert lv == lv, "loss is NaN"
        f = ms(t0)
        t1 = time.perf_counter()
        loss.backward()
        b = ms(t1)
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        o = ms(t2)
        if step > 0:
            times.append((ms(t0), f, b, o))
    total, fwd, bwd, optim = (statistics.median(c) for c in zip(*times))
    steps_ms = [t[0] for t in times]
    print(f"torch_train windows_per_s={batch * 1e3 / total:.1f} step_ms={total:.1f} "
          f"step_ms_mean={statistics.fmean(steps_ms):.1f} step_ms_min={min(steps_ms):.1f} "
          f"batch={batch} steps={steps} threads={threads} params={params}")
    print(f"torch_phases forward_ms={fwd:.1f} backward_ms={bwd:.1f} optim_ms={optim:.1f}")


def time_layer(name, steps, x, f):
    """Medians of the forward part and of forward + backward of f(x).sum(), as benches/training.rs
    times them."""
    fwd, both = [], []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        out = f(x).sum()
        out.item()
        forward = ms(t0)
        out.backward()
        x.grad = None
        if i > 0:
            fwd.append(forward)
            both.append(ms(t0))
    print(f"torch_layer name={name} forward_ms={statistics.median(fwd):.1f} "
          f"fwd_bwd_ms={statistics.median(both):.1f}")


def bench_layers(batch, steps):
    """The same per-layer costs benches/training.rs prints with BENCH_BREAKDOWN=1."""
    x = torch.randn(batch, SEQ_LEN, D_MODEL, requires_grad=True)
    lstm = nn.LSTM(D_MODEL, D_MODEL // 2, batch_first=True, bidirectional=True)
    time_layer("bilstm", steps, x, lambda x: lstm(x)[0])
    attn = nn.MultiheadAttention(D_MODEL, N_HEADS, dropout=DROPOUT, batch_first=True)
    time_layer("attention", steps, x, lambda x: attn(x, x, x, need_weights=False)[0])


def load_safetensors(path):
    """(tensors, metadata) of a safetensors file, read by reference_numpy.py's parser."""
    arrays, meta = load_weights(path, np.float32)
    return {name: torch.from_numpy(a) for name, a in arrays.items()}, meta


def engine_model(path):
    """The engine's model from `signal-engine export-weights`, in eval mode; and the check batch."""
    tensors, meta = load_safetensors(path)
    check = {k[len("check."):]: tensors.pop(k) for k in list(tensors) if k.startswith("check.")}
    model = SignalNet(n_features=int(meta["n_features"]), d=int(meta["d_model"]),
                      heads=int(meta["n_heads"]), hidden=int(meta["d_hidden"]))
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, check, meta


def check_outputs(model, check):
    with torch.inference_mode():
        logit, ret = model(check["x"])
    dp = (torch.sigmoid(logit) - check["p"]).abs().max().item()
    dr = ((ret - check["return_bps"]) / RETURN_SCALE_BPS).abs().max().item()
    ok = dp <= 1e-4 and dr <= 1e-4
    print(f"torch_check max_abs_p={dp:.3e} max_abs_return_head={dr:.3e} ok={int(ok)}")
    return ok


def bench_infer(model, seq_len, n_features, threads, calls, reps):
    gen = torch.Generator().manual_seed(SEED)
    with torch.inference_mode():
        x = torch.randn(1, seq_len, n_features, generator=gen)
        for _ in range(20):
            model(x)
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e6)
        times.sort()
        p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"torch_infer batch=1 threads={threads} p50_us={p50:.1f} p99_us={p99:.1f} "
              f"windows_per_s={1e6 / p50:.1f}")
        for batch in (64, 256):
            x = torch.randn(batch, seq_len, n_features, generator=gen)
            model(x)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1e6)
            med = statistics.median(times)
            print(f"torch_infer batch={batch} threads={threads} p50_us={med:.1f} "
                  f"p99_us={max(times):.1f} windows_per_s={batch * 1e6 / med:.1f}")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def precision_ctx(device, precision):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def bench_device_infer(model, seq_len, n_features, device, precision, batches, reps):
    """Per batch: host windows → device, forward, both heads back to the host (what the engine's
    device-check times per call); p50/p99 over `reps` calls after three warm-ups."""
    gen = torch.Generator().manual_seed(SEED)
    rows = []
    with torch.inference_mode(), precision_ctx(device, precision):
        for batch in batches:
            x = torch.randn(batch, seq_len, n_features, generator=gen)
            times = []
            for i in range(reps + 3):
                sync(device)
                t0 = time.perf_counter()
                logit, ret = model(x.to(device))
                out = torch.stack([torch.sigmoid(logit), ret]).float().cpu()
                elapsed = (time.perf_counter() - t0) * 1e6
                assert out.shape[1] == batch
                if i >= 3:
                    times.append(elapsed)
            times.sort()
            p50 = times[len(times) // 2]
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            row = {"device": device.type, "precision": precision, "batch": batch,
                   "p50_us": p50, "p99_us": p99, "windows_per_s": batch * 1e6 / p50}
            print(f"torch_device_infer device={device.type} precision={precision} batch={batch} "
                  f"p50_us={p50:.1f} p99_us={p99:.1f} windows_per_s={row['windows_per_s']:.1f}")
            rows.append(row)
    return rows


def bench_device_train(device, precision, batches, reps, n_features, seq_len):
    """Full training steps as bench_train takes them, with the batch uploaded each step (the
    engine's step builds its batch on the host too); the median of `reps` steps after a warm-up."""
    rows = []
    for batch in batches:
        torch.manual_seed(SEED)
        model, opt, x, y, r, w_pos, w_neg = train_setup(batch, n_features, seq_len, device)
        times = []
        for i in range(reps + 1):
            sync(device)
            t0 = time.perf_counter()
            xd, yd, rd = x.to(device), y.to(device), r.to(device)
            opt.zero_grad(set_to_none=True)
            with precision_ctx(device, precision):
                logit, ret = model(xd)
                loss = loss_fn(logit.float(), ret.float(), yd, rd, w_pos, w_neg)
            lv = loss.item()
            assert lv == lv, "loss is NaN"
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sync(device)
            if i > 0:
                times.append(ms(t0))
        step = statistics.median(times)
        row = {"device": device.type, "precision": precision, "batch": batch, "step_ms": step,
               "windows_per_s": batch * 1e3 / step}
        print(f"torch_device_train device={device.type} precision={precision} batch={batch} "
              f"step_ms={step:.2f} windows_per_s={row['windows_per_s']:.1f}")
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=int(os.environ.get("BENCH_STEPS", "5")))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--weights", help="safetensors from `signal-engine export-weights`")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--infer", action="store_true")
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--batches", default="1,64,1024,8192")
    ap.add_argument("--train-batches", default="")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--json", help="write the device results here")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.weights and device.type != "cpu":
        model, check, meta = engine_model(args.weights)
        model.to(device)
        out = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else args.device,
               "torch": torch.__version__, "cudnn": torch.backends.cudnn.version()}
        if args.check:
            out["check_ok"] = check_outputs(model, {k: v.to(device) for k, v in check.items()})
        precisions = ["f32", "bf16"] if args.bf16 else ["f32"]
        ints = lambda s: [int(v) for v in s.split(",") if v]
        seq_len, n_features = int(meta["seq_len"]), int(meta["n_features"])
        out["infer"] = [row for p in precisions for row in bench_device_infer(
            model, seq_len, n_features, device, p, ints(args.batches), max(args.reps, 5))
        ] if args.infer else []
        out["train"] = [row for p in precisions for row in bench_device_train(
            device, p, ints(args.train_batches), max(args.reps, 5), n_features, seq_len)]
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
        if args.check and not out["check_ok"]:
            sys.exit(1)
        return
    if args.weights:
        model, check, meta = engine_model(args.weights)
        if args.check and not check_outputs(model, check):
            sys.exit(1)
        if args.infer:
            bench_infer(model, int(meta["seq_len"]), int(meta["n_features"]),
                        torch.get_num_threads(), max(args.calls, 100), max(args.reps, 5))
        return
    steps = max(args.steps, 1)
    bench_train(args.batch, steps, torch.get_num_threads())
    if args.breakdown:
        bench_layers(args.batch, steps)


if __name__ == "__main__":
    main()
