"""Random features: how well :math:`p` fixed random neurons can fit a teacher, in closed form.

Inputs :math:`x\\sim\\mathcal N(0, I_d)`, teacher :math:`f^*(x) = \\sum_{j=1}^k c_j\\,\\sigma(v_j^\\top x)`,
first layer :math:`W = (w_1,\\dots,w_p)` fixed (drawn at random), output layer solved exactly:

.. math::

    E(W) = \\min_{a} \\tfrac12\\,\\mathbb E_x\\Big(\\sum_{i=1}^p a_i\\,\\sigma(w_i^\\top x) - f^*(x)\\Big)^2
         = \\tfrac12\\big(\\|f^*\\|^2 - b^\\top G^{-1} b\\big),

with the Gram matrix :math:`G_{ii'} = K(w_i, w_{i'})`, :math:`b_i = \\sum_j c_j K(w_i, v_j)` and
:math:`\\|f^*\\|^2 = c^\\top K(V, V)\\,c`, where :math:`K(w, v) = \\mathbb E_x\\,\\sigma(w^\\top x)\\sigma(v^\\top x)`
is known in closed form for two activations:

* ReLU, the arc-cosine kernel :math:`K(w,v) = \\frac{\\|w\\|\\|v\\|}{2\\pi}(\\sin\\theta + (\\pi-\\theta)\\cos\\theta)`;
* erf, :math:`K(w,v) = \\frac{2}{\\pi}\\arcsin\\frac{2\\,w^\\top v}{\\sqrt{(1+2\\|w\\|^2)(1+2\\|v\\|^2)}}`
  (Williams, 1997).

So every error here is an exact population quantity, with no sampling noise beyond the draw of
:math:`W`. :func:`random_features_fit` also solves the *non-negative* problem (:math:`a\\ge 0`), the
one that matters for students whose output weights are fixed to :math:`+1`, as in Safran & Shamir:
by positive homogeneity of the ReLU, :math:`a_i[w_i^\\top x]_+ = [(a_i w_i)^\\top x]_+` for :math:`a_i\\ge0`.

The tests hold it against dense reference solves and against least squares on samples
(``tests/reference.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_finite,
    check_float,
    check_positive_float,
    check_positive_int,
    tensor_arg,
)
from .descent import progress_bar
from .gaussian import (  # KERNEL_ACTIVATIONS, gaussian_kernel, gaussian_risk re-exported: their home is gaussian
    KERNEL_ACTIVATIONS,
    check_teacher,
    check_teacher_outputs,
    gaussian_kernel,
    gaussian_risk,
    gram,
    kernel_name,
)
from .networks import draw_normal

__all__ = [
    "KERNEL_ACTIVATIONS",
    "gaussian_kernel",
    "gaussian_risk",
    "RandomFeaturesFit",
    "random_features_fit",
    "random_features_curve",
    "fit_power_law",
    "relu_rate",
]


@dataclass(frozen=True)
class RandomFeaturesFit:
    """The exact output layer for fixed features.

    Attributes:
        error: :math:`\\tfrac12\\mathbb E(\\sum_i a_i\\sigma(w_i^\\top x) - f^*)^2` at the returned ``coef``,
            ``(runs,)``; computed from ``coef`` itself, so it is the true risk of that network even
            when the solve is inexact.
        coef: output weights :math:`a` ``(runs, p)``.
        target_energy: :math:`\\tfrac12\\|f^*\\|^2`, the risk of the zero network.
        kkt: for ``nonnegative`` fits, the largest violation of the optimality conditions
            (0 for unconstrained fits).
    """

    error: torch.Tensor
    coef: torch.Tensor
    target_energy: float
    kkt: torch.Tensor


def _nnls(G: torch.Tensor, b: torch.Tensor, max_iter: int, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched non-negative least squares :math:`\\min_{a\\ge0}\\tfrac12 a^\\top G a - b^\\top a` by
    accelerated projected gradient (FISTA) with step :math:`1/\\lambda_{\\max}(G)`."""
    L = torch.linalg.eigvalsh(G)[..., -1].clamp(min=torch.finfo(G.dtype).tiny).unsqueeze(-1)
    a = torch.zeros_like(b)
    y = a.clone()
    t = 1.0
    scale = b.abs().amax(-1).clamp(min=torch.finfo(G.dtype).tiny)
    for it in range(max_iter):
        g = (G @ y.unsqueeze(-1)).squeeze(-1) - b
        a_new = torch.clamp(y - g / L, min=0.0)
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
        y = a_new + ((t - 1) / t_new) * (a_new - a)
        a, t = a_new, t_new
        if it % 50 == 49:
            kkt = _kkt(G, b, a) / scale
            if bool((kkt <= tol).all()):
                break
    return a, _kkt(G, b, a)


