"""Labels of descent end points: one vocabulary for every chapter that classifies where runs end.

A run of gradient descent on a teacher-student risk ends in one of four ways, by a second-order
test at its end point :math:`W`:

* ``global``: the risk is below the threshold (:math:`10^{-3}` in Safran & Shamir's protocol);
* ``not converged``: otherwise, when the run stopped before its gradient met the tolerance (the
  iteration cap);
* ``spurious``: otherwise, when :math:`\\lambda_{\\min}(\\nabla^2 F(W)) > 0`, a strict local minimum
  that is not global;
* ``saddle``: otherwise (:math:`\\lambda_{\\min} \\le 0`): a saddle, or a degenerate point that the
  second-order test cannot decide.

:func:`end_point_codes` is the one decision rule; the classifiers of the Safran–Shamir protocol
(:func:`valleylib.safran_shamir.classify`) and of the width sweeps
(:func:`valleylib.lowrisk.label_end_points`) compute its three inputs their own way (which runs
count as global and as converged) and hand them here. Critical points of *linear* networks are a
different object (enumerated, not reached by descent) and keep the theory's vocabulary (global
minimum, strict or non-strict saddle: :func:`valleylib.linear.classify`).
"""
from __future__ import annotations

import torch

__all__ = ["LABELS", "GLOBAL", "SPURIOUS", "SADDLE", "NOT_CONVERGED", "end_point_codes", "label_counts"]

#: The labels, in the order of their integer codes.
LABELS: tuple[str, ...] = ("global", "spurious", "saddle", "not converged")
GLOBAL, SPURIOUS, SADDLE, NOT_CONVERGED = range(4)


def end_point_codes(is_global: torch.Tensor, converged: torch.Tensor, lam_min: torch.Tensor) -> torch.Tensor:
    """Integer codes ``(runs,)`` into :data:`LABELS`: ``GLOBAL`` where ``is_global``; else
    ``NOT_CONVERGED`` where not ``converged``; else ``SPURIOUS`` where ``lam_min > 0`` and
    ``SADDLE`` otherwise (``lam_min`` may be ``nan`` where it was not needed).

    Args:
        is_global, converged: boolean masks ``(runs,)``. lam_min: smallest Hessian eigenvalues ``(runs,)``.
    """
    for name, m in (("is_global", is_global), ("converged", converged)):
        if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
            raise TypeError(f"{name}: expected a boolean tensor (runs,), got {getattr(m, 'dtype', type(m).__name__)}")
    if not isinstance(lam_min, torch.Tensor) or not lam_min.is_floating_point():
        raise TypeError(f"lam_min: expected a floating tensor (runs,), got {type(lam_min).__name__}")
    if not (is_global.shape == converged.shape == lam_min.shape) or is_global.ndim != 1:
        raise ValueError(f"is_global, converged, lam_min: expected three (runs,) tensors, got shapes "
                         f"{tuple(is_global.shape)}, {tuple(converged.shape)}, {tuple(lam_min.shape)}")
    codes = torch.where(lam_min > 0, SPURIOUS, SADDLE).to(torch.long)
    codes = torch.where(converged, codes, torch.full_like(codes, NOT_CONVERGED))
    return torch.where(is_global, torch.full_like(codes, GLOBAL), codes)


def label_counts(codes: torch.Tensor) -> dict[str, int]:
    """Runs per label: ``{"global": ..., "spurious": ..., "saddle": ..., "not converged": ...}``."""
    counts = torch.bincount(codes.reshape(-1).cpu(), minlength=len(LABELS)).tolist()
    if len(counts) > len(LABELS):
        raise ValueError(f"codes: expected values in 0..{len(LABELS) - 1}, got {max(codes.tolist())}")
    return dict(zip(LABELS, counts))
