"""PyTorch side of the benchmark (bench/run.sh runs it with Debian's python3).

The same model as the extension's benchmark run: 784 -> 256 -> 64 -> 256 ->
784, relu on every layer but the last, sigmoid output, He-uniform weights
for relu layers and Glorot-uniform for the sigmoid one, zero biases, Adam
(lr 1e-3, betas 0.9/0.999, eps 1e-7 as the extension), batch 256, mean
squared error, a fresh shuffle every epoch, the last partial batch kept.

  torch_bench.py train --threads N [--blas-threads M|default] --epochs E
      data from the Debian dataset's IDX files; prints one line
      "torch_train threads=N samples_per_s=... test_mse=... seconds=..."

torch.set_num_threads(N) sets PyTorch's OpenMP threads only: Debian's
python3-torch does its matrix products in OpenBLAS (libblas.so.3), whose own
pool keeps one thread per core unless OPENBLAS_NUM_THREADS says otherwise.
--blas-threads (default: N) sets that variable before torch is imported, so
"N threads" means N cores; --blas-threads default leaves OpenBLAS alone.
  torch_bench.py paired --init FILE [--rows IDS] --epochs E
      the same training from the initial weights and minibatch order in FILE
      (bench/init_order.c: what autoencoder.train() uses for a seed); IDS
      lists the training images (1-based) in the order train()'s source
      query returned them (a heap's order is not the file's); prints
      "torch_paired first_epoch_loss=... test_mse=..."
  torch_bench.py pipeline --epochs E --table T --out O
      the export pipeline: psycopg2 fetch of every row of T (id, img) into
      numpy, training on the rows with id <= 60000 (1 thread), encoding all
      rows, COPY of (id, code) into a new table O; prints the three times.
      Connects with the PG* environment variables.
"""
import argparse
import gzip
import io
import math
import os
import struct
import sys
import time


# numpy and torch load OpenBLAS, which sizes its thread pool from
# OPENBLAS_NUM_THREADS when it loads: both are imported in main(), after it
# is set.
np = None
torch = None
nn = None

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"


def load_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            sys.exit(f"{path}: not an IDX image file")
        data = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    return (data.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0))


def make_model(n_input=784, hidden=256, latent=64):
    dims = [n_input, hidden, latent, hidden, n_input]
    layers = []
    for i in range(4):
        lin = nn.Linear(dims[i], dims[i + 1])
        fan_in, fan_out = dims[i], dims[i + 1]
        if i < 3:   # relu layers: He-uniform
            bound = math.sqrt(6.0 / fan_in)
        else:       # sigmoid output: Glorot-uniform
            bound = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound)
            lin.bias.zero_()
        layers += [lin, nn.ReLU() if i < 3 else nn.Sigmoid()]
    return nn.Sequential(*layers)