def _kkt(G, b, a) -> torch.Tensor:
    g = (G @ a.unsqueeze(-1)).squeeze(-1) - b
    # optimality: g >= 0 where a = 0, g = 0 where a > 0
    viol = torch.where(a > 0, g.abs(), torch.clamp(-g, min=0.0))
    return viol.amax(-1)


def random_features_fit(
    W,
    V,
    *,
    activation: str = "relu",
    c=None,
    nonnegative: bool = False,
    ridge: float = 1e-12,
    max_iter: int = 5000,
    tol: float = 1e-9,
) -> RandomFeaturesFit:
    """Solve the output layer exactly for fixed first-layer rows ``W`` against the teacher ``(V, c)``.

    Unconstrained: :math:`a = (G + \\epsilon\\,\\bar g I)^{-1} b` by Cholesky, with a relative jitter
    :math:`\\epsilon` = ``ridge`` (:math:`\\bar g` the mean diagonal of :math:`G`) that only guards
    against rank deficiency. Non-negative: projected gradient to relative optimality ``tol``.
    The returned ``error`` is always evaluated at the returned coefficients.

    Args:
        W: fixed rows ``(runs, p, d)`` or ``(p, d)``. V: teacher rows ``(k, d)``. c: teacher output
            weights ``(k,)``, default ones.
        activation: ``"relu"`` or ``"erf"``.
        nonnegative: constrain :math:`a \\ge 0`.

    Returns:
        :class:`RandomFeaturesFit` (unbatched fields for one ``(p, d)``).

    >>> V = torch.eye(3, dtype=torch.float64)
    >>> fit = random_features_fit(V, V)  # the teacher's own rows: exact fit
    >>> round(float(fit.error), 10), [round(x, 6) for x in fit.coef.tolist()]
    (0.0, [1.0, 1.0, 1.0])
    """
    name = kernel_name(activation)
    W, single = batch_weights("W", W)
    check_finite("W", W)
    V, c = check_teacher_outputs(V, c, W)
    ridge = check_float("ridge", ridge, minimum=0.0)
    check_positive_int("max_iter", max_iter)
    tol = check_positive_float("tol", tol)
    G = gram(W, name)
    b = gaussian_kernel(W, V.unsqueeze(0), name) @ c
    tt = float(c @ gram(V, name) @ c)
    if nonnegative:
        a, kkt = _nnls(G, b, max_iter, tol)
    else:
        eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
        jitter = ridge * G.diagonal(dim1=-2, dim2=-1).mean(-1).clamp(min=torch.finfo(G.dtype).tiny)
        Gj = G + jitter[:, None, None] * eye
        Lc, info = torch.linalg.cholesky_ex(Gj)
        if bool((info > 0).any()):  # numerically singular: fall back to a least-squares solve
            a = torch.linalg.lstsq(Gj, b.unsqueeze(-1)).solution.squeeze(-1)
        else:
            a = torch.cholesky_solve(b.unsqueeze(-1), Lc).squeeze(-1)
        kkt = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)
    quad = (a.unsqueeze(-2) @ G @ a.unsqueeze(-1)).squeeze(-1).squeeze(-1)
    error = 0.5 * (quad - 2 * (a * b).sum(-1) + tt)
    error = torch.clamp(error, min=0.0)  # rounding can leave -1e-16 at an exact fit
    fit = RandomFeaturesFit(error, a, 0.5 * tt, kkt)
    if single:
        fit = RandomFeaturesFit(error[0], a[0], 0.5 * tt, kkt[0])
    return fit


