#!/usr/bin/env python3
"""BYOL on CIFAR-10 in PyTorch with the budget and recipe of selfsup's BYOL calibration, to
tell whether a short BYOL run falls short of the issue's bar because of the method or because
of selfsup.

What it mirrors (selfsup's contrastive.BYOL() defaults and its CIFAR pipeline):
  - ResNet20 v1 in the Keras layout (conv-BN-ReLU, TensorFlow 'same' padding, 1x1 projection
    shortcuts, BatchNorm momentum 0.99 in Keras terms and epsilon 1e-3, kernels from a normal
    truncated at 2 std with std sqrt(2/fan_in): Keras' he_normal, which selfsup uses, divides
    that std by 0.8796 to make up for the truncation; this script, as run, does not), the 64
    pooled features as the representation;
  - projector Linear(64,4096)-BN-ReLU-Linear(4096,256), predictor Linear(256,4096)-BN-ReLU-
    Linear(4096,256) (head BNs PyTorch's defaults, dense layers glorot_uniform), target = EMA
    of backbone+projector with tau from 0.99 to 1 on a cosine over the steps, symmetric loss
    2 - 2 cos(p, sg(z'));
  - the views: augment.BYOLCIFAR() (crop 0.08-1, jitter 0.4/0.4/0.2/0.1 at 0.8, gray 0.2,
    solarize at 0.5 with probability 0.2 on the second view only, flip), centred with the
    per-pixel mean image of the training images after augmenting;
  - SGD momentum 0.9, weight decay 5e-4 on every parameter, lr 0.06 x batch/128 with a cosine
    to 0 over the run, per step; batch 256; the last incomplete batch dropped; the backbone's
    L2 penalty 1e-4 x sum(w^2) over its convolution kernels added to the loss, as selfsup's
    pipeline adds the layers' L2 terms;
  - kNN (k=200, t=0.1, cosine similarity, exp(s/t) weighted votes) of the 10,000 test images
    against the 50,000 training images, features in inference mode, before and after training.

Run with Debian's python3-torch (CPU):  /usr/bin/python3 byol_torch.py --data cifar-10-binary.tar.gz
Prints one JSON line per epoch and a final one with knn_random and knn.
"""
import argparse, io, json, math, tarfile, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T


def load_cifar(path):
    """Returns (train_x uint8 [50000,3,32,32], train_y, test_x, test_y) from the binary archive."""
    parts = {}
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            name = m.name.rsplit("/", 1)[-1]
            if name.endswith(".bin") and ("data_batch" in name or "test_batch" in name):
                parts[name] = np.frombuffer(tf.extractfile(m).read(), dtype=np.uint8).reshape(-1, 3073)
    tr = np.concatenate([parts[f"data_batch_{i}.bin"] for i in range(1, 6)])
    te = parts["test_batch.bin"]
    split = lambda a: (a[:, 1:].reshape(-1, 3, 32, 32).copy(), a[:, 0].astype(np.int64))
    return (*split(tr), *split(te))


