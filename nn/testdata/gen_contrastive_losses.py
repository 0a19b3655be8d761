#!/usr/bin/python3
"""Writes contrastive_losses.json: the contrastive losses of package nn and their input
gradients, computed with PyTorch autograd in float64 on small fixed float32 inputs.

Run from this directory with Debian's python3-torch (1.13):  /usr/bin/python3 gen_contrastive_losses.py

Each loss is written here from its paper and the formula its reference implementation
computes (the sources are named per function); nothing is imported from those projects.
Each case holds the inputs (float32 values, shape and data), the parameters, the loss and
the gradient of the loss with respect to every differentiable input.
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(20240611)


def f32(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


def supcon(z, labels, t):
    # Khosla et al. 2020, eq. 2 (L_out); SupContrast's SupConLoss with base_temperature =
    # temperature. Rows without positives contribute 0 and count in the mean.
    zn = F.normalize(z, dim=1)
    s = zn @ zn.T / t
    m = z.shape[0]
    eye = torch.eye(m, dtype=torch.bool)
    logp = torch.log_softmax(s.masked_fill(eye, float("-inf")), dim=1)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    cnt = pos.sum(1)
    per = -(logp.masked_fill(~pos, 0).sum(1)) / cnt.clamp(min=1)
    return per.sum() / m


def barlow(z1, z2, lam):
    # Zbontar et al. 2021; facebookresearch/barlowtwins and solo-learn standardize with
    # BatchNorm1d(affine=False) in training mode (biased variance, eps 1e-5).
    n = z1.shape[0]
    a = F.batch_norm(z1, None, None, training=True, eps=1e-5)
    b = F.batch_norm(z2, None, None, training=True, eps=1e-5)
    c = a.T @ b / n
    on = (1 - torch.diagonal(c)).pow(2).sum()
    off = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on + lam * off


def vicreg(z1, z2, sim_w, var_w, cov_w):
    # Bardes et al. 2022, eqs. 1-6; solo-learn's vicreg_loss_func.
    def var_term(z):
        std = torch.sqrt(z.var(dim=0, unbiased=True) + 1e-4)
        return torch.relu(1 - std).mean()

    def cov_term(z):
        n, d = z.shape
        zc = z - z.mean(dim=0)
        cov = zc.T @ zc / (n - 1)
        return (cov.pow(2).sum() - torch.diagonal(cov).pow(2).sum()) / d

    inv = (z1 - z2).pow(2).mean()
    return sim_w * inv + var_w * (var_term(z1) + var_term(z2)) + cov_w * (cov_term(z1) + cov_term(z2))


def infonce(q, k, queue, t):
    # MoCo (He et al. 2020) builder.py / solo-learn mocov2plus_loss_func: the positive
    # logit first, then the queue's, cross-entropy against class 0.
    qn, kn = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = torch.cat([(qn * kn).sum(1, keepdim=True), qn @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


def diagonal_ce(a, b, t):
    # NNCLR (Dwibedi et al. 2021) eq. 2; solo-learn nnclr_loss_func(nn, p).
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / t
    return F.cross_entropy(logits, torch.arange(a.shape[0]))


def tensor_json(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.flatten().tolist()]}


def case(name, fn, inputs, params, wrt, **extra):
    xs = {k: v.double().requires_grad_(k in wrt) for k, v in inputs.items()}
    loss = fn(**xs, **params)
    loss.backward()
    out = {
        "name": name,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "params": params,
        "loss": float(loss),
        "grads": {k: [float(g) for g in xs[k].grad.flatten().tolist()] for k in wrt},
    }
    out.update(extra)
    return out


def main():
    cases = []
    # Two views of 4 images (view-major rows), every row has a positive.
    lab = torch.tensor([0.0, 1.0, 0.0, 2.0])
    cases.append(case("supcon-2views", lambda z, labels, t: supcon(z, labels, t),
                      {"z": f32(8, 5), "labels": torch.cat([lab, lab])}, {"t": 0.5}, ["z"]))
    # One view: rows 3 and 5 have no positive.
    cases.append(case("supcon-lonely", lambda z, labels, t: supcon(z, labels, t),
                      {"z": f32(6, 4), "labels": torch.tensor([0.0, 1.0, 0.0, 2.0, 1.0, 3.0])}, {"t": 0.1}, ["z"]))
    cases.append(case("barlow", lambda z1, z2, lam: barlow(z1, z2, lam),
                      {"z1": f32(8, 6), "z2": f32(8, 6)}, {"lam": 0.0051}, ["z1", "z2"]))
    # Column scales on both sides of VICReg's hinge (std 1).
    scales = torch.tensor([0.3, 2.0, 0.7, 1.5, 0.5, 3.0])
    cases.append(case("vicreg", lambda z1, z2, sim_w, var_w, cov_w: vicreg(z1, z2, sim_w, var_w, cov_w),
                      {"z1": (f32(8, 6) * scales).float(), "z2": (f32(8, 6) * scales).float()},
                      {"sim_w": 25.0, "var_w": 25.0, "cov_w": 1.0}, ["z1", "z2"]))
    queue = F.normalize(f32(10, 6), dim=1).float()
    cases.append(case("infonce", lambda q, k, queue, t: infonce(q, k, queue, t),
                      {"q": f32(4, 6), "k": f32(4, 6), "queue": queue}, {"t": 0.2}, ["q", "k"]))
    cases.append(case("diagonal-ce", lambda a, b, t: diagonal_ce(a, b, t),
                      {"a": f32(5, 6), "b": f32(5, 6)}, {"t": 0.1}, ["a", "b"]))
    # Nearest neighbours by cosine similarity (rows of the support at several scales).
    z, support = f32(4, 6), f32(12, 6) * torch.linspace(0.5, 3, 12)[:, None]
    support = support.float()
    cos = F.normalize(z.double(), dim=1) @ F.normalize(support.double(), dim=1).T
    cases.append({"name": "nearest", "inputs": {"z": tensor_json(z), "support": tensor_json(support)},
                  "params": {}, "index": cos.argmax(dim=1).tolist()})
    with open("contrastive_losses.json", "w") as f:
        json.dump({"generator": "gen_contrastive_losses.py", "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
