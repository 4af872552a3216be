#!/usr/bin/python3
"""bench/e2e_python.py - the Python peer of `anomaly detect` for make
bench-e2e: the seeds' pipeline, statsmodels STL + IQR fences on the
residuals and a PyTorch LSTM autoencoder, doing the job of the CLI's
default hybrid with its sizes.  One thread (torch.set_num_threads(1)).

    /usr/bin/python3 bench/e2e_python.py detect FILE.csv OUT.csv MODEL.pt
        [--window 48] [--units 32] [--epochs 20] [--batch 32] [--lr 3e-3]
        [--seed 1] [--period P]
    /usr/bin/python3 bench/e2e_python.py cold MODEL.pt FILE.csv

detect reads FILE.csv (timestamp, value), fits on every row as `anomaly
detect` does by default, and writes OUT.csv ('row,score,anomaly', the
pooled likelihood and the flag of each row) and MODEL.pt (torch.save of
the autoencoder's state_dict and its scaler).  cold loads torch and
MODEL.pt, scores the window of the first `window` rows of FILE.csv and
prints that score: the time to a loaded model's first score.

What each step does, against the CLI's default hybrid (examples/anomaly.c
make_detector, anomaly_stats.h an_hybrid_create):
- period: the lag of the highest local maximum of the autocorrelation
  between 4 and n/3 (the library: an_detect_periods, periodogram peaks
  refined by the autocorrelation, the longest period kept); printed.
- STL + IQR: statsmodels STL(period, seasonal=7, robust=True) on the
  whole series; a row's score is max(Q1 - r, r - Q3) / IQR of its
  residual r, the quartiles of all residuals.  The library's is the same
  score, but of the one-step residual of a causal Holt-Winters filter
  seeded by STL (so it can stream); this one sees the future.
- autoencoder: nn.LSTM(1, units) encoder, its last state repeated over
  the window into nn.LSTM(units, units), nn.Linear(units, 1) at every
  step (tools/torch_model.py's LSTMAutoencoder); standard scaler of the
  training rows; windows every `stride` = n / 2048 + 1 rows, the last 10%
  (chronologically) for validation, shuffled batches, Adam (lr 3e-3),
  MSE, at most `epochs` epochs, early stopping after 5 without a better
  validation loss, the best epoch's weights kept.  A row's score is the
  squared error of its reconstruction as the last row of the window
  ending at it (0 for the first window - 1 rows), as the library's.
- decision: each member's score becomes a likelihood, its rank among the
  training scores ((k - 0.5) / n for the k-th smallest), past their 90th
  percentile the larger of that and an exponential tail fitted to the
  excesses over it (maximum likelihood: their mean); a member votes
  at likelihood > 0.999; weights 0.6 (STL + IQR) and 0.4 (LSTM); a row is
  flagged when the votes reach half the weight (so STL + IQR alone can
  flag, the LSTM only with it); the score is the weighted mean of the
  likelihoods; a flagged run of one row is kept only when that score
  reaches 0.9999.  The library's calibration interpolates 33 quantile
  knots and fits a generalized Pareto tail (shape in [0, 1]) by least
  squares on the knots from 90% to 99.1%, and its members also vote on
  sustained departures (12 rows, robust z 8), which is not done here.
"""
import argparse
import csv
import sys
import time

T0 = time.perf_counter()


