#!/usr/bin/python3
"""bench/xai_torch.py - the PyTorch peer of bench/xai.c: the same T = 60,
H = 64 LSTM autoencoder (one feature; tools/torch_model.py's
LSTMAutoencoder), one thread, float32, timing

  forward   the forward pass of 2,048 windows at batch 32 (issue 14's
            reference figure), no autograd
  shap      Kernel SHAP's model evaluations for one event, 24 players,
            2,048 coalitions, chosen as anomaly_xai.h chooses them (sizes
            enumerated whole while the budget covers them, the rest drawn
            in complementary pairs), the distinct ones scored (or --series
            of them), masked copies built and scored at batch 32, then the
            weighted least squares with the efficiency constraint
  ig        integrated gradients with 64 midpoint steps: f(x) and f(fill),
            then the 64 path windows in one batch, one backward

each --reps times (best and median).  The model is the file bench/xai
writes (--model, its second argument: the very weights it explains), else
same shapes with PyTorch's initial weights (the cost does not depend on
them).  The window, the spike and the fill are bench/xai.c's.  Prints a
RESULT line.  Debian's torch runs on whichever libblas.so.3 the loader
finds; on the reference BLAS it is about 10x slower here than on OpenBLAS
(libopenblas0-pthread, or its libblas.so.3 put first on LD_LIBRARY_PATH).

    /usr/bin/python3 bench/xai_torch.py [--model FILE] [--reps 7] [--series N]
"""
import argparse
import itertools
import json
import math
import os
import statistics
import sys
import time

# OpenBLAS reads its thread count when torch loads it (torch.set_num_threads
# does not reach it): one thread, set first
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_model import LSTMAutoencoder, load  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--model", default=None)
p.add_argument("--reps", type=int, default=7)
p.add_argument("--series", type=int, default=0, help="score this many masked copies (bench/xai's shap_scored): timing only, the values are then not Kernel SHAP's")
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(a.seed)
T, P, BUDGET, B, STEPS, N = 60, 24, 2048, 32, 64, 1200

if a.model:
    model, meta = load(a.model)
    center, scale = meta["scaler"].center[0], meta["scaler"].scale[0]
    source = "bench/xai's trained model"
else:
    model, center, scale = LSTMAutoencoder(1, [64]), 0.0, 1.0
    source = "same shapes, PyTorch's initial weights"
model.eval()
for q in model.parameters():
    q.requires_grad_(False)

# bench/xai.c's series, window, spike and fill (float32, computed in double)
train = np.array([math.sin(6.2831853 * i / 48.0) + 0.1 * math.sin(1.7 * i) for i in range(N)]).astype(np.float32)
x = train[600:600 + T].copy()
x[T - 5] += np.float32(3.0)
fill = train[600:600 + T].copy()


def scaled(raw):
    """raw (B, T) float32 -> the network's input (B, T, 1), as the C scaler (double, then float32)."""
    return ((raw.double() - center) / scale).float().unsqueeze(-1)


def score(raw):
    """The target row's score (the last row's squared error, one feature) of raw windows (B, T)."""
    z = scaled(raw)
    return (model(z)[:, -1, 0].double() - z[:, -1, 0].double()).pow(2)


def shap_coalitions(seed):
    """anomaly_xai.h's an__xai_shap_sample: (n, P) 0/1 coalitions and their weights."""
    rng = np.random.default_rng(seed)
    n_sizes, n_paired = P // 2, (P - 1) // 2
    mass = np.array([0.0] + [(P - 1) / (s * (P - s)) * (2.0 if s <= n_paired else 1.0) for s in range(1, n_sizes + 1)])
    mass /= mass.sum()
    rows, weights, left, full, budget_left = [], [], 1.0, 0, BUDGET
    for s in range(1, n_sizes + 1):
        paired = s <= n_paired
        count = math.comb(P, s)
        if budget_left * (mass[s] / left) < count * (2 if paired else 1) - 1e-8:
            break
        w = mass[s] / count / (2 if paired else 1)
        for pick in itertools.combinations(range(P), s):
            if not paired and pick[0] != 0:
                break
            z = np.zeros(P)
            z[list(pick)] = 1
            rows += [z, 1 - z]
            weights += [w, w]
        budget_left = BUDGET - len(rows)
        left -= mass[s]
        full = s
    first = len(rows)
    drawn = np.array([mass[s] / (2 if s <= n_paired else 1) for s in range(full + 1, n_sizes + 1)])
    while len(rows) < BUDGET:
        s = full + 1 + min(int(np.searchsorted(np.cumsum(drawn), rng.uniform() * drawn.sum(), side="right")), len(drawn) - 1)
        z = np.zeros(P)
        z[rng.permutation(P)[:s]] = 1
        rows.append(z)
        weights.append(1.0)
        if s <= n_paired and len(rows) < BUDGET:
            rows.append(1 - z)
            weights.append(1.0)
    weights = np.array(weights)
    weights[first:] *= left / weights[first:].sum()
    return np.array(rows), weights


