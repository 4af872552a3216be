#!/usr/bin/python3
"""bench/vae_torch.py - the PyTorch peer of bench/vae.c: the same VAE (dense
or LSTM encoder / decoder, head Linear(H, 2L) chunked into mu and a
log-variance clamped to +-10, loss MSE + 0.01 KL), the same series (a sine of
period 24 plus N(0, 0.1^2) noise, standardised), windows at every row, Adam
1e-3, one thread, float32.  Prints the training seconds and a RESULT line.

    /usr/bin/python3 bench/vae_torch.py [--arch dense|lstm] [--N rows] [--T window]
        [--H units] [--L latent] [--B batch] [--epochs E] [--seed S]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--arch", default="dense", choices=["dense", "lstm"])
for name, default in (("N", 2000), ("T", 48), ("H", 32), ("L", 8), ("B", 32), ("epochs", 5), ("seed", 1)):
    p.add_argument("--" + name, type=int, default=default)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(a.seed)
T, H, L = a.T, a.H, a.L
x = torch.sin(2 * math.pi * torch.arange(a.N, dtype=torch.float32) / 24) + 0.1 * torch.randn(a.N)
x = (x - x.mean()) / x.std()
windows = x.unfold(0, T, 1).unsqueeze(-1).contiguous()   # (N - T + 1, T, 1)


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.head = nn.Linear(T, H), nn.Linear(H, 2 * L)
        self.dec, self.out = nn.Linear(L, H), nn.Linear(H, T)

    def encode(self, w):
        return self.head(torch.tanh(self.enc(w.reshape(w.shape[0], -1))))

    def decode(self, z):
        return self.out(torch.tanh(self.dec(z))).reshape(z.shape[0], T, 1)


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.head = nn.LSTM(1, H, batch_first=True), nn.Linear(H, 2 * L)
        self.dec, self.out = nn.LSTM(L, H, batch_first=True), nn.Linear(H, 1)

    def encode(self, w):
        return self.head(self.enc(w)[0][:, -1])

    def decode(self, z):
        return self.out(self.dec(z.unsqueeze(1).expand(-1, T, -1))[0])


model = Dense() if a.arch == "dense" else Lstm()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
t0 = time.perf_counter()
for epoch in range(a.epochs):
    order = torch.randperm(windows.shape[0])
    for i in range(0, windows.shape[0], a.B):
        w = windows[order[i:i + a.B]]
        mu, raw = model.encode(w).chunk(2, dim=1)
        lv = raw.clamp(-10, 10)
        y = model.decode(mu + torch.exp(0.5 * lv) * torch.randn_like(mu))
        loss = ((y - w) ** 2).mean() + 0.01 * (-0.5 * (1 + lv - mu ** 2 - lv.exp())).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
s = time.perf_counter() - t0
print(f"{a.arch} VAE (PyTorch {torch.__version__}, BLAS {torch.__config__.show().count('openblas') and 'OpenBLAS' or 'not OpenBLAS'}), "
      f"{windows.shape[0]} windows of {T} rows, {H} units, {L} latent, batch {a.B}: {a.epochs} epochs in {s:.3f} s")
print("RESULT " + json.dumps({"seconds": s, "epochs": a.epochs}))
