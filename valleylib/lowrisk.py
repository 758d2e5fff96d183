"""Low-risk confinement: where gradient descent ends as the student widens, and why random starts
are safe.

Model (the Safran–Shamir family, any teacher): :math:`F(W) = \\tfrac12\\mathbb E_x(\\sum_{i=1}^n
\\sigma(w_i^\\top x) - \\sum_{j=1}^k \\sigma(v_j^\\top x))^2`, :math:`x\\sim\\mathcal N(0,I_d)`, output
weights fixed to 1, student width :math:`n`, teacher width :math:`k`.

Three tools:

:func:`width_sweep`
    for each width :math:`n`, many Xavier starts descended at once (:func:`descend`), end points
    labelled ``global`` (risk below :math:`10^{-3}`), ``spurious`` (converged, risk at least
    :math:`10^{-3}`, :math:`\\lambda_{\\min}(\\nabla^2F) > 0`), ``saddle`` (converged, high risk,
    :math:`\\lambda_{\\min}\\le 0`) or ``not converged`` (iteration cap reached at high risk).
:func:`start_certificate`
    our three-segment path (chapter *Low-risk confinement*): for a ReLU student with
    :math:`n \\ge k`, keep a set :math:`S` of :math:`n-k` rows, free the other :math:`k`. Segment 1
    rescales the rows of :math:`S` to their best non-negative random-features combination
    (:func:`~valleylib.random_features.random_features_fit`) and shrinks the free rows to zero;
    segment 2 grows the free rows into the teacher while the rows of :math:`S` shrink to zero. Along
    both segments the network's output is an affine function of :math:`t` and the square loss is
    convex, so the risk never exceeds :math:`\\max(F(W_0), E_+(W_S))`. Whenever
    :math:`F(W_0) \\ge E_+(W_S)` the start is therefore joined to a global minimum inside its own
    sub-level set: it is not in a spurious valley.
:func:`straight_line_to_global`
    the straight segment from a start to a nearby global minimum, and its highest risk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ._checks import batch_weights, check_positive_float, check_positive_int, tensor_arg
from .endpoints import LABELS, end_point_codes
from .gaussian import check_teacher, erf_kernel, gaussian_risk, kernel_name
from .hessian import autodiff_hessian, hessian_min_eigenvalue
from .networks import FAMILIES, draw_normal, make_teacher, xavier_init  # re-exported: their home is networks
from .population import relu_population_risk
from .random_features import random_features_fit, relu_rate
from .safran_shamir import RISK_THRESHOLD, run_protocol
from .scorecard import wilson_interval
from .training import train

__all__ = [
    "END_LABELS",
    "FAMILIES",
    "make_teacher",
    "descend",
    "Descent",
    "label_end_points",
    "SweepRow",
    "width_sweep",
    "start_certificate",
    "straight_line_to_global",
    "MONTE_CARLO_RATE",
    "random_features_draws",
    "power_law_slopes",
    "slope_test",
]

#: End-point labels of :func:`label_end_points`, in the order of their integer codes.
END_LABELS: tuple[str, ...] = LABELS  # one vocabulary: valleylib.endpoints


@dataclass(frozen=True)
class Descent:
    """End points of :func:`descend`, each with a leading ``runs`` dimension."""

    W: torch.Tensor
    risk: torch.Tensor
    grad_norm: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor


def descend(
    W0,
    V,
    *,
    activation: str = "relu",
    lr: float = 0.1,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    newton_below: Optional[float] = 1e-3,
    progress: Optional[bool] = None,
    desc: str = "gradient descent",
) -> Descent:
    """Gradient descent on :math:`F` from every start in ``W0 (runs, n, d)`` at once.

    ReLU uses the closed-form Safran–Shamir engine (:func:`~valleylib.run_protocol`, with its
    divergence restarts and optional Newton polishing); erf uses :func:`~valleylib.train` on the
    closed-form risk (:func:`~valleylib.random_features.gaussian_risk`) with autograd. A run stops
    when its largest per-neuron gradient norm is at most ``tol`` or after ``max_iter`` steps.
    """
    name = kernel_name(activation)
    W0, _ = batch_weights("W0", W0)
    if name == "relu":
        res = run_protocol(W0, V, lr=lr, tol=tol, max_iter=max_iter, newton_below=newton_below, progress=progress, desc=desc)
        return Descent(res.W, res.risk, res.grad_norm, res.converged, res.iterations)
    Vt = V.to(W0.dtype)
    res = train(W0, loss_fn=lambda W: gaussian_risk(W, Vt, activation=name), method="gd", lr=lr, tol=tol,
                max_iter=max_iter, norm="max_row", on_divergence="restart", progress=progress, desc=desc)
    return Descent(res.params, res.loss, res.grad_norm, res.converged, res.iterations)


def label_end_points(end: Descent, V, *, activation: str = "relu", risk_threshold: float = RISK_THRESHOLD) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes into :data:`END_LABELS`, and :math:`\\lambda_{\\min}` where computed (``nan`` elsewhere).

    ``global``: risk below ``risk_threshold`` (converged or not: such runs are on their way to a
    global minimum). For the others: ``not converged`` if the run hit its cap; else ``spurious``
    when the Hessian is positive definite and ``saddle`` otherwise (ReLU: closed-form Hessian; erf:
    autograd). The rule is :func:`valleylib.endpoints.end_point_codes`.
    """
    if not isinstance(end, Descent):
        raise TypeError(
            "end: expected the Descent returned by descend(), got "
            f"{type(end).__name__}")
    V = check_teacher(V, end.W)
    risk_threshold = check_positive_float("risk_threshold", risk_threshold)
    risk = end.risk
    high = risk >= risk_threshold
    conv_high = high & end.converged
    lam = torch.full_like(risk, float("nan"))
    if bool(conv_high.any()):
        Wh = end.W[conv_high]
        if kernel_name(activation) == "relu":
            lam[conv_high] = hessian_min_eigenvalue(Wh, V)
        else:
            Vt = V.to(Wh.dtype)
            target = float(erf_kernel(Vt, Vt).sum())

            def erf_risk(w: torch.Tensor) -> torch.Tensor:  # one network (n, d), lean closed form for torch.func
                return 0.5 * (erf_kernel(w, w).sum() - 2 * erf_kernel(w, Vt).sum() + target)

            H = autodiff_hessian(erf_risk, Wh)  # all runs at once
            lam[conv_high] = torch.linalg.eigvalsh(H)[:, 0]
    return end_point_codes(~high, end.converged, lam), lam


