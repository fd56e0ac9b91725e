"""Independent constructions of two-spin quantities from explicit matrices, for cross-checks."""

from fractions import Fraction
from math import factorial, sqrt

import numpy as np


def spin_matrices(s):
    """(Sx, Sy, Sz) for one spin s in the basis m = s, s-1, ..., -s."""
    m = np.arange(s, -s - 1, -1)
    sp = np.zeros((m.size, m.size))
    for i in range(1, m.size):  # S+ |m> = sqrt(s(s+1) - m(m+1)) |m+1>
        sp[i - 1, i] = np.sqrt(s * (s + 1) - m[i] * (m[i] + 1))
    sx = (sp + sp.T) / 2
    sy = (sp - sp.T) / 2j
    return sx, sy, np.diag(m).astype(float)


def clebsch_gordan(j1, m1, j2, m2, J, M):
    """<j1 m1 j2 m2 | J M> from Racah's closed formula (half-integers as Fractions)."""
    j1, m1, j2, m2, J, M = (Fraction(v).limit_denominator(2) for v in (j1, m1, j2, m2, J, M))
    if m1 + m2 != M or not abs(j1 - j2) <= J <= j1 + j2 or abs(M) > J:
        return 0.0

    def f(x):
        return factorial(int(x))

    pre = (2 * J + 1) * f(J + j1 - j2) * f(J - j1 + j2) * f(j1 + j2 - J) / f(j1 + j2 + J + 1)
    pre *= f(J + M) * f(J - M) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)
    total = Fraction(0)
    for k in range(0, int(j1 + j2 - J) + 1):
        args = (j1 + j2 - J - k, j1 - m1 - k, j2 + m2 - k, J - j2 + m1 + k, J - j1 - m2 + k)
        if min(args) < 0:
            continue
        den = factorial(k)
        for a in args:
            den *= f(a)
        total += Fraction((-1) ** k, den)
    return sqrt(pre) * float(total)


def coupled_states(S):
    """Columns |J M> in the product basis |m1 m2>, built from Clebsch-Gordan coefficients."""
    m = np.arange(S, -S - 1, -1)
    labels, columns = [], []
    for J in np.arange(0, 2 * S + 1):
        for M in np.arange(J, -J - 1, -1):
            vec = np.array([clebsch_gordan(S, m1, S, m2, J, M) for m1 in m for m2 in m])
            labels.append((J, M))
            columns.append(vec)
    return labels, np.array(columns).T


def pair_operator_s1(S):
    """S1^a = S^a (x) 1 for a = x, y, z on the two-spin product space."""
    one = np.eye(int(round(2 * S + 1)))
    return [np.kron(s, one) for s in spin_matrices(S)]


def pair_spectrum(S):
    """Eigenvalues lambda_n of S1.S2 and |<n|S1|m>|^2 summed over components, from numpy's eigh."""
    s1 = pair_operator_s1(S)
    one = np.eye(int(round(2 * S + 1)))
    s2 = [np.kron(one, s) for s in spin_matrices(S)]
    heisenberg = sum(a @ b for a, b in zip(s1, s2)).real
    lam, vec = np.linalg.eigh(heisenberg)
    weight = sum(np.abs(vec.conj().T @ a @ vec) ** 2 for a in s1)
    return lam, weight