segment = torch.tensor([((i + 1) * P - 1) // T for i in range(T)])   # an__xai_segment
xt, ft = torch.from_numpy(x), torch.from_numpy(fill)


def kernel_shap():
    """phi (P), the series scored and the seconds in the forward passes."""
    z, w = shap_coalitions(a.seed)
    distinct, inverse = np.unique(z, axis=0, return_inverse=True)
    if a.series:
        distinct = np.resize(distinct, (a.series, P))
    zt = torch.from_numpy(distinct).bool()
    f = torch.empty(len(zt), dtype=torch.float64)
    fwd = 0.0
    with torch.no_grad():
        ends = score(torch.stack([xt, ft]))
        for k in range(0, len(zt), B):
            present = zt[k:k + B][:, segment]                    # (b, T)
            masked = torch.where(present, xt, ft)
            t0 = time.perf_counter()
            f[k:k + B] = score(masked)
            fwd += time.perf_counter() - t0
    full, empty = ends[0].item(), ends[1].item()
    y = f.numpy()[inverse.reshape(-1) % len(f)]
    delta = full - empty
    # efficiency: phi_last = delta - sum of the others
    A = z[:, :-1] - z[:, -1:]
    yy = y - empty - z[:, -1] * delta
    phi = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * yy))
    return np.append(phi, delta - phi.sum()), len(zt), fwd, full, empty


def integrated_gradients():
    with torch.no_grad():
        ends = score(torch.stack([xt, ft]))
    alpha = (torch.arange(STEPS, dtype=torch.float32) + 0.5) / STEPS
    path = (ft + alpha[:, None] * (xt - ft)).requires_grad_(True)   # (STEPS, T)
    score(path).sum().backward()
    attr = (xt - ft).double() * path.grad.double().mean(0)
    return attr, (ends[0] - ends[1]).item()


windows = torch.from_numpy(train).unfold(0, T, 1)   # the series' 1141 windows, repeated to 2048
windows = torch.cat([windows] * (BUDGET // len(windows) + 1))[:BUDGET].contiguous()


def forward():
    with torch.no_grad():
        for k in range(0, BUDGET, B):
            model(scaled(windows[k:k + B]))


times = {"forward": [], "shap": [], "shap_forward": [], "ig": []}
forward()   # warm-up
for rep in range(a.reps):
    t0 = time.perf_counter()
    forward()
    times["forward"].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    phi, scored, fwd, full, empty = kernel_shap()
    times["shap"].append(time.perf_counter() - t0)
    times["shap_forward"].append(fwd)
    t0 = time.perf_counter()
    attr, ig_delta = integrated_gradients()
    times["ig"].append(time.perf_counter() - t0)
best = {k: 1e3 * min(v) for k, v in times.items()}
med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
with open("/proc/self/maps") as maps:   # Debian's torch calls whichever libblas.so.3 the loader found
    blas = "OpenBLAS" if "openblas" in maps.read().lower() else "not OpenBLAS"
print(f"PyTorch {torch.__version__} ({blas}), one thread, {source}; f(x) {full:.6g}, f(fill) {empty:.6g}")
print(f"forward of {BUDGET} windows at batch {B}: median {med['forward']:.1f} ms (best {best['forward']:.1f}, {a.reps} runs)")
print(f"Kernel SHAP, {P} players, {BUDGET} coalitions ({scored} series scored): median {med['shap']:.1f} ms "
      f"(best {best['shap']:.1f}; the forward passes {med['shap_forward']:.1f}); gap {phi.sum() - (full - empty):.2g}")
print(f"integrated gradients, {STEPS} midpoint steps, one backward: median {med['ig']:.1f} ms (best {best['ig']:.1f}); "
      f"relative completeness gap {abs(attr.sum().item() - ig_delta) / abs(ig_delta):.2g}")
print("RESULT " + json.dumps({
    "forward_2048_b32_ms": round(best["forward"], 2), "forward_2048_b32_median_ms": round(med["forward"], 2),
    "shap_24_players_2048_ms": round(best["shap"], 2), "shap_median_ms": round(med["shap"], 2),
    "shap_forward_median_ms": round(med["shap_forward"], 2), "shap_scored": scored,
    "ig_64_steps_ms": round(best["ig"], 2), "ig_median_ms": round(med["ig"], 2), "reps": a.reps,
    "score_x": full, "score_fill": empty, "model": "bench/xai" if a.model else "initial weights",
    "torch": torch.__version__, "blas": blas}))