class Same(nn.Module):
    """TensorFlow 'same' padding for a 3x3 or 1x1 convolution: the extra pixel goes right/bottom."""

    def __init__(s, k, stride):
        super().__init__()
        s.k, s.stride = k, stride

    def forward(s, x):
        h = x.shape[-1]
        out = -(-h // s.stride)
        total = max((out - 1) * s.stride + s.k - h, 0)
        lo = total // 2
        return F.pad(x, (lo, total - lo, lo, total - lo))


def conv(cin, cout, k, stride):
    return nn.Sequential(Same(k, stride), nn.Conv2d(cin, cout, k, stride, 0))


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1, s.b1 = conv(cin, cout, 3, stride), bn(cout)
        s.c2, s.b2 = conv(cout, cout, 3, 1), bn(cout)
        s.short = conv(cin, cout, 1, stride) if (stride != 1 or cin != cout) else nn.Identity()

    def forward(s, x):
        y = s.b2(s.c2(F.relu(s.b1(s.c1(x)))))
        return F.relu(s.short(x) + y)


class ResNet20(nn.Module):
    def __init__(s):
        super().__init__()
        layers, cin = [conv(3, 16, 3, 1), bn(16), nn.ReLU()], 16
        for stage, cout in enumerate([16, 32, 64]):
            for i in range(3):
                layers.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
        s.net = nn.Sequential(*layers)
        for m in s.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                std = math.sqrt(2 / fan_in)
                nn.init.trunc_normal_(m.weight, 0, std, -2 * std, 2 * std)
                nn.init.zeros_(m.bias)

    def forward(s, x):
        return s.net(x).mean(dim=(2, 3))


def mlp(cin, hidden, cout):
    m = nn.Sequential(nn.Linear(cin, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, cout))
    for l in m:
        if isinstance(l, nn.Linear):
            nn.init.xavier_uniform_(l.weight)
            nn.init.zeros_(l.bias)
    return m


class Views(torch.utils.data.Dataset):
    def __init__(s, x, mean):
        s.x, s.mean = x, mean
        common = [T.RandomResizedCrop(32, scale=(0.08, 1.0)),
                  T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(0.2)]
        s.t1 = T.Compose(common + [T.RandomHorizontalFlip()])
        s.t2 = T.Compose(common + [T.RandomSolarize(0.5, p=0.2), T.RandomHorizontalFlip()])

    def __len__(s):
        return len(s.x)

    def __getitem__(s, i):
        img = torch.from_numpy(s.x[i]).float() / 255
        return s.t1(img) - s.mean, s.t2(img) - s.mean


@torch.no_grad()
def embed(net, x, mean, batch=1000):
    net.eval()
    out = []
    for i in range(0, len(x), batch):
        out.append(F.normalize(net(torch.from_numpy(x[i:i + batch]).float() / 255 - mean), dim=1))
    net.train()
    return torch.cat(out)


@torch.no_grad()
def knn(train_f, train_y, test_f, test_y, k=200, t=0.1, classes=10):
    correct = 0
    ty = torch.from_numpy(train_y)
    for i in range(0, len(test_f), 500):
        sim = test_f[i:i + 500] @ train_f.T
        w, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(idx), classes).scatter_add_(1, ty[idx], (w / t).exp())
        correct += (votes.argmax(1) == torch.from_numpy(test_y[i:i + 500])).sum().item()
    return correct / len(test_f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/cifar-10-binary.tar.gz")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="the first N training and test images only (smoke test)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    trx, try_, tex, tey = load_cifar(a.data)
    mean = torch.from_numpy(trx).float().mean(0) / 255
    if a.limit:
        trx, try_, tex, tey = trx[:a.limit], try_[:a.limit], tex[:a.limit], tey[:a.limit]
    unl = trx

    online, proj, pred = ResNet20(), mlp(64, 4096, 256), mlp(256, 4096, 256)
    target, tproj = ResNet20(), mlp(64, 4096, 256)
    target.load_state_dict(online.state_dict())
    tproj.load_state_dict(proj.state_dict())
    for p in list(target.parameters()) + list(tproj.parameters()):
        p.requires_grad_(False)
    t0 = time.time()
    knn_random = knn(embed(online, trx, mean), try_, embed(online, tex, mean), tey)

    loader = torch.utils.data.DataLoader(Views(unl, mean), batch_size=a.batch, shuffle=True, drop_last=True,
                                         num_workers=a.workers, persistent_workers=a.workers > 0)
    steps = a.epochs * len(loader)
    params = list(online.parameters()) + list(proj.parameters()) + list(pred.parameters())
    lr0 = 0.06 * a.batch / 128
    opt = torch.optim.SGD(params, lr=lr0, momentum=0.9, weight_decay=5e-4)
    # The backbone's Keras-style L2 1e-4 on its convolution kernels, which selfsup's pipeline
    # adds to the task loss (nn.L2Penalty), on top of the optimizer's weight decay.
    kernels = [m.weight for m in online.modules() if isinstance(m, nn.Conv2d)]
    step, t_train = 0, time.time()
    for epoch in range(a.epochs):
        te, losses = time.time(), []
        for v1, v2 in loader:
            for g in opt.param_groups:
                g["lr"] = lr0 * 0.5 * (1 + math.cos(math.pi * step / steps))
            p1, p2 = pred(proj(online(v1))), pred(proj(online(v2)))
            with torch.no_grad():
                z1, z2 = tproj(target(v1)), tproj(target(v2))
            loss = (2 - 2 * F.cosine_similarity(p1, z2, dim=1)).mean() + (2 - 2 * F.cosine_similarity(p2, z1, dim=1)).mean()
            l2 = 1e-4 * sum((w * w).sum() for w in kernels)
            opt.zero_grad(set_to_none=True)
            (loss + l2).backward()
            opt.step()
            tau = 1 - (1 - 0.99) * (math.cos(math.pi * step / steps) + 1) / 2
            with torch.no_grad():
                for src, dst in ((online, target), (proj, tproj)):
                    for ps, pd in zip(src.parameters(), dst.parameters()):
                        pd.mul_(tau).add_(ps, alpha=1 - tau)
                    for bs, bd in zip(src.buffers(), dst.buffers()):
                        bd.copy_(bs)
            losses.append(loss.item())
            step += 1
        print(json.dumps({"epoch": epoch + 1, "loss": sum(losses) / len(losses), "seconds": round(time.time() - te, 1)}), flush=True)
    train_seconds = time.time() - t_train
    acc = knn(embed(online, trx, mean), try_, embed(online, tex, mean), tey)
    print(json.dumps({"peer": "pytorch", "method": "byol", "torch": torch.__version__, "epochs": a.epochs, "batch": a.batch,
                      "images": len(unl), "threads": a.threads, "workers": a.workers, "knn_random": knn_random, "knn": acc,
                      "train_seconds": round(train_seconds, 1), "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
