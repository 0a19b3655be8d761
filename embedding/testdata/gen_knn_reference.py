#!/usr/bin/python3
"""Writes knn_reference.json, the reference of knn_test.go and collapse_test.go.

Run from this directory: /usr/bin/python3 gen_knn_reference.py
(generated with Debian's numpy 1.24.2; numpy only).

The kNN rule is lightly's knn_predict (lightly.utils.benchmarking) on rows normalised as
F.normalize(x, dim=1) does (divided by max(norm, 1e-12)): cosine similarities, the k most
similar training rows, weights exp(sim / t), one weighted vote per neighbour for its class,
the class with the highest sum. Where lightly leaves ties open, this reference (and the Go
package) breaks them deterministically: equal similarities rank the lower training index
first, equal sums the lower class. k above the number of training rows is clamped to it.
Computed in float64 on float32 values.

The Go side computes similarities in float32. So that its predictions must equal these
exactly, every case is drawn (trying seeds in order) until each test row has a clear
margin: a gap of at least SIM_GAP between the k-th and (k+1)-th similarity, and the best
class sum above the second by a relative RELATIVE_GAP. Rows that are exactly zero are exempt
(their similarities are exactly 0 on both sides, so the index tie-break decides).

The collapse metric is that of lightly's SimSiam example: std (unbiased, ddof=1, as
torch.std) over the rows of the L2-normalised rows, averaged over dimensions, times
sqrt(dim).
"""
import json

import numpy as np

SIM_GAP = 2e-5
RELATIVE_GAP = 1e-4


def normalize(x):
    x = np.asarray(x, dtype=np.float64)
    n = np.sqrt((x * x).sum(axis=1, keepdims=True))
    return x / np.maximum(n, 1e-12)


def knn_predict(train, labels, test, classes, k, t):
    """Returns the predictions and whether every row has a clear margin."""
    k = min(k, len(train))
    bank, q = normalize(train), normalize(test)
    sim = q @ bank.T
    n = len(train)
    preds, clear = [], True
    for i in range(len(test)):
        order = np.lexsort((np.arange(n), -sim[i]))  # by similarity descending, then index
        top = order[:k]
        scores = np.bincount(labels[top], weights=np.exp(sim[i, top] / t), minlength=classes)
        pred = int(np.argmax(scores))  # the first (lowest) class among equal sums
        preds.append(pred)
        if not np.any(test[i]):
            continue
        if k < n and sim[i, order[k - 1]] - sim[i, order[k]] < SIM_GAP:
            clear = False
        rest = np.delete(scores, pred)
        if len(rest) and scores[pred] - rest.max() < RELATIVE_GAP * scores[pred]:
            clear = False
    return np.array(preds), clear


def collapse(x):
    y = normalize(x)
    return float(y.std(axis=0, ddof=1).mean() * np.sqrt(x.shape[1]))


def clusters(rs, centres, offset, n, spread):
    """n float32 rows around the class centres, with a shared offset (so that cosine
    similarity differs from a centred dot product) and noise of scale spread."""
    labels = rs.randint(0, len(centres), size=n)
    x = centres[labels] + offset + spread * rs.standard_normal((n, centres.shape[1]))
    return grid(x), labels


def grid(x):
    """x rounded to multiples of 1/256: exact in float32 and short in JSON."""
    return (np.round(np.asarray(x) * 256) / 256).astype(np.float32)


def flat(m):
    m = np.asarray(m, dtype=np.float32).ravel()
    assert (np.round(m.astype(np.float64) * 256) / 256 == m).all()
    return [float(v) for v in m]


def draw_case(name, base_seed, n_train, n_test, dim, classes, spread, settings, zero_rows=False):
    """Draws a data set for which every (k, t) in settings has clear margins."""
    for seed in range(base_seed, base_seed + 1000):
        rs = np.random.RandomState(seed)
        centres = rs.standard_normal((classes, dim))
        offset = 0.5 * rs.standard_normal(dim)
        train, ytrain = clusters(rs, centres, offset, n_train, spread)
        test, ytest = clusters(rs, centres, offset, n_test, spread)
        if zero_rows:
            train[n_train // 3] = 0
            test[1] = 0
        results = []
        ok = True
        for k, t in settings:
            preds, clear = knn_predict(train, ytrain, test, classes, k, t)
            ok = ok and clear
            results.append({"k": k, "t": t, "k_used": min(k, n_train), "predictions": preds.tolist(),
                            "accuracy": float((preds == ytest).mean())})
        if ok:
            return {"name": name, "seed": seed, "rows": n_train, "test_rows": n_test, "dim": dim,
                    "classes": classes, "train": flat(train), "train_labels": ytrain.tolist(),
                    "test": flat(test), "test_labels": ytest.tolist(), "runs": results,
                    "collapse_train": collapse(train), "collapse_test": collapse(test)}
    raise SystemExit(f"{name}: no seed in 1000 gives clear margins")


def main():
    knn = [
        # 300 x 16, 5 classes: the default k=200, t=0.1, and a few others.
        draw_case("clusters300", 1000, 300, 100, 16, 5, 2.2,
                  [(200, 0.1), (20, 0.5), (1, 0.1), (50, 0.02)]),
        # 40 training rows, k=200 clamped to 40; a zero training row and a zero test row.
        draw_case("small_k_above_n", 2000, 40, 60, 8, 3, 1.2, [(200, 0.1), (41, 1.0), (40, 0.1)],
                  zero_rows=True),
    ]
    rs = np.random.RandomState(7)
    v = rs.standard_normal(32)
    collapsed = grid(v + 0.02 * rs.standard_normal((200, 32)))
    healthy = grid(rs.standard_normal((200, 32)))
    mixed = grid(rs.standard_normal((50, 12)) * np.linspace(0.1, 3, 12) + 1)
    mixed[[3, 17]] = 0  # zero rows normalise to zero
    col = []
    for name, m in [("collapsed", collapsed), ("healthy", healthy), ("scaled_offset_zero_rows", mixed)]:
        col.append({"name": name, "rows": m.shape[0], "dim": m.shape[1], "data": flat(m),
                    "collapse": collapse(m)})
    out = {"generator": "gen_knn_reference.py", "numpy": np.__version__,
           "sim_gap": SIM_GAP, "relative_gap": RELATIVE_GAP, "knn": knn, "collapse": col}
    with open("knn_reference.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    for c in knn:
        print(c["name"], "seed", c["seed"], [(r["k"], r["t"], r["accuracy"]) for r in c["runs"]],
              "collapse", round(c["collapse_train"], 4), round(c["collapse_test"], 4))
    for c in col:
        print(c["name"], round(c["collapse"], 6))


if __name__ == "__main__":
    main()