def random_features_curve(
    widths: Sequence[int],
    V,
    *,
    activation: str = "relu",
    draws: int = 16,
    nonnegative: bool = False,
    generator: Optional[torch.Generator] = None,
    chunk_elements: int = 1 << 24,
    progress: Optional[bool] = None,
) -> dict:
    """The random-features error against the number of features :math:`p`.

    For each ``p`` in ``widths``, ``draws`` first layers with i.i.d. :math:`\\mathcal N(0, 1/d)`
    entries (Xavier, as the student initialisations of the book) are fitted at once.

    Returns:
        ``{"p": [...], "mean": [...], "geomean": [...], "median": [...], "q10": [...], "q90": [...],
        "target_energy": float}``; ``geomean`` (the mean of :math:`\\log E`, exponentiated) is what the
        slope is fitted to, since :math:`E` is spread over orders of magnitude across draws.
    """
    kernel_name(activation)
    V = tensor_arg("V", V, ndim=(2,), meaning="(k, d)")
    check_positive_int("draws", draws)
    check_positive_int("chunk_elements", chunk_elements)
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"widths: expected a sequence of integers, got {type(widths).__name__}")
    widths = [check_positive_int(f"widths[{i}]", p) for i, p in enumerate(widths)]
    if not widths:
        raise ValueError("widths: expected at least one width")
    check_teacher(V, V)  # non-zero rows
    d = V.shape[-1]
    out: dict = {"p": widths, "mean": [], "geomean": [], "median": [], "q10": [], "q90": []}
    bar = progress_bar(progress, len(widths), f"random features ({activation})")
    try:
        for p in widths:
            per = max(1, min(draws, chunk_elements // (p * p)))
            errs = []
            for start in range(0, draws, per):
                r = min(per, draws - start)
                W = draw_normal((r, p, d), generator, V.dtype, V.device) / math.sqrt(d)
                errs.append(random_features_fit(W, V, activation=activation, nonnegative=nonnegative).error)
            e = torch.cat(errs)
            tiny = torch.finfo(e.dtype).tiny
            out["mean"].append(float(e.mean()))
            out["geomean"].append(float(torch.exp(torch.log(e.clamp(min=tiny)).mean())))
            out["median"].append(float(torch.quantile(e, 0.5)))
            out["q10"].append(float(torch.quantile(e, 0.1)))
            out["q90"].append(float(torch.quantile(e, 0.9)))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    out["target_energy"] = float(random_features_fit(V[:1], V, activation=activation).target_energy)
    return out


def fit_power_law(p, err) -> tuple[float, float]:
    """Least-squares line through :math:`(\\log p, \\log E)`: returns ``(slope, intercept)``,
    so that :math:`E \\approx e^{\\text{intercept}} p^{\\text{slope}}`.

    >>> slope, _ = fit_power_law([1, 2, 4, 8], [1.0, 0.25, 0.0625, 0.015625])
    >>> round(slope, 12)
    -2.0
    """
    pp = as_tensor("p", p, dtype=torch.float64).detach().to("cpu", torch.float64)
    le = as_tensor("err", err, dtype=torch.float64).detach().to("cpu", torch.float64)
    if pp.ndim != 1 or pp.shape != le.shape or pp.numel() < 2:
        raise ValueError(
            f"p, err: expected two 1-d sequences of the same length >= 2, got {tuple(pp.shape)} "
            f"and {tuple(le.shape)}")
    if not bool((torch.isfinite(pp) & (pp > 0)).all()):
        raise ValueError(
            "p: every width must be a positive finite number to take its logarithm, got "
            f"{pp.tolist()}")
    if not bool((torch.isfinite(le) & (le > 0)).all()):
        raise ValueError(
            "err: every error must be a positive finite number to take its logarithm, got "
            f"{le.tolist()}")
    if bool((pp == pp[0]).all()):
        raise ValueError(
            "p: expected at least two distinct widths to fit a slope, got "
            f"{pp.tolist()}")
    lp = torch.log(pp)
    le = torch.log(le)
    A = torch.stack([lp, torch.ones_like(lp)], 1)
    sol = torch.linalg.lstsq(A, le.unsqueeze(-1)).solution.squeeze(-1)
    return float(sol[0]), float(sol[1])


def relu_rate(d: int) -> float:
    """The exponent we derive for the ReLU random-features error of a finite ReLU teacher in
    dimension :math:`d`: :math:`E_p \\propto p^{-3/(d-1)}` (see the chapter *Low-risk confinement*).

    >>> relu_rate(4)
    -1.0
    """
    check_positive_int("d", d, 2)
    return -3.0 / (d - 1)
