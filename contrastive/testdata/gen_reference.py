#!/usr/bin/python3
"""Writes reference.json: the update rules of package contrastive computed with PyTorch on
small fixed float32 tensors, for reference_test.go.

Run from this directory with Debian's python3-torch (1.13):  /usr/bin/python3 gen_reference.py

Each rule is written here from the papers and from what solo-learn's code does (named per
function); nothing is imported from solo-learn or lightly.

  tau      BYOL's cosine momentum schedule in solo-learn's order (MomentumUpdater): the
           update after step k (1-based) uses tau(k-1), tau(s) = final - (final - base) *
           (cos(pi * s / steps) + 1) / 2, starting from tau(0) = base.
  ema      target = tau * target + (1 - tau) * online, in float32, over several steps.
  moco     MoCo's FIFO queue [Q, D]: every step writes its keys at the pointer, row by
           row, wrapping around at the end (solo-learn's _dequeue_and_enqueue without its
           divisibility assertion), and moves the pointer.
  moco_head  the loss of MoCo v2's whole head on fixed features, projector weights and
           queue, the key encoder a copy of the query encoder (as after InitParams):
           solo-learn's mocov2plus (query and key L2-normalised, logits [q.k, q.queue]/t,
           cross-entropy against class 0, (loss(q1, k2) + loss(q2, k1))/2), the projector
           Linear-ReLU-Linear; with one shared queue.
  nnclr    NNCLR's support set: the same FIFO update, and the nearest neighbour of each
           query, argmax of normalize(query) . support_row (solo-learn's find_nn).
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(20240612)


def t32(*shape):
    return torch.randn(*shape).float()


def tolist(x):
    return [float(v) for v in x.reshape(-1).tolist()]


def tau_schedule(base, final, steps):
    # solo-learn's MomentumUpdater: cur_tau starts at base; after each optimizer step the
    # update uses cur_tau, then cur_tau is recomputed for cur_step = the steps taken.
    out, cur = [], base
    for k in range(1, steps + 1):
        out.append(cur)
        cur = final - (final - base) * (math.cos(math.pi * k / steps) + 1) / 2
    return out


def ema_case(base, final, steps, shape):
    target = t32(*shape)
    onlines = [t32(*shape) for _ in range(steps)]
    taus = tau_schedule(base, final, steps)
    targets = []
    mp = target.clone()
    for k in range(steps):
        mp = taus[k] * mp + (1 - taus[k]) * onlines[k]
        targets.append(tolist(mp))
    return {"base": base, "final": final, "steps": steps, "shape": list(shape), "target0": tolist(target),
            "online": [tolist(o) for o in onlines], "taus": taus, "targets": targets}


def fifo(queue, ptr, rows):
    q = queue.shape[0]
    queue = queue.clone()
    for r in rows:
        queue[ptr] = r
        ptr = (ptr + 1) % q
    return queue, ptr


def moco_case(q, d, n, steps):
    queue = F.normalize(t32(q, d), dim=1)
    ptr = 0
    case = {"q": q, "d": d, "queue0": tolist(queue), "ptr0": ptr, "keys": [], "queues": [], "ptrs": []}
    for _ in range(steps):
        # the L2-normalised keys of view 1 then view 2, 2n rows
        keys = torch.cat([F.normalize(t32(n, d), dim=1), F.normalize(t32(n, d), dim=1)])
        queue, ptr = fifo(queue, ptr, keys)
        case["keys"].append(tolist(keys))
        case["queues"].append(tolist(queue))
        case["ptrs"].append(ptr)
    return case


def nnclr_case(q, d, n, ptr0, nq):
    support = F.normalize(t32(q, d), dim=1)
    za = F.normalize(t32(n, d), dim=1)
    s1, p1 = fifo(support, ptr0, za)
    queries = t32(nq, d)
    # a query that is a scaled copy of a support row finds that row
    queries[0] = 3.0 * s1[2]
    idx = (F.normalize(queries, dim=1) @ s1.T).max(dim=1)[1]
    zb = F.normalize(t32(n, d), dim=1)
    s2, p2 = fifo(s1, p1, zb)
    return {"q": q, "d": d, "ptr0": ptr0, "support0": tolist(support), "za": tolist(za), "support1": tolist(s1),
            "ptr1": p1, "queries": tolist(queries), "nn_index": [int(i) for i in idx], "nn_rows": tolist(s1[idx]),
            "zb": tolist(zb), "support2": tolist(s2), "ptr2": p2}


def moco_head_case(n, f, h, d, q, t):
    x = t32(2 * n, f)
    w1, b1, w2, b2 = t32(f, h), t32(h), t32(h, d), t32(d)
    queue = F.normalize(t32(q, d), dim=1)

    def proj(v):
        return F.normalize(torch.relu(v @ w1 + b1) @ w2 + b2, dim=1)

    def nce(query, key):
        logits = torch.cat([(query * key).sum(1, keepdim=True), query @ queue.T], dim=1) / t
        return F.cross_entropy(logits, torch.zeros(query.shape[0], dtype=torch.long))

    q1, q2 = proj(x[:n]), proj(x[n:])
    loss = (nce(q1, q2) + nce(q2, q1)) / 2  # keys = the same projector's outputs
    return {"n": n, "t": t, "x": tolist(x), "x_shape": [2 * n, f], "w1": tolist(w1), "b1": tolist(b1), "w2": tolist(w2),
            "b2": tolist(b2), "h": h, "d": d, "q": q, "queue": tolist(queue), "loss": float(loss)}


ref = {
    "tau": [{"base": b, "final": f, "steps": s, "taus": tau_schedule(b, f, s)}
            for b, f, s in [(0.99, 1.0, 10), (0.99, 0.999, 7), (0.5, 0.9, 5), (0.996, 0.996, 3)]],
    "ema": ema_case(0.9, 1.0, 6, (3, 4)),
    "moco": moco_case(10, 4, 3, 4),
    "nnclr": nnclr_case(6, 4, 4, 4, 5),
    "moco_head": moco_head_case(3, 6, 5, 4, 7, 0.2),
}
with open("reference.json", "w") as f:
    json.dump(ref, f, indent=1)
