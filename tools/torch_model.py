#!/usr/bin/env python3
"""torch_model.py - anomaly.h's LSTM autoencoder, forecaster and classifier
in and out of PyTorch.

Run by people who have torch (Debian: python3-torch); the library never
needs it.  As a module:

    from torch_model import LSTMAutoencoder, LSTMForecaster, LSTMClassifier, Scaler, save, load
    model = LSTMAutoencoder(n_features=2, units=[32], latent=0)
    model = LSTMForecaster(n_features=2, units=[32, 32], n_predictions=1)
    model = LSTMClassifier(n_features=2, units=[16], n_classes=3)
    ... train it on windows scaled by `scaler` ...
    save("model.anom", model, window=48, scaler=Scaler.standard(mean, std))
    model, meta = load("model.anom")          # the model's class follows the file; meta: window, scaler, ...

and from the command line:

    torch_model.py fixture OUT.h            the test fixture tests/test_torch.c reads
    torch_model.py check MODEL.anom OUT.txt a model written by C (autoencoder or
                                            forecaster): load it, compare
                                            PyTorch's errors with C's, write it
                                            back and compare the bytes

The layer mapping (anomaly_lstm.h, section 4; file format: anomaly.h,
section 9):
- An encoder of n single-layer nn.LSTM (units[l], batch_first), its last
  step's state through an optional latent nn.Linear, repeated T times into
  a mirrored decoder (units reversed), and a time-distributed nn.Linear to
  the F features.  Each nn.LSTM is one layer because the decoder's widths
  differ from layer to layer; an nn.LSTM(num_layers=k) of equal widths
  maps to k of them (weight_ih_l{i} -> encoder[i].weight_ih_l0).
- Gate order i, f, g, o in both; weight_ih (4H, I), weight_hh (4H, H) and
  the two biases b_ih, b_hh, stored in that order per layer.  Cell
  activation tanh (PyTorch's only one).
- The scaler is not a layer: the network sees (x - center) / scale +
  offset (offset = lo for min-max, else 0), in double, then float32; the
  row score is the reconstruction's squared error averaged over features
  (MSE, channel MEAN), of the window ending at the row (window LAST).
- The forecaster (type 'LFC1') is the encoder alone: n single-layer
  nn.LSTM, then one nn.Linear(units[-1], P F) on the top layer's last
  step, read as the next P rows (P, F), row-major (output p F + f is row
  p, feature f).  Parameters: the encoder layers as above, then the
  output W, b.  Dropout (after every layer and on the last state) acts in
  training only and is carried in the file ('LFCX': P, dropout, the
  stateful-stream flag).  Its row score under window LAST is the squared
  error, averaged over features, of the row's one-step-ahead prediction
  from the `window` rows before it (0 for the first `window` rows).
- The classifier (type 'LCL1') is the same network with K logits
  (nn.Linear(units[-1], K)), trained with BCE or focal loss ('LCLX': K,
  gamma, the class weights); its row score is the largest sigmoid of the
  logits of the window ending at the row.
"""
import struct
import sys
import zlib

import torch
from torch import nn

MAGIC = b"\x89ANOM\r\n\x1a"
FORMAT_VERSION = 1
SCALER_KINDS = {"standard": 1, "minmax": 2, "robust": 3}


def tag(s):
    return struct.unpack("<I", s.encode())[0]


class Scaler:
    """anomaly.h's an_scaler: kind, center and scale per feature, lo/hi."""

    def __init__(self, kind, center, scale, lo=0.0, hi=1.0):
        self.kind, self.center, self.scale, self.lo, self.hi = kind, list(map(float, center)), list(map(float, scale)), lo, hi

    @staticmethod
    def standard(mean, std):
        return Scaler("standard", mean, std)

    def transform(self, x):
        """(..., F) raw float32 -> scaled float32, computed in double as C does."""
        offset = self.lo if self.kind == "minmax" else 0.0
        c = torch.tensor(self.center, dtype=torch.float64)
        s = torch.tensor(self.scale, dtype=torch.float64)
        return ((x.double() - c) / s + offset).float()


