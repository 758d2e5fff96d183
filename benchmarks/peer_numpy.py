"""A per-run numpy peer of the authors' own follow-up code (Safran & Shamir's ``Overparameterization``
repository, ``local_minima.py``: ``grad`` and ``find_minimum``), re-implemented in our words.

Their layout and algorithm: one network at a time, the neurons are the *columns* of a ``(d, k)``
matrix, the teacher is the identity, the gradient is vectorised over neurons with ``arccos`` of the
clipped Gram matrix of the normalised columns, and descent is the plain loop
"gradient, step, gradient" until the gradient is small. Here the loop follows *our* protocol
(papers.md §1.3: step 0.1, stop at the largest per-neuron norm <= TOL, restart from the start with
a halved step above 1e4), through :func:`reference.numpy_protocol`, so that both engines take the
same iterates from the same starts.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import numpy_protocol  # noqa: E402


def peer_gradient_columns(W: np.ndarray) -> np.ndarray:
    """Closed-form gradient for ``V = I`` with the neurons as the columns of ``W`` ``(d, k)``."""
    norms = np.sqrt((W * W).sum(axis=0))
    unit = W / norms
    ang_ww = np.arccos(np.clip(unit.T @ unit, -1.0, 1.0))   # (k, k), zero diagonal
    ang_wv = np.arccos(np.clip(unit, -1.0, 1.0))            # angle of neuron i to e_j, (d, k)
    toward = (norms @ np.sin(ang_ww)) * unit + W @ (np.pi - ang_ww)
    away = np.sin(ang_wv).sum(axis=0) * unit + (np.pi - ang_wv)
    return (toward - away) / (2 * np.pi)


def peer_gradient(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Rows-as-neurons adapter (``V`` must be the identity) for :func:`reference.numpy_protocol`."""
    return peer_gradient_columns(W.T).T


def peer_protocol(W0: np.ndarray, V: np.ndarray, max_iter: int = 200_000):
    """One run from ``W0`` ``(n, d)``: ``(W, steps, converged)``."""
    return numpy_protocol(W0, V, max_iter=max_iter, gradient=peer_gradient)
