#!/usr/bin/env python3
"""PyTorch (CPU) reference of SignalNet for the training-speed benchmark (issue 4, "Speed").

The same architecture and sizes as src/model/net.rs (DESIGN.md §5), the same loss as
src/trainer/train.rs and the same optimiser settings, timed the same way as benches/training.rs:
one untimed warm-up step, then `--steps` full training steps at `--batch` on random seeded data;
windows/s from the median step (robust to bursts of other load on a shared machine).
scripts/bench_training.sh runs both on the same machine and reports burn/torch.

Prints machine-readable lines:
  torch_train windows_per_s=.. step_ms=.. step_ms_mean=.. step_ms_min=.. batch=.. steps=.. threads=.. params=..
  torch_phases forward_ms=.. backward_ms=.. optim_ms=..
  torch_layer name=bilstm|attention forward_ms=.. fwd_bwd_ms=..   (with --breakdown)

Usage: reference_model.py [--batch 256] [--steps N (default $BENCH_STEPS or 5)] [--threads N]
       [--breakdown]
"""

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

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


def bench_train(batch, steps, threads):
    model = SignalNet()
    model.train()  # dropout on, as in burn's autodiff model
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS)
    x = torch.randn(batch, SEQ_LEN, N_FEATURES)
    y = torch.bernoulli(torch.full((batch,), 0.4))
    r = torch.randn(batch) * 0.5
    pos = float(y.sum())
    w_pos, w_neg = batch / (2 * max(pos, 1.0)), batch / (2 * max(batch - pos, 1.0))
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=int(os.environ.get("BENCH_STEPS", "5")))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--breakdown", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    steps = max(args.steps, 1)
    bench_train(args.batch, steps, torch.get_num_threads())
    if args.breakdown:
        bench_layers(args.batch, steps)


if __name__ == "__main__":
    main()