@dataclass(frozen=True)
class SweepRow:
    """One width of :func:`width_sweep`.

    Attributes:
        n: student width. runs: starts.
        counts: runs per label of :data:`END_LABELS`.
        bad_fraction: fraction of runs ending at risk at least :math:`10^{-3}` (spurious, saddle or not converged),
            with its 95% Wilson interval ``bad_ci``.
        spurious_fraction: fraction certified-looking strict minima (``spurious`` label only).
        max_bad_risk, median_bad_risk: over the bad end points (``0.0`` when there are none).
        max_spurious_risk: over the ``spurious`` end points only (converged, positive definite
            Hessian: the candidates for minima in a spurious valley; ``0.0`` when there are none).
        bad_risks: the distinct bad risk values (rounded to 1e-6).
        risks: every run's final risk. labels: every run's label (:data:`END_LABELS`).
        median_iterations: gradient steps, median over runs.
        seconds: wall time of the width.
    """

    n: int
    runs: int
    counts: dict
    bad_fraction: float
    bad_ci: tuple
    spurious_fraction: float
    max_bad_risk: float
    median_bad_risk: float
    bad_risks: list
    risks: list
    labels: list
    max_spurious_risk: float
    median_iterations: float
    seconds: float


def width_sweep(
    V,
    widths: Sequence[int],
    runs: int,
    *,
    activation: str = "relu",
    generator: Optional[torch.Generator] = None,
    max_iter: int = 20_000,
    tol: float = 1e-6,
    lr: float = 0.1,
    progress: Optional[bool] = None,
) -> list[SweepRow]:
    """Descend ``runs`` Xavier starts (:math:`\\mathcal N(0, 1/d)` entries) for every width in ``widths``.

    Args:
        V: teacher rows ``(k, d)`` (its device and dtype are used throughout).
        widths: student widths :math:`n`.
        runs: starts per width, all batched.
        generator: for the starts (any device: drawn where it lives, moved to ``V``'s).

    Returns:
        one :class:`SweepRow` per width.
    """
    import time

    check_positive_int("runs", runs)
    V = check_teacher(V, tensor_arg("V", V, ndim=(2,), meaning="(k, d)"))
    widths = [check_positive_int(f"widths[{i}]", n) for i, n in enumerate(widths)]
    rows = []
    for n in widths:
        t0 = time.perf_counter()
        W0 = xavier_init(runs, n, V.shape[-1], generator=generator, dtype=V.dtype, device=V.device)
        end = descend(W0, V, activation=activation, max_iter=max_iter, tol=tol, lr=lr, progress=progress, desc=f"n = {n}")
        codes, _ = label_end_points(end, V, activation=activation)
        bad = codes > 0
        nbad = int(bad.sum())
        bad_r = end.risk[bad]
        rows.append(SweepRow(
            n=n,
            runs=runs,
            counts={lab: int((codes == c).sum()) for c, lab in enumerate(END_LABELS)},
            bad_fraction=nbad / runs,
            bad_ci=wilson_interval(nbad, runs),
            spurious_fraction=int((codes == 1).sum()) / runs,
            max_bad_risk=float(bad_r.max()) if nbad else 0.0,
            median_bad_risk=float(torch.quantile(bad_r, 0.5)) if nbad else 0.0,
            bad_risks=sorted({round(float(r), 6) for r in bad_r}),
            risks=end.risk.cpu().tolist(),
            labels=[END_LABELS[c] for c in codes.tolist()],
            max_spurious_risk=float(end.risk[codes == 1].max()) if bool((codes == 1).any()) else 0.0,
            median_iterations=float(end.iterations.double().median()),
            seconds=time.perf_counter() - t0,
        ))
    return rows


