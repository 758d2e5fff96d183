"""Paths between two parameter vectors through a loss landscape, one API for every method.

A model is seen only through its loss as a function of a flat parameter vector, batched:
``loss(theta)`` with ``theta`` of shape ``(runs, P)`` returns ``(runs,)``. Every path finder takes
two end points :math:`\\theta_A, \\theta_B \\in \\mathbb{R}^P` and returns a :class:`PathResult`:
the path's nodes (end points exactly the inputs), the loss profile along it, its maximum and
barrier, its length :math:`|\\gamma|` and *normalized geodesic length*

.. math::

    \\frac{|\\gamma|}{\\|\\theta_A - \\theta_B\\|}, \\qquad |\\gamma| = \\sum_i \\|\\theta_{i+1} - \\theta_i\\|_2

(1 for the straight segment), and its cost in gradient evaluations (one evaluation = the gradient
of the loss at one parameter vector).

Methods (:data:`PATH_FINDERS`, call them through :func:`find_path`):

``"dss"`` (also ``"dss-bfs"``)
    Freeman & Bruna's *Greedy Dynamic String Sampling* (Algorithm 1), all beads pending at a
    level trained as one batch (:func:`dss_many` also batches many pairs).
``"line"``
    the straight segment, with its barrier.
``"bezier"`` / ``"polychain"``
    a quadratic Bezier curve / a two-segment polygonal chain with one free bend, trained by
    minimising :math:`\\mathbb{E}_{t\\sim U[0,1]} L(\\phi_\\theta(t))` with one random ``t`` per
    step (Garipov et al.).
``"neb"``
    the nudged elastic band: pivots follow the loss gradient with its component along the
    path's tangent removed, plus spring forces along the tangent (Henkelman & Jónsson's
    improved tangent; ``spring=inf`` redistributes the pivots evenly instead, as in Draxler et al.'s
    first cycle).

Example::

    res = find_path("dss", loss, theta_a, theta_b, threshold=0.05)
    res.connected, res.normalized_length, res.num_beads
"""
from __future__ import annotations

from typing import Any, Callable

from .core import LossFn, PathResult, interpolated_losses, path_length, straight_line
from .curves import bezier_curve, polychain_curve
from .elastic_band import neb
from .levels import train_through_levels, train_to_level
from .string_sampling import dss, dss_many, insert_position

__all__ = [
    "LossFn",
    "PathResult",
    "PATH_FINDERS",
    "find_path",
    "train_to_level",
    "train_through_levels",
    "interpolated_losses",
    "dss",
    "dss_many",
    "insert_position",
    "straight_line",
    "bezier_curve",
    "polychain_curve",
    "neb",
    "path_length",
]


#: Path finders by name; each is ``f(loss, theta_a, theta_b, **options) -> PathResult``.
PATH_FINDERS: dict[str, Callable[..., PathResult]] = {
    "dss": dss,
    "dss-bfs": dss,  # the old name of the batched order, now the only one
    "line": straight_line,
    "bezier": bezier_curve,
    "polychain": polychain_curve,
    "neb": neb,
}


def find_path(method: str, loss: LossFn, theta_a, theta_b, **options: Any) -> PathResult:
    """Find a path from ``theta_a`` to ``theta_b`` with a registered method.

    Args:
        method: one of :data:`PATH_FINDERS` (``dss``, ``dss-bfs``, ``line``, ``bezier``,
            ``polychain``, ``neb``).
        loss: batched loss ``theta (runs, P) -> (runs,)``.
        theta_a, theta_b: end points ``(P,)``.
        **options: the method's keyword options (see each function).

    Returns:
        :class:`PathResult`.
    """
    if not isinstance(method, str) or method not in PATH_FINDERS:
        raise ValueError(f"method={method!r} is not a path finder; expected one of {sorted(PATH_FINDERS)}")
    return PATH_FINDERS[method](loss, theta_a, theta_b, **options)
