"""Activation functions, by name.

An :class:`Activation` carries the elementwise function :math:`\\sigma` and, for polynomial
activations, the coefficients :math:`(c_0, c_1, \\dots, c_K)` of
:math:`\\sigma(z) = \\sum_k c_k z^k`. The coefficients are what makes the intrinsic
dimension of a polynomial activation computable exactly (chapter *Intrinsic dimension*).

Registered names: ``relu``, ``linear``, ``quadratic`` (:math:`z^2`), ``cubic`` (:math:`z^3`),
``tanh``, ``sigmoid``, ``erf``, ``softplus``. :func:`polynomial` builds any other
polynomial, and :func:`get_activation` also accepts a sequence of coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import torch

__all__ = ["Activation", "get_activation", "polynomial", "ACTIVATIONS", "ActivationLike"]


@dataclass(frozen=True)
class Activation:
    """An elementwise activation.

    Attributes:
        name: registry name or a readable description.
        fn: the function, applied elementwise to a tensor.
        coefficients: ``(c_0, ..., c_K)`` when :math:`\\sigma` is the polynomial
            :math:`\\sum_k c_k z^k`, else ``None``.
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    coefficients: tuple[float, ...] | None = None

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z)

    @property
    def is_polynomial(self) -> bool:
        return self.coefficients is not None

    @property
    def degree(self) -> int | None:
        """Degree of a polynomial activation (``None`` otherwise)."""
        if self.coefficients is None:
            return None
        nz = [k for k, c in enumerate(self.coefficients) if c != 0]
        return max(nz) if nz else 0


def polynomial(coefficients: Sequence[float], name: str | None = None) -> Activation:
    """The polynomial activation :math:`\\sigma(z) = \\sum_{k=0}^{K} c_k z^k`.

    Args:
        coefficients: ``(c_0, c_1, ..., c_K)``, lowest degree first; at least one non-zero.

    >>> polynomial([1.0, 0.0, 2.0])(torch.tensor([3.0])).item()
    19.0
    """
    try:
        coeffs = tuple(float(c) for c in coefficients)
    except (TypeError, ValueError) as err:
        raise TypeError(f"coefficients: expected a sequence of numbers, got {coefficients!r}") from err
    if len(coeffs) == 0 or all(c == 0 for c in coeffs):
        raise ValueError(f"coefficients={coefficients!r}: expected at least one non-zero coefficient")
    if any(c != c or abs(c) == float("inf") for c in coeffs):
        raise ValueError(f"coefficients={coefficients!r}: expected finite numbers")

    def fn(z: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(z)
        for c in reversed(coeffs):  # Horner
            out = out * z + c
        return out

    if name is None:
        terms = [f"{c:g}·z^{k}" if k > 1 else (f"{c:g}·z" if k == 1 else f"{c:g}") for k, c in enumerate(coeffs) if c != 0]
        name = "poly(" + " + ".join(terms) + ")"
    return Activation(name, fn, coeffs)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", torch.relu),
    "linear": polynomial([0.0, 1.0], "linear"),
    "quadratic": polynomial([0.0, 0.0, 1.0], "quadratic"),
    "cubic": polynomial([0.0, 0.0, 0.0, 1.0], "cubic"),
    "tanh": Activation("tanh", torch.tanh),
    "sigmoid": Activation("sigmoid", torch.sigmoid),
    "erf": Activation("erf", torch.erf),
    "softplus": Activation("softplus", torch.nn.functional.softplus),
}

ActivationLike = Union[str, Activation, Sequence[float]]


def get_activation(activation: ActivationLike) -> Activation:
    """Resolve a name, an :class:`Activation`, or polynomial coefficients.

    Raises:
        ValueError: unknown name. TypeError: anything else that is not an activation.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(
                f"activation={activation!r} is not registered; expected one of {sorted(ACTIVATIONS)} "
                "or a sequence of polynomial coefficients"
            ) from None
    if isinstance(activation, (list, tuple)) or (isinstance(activation, torch.Tensor) and activation.ndim == 1):
        return polynomial([float(c) for c in activation])
    raise TypeError(
        f"activation: expected a registered name, an Activation or polynomial coefficients, got {type(activation).__name__}"
    )
