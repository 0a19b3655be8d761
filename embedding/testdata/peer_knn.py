#!/usr/bin/python3
"""Times the kNN evaluation of BenchmarkKNN50k in PyTorch, for comparison: a bank of 50,000
rows of dimension 64, 10,000 test rows, k=200, t=0.1, 10 classes, on the CPU with
torch.get_num_threads() threads. The rule is lightly's knn_predict (normalise, mm, topk,
exp(sim/t) weighted one-hot votes), run on batches of 512 test rows as lightly's
KNNClassifier sees them, so that the 10,000 x 50,000 similarity matrix is not built.
The data is random (not the Go benchmark's), which does not change the work done.

Run: /usr/bin/python3 peer_knn.py [threads]
"""
import sys
import time

import torch
import torch.nn.functional as F


def knn_scores(feature, bank_t, bank_labels, classes, k, t):
    sim = feature @ bank_t                      # (B, N)
    w, idx = sim.topk(k, dim=1)                 # (B, k)
    lab = bank_labels.expand(feature.size(0), -1).gather(1, idx)
    onehot = torch.zeros(feature.size(0) * k, classes).scatter_(1, lab.reshape(-1, 1), 1.0)
    return (onehot.view(feature.size(0), k, classes) * (w / t).exp().unsqueeze(-1)).sum(1)


def main():
    if len(sys.argv) > 1:
        torch.set_num_threads(int(sys.argv[1]))
    n, m, dim, classes, k, t = 50000, 10000, 64, 10, 200, 0.1
    g = torch.Generator().manual_seed(1)
    bank = torch.randn(n, dim, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    test = torch.randn(m, dim, generator=g)
    for rep in range(2):
        start = time.perf_counter()
        with torch.no_grad():
            bank_t = F.normalize(bank, dim=1).t().contiguous()
            q = F.normalize(test, dim=1)
            pred = torch.cat([knn_scores(q[i:i + 512], bank_t, labels, classes, k, t).argmax(1)
                              for i in range(0, m, 512)])
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: "
              f"{time.perf_counter() - start:.3f} s per evaluation ({len(pred)} predictions), run {rep}")


if __name__ == "__main__":
    main()
