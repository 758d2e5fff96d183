"""Train on one sample, measure on another: a loss whose value and gradient come from two samples.

Freeman & Bruna's polynomial scripts (``LaunchScripts/QUADRATICS.py``) fit every network on a
training sample but decide "below the threshold :math:`L_0`" (for the end points, for each bead,
and on the interpolated segments) on a fixed, separate test sample. The path finders of
:mod:`valleylib.paths` take one batched loss. :func:`held_out_loss` combines the two samples into
one such loss,

.. math::

    \\ell(\\theta) = F_{\\text{test}}(\\theta) \\quad\\text{(its value)}, \\qquad
    \\nabla\\ell(\\theta) = \\nabla F_{\\text{train}}(\\theta) \\quad\\text{(its autograd gradient)},

written :math:`\\ell = F_{\\text{train}} + \\operatorname{sg}(F_{\\text{test}} - F_{\\text{train}})` with
:math:`\\operatorname{sg}` the stop-gradient (``detach``). Anything that trains with the gradient and
stops, or tests segments, on the value then follows the authors' protocol.
"""
from __future__ import annotations

from typing import Callable

import torch

from ._checks import check_callable

__all__ = ["held_out_loss"]

LossFn = Callable[[torch.Tensor], torch.Tensor]


def held_out_loss(train_loss: LossFn, test_loss: LossFn) -> LossFn:
    """A batched loss with the value of ``test_loss`` and the autograd gradient of ``train_loss``.

    Args:
        train_loss: batched loss ``(runs, P) -> (runs,)`` on the training sample (its gradient is used).
        test_loss: batched loss ``(runs, P) -> (runs,)`` on the test sample (its value is used).

    Returns:
        ``theta -> train(theta) + (test(theta) - train(theta)).detach()``; equal to ``test_loss`` in
        value (up to rounding), with the gradient of ``train_loss``.
    """
    check_callable("train_loss", train_loss)
    check_callable("test_loss", test_loss)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        tr = train_loss(theta)
        te = test_loss(theta)
        if tr.shape != te.shape:
            raise ValueError(f"train_loss and test_loss: expected the same shape, got {tuple(tr.shape)} and "
                             f"{tuple(te.shape)}")
        return tr + (te - tr).detach()

    return loss