def _match_rows(W: torch.Tensor, V: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Greedy matching, batched: for each run, assign each teacher row a distinct student row among
    ``candidates`` (bool ``(runs, n)``), best cosine first. Returns ``(runs, k)`` student indices."""
    R, n, _ = W.shape
    k = V.shape[0]
    cos = (W / W.norm(dim=-1, keepdim=True).clamp(min=1e-300)) @ (V / V.norm(dim=-1, keepdim=True)).T  # (R, n, k)
    cos = torch.where(candidates.unsqueeze(-1), cos, torch.full_like(cos, -math.inf))
    out = torch.empty(R, k, dtype=torch.long, device=W.device)
    ar = torch.arange(R, device=W.device)
    for _ in range(k):
        flat = cos.reshape(R, -1).argmax(-1)
        i, j = flat // k, flat % k
        out[ar, j] = i
        cos[ar, i, :] = -math.inf
        cos[ar, :, j] = -math.inf
    return out


def _start(W0, V, points: int, why: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a batch of ReLU starts against a teacher of width ``k <= n``."""
    W0, _ = batch_weights("W0", W0)
    V = check_teacher(V, W0, "W0")
    n, k = W0.shape[1], V.shape[0]
    if n < k:
        raise ValueError(f"W0: width n={n} is below the teacher width k={k}; {why}")
    check_positive_int("points", points, 2)
    return W0, V


def _segment_max(A: torch.Tensor, B: torch.Tensor, V: torch.Tensor, points: int, current: torch.Tensor) -> torch.Tensor:
    """Largest ReLU risk on the segments from ``A`` to ``B`` at ``points`` values of t (and ``current``)."""
    for t in torch.linspace(0, 1, points, dtype=A.dtype).tolist():
        current = torch.maximum(current, relu_population_risk((1 - t) * A + t * B, V))
    return current


def straight_line_to_global(W0, V, *, points: int = 65) -> dict:
    """Highest ReLU risk on the segment from each start to a global minimum near it.

    The global minimum :math:`W^*` puts the teacher row :math:`v_j` on the student row best aligned
    with it (greedy matching on cosines) and zeros every other row (possible when :math:`n\\ge k`).

    Returns:
        ``{"risk0": (runs,), "path_max": (runs,), "below": (runs,) bool}``; ``below`` when the
        highest risk on the segment does not exceed the start's risk (up to ``1e-12`` relative).
    """
    W0, V = _start(W0, V, points, "no global minimum of risk 0 exists")
    R, n, d = W0.shape
    k = V.shape[0]
    match = _match_rows(W0, V, torch.ones(R, n, dtype=torch.bool, device=W0.device))
    Wstar = torch.zeros_like(W0)
    Wstar[torch.arange(R, device=W0.device).unsqueeze(-1), match] = V.unsqueeze(0).expand(R, k, d)
    risk0 = relu_population_risk(W0, V)
    path_max = _segment_max(W0, Wstar, V, points, torch.full_like(risk0, -math.inf))
    return {"risk0": risk0, "path_max": path_max, "below": path_max <= risk0 * (1 + 1e-12)}


def start_certificate(W0, V, *, points: int = 33) -> dict:
    """Our certificate that a ReLU start is not in a spurious valley (see the module docstring).

    The :math:`k` rows of smallest norm are freed; :math:`S` is the rest. The path is evaluated
    at ``points`` values of :math:`t` on each segment, which checks the convexity bound numerically.

    Returns:
        ``{"risk0", "bound", "certified", "path_max"}``, each ``(runs,)``: the start's risk
        :math:`F(W_0)`, the non-negative random-features error :math:`E_+(W_S)` of the kept rows
        (the risk of the zero network when :math:`S` is empty), whether :math:`F(W_0)\\ge E_+(W_S)`,
        and the highest risk met on the path.
    """
    W0, V = _start(W0, V, points, "the path needs k free rows")
    R, n, d = W0.shape
    k = V.shape[0]
    dev = W0.device
    ar = torch.arange(R, device=dev).unsqueeze(-1)
    order = W0.norm(dim=-1).argsort(dim=-1)  # smallest norms first
    free, keep = order[:, :k], order[:, k:]
    risk0 = relu_population_risk(W0, V)
    if n > k:
        WS = W0[ar, keep]
        fit = random_features_fit(WS, V, nonnegative=True)
        bound, coef = fit.error, fit.coef
    else:
        bound = relu_population_risk(torch.zeros_like(W0), V)
        coef = torch.zeros(R, 0, dtype=W0.dtype, device=dev)
    # end of segment 1: kept rows rescaled by their coefficients, free rows at zero
    W1 = torch.zeros_like(W0)
    if n > k:
        W1[ar, keep] = coef.unsqueeze(-1) * W0[ar, keep]
    # end of segment 2: free rows carry the teacher, kept rows at zero
    W2 = torch.zeros_like(W0)
    W2[ar, free] = V.unsqueeze(0).expand(R, k, d)
    path_max = _segment_max(W0, W1, V, points, torch.full_like(risk0, -math.inf))
    path_max = _segment_max(W1, W2, V, points, path_max)
    return {"risk0": risk0, "bound": bound, "certified": risk0 >= bound, "path_max": path_max}


#: The generic Monte Carlo rate of a random-features error, :math:`E_p \\propto p^{-1}` (the rate of
#: any target in the kernel's RKHS): the alternative that the slope test must be able to reject.
MONTE_CARLO_RATE: float = -1.0


def random_features_draws(
    widths: Sequence[int],
    V,
    *,
    activation: str = "relu",
    draws: int = 16,
    generator: Optional[torch.Generator] = None,
    chunk_elements: int = 1 << 24,
) -> torch.Tensor:
    """The random-features error of every draw, ``(draws, len(widths))``.

    For each :math:`p` in ``widths``, ``draws`` first layers with i.i.d. :math:`\\mathcal N(0, 1/d)`
    entries are fitted at once (:func:`~valleylib.random_features.random_features_fit`, exact
    population errors). Draws at different :math:`p` are independent, so each column of the result
    is one independent curve :math:`p \\mapsto E_p` and its fitted slope is one independent sample.
    """
    V = torch.as_tensor(V)
    if V.ndim != 2:
        raise ValueError(f"V: expected a (k, d) tensor, got shape {tuple(V.shape)}")
    check_positive_int("draws", draws)
    widths = [check_positive_int("widths[i]", int(p)) for p in widths]
    d = V.shape[-1]
    cols = []
    for p in widths:
        per = max(1, min(draws, chunk_elements // (p * p)))
        errs = []
        for start in range(0, draws, per):
            r = min(per, draws - start)
            W = draw_normal((r, p, d), generator, V.dtype, V.device) / math.sqrt(d)
            errs.append(random_features_fit(W, V, activation=activation).error)
        cols.append(torch.cat(errs))
    return torch.stack(cols, 1)


def power_law_slopes(p: Sequence[float], errors) -> dict:
    """Least-squares slope of :math:`\\log E` against :math:`\\log p` for each draw, and their mean.

    With :math:`x_j = \\log p_j - \\overline{\\log p}`, draw :math:`r` has slope
    :math:`s_r = \\sum_j x_j \\log E_{rj} / \\sum_j x_j^2`. Since the slope is linear in
    :math:`\\log E`, the mean :math:`\\bar s` is the slope of the geometric-mean curve, and the draws
    being independent its standard error is :math:`\\mathrm{sd}(s)/\\sqrt{R}` (``nan`` for one draw).

    Args:
        p: the numbers of features, length ``P >= 2``.
        errors: positive errors ``(R, P)``.

    Returns:
        ``{"slope": float, "se": float, "draws": R, "per_draw": [R floats]}``.

    >>> out = power_law_slopes([1, 2, 4], [[1.0, 0.5, 0.25], [1.0, 0.125, 1 / 64]])
    >>> round(out["slope"], 12), round(out["se"], 12)
    (-2.0, 1.0)
    """
    lp = torch.log(torch.as_tensor(p, dtype=torch.float64))
    E = torch.as_tensor(errors, dtype=torch.float64)
    if lp.ndim != 1 or lp.numel() < 2 or E.ndim != 2 or E.shape[1] != lp.numel():
        raise ValueError(f"p, errors: expected P >= 2 values and an (R, P) array, got {tuple(lp.shape)} and {tuple(E.shape)}")
    if not bool((E > 0).all()):
        raise ValueError("errors: every error must be positive to take its logarithm")
    x = lp - lp.mean()
    s = (torch.log(E) * x).sum(1) / (x * x).sum()
    R = s.numel()
    se = float(s.std() / math.sqrt(R)) if R > 1 else float("nan")
    return {"slope": float(s.mean()), "se": se, "draws": R, "per_draw": s.tolist()}


def slope_test(slope: float, se: float, d: int, *, z: float = 3.0, alternative: float = MONTE_CARLO_RATE) -> dict:
    """Can a fitted slope tell our derived ReLU rate :math:`-3/(d-1)` from ``alternative``, and which one does it pick?

    With :math:`\\delta = z\\,\\mathrm{se}` (the fit's own resolution):

    * ``decidable``: the two rates are more than :math:`2\\delta` apart, so the data could
      favour one and reject the other. Otherwise (e.g. :math:`d = 4`, where :math:`-3/(d-1) = -1`) the
      test says nothing and the check is n/a.
    * ``passed``: the slope is nearer :math:`-3/(d-1)` than ``alternative`` and more than
      :math:`\\delta` from ``alternative`` (the alternative is rejected; when decidable, the first
      implies the second). ``None`` when not decidable.
    * ``z_derived``: :math:`(\\text{slope} + 3/(d-1))/\\mathrm{se}`, the distance to the derived rate in
      standard errors (the derivation is asymptotic; at finite :math:`p` it may be large).

    >>> t = slope_test(-0.55, 0.02, 8)
    >>> t["decidable"], t["passed"], round(t["z_derived"], 2)
    (True, True, -6.07)
    >>> slope_test(-1.1, 0.05, 4)["passed"] is None
    True
    """
    derived = relu_rate(d)
    if not (math.isfinite(slope) and math.isfinite(se) and se >= 0):
        return {"derived": derived, "alternative": alternative, "resolution": float("nan"), "decidable": False,
                "passed": None, "z_derived": float("nan"), "z_alternative": float("nan")}
    delta = z * se
    decidable = abs(derived - alternative) > 2 * delta
    near = abs(slope - derived) < abs(slope - alternative)
    rejects = abs(slope - alternative) > delta
    return {
        "derived": derived, "alternative": alternative, "resolution": delta, "decidable": bool(decidable),
        "passed": bool(near and rejects) if decidable else None,
        "z_derived": (slope - derived) / se if se > 0 else float("inf"),
        "z_alternative": (slope - alternative) / se if se > 0 else float("inf"),
    }
