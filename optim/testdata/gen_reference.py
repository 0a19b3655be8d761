#!/usr/bin/python3
"""Writes reference.json: a few optimizer steps computed with PyTorch, for optim's tests.

Run from this directory with Debian's python3-torch (1.13):  /usr/bin/python3 gen_reference.py

Each case holds the initial parameters, the gradients and learning rate of every step, and
the parameters after each step. PyTorch's own optimizers give the "torch-*" cases. Keras'
Adam and SimCLR's LARS have no PyTorch class, so the "keras-adam*" and "lars*" cases are
computed here with float32 tensor operations following keras.optimizers.Adam and SimCLR's
lars_optimizer.py line by line; they check the Go code against an independent writing of
the same formulas, not against Keras itself.
"""
import json
import math

import torch

torch.manual_seed(20240601)
SHAPES = {"dense/kernel": [3, 4], "dense/bias": [5]}
STEPS = 4


def init():
    return {n: (torch.randn(s) * 0.5).float() for n, s in SHAPES.items()}


def grads_for(steps):
    # Mixed magnitudes, including tiny ones where Keras' and PyTorch's epsilon differ.
    out = []
    for _ in range(steps):
        g = {}
        for n, s in SHAPES.items():
            x = torch.randn(s).float()
            x[..., 0] *= 1e-5
            g[n] = x
        out.append(g)
    return out


def tolist(d):
    return {n: t.flatten().tolist() for n, t in d.items()}


def run_torch(make, p0, gs, lrs):
    params = {n: torch.nn.Parameter(t.clone()) for n, t in p0.items()}
    opt = make(list(params.values()))
    after = []
    for g, lr in zip(gs, lrs):
        for pg in opt.param_groups:
            pg["lr"] = lr
        for n, p in params.items():
            p.grad = g[n].clone()
        opt.step()
        after.append(tolist({n: p.detach() for n, p in params.items()}))
    return after


def run_keras_adam(p0, gs, lrs, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    p = {n: t.clone() for n, t in p0.items()}
    m = {n: torch.zeros_like(t) for n, t in p0.items()}
    v = {n: torch.zeros_like(t) for n, t in p0.items()}
    after = []
    for t, (g, lr) in enumerate(zip(gs, lrs), start=1):
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for n in p:
            if wd:
                p[n] = p[n] - p[n] * (wd * lr)
            m[n] = m[n] + (g[n] - m[n]) * (1 - b1)
            v[n] = v[n] + (g[n] * g[n] - v[n]) * (1 - b2)
            p[n] = p[n] - (m[n] * alpha) / (torch.sqrt(v[n]) + eps)
        after.append(tolist(p))
    return after


def run_lars(p0, gs, lrs, momentum=0.9, wd=1e-2, eta=1e-3, nesterov=False):
    p = {n: t.clone() for n, t in p0.items()}
    vel = {n: torch.zeros_like(t) for n, t in p0.items()}
    after = []
    for g, lr in zip(gs, lrs):
        for n in p:
            excluded = p[n].dim() <= 1  # biases and batch-norm parameters
            grad = g[n]
            if not excluded and wd:
                grad = grad + wd * p[n]
            trust = 1.0
            if not excluded:
                w_norm = torch.norm(p[n].double()).item()
                g_norm = torch.norm(grad.double()).item()
                if w_norm > 0 and g_norm > 0:
                    trust = eta * w_norm / g_norm
            scaled_lr = lr * trust
            next_v = momentum * vel[n] + scaled_lr * grad
            update = momentum * next_v + scaled_lr * grad if nesterov else next_v
            p[n] = p[n] - update
            vel[n] = next_v
        after.append(tolist(p))
    return after


cases = []


def add(name, options, lrs, after_fn):
    p0 = init()
    gs = grads_for(len(lrs))
    cases.append({
        "name": name,
        "options": options,
        "params": [{"name": n, "shape": s} for n, s in SHAPES.items()],
        "initial": tolist(p0),
        "grads": [tolist(g) for g in gs],
        "lrs": lrs,
        "after": after_fn(p0, gs, lrs),
    })


varying = [1e-2, 1e-2, 5e-3, 2e-3]
const = [1e-2] * STEPS

add("torch-adam", {"adam": True, "pytorch_eps": True, "eps": 1e-8}, varying,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.Adam(ps, lr=lrs[0], eps=1e-8), p0, gs, lrs))
add("torch-adam-l2", {"adam": True, "pytorch_eps": True, "eps": 1e-8, "l2": 0.1}, varying,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.Adam(ps, lr=lrs[0], eps=1e-8, weight_decay=0.1), p0, gs, lrs))
add("torch-adamw", {"adam": True, "pytorch_eps": True, "eps": 1e-8, "weight_decay": 0.1}, varying,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.AdamW(ps, lr=lrs[0], eps=1e-8, weight_decay=0.1), p0, gs, lrs))
add("torch-sgd", {"sgd": True}, varying,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.SGD(ps, lr=lrs[0]), p0, gs, lrs))
add("torch-sgd-momentum", {"sgd": True, "momentum": 0.9}, const,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.SGD(ps, lr=lrs[0], momentum=0.9), p0, gs, lrs))
add("torch-sgd-nesterov-l2", {"sgd": True, "momentum": 0.9, "nesterov": True, "l2": 0.05}, const,
    lambda p0, gs, lrs: run_torch(lambda ps: torch.optim.SGD(ps, lr=lrs[0], momentum=0.9, nesterov=True, weight_decay=0.05), p0, gs, lrs))
add("keras-adam", {"adam": True}, varying, run_keras_adam)
add("keras-adam-decoupled", {"adam": True, "weight_decay": 0.1}, varying,
    lambda p0, gs, lrs: run_keras_adam(p0, gs, lrs, wd=0.1))
add("lars", {"lars": True, "weight_decay": 1e-2}, varying, run_lars)
add("lars-nesterov", {"lars": True, "weight_decay": 1e-2, "nesterov": True}, varying,
    lambda p0, gs, lrs: run_lars(p0, gs, lrs, nesterov=True))

with open("reference.json", "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print("wrote", len(cases), "cases")
