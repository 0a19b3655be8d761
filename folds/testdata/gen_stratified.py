#!/usr/bin/python3
"""Writes the StratifiedKFold references of stratified_test.go. Run from this directory:
/usr/bin/python3 gen_stratified.py (SELFSUP_SHARED=/path/to/shared when shared/ is not
../shared from the repository root; generated with Debian's python3-sklearn 1.2.1, numpy 1.24.2).

- sklearn_stratified_kfold_small.json: the cases of ../../../shared/testdata/sklearn_stratified_kfold.json
  with fewer than 50,000 labels, copied unchanged (the 50,000-label CIFAR-10 cases stay in shared/).
- sklearn_stratified_extra.json: edge cases that file lacks (negative and sparse labels, one
  class, classes smaller than n_splits, extreme seeds) with scikit-learn's warnings, and the
  inputs scikit-learn rejects with its error messages."""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedKFold

# shared/ sits next to the repository root; SELFSUP_SHARED names it when the checkout is elsewhere.
SHARED = os.path.join(os.environ.get("SELFSUP_SHARED", os.path.join("..", "..", "..", "shared")),
                      "testdata", "sklearn_stratified_kfold.json")


def run(y, k, shuffle, seed):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        tf = np.full(len(y), -1)
        for f, (train, test) in enumerate(
                StratifiedKFold(k, shuffle=shuffle, random_state=seed).split(np.zeros(len(y)), y)):
            assert (tf[test] == -1).all()
            tf[test] = f
    assert (tf >= 0).all()
    return tf.tolist(), [str(x.message) for x in w]


def extra_cases():
    rs = np.random.RandomState(7)
    params = [
        ([5, 5], 2, False, None),
        ([-3, -1, 7, -1, -3, 7, 7, -3, -1, -1, 7, -3], 3, True, 0),
        ([10**9, -5, 42, 42, -5, 10**9, -5, 42, 10**9, 42], 2, True, 4294967295),
        ([3] * 9, 9, True, 11),
        ([3] * 9, 9, False, None),
        ([0, 1, 2, 0, 1, 0, 0, 0, 0, 1], 4, True, 5),    # warning: class 2 has 1 member
        ([0, 1, 2, 0, 1, 0, 0, 0, 0, 1], 4, False, None),
        ([2, 2, 2, 2, 2, 1, 0, 3, 4, 5, 2, 2], 5, True, 99),  # classes of one member
    ]
    for _ in range(10):  # random small cases, some with classes smaller than n_splits
        n = int(rs.randint(2, 60))
        c = int(rs.randint(1, 8))
        y = (rs.randint(0, c, size=n) * int(rs.choice([1, -1, 3])) + int(rs.randint(-5, 5))).tolist()
        k = int(rs.randint(2, min(n, 8) + 1))
        if max(np.bincount(np.unique(y, return_inverse=True)[1])) < k:
            k = 2 if max(np.bincount(np.unique(y, return_inverse=True)[1])) >= 2 else None
        if k is None:
            continue
        shuffle = bool(rs.randint(0, 3) > 0)
        params.append((y, k, shuffle, int(rs.randint(0, 2**32, dtype=np.int64)) if shuffle else None))
    cases = []
    for y, k, shuffle, seed in params:
        tf, warns = run(y, k, shuffle, seed)
        cases.append({"y": y, "n_splits": k, "shuffle": shuffle, "random_state": seed,
                      "test_fold": tf, "warnings": warns})
    errors = []
    for y, k, shuffle, seed in [([0, 1, 0, 1], 1, False, None), ([0, 1, 0, 1], 0, False, None),
                                ([0, 1, 0], 4, False, None), ([0, 1, 2, 0, 1, 2], 3, True, -1),
                                ([0, 1, 2, 0, 1, 2], 3, True, 2**32), ([0, 1, 2, 0, 1, 2], 3, False, None),
                                ([0, 1, 2, 3, 0, 1], 3, True, 1), ([7], 2, False, None)]:
        try:
            tf, warns = run(y, k, shuffle, seed)
        except ValueError as e:
            errors.append({"y": y, "n_splits": k, "shuffle": shuffle, "random_state": seed,
                           "error": str(e)})
            continue
        raise SystemExit("expected an error for %r" % ((y, k, shuffle, seed),))
    return cases, errors


def main():
    with open(SHARED) as f:
        shared = json.load(f)
    small = dict(shared)
    small["cases"] = [c for c in shared["cases"] if len(c["y"]) < 50000]
    small["generator"] = shared["generator"] + " (cases under 50,000 labels, copied from shared/testdata)"
    with open("sklearn_stratified_kfold_small.json", "w") as f:
        json.dump(small, f, separators=(",", ":"))
        f.write("\n")
    cases, errors = extra_cases()
    gen = "scikit-learn %s StratifiedKFold, numpy %s; test_fold[i] = fold whose test part holds sample i" % (
        sklearn.__version__, np.__version__)
    with open("sklearn_stratified_extra.json", "w") as f:
        json.dump({"generator": gen, "cases": cases, "errors": errors}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
