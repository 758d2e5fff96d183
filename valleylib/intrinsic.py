"""Intrinsic dimension of an activation: how many ridge functions a width needs.

For an activation :math:`\\sigma` and an input dimension :math:`d`, the *reproducing space* is the
linear span of all hidden units seen as functions of the input,

.. math::

    V_\\sigma = \\operatorname{span}\\{\\, x \\mapsto \\sigma(\\langle w, x\\rangle) : w \\in \\mathbb R^d \\,\\},
    \\qquad \\dim^*(\\sigma) = \\dim V_\\sigma .

For a polynomial :math:`\\sigma(z) = \\sum_k c_k z^k` the dimension is finite and exact:

.. math::

    \\dim^*(\\sigma) = \\sum_{k\\,:\\,c_k \\neq 0} \\binom{d + k - 1}{k},

because the powers :math:`\\langle w, x\\rangle^k` span all homogeneous polynomials of degree
:math:`k` (a space of dimension :math:`\\binom{d+k-1}{k}`), and replacing :math:`w` by
:math:`t w` separates the degrees (a Vandermonde argument in :math:`t`). Linear
:math:`\\sigma` gives :math:`d`, the square gives :math:`d(d+1)/2`, a full polynomial of degree
:math:`K` gives :math:`\\binom{d+K}{K}`.

**Non-polynomial activations (our derivation).** For a continuous non-polynomial :math:`\\sigma` and
:math:`d \\ge 2`, :math:`\\dim^*(\\sigma) = \\infty`: if :math:`V_\\sigma` were finite-dimensional, the
functions :math:`s \\mapsto \\sigma(s + \\lambda)` (take :math:`w = (1, \\lambda, 0, \\dots)` and
:math:`x = (s, 1, 0, \\dots)`) would span a finite-dimensional translation-invariant space, so
:math:`\\sigma` would be an exponential polynomial :math:`\\sum_j p_j(s)e^{\\mu_j s}`; the dilates
:math:`\\sigma(ts)` of such a function span a finite-dimensional space only when every
:math:`\\mu_j = 0`, i.e. when :math:`\\sigma` is a polynomial. In :math:`d = 1` only dilations act:
ReLU gives :math:`\\operatorname{span}\\{[x]_+, [-x]_+\\}`, dimension 2, while tanh, sigmoid, erf and
softplus, analytic with infinitely many non-zero Taylor coefficients :math:`c_k`, contain every
:math:`x^k` with :math:`c_k \\ne 0` (the :math:`k`-th derivative in :math:`t` of :math:`\\sigma(tx)` at
:math:`t = 0` lies in the closed, because finite-dimensional, span), so their dimension is infinite.
:func:`intrinsic_dimension` returns ``math.inf`` in these cases; for an activation given only as a
function it cannot tell, and raises.

For any activation, :func:`feature_spectrum` estimates the dimension numerically as the rank of
the feature matrix :math:`F_{ij} = \\sigma(\\langle w_j, x_i\\rangle)` of many random directions
:math:`w_j \\sim \\mathcal N(0, I_d/d)` on many samples :math:`x_i \\sim \\mathcal N(0, I_d)`. A
singular value counts when it exceeds

.. math::

    \\tau = s_{\\max} \\cdot \\max(N, M) \\cdot \\varepsilon ,

the bound on the singular-value perturbation caused by rounding every entry of an
:math:`N \\times M` matrix at relative precision :math:`\\varepsilon` (the rule of
:func:`numpy.linalg.matrix_rank`). The directions are Gaussian, not unit vectors, on purpose:
for :math:`\\sigma(z) = 1 + z^2` unit directions give features :math:`1 + (w^\\top x)^2` whose
span misses the constant, so only varying norms reveal every degree. The rank of a
:math:`N\\times M` matrix is at most :math:`\\min(N, M)`: for an activation with infinite
:math:`\\dim^*` it is a lower bound that grows with the matrix (the curve of
:attr:`FeatureSpectrum.rank` against the size), never the dimension itself.

The input dimension is ``d``, as everywhere in the book (Venturi, Bandeira & Bruna call it
``d``; the keyword ``d=`` is still accepted, with a ``DeprecationWarning``).
"""
from __future__ import annotations

import math
import operator
import warnings
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from ._checks import as_tensor, check_positive_int
from .activations import ACTIVATIONS, Activation, ActivationLike, get_activation
from .device import check_device, default_device

__all__ = [
    "intrinsic_dimension",
    "polynomial_dimension",
    "feature_spectrum",
    "feature_matrix",
    "numerical_rank",
    "FeatureSpectrum",
]


def _activation(activation) -> Activation:
    if callable(activation) and not isinstance(activation, Activation):
        return Activation(getattr(activation, "__name__", "callable"), activation)
    return get_activation(activation)