class LSTMAutoencoder(nn.Module):
    """anomaly.h's autoencoder: encoder -> (latent) -> repeat -> decoder -> dense."""

    def __init__(self, n_features, units, latent=0):
        super().__init__()
        self.n_features, self.units, self.latent = n_features, list(units), latent
        widths = [n_features] + self.units
        self.encoder = nn.ModuleList(nn.LSTM(widths[i], widths[i + 1], batch_first=True) for i in range(len(units)))
        self.latent_dense = nn.Linear(self.units[-1], latent) if latent else None
        dec = [latent or self.units[-1]] + self.units[::-1]
        self.decoder = nn.ModuleList(nn.LSTM(dec[i], dec[i + 1], batch_first=True) for i in range(len(units)))
        self.output = nn.Linear(self.units[0], n_features)

    def forward(self, x):
        """x (B, T, F) scaled -> reconstruction (B, T, F)."""
        h = x
        for layer in self.encoder:
            h, _ = layer(h)
        code = h[:, -1, :]
        if self.latent_dense is not None:
            code = self.latent_dense(code)
        h = code.unsqueeze(1).expand(-1, x.shape[1], -1)
        for layer in self.decoder:
            h, _ = layer(h)
        return self.output(h)

    def errors(self, x):
        """Per-step squared errors (B, T, F) of scaled windows, as an_lstm_errors."""
        with torch.no_grad():
            return (self.forward(x).double() - x.double()).pow(2).float()

    def flat_params(self):
        """The parameter block in anomaly.h's order (float32)."""
        return torch.cat([p.detach().float().reshape(-1) for p in self.flat_order()])

    def set_flat_params(self, flat):
        n = 0
        with torch.no_grad():
            for p in self.flat_order():
                p.copy_(flat[n:n + p.numel()].reshape(p.shape).to(p.dtype))
                n += p.numel()
        if n != flat.numel():
            raise ValueError(f"{flat.numel()} parameters in the file, the model has {n}")

    def flat_order(self):
        """The parameters in anomaly.h's order: per encoder layer W_ih, W_hh,
        b_ih, b_hh; the latent dense W, b; the decoder layers; the output."""
        order = []
        for layer in self.encoder:
            order += [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
        if self.latent_dense is not None:
            order += [self.latent_dense.weight, self.latent_dense.bias]
        for layer in self.decoder:
            order += [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
        return order + [self.output.weight, self.output.bias]


class LSTMForecaster(nn.Module):
    """anomaly.h's forecaster: an LSTM stack, its last state -> dense -> the next P rows."""

    def __init__(self, n_features, units, n_predictions=1, dropout=0.0, n_outputs=None):
        super().__init__()
        self.n_features, self.units, self.n_predictions, self.dropout = n_features, list(units), n_predictions, dropout
        self.latent = 0
        widths = [n_features] + self.units
        self.encoder = nn.ModuleList(nn.LSTM(widths[i], widths[i + 1], batch_first=True) for i in range(len(units)))
        self.drop = nn.Dropout(dropout)
        self.output = nn.Linear(self.units[-1], n_outputs or n_predictions * n_features)

    def last_state(self, x):
        h = x
        for layer in self.encoder:
            h, _ = layer(h)
            h = self.drop(h)
        return h[:, -1, :]

    def forward(self, x):
        """x (B, T, F) scaled -> predictions of the next P rows (B, P, F), scaled."""
        return self.output(self.last_state(x)).reshape(x.shape[0], self.n_predictions, self.n_features)

    def errors(self, x, target):
        """Squared errors (B, P, F) of the predictions of scaled windows x against
        the scaled rows that followed them, as an_lstm_errors."""
        with torch.no_grad():
            return (self.forward(x).double() - target.double()).pow(2).float()

    def flat_order(self):
        """Per encoder layer W_ih, W_hh, b_ih, b_hh; then the output W, b."""
        order = []
        for layer in self.encoder:
            order += [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
        return order + [self.output.weight, self.output.bias]

    flat_params = LSTMAutoencoder.flat_params
    set_flat_params = LSTMAutoencoder.set_flat_params


class LSTMClassifier(LSTMForecaster):
    """anomaly.h's classifier: the forecaster's network with K logits (multi-label)."""

    def __init__(self, n_features, units, n_classes, dropout=0.2, loss="bce", gamma=0.0, class_weight=None):
        super().__init__(n_features, units, 0, dropout, n_outputs=n_classes)
        self.n_classes, self.loss, self.gamma = n_classes, loss, gamma
        self.class_weight = list(class_weight) if class_weight is not None else [1.0] * n_classes

    def forward(self, x):
        """x (B, T, F) scaled -> class logits (B, K)."""
        return self.output(self.last_state(x))


LOSS_KINDS = {"mse": 0, "mae": 1, "bce": 2, "focal": 3}


def chunk(name, payload):
    head = struct.pack("<II", tag(name), len(payload))
    return head + payload + struct.pack("<I", zlib.crc32(head + payload))


# The training configuration a file carries (an_lstm_train_config_init's
# defaults): epochs, batch, stride, patience, seed; val_fraction, min_delta,
# Adam's lr, beta1, beta2, eps, weight_decay, clip_norm.
DEFAULT_TRAIN = dict(epochs=20, batch=32, stride=1, patience=5, seed=1, val_fraction=0.1, min_delta=0.0,
                     lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0, clip_norm=0.0)


def save(path, model, window, scaler=None, train=None, record=None):
    """Writes model as an anomaly.h autoencoder file (type 'LAE1')."""
    data = to_bytes(model, window, scaler, train, record)
    with open(path, "wb") as f:
        f.write(data)


def to_bytes(model, window, scaler=None, train=None, record=None, stream=None, agg=(0, 2), stateful=0,
             error_weights=None):
    """The model file's bytes: type 'LAE1', 'LFC1' or 'LCL1' by the model's
    class; agg is (channel_agg, window_agg) (MEAN, LAST), stateful the
    forecaster's stateful_stream flag, stream the raw 'LSTS' payload,
    error_weights channel_norm's per-feature error weights (None: off)."""
    t = dict(DEFAULT_TRAIN, **(train or {}))
    n = len(model.units)
    units = model.units + [0] * (4 - n)
    classifier = isinstance(model, LSTMClassifier)
    head = isinstance(model, LSTMForecaster)
    type_tag = "LCL1" if classifier else "LFC1" if head else "LAE1"
    loss = LOSS_KINDS[model.loss] if classifier else 0
    config = struct.pack("<I", 1) + struct.pack("<11Q", window, model.n_features, n, *units, model.latent, 0, loss,
                                                 SCALER_KINDS[scaler.kind] if scaler else 0) \
        + struct.pack("<5Q", t["epochs"], t["batch"], t["stride"], t["patience"], t["seed"]) \
        + struct.pack("<8d", t["val_fraction"], t["min_delta"], t["lr"], t["beta1"], t["beta2"], t["eps"],
                      t["weight_decay"], t["clip_norm"])
    body = chunk("TYPE", struct.pack("<I", tag(type_tag))) + chunk("LAEC", config)
    if head:
        body += chunk("LFCX", struct.pack("<QdI", model.n_predictions, model.dropout, stateful))
    if classifier:
        K = model.n_classes
        body += chunk("LCLX", struct.pack("<Qd", K, model.gamma) + struct.pack(f"<{K}f", *model.class_weight))
    body += chunk("LAGG", struct.pack("<II", *agg))
    if error_weights is not None:
        body += chunk("LNRM", struct.pack(f"<{model.n_features}f", *error_weights))
    if scaler:
        F = model.n_features
        body += chunk("SCAL", struct.pack("<IQdd", SCALER_KINDS[scaler.kind], F, scaler.lo, scaler.hi)
                      + struct.pack(f"<{F}d", *scaler.center) + struct.pack(f"<{F}d", *scaler.scale))
    flat = model.flat_params()
    body += chunk("LAEP", struct.pack("<Q", flat.numel()) + struct.pack(f"<{flat.numel()}f", *flat.tolist()))
    body += chunk("LAER", record or struct.pack("<QQ5d", 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0))
    body += chunk("LSTS", stream or struct.pack("<QQ", 0, 0) + bytes(4 * window * model.n_features))
    chunks = chunk("DETC", body)
    size = 28 + len(chunks)
    head = MAGIC + struct.pack("<IIQ", FORMAT_VERSION, 0, size)
    return head + struct.pack("<I", zlib.crc32(head)) + chunks


def read_chunks(data):
    out, pos = [], 0
    while pos < len(data):
        name, n = data[pos:pos + 4].decode("latin-1"), struct.unpack_from("<I", data, pos + 4)[0]
        payload = data[pos + 8:pos + 8 + n]
        if len(payload) != n or zlib.crc32(data[pos:pos + 8 + n]) != struct.unpack_from("<I", data, pos + 8 + n)[0]:
            raise ValueError(f"chunk {name}: damaged")
        out.append((name, payload))
        pos += 12 + n
    return out


def load(path):
    with open(path, "rb") as f:
        return from_bytes(f.read())


def from_bytes(data):
    """An anomaly.h LSTM model file -> (LSTMAutoencoder, LSTMForecaster or
    LSTMClassifier, meta)."""
    if data[:8] != MAGIC or zlib.crc32(data[:24]) != struct.unpack_from("<I", data, 24)[0]:
        raise ValueError("not an anomaly.h model file")
    version, _, size = struct.unpack_from("<IIQ", data, 8)
    if version != FORMAT_VERSION or size != len(data):
        raise ValueError("unsupported format version or truncated file")
    (name, body), = read_chunks(data[28:])
    parts = dict(read_chunks(body))
    kinds = {tag("LAE1"): "autoencoder", tag("LFC1"): "forecaster", tag("LCL1"): "classifier"}
    kind = kinds.get(struct.unpack("<I", parts["TYPE"])[0]) if name == "DETC" else None
    if kind is None:
        raise ValueError("not an LSTM autoencoder, forecaster or classifier")
    c = parts["LAEC"]
    if struct.unpack_from("<I", c)[0] != 1:
        raise ValueError("unsupported configuration version")
    window, F, n, u0, u1, u2, u3, latent, act, loss, scaler_kind = struct.unpack_from("<11Q", c, 4)
    agg = struct.unpack("<II", parts["LAGG"])
    if kind == "autoencoder" and (act != 0 or loss != 0 or agg != (0, 2)):
        raise ValueError("only tanh cells, MSE and channel MEAN / window LAST map to this module")
    if kind == "forecaster" and (act != 0 or loss != 0 or agg[0] != 0):
        raise ValueError("only tanh cells, MSE and channel MEAN map to this module")
    if kind == "classifier" and (act != 0 or loss not in (2, 3)):
        raise ValueError("only tanh cells and BCE or focal loss map to this module")
    e, b, s, p, seed = struct.unpack_from("<5Q", c, 4 + 11 * 8)
    vf, md, lr, b1, b2, eps, wd, clip = struct.unpack_from("<8d", c, 4 + 16 * 8)
    train = dict(epochs=e, batch=b, stride=s, patience=p, seed=seed, val_fraction=vf, min_delta=md, lr=lr, beta1=b1,
                 beta2=b2, eps=eps, weight_decay=wd, clip_norm=clip)
    units = [u0, u1, u2, u3][:n]
    stateful = 0
    if kind == "autoencoder":
        model = LSTMAutoencoder(F, units, latent)
    else:
        P, dropout, stateful = struct.unpack_from("<QdI", parts["LFCX"])
        if kind == "forecaster":
            model = LSTMForecaster(F, units, P, dropout)
        else:
            K, gamma = struct.unpack_from("<Qd", parts["LCLX"])
            weights = struct.unpack_from(f"<{K}f", parts["LCLX"], 16)
            model = LSTMClassifier(F, units, K, dropout, "bce" if loss == 2 else "focal", gamma, weights)
    count = struct.unpack_from("<Q", parts["LAEP"])[0]
    model.set_flat_params(torch.tensor(struct.unpack_from(f"<{count}f", parts["LAEP"], 8)))
    scaler = None
    if scaler_kind:
        skind, F2, lo, hi = struct.unpack_from("<IQdd", parts["SCAL"])
        vals = struct.unpack_from(f"<{2 * F2}d", parts["SCAL"], 28)
        scaler = Scaler({v: k for k, v in SCALER_KINDS.items()}[skind], vals[:F2], vals[F2:], lo, hi)
    norm = parts.get("LNRM")
    meta = dict(kind=kind, window=window, scaler=scaler, train=train, record=parts.get("LAER"), stream=parts.get("LSTS"),
                agg=agg, stateful=stateful, error_weights=list(struct.unpack(f"<{F}f", norm)) if norm else None)
    return model, meta


def c_float(v):
    """v as a C float literal: 9 significant digits, always with a point or an exponent."""
    text = f"{v:.9g}"
    return (text if any(ch in text for ch in ".en") else text + ".0") + "f"


def c_array(name, values, ctype="float"):
    body = ", ".join(c_float(v) if ctype == "float" else str(v) for v in values)
    return f"static const {ctype} {name}[{len(values)}] = {{{body}}};\n"


def fixture(out):
    """For tests/test_torch.c: three PyTorch models written by to_bytes(),
    inputs, and PyTorch's outputs and row scores for them:
    - an autoencoder (2 features, two layers 6 and 4, latent 3, window 5,
      standard scaler): 4 raw windows, their scaled values, the
      reconstruction and the errors;
    - a forecaster (2 features, two layers 6 and 4, dropout 0.3, 3
      predictions, window 5, standard scaler): a raw series of 14 rows,
      the predictions of its first 4 scaled windows, and its row scores
      (window LAST: the one-step-ahead squared error, averaged over the
      features; 0 for the first 5 rows);
    - a classifier (2 features, one layer of 5, 3 classes, window 4, BCE,
      class weights 1, 2, 0.5, standard scaler): a raw series of 10 rows,
      the logits of its first 3 scaled windows, and its row scores (the
      largest sigmoid of the window ending at the row; 0 for the first 3).
    The weights are doubled from PyTorch's initialisation, so every gate
    matters; the models are in eval mode (dropout off), as scoring is."""
    torch.manual_seed(16)
    F, T, B = 2, 5, 4
    model = LSTMAutoencoder(F, [6, 4], latent=3)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)   # larger than the default init, so every gate matters
    scaler = Scaler.standard([10.0, -3.0], [2.5, 0.75])
    raw = (torch.randn(B, T, F, dtype=torch.float64) * torch.tensor([2.5, 0.75]) + torch.tensor([10.0, -3.0])).float()
    x = scaler.transform(raw)
    with torch.no_grad():
        yhat = model(x)
    data = to_bytes(model, T, scaler)
    with open(out, "w") as f:
        f.write("/* made by tools/torch_model.py fixture with PyTorch %s: anomaly.h model files\n"
                "   written from PyTorch models (an autoencoder, a forecaster, a classifier),\n"
                "   inputs, and PyTorch's outputs and scores for them. */\n" % torch.__version__)
        f.write(f"#define TORCH_F {F}\n#define TORCH_T {T}\n#define TORCH_B {B}\n")
        f.write(c_array("torch_model", list(data), "unsigned char"))
        f.write(c_array("torch_raw", raw.reshape(-1).tolist()))
        f.write(c_array("torch_scaled", x.reshape(-1).tolist()))
        f.write(c_array("torch_output", yhat.reshape(-1).tolist()))
        f.write(c_array("torch_errors", model.errors(x).reshape(-1).tolist()))
        f.write(head_fixture("fc", seed=17, F=2, units=[6, 4], T=5, N=14, B=4, classes=0))
        f.write(head_fixture("cl", seed=18, F=2, units=[5], T=4, N=10, B=3, classes=3))


def head_fixture(name, seed, F, units, T, N, B, classes):
    """The forecaster's (classes 0, 3 predictions) or the classifier's part of the fixture."""
    torch.manual_seed(seed)
    if classes:
        model = LSTMClassifier(F, units, classes, dropout=0.2, class_weight=[1.0, 2.0, 0.5])
    else:
        model = LSTMForecaster(F, units, n_predictions=3, dropout=0.3)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    model.eval()
    scaler = Scaler.standard([4.0, -1.0], [1.5, 0.5])
    raw = (torch.randn(N, F, dtype=torch.float64) * torch.tensor([1.5, 0.5]) + torch.tensor([4.0, -1.0])).float()
    x = scaler.transform(raw)
    windows = x.unfold(0, T, 1).transpose(1, 2).contiguous()   # (N - T + 1, T, F): window w is rows w .. w + T - 1
    scores = torch.zeros(N, dtype=torch.float64)
    with torch.no_grad():
        out = model(windows)
        if classes:
            scores[T - 1:] = torch.sigmoid(out.double()).max(dim=1).values
        else:
            # row r >= T: the first prediction of the window r - T .. r - 1 against row r
            scores[T:] = (out[:-1, 0, :].double() - x[T:].double()).pow(2).mean(dim=1)
    U = name.upper()
    return (f"#define TORCH_{U}_F {F}\n#define TORCH_{U}_T {T}\n#define TORCH_{U}_N {N}\n#define TORCH_{U}_B {B}\n"
            + (f"#define TORCH_{U}_K {classes}\n" if classes else f"#define TORCH_{U}_P {model.n_predictions}\n")
            + c_array(f"torch_{name}_model", list(to_bytes(model, T, scaler)), "unsigned char")
            + c_array(f"torch_{name}_raw", raw.reshape(-1).tolist())
            + c_array(f"torch_{name}_scaled", windows[:B].reshape(-1).tolist())
            + c_array(f"torch_{name}_output", out[:B].reshape(-1).tolist())
            + c_array(f"torch_{name}_scores", scores.float().tolist()))


def check(path, outputs):
    """A C-written autoencoder or forecaster: PyTorch's errors against C's (a
    text file of B S F, then B raw spans of S rows (S, F), then C's
    an_lstm_errors of them: for the autoencoder S = T and the errors are
    (B, T, F); for the forecaster S = T + P, the window then the P rows it
    predicts, and the errors (B, P, F)), and the file written back from
    PyTorch equal to the original, byte for byte."""
    data = open(path, "rb").read()
    model, meta = from_bytes(data)
    if meta["kind"] == "classifier":
        raise ValueError("check takes an autoencoder or a forecaster")
    nums = open(outputs).read().split()
    B, S, F = map(int, nums[:3])
    vals = torch.tensor([float(v) for v in nums[3:]])
    raw = vals[:B * S * F].reshape(B, S, F)
    x = meta["scaler"].transform(raw) if meta["scaler"] else raw
    T = meta["window"]
    model.eval()
    if meta["kind"] == "forecaster":
        want = vals[B * S * F:].reshape(B, S - T, F)
        got = model.errors(x[:, :T], x[:, T:])
    else:
        want = vals[B * S * F:].reshape(B, S, F)
        got = model.errors(x)
    rel = ((got - want).abs() / want.abs().clamp_min(1e-3)).max().item()
    again = to_bytes(model, meta["window"], meta["scaler"], meta["train"], meta["record"], meta["stream"], meta["agg"],
                     meta["stateful"], meta["error_weights"])
    ok = rel <= 1e-5 and again == data
    print(f"torch_model check ({meta['kind']}): errors within {rel:.2e} relative, file {'identical' if again == data else 'DIFFERENT'} "
          f"after the round trip: {'ok' if ok else 'FAILED'}")
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
    else:
        sys.exit(__doc__)
