#!/usr/bin/env python3
"""Rounding of a 2-D Winograd tile F(m x m, r x r) in float32, before anyone builds one.

BENCHMARKS.md ("Open work") quotes this script's figures when it weighs a larger tile
(F(4, 2) for down_s2, F(2, 5) for lenet_c2) against the 2e-6 of the largest output that
Tests/c/test_wino.c holds conv_wino to. It derives A^T, G and B^T exactly (Toom-Cook on the
given points plus infinity, as Lavin and Gray describe), checks that they compute the
correlation, then runs random tiles through them in float32 and prints the largest error
against a float64 direct sum, as a fraction of the largest output.

Not a test and not part of the product: needs numpy and sympy (pip install numpy sympy).
    python3 bench/wino_rounding.py              # the cases BENCHMARKS.md quotes
    python3 bench/wino_rounding.py 4 2 0 1 -1 1/2   # F(4, 2) on the points 0, 1, -1, 1/2
"""
import sys

import numpy as np
import sympy as sp


def derive(m, r, points):
    """A^T (m x n), G (n x r), B^T (n x n) of F(m, r), n = m + r - 1, from n - 1 finite
    points and infinity."""
    n = m + r - 1
    points = [sp.Rational(p) for p in points]  # exact: a python int ratio would be a float
    if len(points) != n - 1:
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points, got {len(points)}")
    at, g = sp.zeros(m, n), sp.zeros(n, r)
    for j, a in enumerate(points):
        f = sp.prod([a - b for b in points if b != a])
        for i in range(m):
            at[i, j] = a**i
        for k in range(r):
            g[j, k] = a**k / f
    at[m - 1, n - 1] = 1
    g[n - 1, r - 1] = 1
    # B^T from the bilinear identity: sum_j A^T[i][j] G[j][k] B^T[j][l] = [l == i + k]
    bt = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"b{i}_{j}"))
    eqs = [sum(at[i, j] * g[j, k] * bt[j, l] for j in range(n)) - (1 if l == i + k else 0)
           for i in range(m) for k in range(r) for l in range(n)]
    sol = sp.solve(eqs, list(bt), dict=True)
    if not sol:
        raise ValueError("no B^T for these points")
    bt = bt.subs(sol[0]).subs({s: 0 for s in bt.free_symbols})
    d, w = sp.symbols(f"d0:{n}"), sp.symbols(f"g0:{r}")
    y = at * (g * sp.Matrix(w)).multiply_elementwise(bt * sp.Matrix(d))
    for i in range(m):
        assert sp.expand(y[i] - sum(d[i + t] * w[t] for t in range(r))) == 0
    return at, g, bt


def tile_error(m, r, points, channels=64, tiles=2000, seed=1):
    """Largest |Winograd - direct| over |largest output| of a 2-D tile, float32."""
    at, g, bt = (np.array(x.tolist(), dtype=np.float64).astype(np.float32)
                 for x in derive(m, r, points))
    n = m + r - 1
    rng = np.random.default_rng(seed)
    d = rng.standard_normal((tiles, channels, n, n)).astype(np.float32)
    w = (rng.standard_normal((channels, r, r)) * 0.1).astype(np.float32)
    u = np.einsum("ik,ckl,jl->cij", g, w, g).astype(np.float32)
    v = np.einsum("ik,tckl,jl->tcij", bt, d, bt).astype(np.float32)
    prod = np.einsum("tcij,cij->tij", v, u).astype(np.float32)
    y = np.einsum("ik,tkl,jl->tij", at, prod, at).astype(np.float32)
    d64, w64 = d.astype(np.float64), w.astype(np.float64)
    ref = np.empty((tiles, m, m))
    for i in range(m):
        for j in range(m):
            ref[:, i, j] = np.einsum("tckl,ckl->t", d64[:, :, i:i + r, j:j + r], w64)
    return float(np.abs(y - ref).max() / np.abs(ref).max())


def main(argv):
    if argv:
        m, r = int(argv[0]), int(argv[1])
        cases = [(m, r, argv[2:])]
    else:
        half = sp.Rational(1, 2)
        cases = [(2, 2, [0, 1]), (2, 3, [0, 1, -1]),
                 (4, 2, [0, 1, -1, 2]), (4, 2, [0, 1, -1, half]),
                 (4, 2, [0, 1, -1, -2]), (4, 2, [0, 1, -1, -half]),
                 (2, 5, [0, 1, -1, 2, -2]), (2, 5, [0, 1, -1, half, -half])]
    for m, r, points in cases:
        pts = ", ".join(str(p) for p in points)
        print(f"F({m}, {r}) points {pts}, inf: largest error "
              f"{tile_error(m, r, points):.2e} of the largest output")


if __name__ == "__main__":
    main(sys.argv[1:])
