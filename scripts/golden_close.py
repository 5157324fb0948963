"""Are two golden JSON files equal up to float rounding? (Used by scripts/oracle.sh.)

scikit-learn's iterative solvers (lbfgs) run on numpy/scipy's BLAS, whose kernels are chosen
at run time by CPU: the same pinned versions give the same numbers to ~1e-9 on different
machines, not byte for byte. Numbers must agree to 1e-8 relative or 1e-9 absolute; everything
else (keys, strings, lengths) exactly. Exit status 0 when they do; prints the first difference.
Usage: python scripts/golden_close.py COMMITTED.json REDERIVED.json
"""
import json
import math
import sys


def close(a, b, path="$"):
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a == b else f"{path}: {a!r} != {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-9):
            return None
        return f"{path}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = close(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = close(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def main():
    with open(sys.argv[1]) as f:
        a = json.load(f)
    with open(sys.argv[2]) as f:
        b = json.load(f)
    d = close(a, b)
    if d:
        print(d)
        sys.exit(1)


if __name__ == "__main__":
    main()