def train(model, x, epochs, batch=256, seed=42, orders=None):
    """Train on x (torch float32, (n, 784)); returns seconds and the first
    epoch's mean loss.  orders: one row permutation per epoch, else a
    seeded torch.randperm each epoch."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    loss_fn = nn.MSELoss()
    n = x.shape[0]
    first = 0.0
    t0 = time.perf_counter()
    for e in range(epochs):
        perm = torch.randperm(n, generator=g) if orders is None else orders[e]
        for s in range(0, n, batch):
            xb = x[perm[s:s + batch]]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
            if e == 0:
                first += loss.item() * xb.shape[0]
    return time.perf_counter() - t0, first / n


def encoder(model):
    return model[:4]


def test_mse(model, x):
    with torch.no_grad():
        return float(((model(x) - x) ** 2).mean())


def cmd_train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr = torch.from_numpy(load_idx_images(f"{args.dir}/train-images-idx3-ubyte.gz"))
    xte = torch.from_numpy(load_idx_images(f"{args.dir}/t10k-images-idx3-ubyte.gz"))
    model = make_model()
    secs, _ = train(model, xtr, args.epochs, seed=args.seed)
    print(f"torch_train threads={args.threads} "
          f"blas_threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')} epochs={args.epochs} "
          f"samples_per_s={xtr.shape[0] * args.epochs / secs:.0f} "
          f"test_mse={test_mse(model, xte):.6f} seconds={secs:.3f}", flush=True)


def cmd_paired(args):
    torch.set_num_threads(args.threads)
    images = load_idx_images(f"{args.dir}/train-images-idx3-ubyte.gz")
    if args.rows:
        images = images[np.loadtxt(args.rows, dtype=np.int64) - 1]
    xtr = torch.from_numpy(images)
    xte = torch.from_numpy(load_idx_images(f"{args.dir}/t10k-images-idx3-ubyte.gz"))
    n = xtr.shape[0]
    model = make_model()
    layers = [model[i] for i in (0, 2, 4, 6)]
    n_params = sum(l.weight.numel() + l.bias.numel() for l in layers)
    raw = np.fromfile(args.init, dtype=np.uint8)
    if raw.size != 4 * n_params + 4 * args.epochs * n:
        sys.exit(f"{args.init}: {raw.size} bytes, expected "
                 f"{4 * n_params + 4 * args.epochs * n}")
    params = raw[:4 * n_params].view(np.float32)
    orders = raw[4 * n_params:].view(np.int32).reshape(args.epochs, n)
    off = 0
    with torch.no_grad():
        for lin in layers:     # W (out, in) then b, layer after layer
            for t in (lin.weight, lin.bias):
                t.copy_(torch.from_numpy(params[off:off + t.numel()].reshape(t.shape).copy()))
                off += t.numel()
    secs, first = train(model, xtr, args.epochs,
                        orders=[torch.from_numpy(o.astype(np.int64)) for o in orders])
    print(f"torch_paired epochs={args.epochs} first_epoch_loss={first:.6f} "
          f"test_mse={test_mse(model, xte):.6f} seconds={secs:.3f}", flush=True)


def cmd_pipeline(args):
    import psycopg2

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    conn = psycopg2.connect("")
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, img FROM {args.table} ORDER BY id")
        rows = cur.fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    x = np.array([r[1] for r in rows], dtype=np.float32)
    del rows
    t_fetch = time.perf_counter() - t0

    xt = torch.from_numpy(x)
    model = make_model()
    t_train, _ = train(model, xt[torch.from_numpy(ids <= 60000)], args.epochs,
                       seed=args.seed)

    t0 = time.perf_counter()
    with torch.no_grad():
        codes = encoder(model)(xt).numpy()
    buf = io.StringIO()
    for i, c in zip(ids, codes):
        buf.write(f"{i}\t{{{','.join(repr(float(v)) for v in c)}}}\n")
    buf.seek(0)
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {args.out}")
        cur.execute(f"CREATE TABLE {args.out} (id bigint, code real[])")
        cur.copy_expert(f"COPY {args.out} (id, code) FROM STDIN", buf)
    conn.commit()
    t_copy = time.perf_counter() - t0
    conn.close()
    print(f"torch_pipeline fetch_s={t_fetch:.3f} train_s={t_train:.3f} "
          f"encode_copy_s={t_copy:.3f} total_s={t_fetch + t_train + t_copy:.3f} "
          f"rows={len(ids)}", flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--blas-threads", default=None)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--dir", default=FMNIST_DIR)
    r = sub.add_parser("paired")
    r.add_argument("--init", required=True)
    r.add_argument("--rows", default=None)
    r.add_argument("--epochs", type=int, default=5)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--blas-threads", default=None)
    r.add_argument("--dir", default=FMNIST_DIR)
    q = sub.add_parser("pipeline")
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--blas-threads", default=None)
    q.add_argument("--epochs", type=int, default=10)
    q.add_argument("--seed", type=int, default=42)
    q.add_argument("--table", default="fmnist_all")
    q.add_argument("--out", default="torch_codes")
    args = p.parse_args()
    blas = getattr(args, "blas_threads", None) or str(args.threads)
    if blas != "default":
        os.environ["OPENBLAS_NUM_THREADS"] = blas
    global np, torch, nn
    import numpy as numpy_module
    import torch as torch_module
    np = numpy_module
    torch = torch_module
    nn = torch.nn
    {"train": cmd_train, "paired": cmd_paired, "pipeline": cmd_pipeline}[args.cmd](args)


if __name__ == "__main__":
    main()