def polynomial_dimension(degrees, d: int) -> int:
    """Exact :math:`\\dim^*` of a polynomial activation whose non-zero coefficients have the given degrees.

    .. math::  \\dim^* = \\sum_{k \\in \\text{degrees}} \\binom{d + k - 1}{k}

    Args:
        degrees: the degrees :math:`k \\ge 0` with :math:`c_k \\ne 0` (duplicates are counted once).
        d: input dimension, at least 1.

    >>> polynomial_dimension([2], 3)   # quadratic forms in 3 variables
    6
    >>> polynomial_dimension([0, 1, 2, 3], 2)   # every polynomial of degree <= 3 in 2 variables
    10
    """
    check_positive_int("d", d)
    try:
        degs = sorted({operator.index(k) for k in degrees})  # 1.5 is rejected, not truncated
    except (TypeError, ValueError) as err:
        raise TypeError(f"degrees: expected a sequence of integers, got {degrees!r}") from err
    if not degs:
        raise ValueError("degrees: expected at least one degree (the zero polynomial spans nothing)")
    if degs[0] < 0:
        raise ValueError(f"degrees={degrees!r}: expected degrees >= 0")
    return sum(math.comb(d + k - 1, k) for k in degs)


#: Registered non-polynomial activations and their :math:`\\dim^*` as a function of the input
#: dimension ``d`` (see the module docstring for the derivations).
_KNOWN_DIMENSIONS = {
    "relu": lambda d: 2 if d == 1 else math.inf,
    "tanh": lambda d: math.inf,
    "sigmoid": lambda d: math.inf,
    "erf": lambda d: math.inf,
    "softplus": lambda d: math.inf,
}


def _input_dimension(d: Optional[int], n: Optional[int]) -> int:
    """The input dimension from ``d``, or from the deprecated keyword ``n`` (Venturi et al.'s name)."""
    if n is not None:
        if d is not None:
            raise TypeError(f"d={d!r}, n={n!r}: give the input dimension once, as d (n is its old name)")
        warnings.warn("the keyword n= is the input dimension's old name; pass it as d", DeprecationWarning, stacklevel=3)
        d = n
    if d is None:
        raise TypeError("d: the input dimension is required")
    return check_positive_int("d (the input dimension)", d)


def _known_dimension(sigma: Activation, d: int) -> int | float | None:
    """:math:`\\dim^*` when the library knows it (a polynomial or a registered activation), else ``None``."""
    if sigma.is_polynomial:
        return polynomial_dimension([k for k, c in enumerate(sigma.coefficients) if c != 0], d)
    if sigma.name in _KNOWN_DIMENSIONS and ACTIVATIONS.get(sigma.name) is sigma:
        return _KNOWN_DIMENSIONS[sigma.name](d)
    return None


def intrinsic_dimension(
    activation: ActivationLike,
    d: Optional[int] = None,
    *,
    n: Optional[int] = None,
    method: Literal["auto", "exact", "numerical"] = "auto",
    directions: int = 512,
    samples: int = 512,
    seed: int = 0,
    device: Optional[torch.device | str] = None,
) -> int | float:
    """The intrinsic dimension :math:`\\dim^*(\\sigma)` of an activation, in input dimension ``d``.

    Exact for polynomial activations (:func:`polynomial_dimension` of the degrees present) and
    for the registered non-polynomial activations, whose dimension is ``math.inf`` (ReLU in
    ``d = 1``: 2; see the module docstring). A finite number is returned only when the dimension
    is finite. The numerical rank of a random feature matrix, a lower bound that grows with the
    matrix for an infinite-dimensional span, is :attr:`FeatureSpectrum.rank` of
    :func:`feature_spectrum`.

    Args:
        activation: registered name (``"relu"``, ``"quadratic"``, ...), an
            :class:`~valleylib.activations.Activation`, or polynomial coefficients
            ``(c_0, ..., c_K)``. A plain callable is accepted only by :func:`feature_spectrum`.
        d: the input dimension (Venturi et al.'s ``d``), at least 1.
        method: ``"auto"`` or ``"exact"``: the known value; ``"numerical"``: the numerical rank of
            a ``(samples, directions)`` feature matrix, allowed only where :math:`\\dim^*` is finite
            (to check the estimator against the exact value).
        directions, samples, seed, device: the feature matrix of ``method="numerical"``.

    Returns:
        An ``int``, or ``math.inf`` for an infinite dimension.

    Raises:
        ValueError: ``d < 1``, an unknown name or method, an activation whose dimension the
            library does not know, or ``method="numerical"`` where :math:`\\dim^*` is infinite.
        TypeError: ``activation`` is neither a name, an activation nor coefficients.

    >>> intrinsic_dimension("quadratic", 3)
    6
    >>> intrinsic_dimension([1.0, 0.0, 1.0], 3)   # 1 + z^2: constants plus quadratic forms
    7
    >>> intrinsic_dimension("relu", 4), intrinsic_dimension("relu", 1)
    (inf, 2)
    """
    if callable(activation) and not isinstance(activation, Activation):
        raise TypeError(
            f"activation: intrinsic_dimension needs a registered name, an Activation or polynomial coefficients "
            f"to know dim*, got the callable {getattr(activation, '__name__', activation)!r}; for a numerical "
            "lower bound use feature_spectrum(activation, d).rank"
        )
    sigma = get_activation(activation)
    d = _input_dimension(d, n)
    if method not in ("auto", "exact", "numerical"):
        raise ValueError(f"method={method!r}: expected 'auto', 'exact' or 'numerical'")
    known = _known_dimension(sigma, d)
    if known is None:
        raise ValueError(
            f"activation {sigma.name!r}: its intrinsic dimension is not known to the library (no polynomial "
            "coefficients, not a registered activation); feature_spectrum(...).rank gives a numerical lower bound"
        )
    if method == "numerical":
        if known == math.inf:
            raise ValueError(
                f"method='numerical': dim*({sigma.name}) is infinite in d={d}, so a numerical rank (at most "
                f"min(directions, samples)) is not its dimension; use feature_spectrum({sigma.name!r}, {d}).rank "
                "for the rank of a finite feature matrix"
            )
        return feature_spectrum(sigma, d, directions=directions, samples=samples, seed=seed, device=device).rank
    return known


