"""A float64 certificate that a point is close to a spurious local minimum, and families of minima.

Safran & Shamir (2018) certify each spurious point found by gradient descent in exact symbolic
arithmetic. :func:`certify_minimum` follows the same three steps in float64, with every floating-point
quantity widened by an explicit rounding margin (see :class:`Certificate`):

1. **Hessian lower bound.** With a numerical eigendecomposition :math:`\\tilde H \\approx U D U^\\top`
   of the computed Hessian :math:`\\tilde H`, put :math:`C \\ge \\|U^\\top U - I\\|_2` and
   :math:`\\varepsilon_2 \\ge \\|\\tilde H - UDU^\\top\\|_2`. By Ostrowski's theorem the eigenvalues of
   :math:`UDU^\\top` are :math:`\\vartheta_i D_{ii}` with :math:`\\vartheta_i\\in[1-C, 1+C]`, so with
   :math:`\\varepsilon_1 \\ge \\|H - \\tilde H\\|_2` (rounding of the Hessian) and Weyl's inequality

   .. math::  \\lambda_{\\min}(H) \\ge \\lambda := (1 - C)\\,D_{11} - \\varepsilon_1 - \\varepsilon_2
              \\qquad (D_{11} > 0).

   (The authors' code uses a different but equivalent-in-spirit bound with three terms
   :math:`\\varepsilon_1,\\varepsilon_2,\\varepsilon_3`; the Ostrowski form is our choice.)
2. **Taylor ball.** Let :math:`g \\ge \\|\\nabla F(W)\\|_F` and let :math:`L_3` bound the Lipschitz constant
   of the Hessian on the ball of radius :math:`\\rho = 10^{-3}\\max_i\\|w_i\\|` around :math:`W`
   (:func:`third_derivative_bound`, transcribed from the authors' ``maxthirdderivative.m``). For
   :math:`\\|x - W\\| = r \\le \\rho`,

   .. math::  F(x) \\ge F(W) - g r + \\tfrac12\\lambda r^2 - \\tfrac16 L_3 r^3 ,

   which exceeds :math:`F(W)` as soon as :math:`\\tfrac16 L_3 r^2 - \\tfrac12\\lambda r + g < 0`. The
   radius of the authors' code, :math:`r = (3\\lambda - \\sqrt{9\\lambda^2 - 25 g L_3})/(2L_3)`, satisfies
   this with room :math:`g/24` (our derivation of their formula); we check the inequality itself. Then
   the minimum of :math:`F` over the closed ball is attained inside it: a local minimum lies within
   distance :math:`r` of :math:`W`. The ball must also avoid the points where :math:`F` is not smooth:
   :math:`2r < \\min_{i\\ne i'}\\|w_i - w_{i'}\\|` and :math:`r < \\min_i \\|w_i\\|` (as in the code).
3. **Objective bound.** On the ball the Hessian is at least :math:`\\lambda - L_3 r > 0`, so :math:`F` is
   convex there and the local minimum has value at least :math:`F(W) - g r`. If that is positive the
   minimum is not global (the global value is 0): a **spurious local minimum**.

*What "rigorous" means here.* The inputs of the argument (:math:`\\tilde H`, :math:`\\nabla F`,
:math:`F`) are computed in float64 with transcendental functions (``atan2``), for which no
directed rounding is available in PyTorch. We bound their errors in the standard model of
floating-point arithmetic with deliberately generous constants (``margin_factor`` times the unit
roundoff times the sum of absolute values of the terms), and add them. This is a careful float64
certificate, not an interval-arithmetic proof like the authors' symbolic computation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_finite,
    check_floating,
    check_positive_float,
    check_positive_int,
)
from .gaussian import check_teacher
from .hessian import relu_population_hessian
from .population import relu_population_gradient, relu_population_risk

__all__ = ["Certificate", "certify_minimum", "third_derivative_bound", "family_signature", "group_families"]

_U = 2.0**-53  # unit roundoff of float64

#: Failure reasons, as in the authors' codes r = -1 ... -4.
REASONS = {
    0: "certified",
    -1: "Hessian lower bound not positive",
    -2: "negative discriminant (gradient too large for the curvature)",
    -3: "radius larger than the ball where the third-derivative bound holds",
    -4: "ball reaches a non-differentiable point (two rows too close, or a row too short)",
    -5: "objective lower bound not positive (minimum may be global)",
}


@dataclass(frozen=True)
class Certificate:
    """Outcome of :func:`certify_minimum`, each field ``(runs,)``.

    Attributes:
        certified: a spurious local minimum lies within ``radius`` of ``W``.
        code: 0 when certified, else the first failed step (see ``REASONS``).
        lambda_numeric: :math:`D_{11}`, the numerical smallest eigenvalue.
        lambda_lower: certified lower bound :math:`\\lambda` on :math:`\\lambda_{\\min}(\\nabla^2F(W))`.
        eps_rounding: :math:`\\varepsilon_1`, bound on the Hessian's rounding error.
        eps_decomposition: :math:`\\varepsilon_2 + C\\,D_{11}`, the eigendecomposition's share.
        grad_upper: :math:`g`, upper bound on :math:`\\|\\nabla F(W)\\|_F`.
        L3: Hessian Lipschitz bound on the ball of radius ``rho``.
        rho: :math:`10^{-3}\\max_i\\|w_i\\|`.
        radius: :math:`r` (``nan`` when not computed).
        risk: :math:`F(W)`.
        risk_lower: certified lower bound :math:`F(W) - \\text{margin} - g r` on the minimum's value.
    """

    certified: torch.Tensor
    code: torch.Tensor
    lambda_numeric: torch.Tensor
    lambda_lower: torch.Tensor
    eps_rounding: torch.Tensor
    eps_decomposition: torch.Tensor
    grad_upper: torch.Tensor
    L3: torch.Tensor
    rho: torch.Tensor
    radius: torch.Tensor
    risk: torch.Tensor
    risk_lower: torch.Tensor

    def reason(self, run: int = 0) -> str:
        return REASONS[int(self.code.reshape(-1)[run])]


def third_derivative_bound(W: torch.Tensor, V: torch.Tensor, radius) -> torch.Tensor:
    """Bound :math:`L_3` on the Hessian's Lipschitz constant within ``radius`` of ``W`` (per run).

    .. math::  L_3 = \\frac{n\\big(\\sqrt2\\,(n-1)(w_{\\max}+w_{\\min}) + k\\,v_{\\max}\\big)}{\\pi\\,w_{\\min}^2},
               \\quad w_{\\max} = \\max_i\\|w_i\\| + r,\\ w_{\\min} = \\min_i\\|w_i\\| - r,

    transcribed from ``maxthirdderivative.m`` of Safran & Shamir's code (not re-derived here).
    ``inf`` when :math:`w_{\\min} \\le 0`.
    ``radius``: a number or one per run ``(runs,)``, finite and
    :math:`\\ge 0` (a negative radius would understate the bound).
    """
    Wb, _ = batch_weights("W", W)
    V = check_teacher(V, Wb)
    n, k = Wb.shape[1], V.shape[0]
    norms = Wb.norm(dim=-1)
    r = as_tensor("radius", radius, dtype=Wb.dtype, device=Wb.device)
    check_floating("radius", r)
    if r.ndim > 1 or (r.ndim == 1 and r.shape != (Wb.shape[0],)):
        raise ValueError(
            f"radius: expected a number or shape ({Wb.shape[0]},) (one per run), got "
            f"{tuple(r.shape)}")
    check_finite("radius", r)
    if bool((r < 0).any()):
        raise ValueError(
            f"radius: expected radii >= 0, got {r.tolist()} (a negative radius understates the "
            "bound)")
    r = r.to(device=Wb.device, dtype=Wb.dtype)
    wmax = norms.amax(-1) + r
    wmin = norms.amin(-1) - r
    vmax = V.norm(dim=-1).max()
    L3 = n * (math.sqrt(2) * (n - 1) * (wmax + wmin) + k * vmax) / (math.pi * wmin**2)
    return torch.where(wmin > 0, L3 * (1 + 1e-12), torch.full_like(L3, float("inf")))


def certify_minimum(W, V, *, margin_factor: float = 64.0) -> Certificate:
    """Certify that a spurious local minimum of :math:`F` lies near each point of ``W``.

    See the module docstring for the argument.

    Args:
        W: points ``(runs, n, d)`` or ``(n, d)`` (float64 recommended; converted to float64).
        V: teacher rows ``(k, d)``.
        margin_factor: multiplies every modelled rounding bound (larger is more conservative).

    Returns:
        :class:`Certificate` (scalar fields for one point).
    """
    W, single = batch_weights("W", W)
    W = W.to(torch.float64)
    V = check_teacher(V, W)
    margin_factor = check_positive_float("margin_factor", margin_factor)
    R, n, d = W.shape
    k = V.shape[0]
    N = n * d
    mu = margin_factor * _U
    H = relu_population_hessian(W, V)
    # eps1: rounding of H. Each entry is a sum of at most (n + k) terms, each of size <= |v| or |w|-ish and
    # built from O(d) operations; bound it by mu * (n + k + d) * (sum of |terms|) with sum |terms| <= (1/2 + (n + k) * max row norm ratio).
    scale = 0.5 + (n + k) * (1.0 + V.norm(dim=-1).max() / W.norm(dim=-1).amin(-1))  # (R,)
    eps1 = mu * (n + k + d) * scale * N  # Frobenius bound over N^2 entries: N * max entry error
    D, U = torch.linalg.eigh(H)
    D11 = D[:, 0]
    I = torch.eye(N, dtype=W.dtype, device=W.device)
    # C >= ||U^T U - I||_2: Frobenius norm of the computed residual + its own rounding (entries of U^T U: N terms of size <= 1).
    C = torch.linalg.matrix_norm(U.transpose(-1, -2) @ U - I) + mu * N * N
    # eps2 >= ||H - U D U^T||_2
    UDU = (U * D.unsqueeze(-2)) @ U.transpose(-1, -2)
    absUDU = (U.abs() * D.abs().unsqueeze(-2)) @ U.abs().transpose(-1, -2)
    eps2 = torch.linalg.matrix_norm(H - UDU) + mu * (N + 2) * torch.linalg.matrix_norm(H.abs() + absUDU)
    lam = (1 - C) * D11 - eps1 - eps2
    lam = torch.where((D11 > 0) & (C < 1), lam, torch.minimum(lam, torch.zeros_like(lam)))
    # gradient and risk with margins
    G = relu_population_gradient(W, V)
    g = G.flatten(1).norm(dim=1) + mu * (n + k + d) * scale * math.sqrt(N)
    risk = relu_population_risk(W, V)
    risk_margin = mu * (n + k + d) * ((n + k) ** 2) * (1 + W.norm(dim=-1).amax(-1) ** 2 + V.norm(dim=-1).max() ** 2)
    norms = W.norm(dim=-1)
    rho = 1e-3 * norms.amax(-1)
    L3 = third_derivative_bound(W, V, rho)
    disc = 9 * lam**2 - 25 * g * L3
    r = (3 * lam - torch.sqrt(torch.clamp(disc, min=0.0))) / (2 * L3)
    r = r * (1 + 1e-9)  # round the radius up; the inequality is checked below
    taylor_ok = (L3 * r * r / 6 - lam * r / 2 + g) < 0
    if n > 1:
        diff = (W.unsqueeze(-2) - W.unsqueeze(-3)).norm(dim=-1)
        diff = diff + torch.diag(torch.full((n,), float("inf"), dtype=W.dtype, device=W.device))
        min_sep = diff.amin((-1, -2))
    else:
        min_sep = torch.full((R,), float("inf"), dtype=W.dtype, device=W.device)
    risk_lower = risk - risk_margin - g * r
    code = torch.zeros(R, dtype=torch.long, device=W.device)
    fail5 = ~(risk_lower > 0)
    fail4 = ~((2 * r < min_sep) & (r < norms.amin(-1)))
    fail3 = ~((r <= rho) & (lam - L3 * r > 0))
    fail2 = ~((disc > 0) & taylor_ok & torch.isfinite(L3))
    fail1 = ~(lam > 0)
    for c, f in ((-5, fail5), (-4, fail4), (-3, fail3), (-2, fail2), (-1, fail1)):
        code = torch.where(f, torch.full_like(code, c), code)
    r = torch.where((code == -1) | (code == -2), torch.full_like(r, float("nan")), r)
    risk_lower = torch.where(code == 0, risk_lower, torch.full_like(risk_lower, float("nan")))
    cert = Certificate(code == 0, code, D11, lam, eps1 * torch.ones_like(lam), eps2 + C * D11.abs(), g, L3, rho, r, risk, risk_lower)
    if single:
        cert = Certificate(*(getattr(cert, f)[0] for f in Certificate.__dataclass_fields__))
    return cert


def family_signature(W, *, decimals: int = 6) -> torch.Tensor:
    """A signature of ``W (runs, n, d)`` invariant under permuting neurons and (jointly) coordinates.

    Sort the entries within each row, then sort the rows lexicographically; do the same with the
    columns; concatenate and round to ``decimals``. Two points equal up to a permutation of neurons
    and a permutation of coordinates have the same signature (the converse need not hold, so
    equal signatures are a necessary condition for being in one family). With ``V = I_d`` permuting
    coordinates permutes the teacher's neurons, so the risk is invariant under both permutations.
    """
    Wb, _ = batch_weights("W", W)
    check_positive_int("decimals", decimals, minimum=0)

    def lexsorted(M: torch.Tensor) -> torch.Tensor:  # (R, p, q): sort within rows, then rows lexicographically
        S = torch.sort(M, dim=-1).values
        for j in reversed(range(S.shape[-1])):
            order = torch.sort(S[..., j], dim=-1, stable=True).indices
            S = torch.gather(S, -2, order.unsqueeze(-1).expand_as(S))
        return S

    rows = lexsorted(Wb.round(decimals=decimals)).flatten(1)
    cols = lexsorted(Wb.transpose(-1, -2).round(decimals=decimals)).flatten(1)
    return torch.cat([rows, cols], dim=1)


def group_families(W, *, atol: float = 1e-5) -> tuple[torch.Tensor, list[int]]:
    """Group points into families equal up to permutations of neurons and coordinates.

    Points whose :func:`family_signature` agree within ``atol`` (max-abs) are put in one family
    (greedily, in order).

    Returns:
        ``(labels (runs,), representatives)``: the family index of each point and, per family, the
        index of its first member.
    """
    Wb, _ = batch_weights("W", W)
    atol = check_positive_float("atol", atol)
    sig = family_signature(Wb, decimals=6)
    labels = torch.full((Wb.shape[0],), -1, dtype=torch.long)
    reps: list[int] = []
    for i in range(Wb.shape[0]):
        for f, r in enumerate(reps):
            if float((sig[i] - sig[r]).abs().max()) <= atol:
                labels[i] = f
                break
        else:
            labels[i] = len(reps)
            reps.append(i)
    return labels, reps
