#!/usr/bin/python3
"""Writes kfold.json and rng.json, the scikit-learn/numpy references of kfold_test.go and
mt19937_test.go. Run from this directory: /usr/bin/python3 gen_kfold.py
(generated with Debian's python3-sklearn 1.2.1 and numpy 1.24.2)."""
import json

import numpy as np
import sklearn
from sklearn.model_selection import KFold


def kfold_cases():
    rs = np.random.RandomState(20261126)
    params = [
        (2, 2, False, None), (2, 2, True, 0), (3, 2, True, 1), (10, 3, False, None),
        (10, 3, True, 42), (10, 10, True, 7), (11, 4, True, 4294967295), (100, 7, True, 0),
        (101, 10, False, None), (1000, 9, True, 123456789), (5000, 13, True, 2**31),
        (3, 3, False, None), (17, 5, True, 3),
    ]
    for _ in range(12):
        k = int(rs.randint(2, 30))
        n = int(rs.randint(k, 3000))
        shuffle = bool(rs.randint(0, 4) > 0)
        seed = int(rs.randint(0, 2**32, dtype=np.int64)) if shuffle else None
        params.append((n, k, shuffle, seed))
    cases = []
    for n, k, shuffle, seed in params:
        tf = np.full(n, -1)
        folds = []
        for f, (train, test) in enumerate(KFold(k, shuffle=shuffle, random_state=seed).split(np.zeros(n))):
            assert (tf[test] == -1).all()
            tf[test] = f
            folds.append(test)
        # Test parts come back ascending; the fold ids say which part each sample is in.
        assert all((np.diff(t) > 0).all() for t in folds)
        cases.append({"n": n, "n_splits": k, "shuffle": shuffle, "random_state": seed,
                      "test_fold": tf.tolist()})
    errors = []
    for n, k, shuffle, seed in [(5, 1, False, None), (5, 0, False, None), (3, 4, False, None),
                                (10, 3, True, -1), (10, 3, True, 2**32)]:
        try:
            list(KFold(k, shuffle=shuffle, random_state=seed).split(np.zeros(n)))
            raise SystemExit("expected an error for %r" % ((n, k, shuffle, seed),))
        except ValueError as e:
            errors.append({"n": n, "n_splits": k, "shuffle": shuffle, "random_state": seed,
                           "error": str(e)})
    return cases, errors


def rng_cases():
    """Raw 32-bit draws and bounded draws (legacy randint uses the same masked rejection as the
    shuffle's random_interval, with 64-bit draws above 2^32-1) and shuffles of arange(n)."""
    raw = []
    for seed in [0, 1, 42, 5489, 4294967295]:
        rs = np.random.RandomState(seed)
        size = 1300 if seed == 5489 else 64  # 1300 crosses two refills of the 624-word state
        raw.append({"seed": seed, "uint32": [int(v) for v in rs.randint(0, 2**32, size=size, dtype=np.uint64)]})
    bounded = []
    for seed, mx in [(0, 1), (1, 2), (2, 5), (3, 1000), (4, 2**31), (5, 2**32 - 1), (6, 2**32),
                     (7, 2**40 + 12345), (8, 2**63 - 2), (9, 3 * 2**33)]:
        rs = np.random.RandomState(seed)
        vals = [int(rs.randint(0, mx + 1, dtype=np.int64)) for _ in range(100)]
        bounded.append({"seed": seed, "max": mx, "values": vals})
    shuffles = []
    for seed, n in [(0, 1), (0, 2), (1, 10), (42, 1000), (4294967295, 257)]:
        x = np.arange(n)
        np.random.RandomState(seed).shuffle(x)
        shuffles.append({"seed": seed, "n": n, "perm": x.tolist()})
    return {"raw": raw, "bounded": bounded, "shuffle": shuffles}


def main():
    cases, errors = kfold_cases()
    gen = "scikit-learn %s KFold, numpy %s; test_fold[i] = fold whose test part holds sample i" % (
        sklearn.__version__, np.__version__)
    with open("kfold.json", "w") as f:
        json.dump({"generator": gen, "cases": cases, "errors": errors}, f, separators=(",", ":"))
        f.write("\n")
    with open("rng.json", "w") as f:
        json.dump(dict(generator="numpy %s legacy RandomState(seed)" % np.__version__, **rng_cases()),
                  f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