def feature_matrix(
    activation: ActivationLike,
    d: int,
    *,
    directions: int,
    samples: int,
    seed: int = 0,
    device: Optional[torch.device | str] = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Random features :math:`F_{ij} = \\sigma(\\langle w_j, x_i\\rangle)`, shape ``(samples, directions)``.

    Directions :math:`w_j \\sim \\mathcal N(0, I_d / d)`, samples :math:`x_i \\sim \\mathcal N(0, I_d)`.
    """
    sigma = _activation(activation)
    check_positive_int("d (the input dimension)", d)
    check_positive_int("directions", directions)
    check_positive_int("samples", samples)
    dev = check_device(device, "device") if device is not None else default_device()
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    W = (torch.randn(directions, d, generator=gen, dtype=dtype) / math.sqrt(d)).to(dev)
    X = torch.randn(samples, d, generator=gen, dtype=dtype).to(dev)
    return sigma(X @ W.T)


def numerical_rank(F: torch.Tensor) -> tuple[int, torch.Tensor, float]:
    """Rank of ``F`` at the rounding threshold :math:`\\tau = s_{\\max}\\max(N, M)\\,\\varepsilon`.

    Returns:
        ``(rank, singular values (descending), tau)``.
    """
    if not isinstance(F, torch.Tensor) or F.ndim != 2 or not F.is_floating_point():
        raise ValueError(f"F: expected a 2-d floating-point tensor, got {getattr(F, 'shape', type(F))}")
    as_tensor("F", F)  # rejects meta tensors
    if not bool(torch.isfinite(F).all()):
        raise ValueError("F: contains non-finite values; the activation overflowed on the random features")
    s = torch.linalg.svdvals(F)
    smax = float(s[0]) if s.numel() else 0.0
    tau = smax * max(F.shape) * torch.finfo(F.dtype).eps
    return int((s > tau).sum()), s, tau


@dataclass(frozen=True)
class FeatureSpectrum:
    """Singular values of a random feature matrix and the rank they imply.

    Attributes:
        activation: the activation's name.
        d: input dimension.
        directions, samples: the feature matrix is ``(samples, directions)``.
        rank: number of singular values above ``threshold``.
        singular_values: all singular values divided by the largest (descending, a list).
        threshold: the threshold divided by the largest singular value.
    """

    activation: str
    d: int
    directions: int
    samples: int
    rank: int
    singular_values: list
    threshold: float


def feature_spectrum(
    activation: ActivationLike,
    d: Optional[int] = None,
    *,
    n: Optional[int] = None,
    directions: int = 512,
    samples: int = 512,
    seed: int = 0,
    device: Optional[torch.device | str] = None,
) -> FeatureSpectrum:
    """Numerical estimate of :math:`\\dim^*(\\sigma)` with its singular-value spectrum (float64).

    Args: as :func:`intrinsic_dimension`.

    >>> feature_spectrum("cubic", 2, directions=40, samples=40).rank   # binary cubic forms
    4
    """
    sigma = _activation(activation)
    d = _input_dimension(d, n)
    F = feature_matrix(sigma, d, directions=directions, samples=samples, seed=seed, device=device)
    rank, s, tau = numerical_rank(F)
    smax = float(s[0]) if float(s[0]) > 0 else 1.0
    return FeatureSpectrum(sigma.name, d, directions, samples, rank, (s / smax).cpu().tolist(), tau / smax)
