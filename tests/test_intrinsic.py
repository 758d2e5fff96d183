"""Tests for valleylib.intrinsic: exact dimensions against brute-force rank, the estimator, errors."""
from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest
import torch

from valleylib.activations import Activation, polynomial
from valleylib.intrinsic import feature_matrix, feature_spectrum, intrinsic_dimension, numerical_rank, polynomial_dimension

torch.set_num_threads(1)


def _exact_rank(rows: list[list[Fraction]]) -> int:
    """Gaussian elimination over the rationals (slow, obvious reference)."""
    rows = [r[:] for r in rows]
    rank, cols = 0, len(rows[0]) if rows else 0
    for c in range(cols):
        piv = next((i for i in range(rank, len(rows)) if rows[i][c] != 0), None)
        if piv is None:
            continue
        rows[rank], rows[piv] = rows[piv], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][c] != 0:
                f = rows[i][c] / rows[rank][c]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[rank])]
        rank += 1
    return rank


def _brute_force_dimension(coeffs, d: int, draws: int, seed: int = 0) -> int:
    """Rank of the monomial-coefficient vectors of sigma(<w, x>) for random integer w (exact arithmetic)."""
    rng = random.Random(seed)
    K = len(coeffs) - 1
    monomials = [m for k in range(K + 1) for m in itertools.combinations_with_replacement(range(d), k)]
    index = {m: i for i, m in enumerate(monomials)}
    rows = []
    for _ in range(draws):
        w = [rng.randint(-5, 5) for _ in range(d)]
        vec = [Fraction(0)] * len(monomials)
        for k, c in enumerate(coeffs):
            if c == 0:
                continue
            # (w.x)^k = sum over ordered index tuples; accumulate on sorted (multiset) monomials
            for tup in itertools.product(range(d), repeat=k):
                prod = 1
                for i in tup:
                    prod *= w[i]
                vec[index[tuple(sorted(tup))]] += Fraction(c).limit_denominator() * prod
        rows.append(vec)
    return _exact_rank(rows)


@pytest.mark.parametrize("coeffs", [(0, 1), (0, 0, 1), (0, 0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 0, 1), (2, 0, 0, 1)])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_exact_dimension_matches_brute_force_rank(coeffs, d):
    exact = intrinsic_dimension(list(map(float, coeffs)), d)
    assert exact == _brute_force_dimension(coeffs, d, draws=3 * exact + 5)


def test_closed_forms():
    for d in range(1, 7):
        assert intrinsic_dimension("linear", d) == d
        assert intrinsic_dimension("quadratic", d) == d * (d + 1) // 2
        assert intrinsic_dimension("cubic", d) == math.comb(d + 2, 3)
        assert intrinsic_dimension([1.0, 1.0, 1.0, 1.0], d) == math.comb(d + 3, 3)
    assert polynomial_dimension([0], 5) == 1


@pytest.mark.parametrize("coeffs", [(0, 1), (0, 0, 1), (0, 0, 0, 1), (1, 0, 1), (1, -1, 0.5, 0.1), (0, 0, 0, 0, 1), (0.5, 0, 0, 2)])
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_estimator_agrees_on_polynomials(coeffs, d):
    exact = intrinsic_dimension(list(map(float, coeffs)), d)
    size = max(4 * exact, 40)
    assert intrinsic_dimension(list(map(float, coeffs)), d, method="numerical", directions=size, samples=size, seed=d) == exact


def test_estimator_grows_for_non_polynomials():
    for name in ("relu", "tanh", "erf"):
        ranks = [feature_spectrum(name, 4, directions=m, samples=m).rank for m in (30, 60, 120)]
        assert ranks[0] < ranks[1] < ranks[2], (name, ranks)
    # ReLU in one input dimension spans only [x]_+ and [-x]_+.
    assert feature_spectrum("relu", 1, directions=100, samples=100).rank == 2


def test_spectrum_and_callable_activation():
    spec = feature_spectrum(lambda z: z**2, 3, directions=50, samples=50)
    assert spec.rank == 6 and spec.singular_values[0] == pytest.approx(1.0)
    assert spec.singular_values[5] > spec.threshold > spec.singular_values[6]
    F = feature_matrix("quadratic", 3, directions=20, samples=30)
    assert F.shape == (30, 20) and F.dtype == torch.float64
    # invariance: permuting directions does not change the rank
    assert numerical_rank(F[:, torch.randperm(20)])[0] == numerical_rank(F)[0] == 6


def test_bad_input():
    with pytest.raises(ValueError, match="input dimension"):
        intrinsic_dimension("relu", 0)
    with pytest.raises(ValueError, match="not registered"):
        intrinsic_dimension("swish", 3)
    with pytest.raises(TypeError, match="activation"):
        intrinsic_dimension(3.5, 3)
    with pytest.raises(ValueError, match="infinite in d=3"):
        intrinsic_dimension("relu", 3, method="numerical")
    with pytest.raises(TypeError, match="feature_spectrum"):
        intrinsic_dimension(lambda z: z**2, 3)
    with pytest.raises(ValueError, match="not known"):
        intrinsic_dimension(Activation("swish", lambda z: z * torch.sigmoid(z)), 3)
    with pytest.raises(ValueError, match="method"):
        intrinsic_dimension("relu", 3, method="guess")
    with pytest.raises(ValueError, match="degrees >= 0"):
        polynomial_dimension([-1, 2], 3)
    with pytest.raises(ValueError, match="non-zero"):
        polynomial([0.0, 0.0])


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "erf", "softplus"])
@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_non_polynomial_activations_have_infinite_dimension(name, n):
    """Never a finite number (such as the 512 of a 512 x 512 feature matrix) for an infinite span."""
    assert intrinsic_dimension(name, n) == math.inf
    assert intrinsic_dimension(name, n, method="exact") == math.inf
    # the numerical rank stays available, and it is a size-limited lower bound
    assert feature_spectrum(name, n, directions=40, samples=40).rank <= 40


def test_dimension_in_one_input_dimension():
    assert intrinsic_dimension("relu", 1) == 2  # span{[x]_+, [-x]_+}
    assert intrinsic_dimension("relu", 1, method="numerical", directions=60, samples=60) == 2
    for name in ("tanh", "sigmoid", "erf", "softplus"):
        assert intrinsic_dimension(name, 1) == math.inf


@pytest.mark.parametrize("d,p", [(1, 3), (2, 2), (3, 4), (4, 3)])
def test_full_polynomial_of_degree_p_has_dimension_binomial_d_plus_p_choose_p(d, p):
    assert intrinsic_dimension([1.0] * (p + 1), d) == math.comb(d + p, p)
    assert isinstance(intrinsic_dimension([1.0] * (p + 1), d), int)


def test_the_input_dimension_is_d_and_the_old_keyword_n_still_works():
    import pytest

    from valleylib.intrinsic import feature_spectrum

    assert intrinsic_dimension("quadratic", d=3) == 6
    with pytest.warns(DeprecationWarning, match="pass it as d"):
        assert intrinsic_dimension("quadratic", n=3) == 6
    with pytest.warns(DeprecationWarning, match="pass it as d"):
        assert feature_spectrum("cubic", n=2, directions=40, samples=40).d == 2
    with pytest.raises(TypeError, match="give the input dimension once"):
        intrinsic_dimension("quadratic", 3, n=3)
    with pytest.raises(TypeError, match="d: the input dimension is required"):
        intrinsic_dimension("quadratic")
    with pytest.raises(ValueError, match="d \\(the input dimension\\)=0"):
        intrinsic_dimension("quadratic", 0)