def read_values(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return [float(r[1]) for r in rows[1:] if len(r) > 1 and r[1] not in ("", "nan")]


def detect_period(x, np):
    y = x - x.mean()
    n = len(y)
    spec = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    acf /= acf[0]
    best, lag = -1.0, 0
    for k in range(4, n // 3):
        if acf[k] > acf[k - 1] and acf[k] >= acf[k + 1] and acf[k] > best:
            best, lag = acf[k], k
    return lag


def likelihood(train, s, np):
    """The rank of s among the training scores, and past their 90th
    percentile the larger of that and an exponential tail fitted to the
    excesses over it (so a row can be rarer than 1 / n)."""
    srt = np.sort(train)
    p = np.maximum(np.searchsorted(srt, s, side="right") - 0.5, 0.0) / len(train)
    q90 = np.percentile(train, 90)
    excess = srt[srt > q90] - q90
    if len(excess) and excess.mean() > 0:
        p = np.where(s > q90, np.maximum(p, 1.0 - 0.1 * np.exp(-(s - q90) / excess.mean())), p)
    return p


def build_model(torch, units):
    from torch import nn

    class AE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.LSTM(1, units, batch_first=True)
            self.dec = nn.LSTM(units, units, batch_first=True)
            self.out = nn.Linear(units, 1)

        def forward(self, x):
            h, _ = self.enc(x)
            code = h[:, -1:, :].expand(-1, x.shape[1], -1)
            h, _ = self.dec(code)
            return self.out(h)

    return AE()


def detect(a):
    import numpy as np
    import torch
    from statsmodels.tsa.seasonal import STL
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    t_import = time.perf_counter()
    x = np.asarray(read_values(a.file), dtype=np.float64)
    n = len(x)
    period = a.period or detect_period(x, np)
    t = time.perf_counter()
    resid = STL(x, period=period, seasonal=7, robust=True).fit().resid
    q1, q3 = np.percentile(resid, [25, 75])
    iqr = max(q3 - q1, 1e-12)
    stl_score = np.maximum(q1 - resid, resid - q3) / iqr
    t_stl = time.perf_counter() - t

    t = time.perf_counter()
    torch.manual_seed(a.seed)
    mean, std = float(x.mean()), float(x.std())
    xs = torch.tensor((x - mean) / std, dtype=torch.float32)
    T = a.window
    windows = xs.unfold(0, T, 1).unsqueeze(-1)           # (n - T + 1, T, 1), every row
    train_w = windows[::n // 2048 + 1]
    n_val = max(1, int(len(train_w) * 0.1))
    fit_w, val_w = train_w[:-n_val], train_w[-n_val:]
    model = build_model(torch, a.units)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    best, best_state, bad, epochs = float("inf"), None, 0, 0
    for epoch in range(a.epochs):
        model.train()
        for idx in torch.randperm(len(fit_w)).split(a.batch):
            xb = fit_w[idx]
            opt.zero_grad()
            loss = torch.mean((model(xb) - xb) ** 2)
            loss.backward()
            opt.step()
        epochs += 1
        model.eval()
        with torch.no_grad():
            val = torch.mean((model(val_w) - val_w) ** 2).item()
        if val < best:
            best, bad = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= 5:
                break
    model.load_state_dict(best_state)
    t_train = time.perf_counter() - t

    t = time.perf_counter()
    ae_score = np.zeros(n)
    with torch.no_grad():
        for s in range(0, len(windows), 512):
            w = windows[s:s + 512]
            ae_score[s + T - 1:s + T - 1 + len(w)] = ((model(w)[:, -1, 0] - w[:, -1, 0]) ** 2).numpy()
    t_score = time.perf_counter() - t

    p_stl, p_ae = likelihood(stl_score, stl_score, np), likelihood(ae_score, ae_score, np)
    pooled = 0.6 * p_stl + 0.4 * p_ae
    flag = (0.6 * (p_stl > 0.999) + 0.4 * (p_ae > 0.999)) >= 0.5
    lone = flag & ~np.concatenate(([False], flag[:-1])) & ~np.concatenate((flag[1:], [False]))
    flag &= ~(lone & (pooled < 0.9999))
    with open(a.out, "w") as f:
        f.write("row,score,anomaly\n")
        for k in range(n):
            f.write(f"{k},{pooled[k]:.9g},{int(flag[k])}\n")
    torch.save({"state_dict": best_state, "mean": mean, "std": std, "window": T, "units": a.units}, a.model)
    print(f"e2e_python: {n} rows, period {period}, {epochs} epochs (best validation {best:.4g}), "
          f"{int(flag.sum())} rows flagged; seconds: start + imports {t_import - T0:.2f}, STL + IQR {t_stl:.2f}, "
          f"LSTM training {t_train:.2f}, scoring {t_score:.2f}, total {time.perf_counter() - T0:.2f}", file=sys.stderr)


def cold(a):
    import torch
    torch.set_num_threads(1)
    t = time.perf_counter()
    saved = torch.load(a.model)
    model = build_model(torch, saved["units"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    T = saved["window"]
    x = torch.tensor(read_values(a.file)[:T], dtype=torch.float32)
    w = ((x - saved["mean"]) / saved["std"]).reshape(1, T, 1)
    with torch.no_grad():
        score = ((model(w)[0, -1, 0] - w[0, -1, 0]) ** 2).item()
    print(f"{score:.6g}")
    print(f"e2e_python cold: start + import torch {t - T0:.3f} s, load + first score {time.perf_counter() - t:.4f} s",
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("detect")
    d.add_argument("file")
    d.add_argument("out")
    d.add_argument("model")
    for name, kind, default in (("window", int, 48), ("units", int, 32), ("epochs", int, 20), ("batch", int, 32),
                                ("lr", float, 3e-3), ("seed", int, 1), ("period", int, 0)):
        d.add_argument("--" + name, type=kind, default=default)
    c = sub.add_parser("cold")
    c.add_argument("model")
    c.add_argument("file")
    a = p.parse_args()
    detect(a) if a.cmd == "detect" else cold(a)


if __name__ == "__main__":
    main()
