"""Small fully connected networks as batched losses of a flat parameter vector.

Path finders (:mod:`valleylib.paths`) see a model only through a loss
``theta (runs, P) -> (runs,)``. This module builds such losses for bias-free
multilayer perceptrons

.. math::

    \\Phi(x;\\theta) = \\rho_{\\mathrm{out}}\\big(W_K^\\top \\rho(W_{K-1}^\\top \\cdots \\rho(W_1^\\top x))\\big),
    \\qquad W_l \\in \\mathbb{R}^{n_{l-1} \\times n_l},

whose flat parameter vector is ``theta = concat(W_1.flatten(), ..., W_K.flatten())`` (each
matrix stored as ``(fan_in, fan_out)``, the layout of Freeman & Bruna's scripts). The losses are

.. math::

    L_1(\\theta) = \\frac{1}{N m}\\sum_{j=1}^N \\|\\Phi(x_j;\\theta) - y_j\\|_1, \\qquad
    L_2(\\theta) = \\frac{1}{N}\\sum_{j=1}^N \\|\\Phi(x_j;\\theta) - y_j\\|_2^2,

with ``m`` outputs. Three models of the chapter *Half-rectified connectivity* are ready made:
the 1-4-4-1 sigmoid network with the L1 loss (:func:`polynomial_task`), one-hidden-layer ReLU
students of a ReLU teacher (:func:`teacher_student_task`), and the 2-3-2 ReLU network that maps
three points of the plane cyclically (:func:`cyclic_task`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from ._checks import (
    as_tensor,
    check_dtype,
    check_finite,
    check_floating,
    check_ndim,
    check_positive_float,
    check_positive_int,
    check_same_device,
    tensor_arg,
)
from .activations import ActivationLike, get_activation
from .device import check_device, default_device
from .networks import two_layer

__all__ = [
    "Task",
    "mlp_num_params",
    "mlp_forward",
    "mlp_loss",
    "mlp_init",
    "polynomial_task",
    "teacher_student_task",
    "cyclic_task",
    "POLYNOMIAL_TARGETS",
]


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    if len(widths) < 2:
        raise ValueError(f"widths={tuple(widths)!r}: expected at least (input, output) sizes")
    return tuple(check_positive_int(f"widths[{i}]", w) for i, w in enumerate(widths))


def mlp_num_params(widths: Sequence[int]) -> int:
    """Number of weights :math:`P = \\sum_l n_{l-1} n_l` of a bias-free MLP.

    >>> mlp_num_params((1, 4, 4, 1))
    24
    """
    w = _check_widths(widths)
    return sum(a * b for a, b in zip(w[:-1], w[1:]))


def _unflatten(theta: torch.Tensor, widths: tuple[int, ...]) -> list[torch.Tensor]:
    mats, start = [], 0
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        size = fan_in * fan_out
        mats.append(theta[:, start : start + size].reshape(-1, fan_in, fan_out))
        start += size
    return mats


def mlp_forward(
    theta: torch.Tensor,
    x: torch.Tensor,
    widths: Sequence[int],
    activation: ActivationLike = "relu",
    output_activation: ActivationLike | None = None,
) -> torch.Tensor:
    """Outputs of ``runs`` bias-free MLPs on shared inputs.

    Args:
        theta: flat parameters ``(runs, P)`` with ``P = mlp_num_params(widths)``.
        x: inputs ``(N, widths[0])``.
        widths: layer sizes ``(n_0, ..., n_K)``.
        activation: hidden nonlinearity :math:`\\rho`.
        output_activation: :math:`\\rho_{\\mathrm{out}}` (``None``: linear output).

    Returns:
        ``(runs, N, widths[-1])``.
    """
    w = _check_widths(widths)
    theta = tensor_arg("theta", theta)
    if theta.ndim != 2 or theta.shape[1] != mlp_num_params(w):
        raise ValueError(f"theta: expected shape (runs, {mlp_num_params(w)}) for widths {w}, got {tuple(theta.shape)}")
    x = as_tensor("x", x, dtype=theta.dtype, device=theta.device)
    check_floating("x", x)
    if x.ndim != 2 or x.shape[1] != w[0]:
        raise ValueError(f"x: expected shape (N, {w[0]}), got {tuple(x.shape)}")
    if x.device != theta.device:
        raise ValueError(f"x: is on {x.device}, expected the device {theta.device} of theta")
    check_finite("x", x)
    get_activation(activation)
    if output_activation is not None:
        get_activation(output_activation)
    return _forward(theta, x, w, activation, output_activation)


def _forward(theta, x, w, activation, output_activation) -> torch.Tensor:
    """:func:`mlp_forward` without validation (the training loops call it at every step)."""
    rho = get_activation(activation)
    mats = _unflatten(theta, w)
    h = x.to(theta.dtype).unsqueeze(0).expand(theta.shape[0], -1, -1)
    for l, m in enumerate(mats):
        h = torch.bmm(h, m)
        if l < len(mats) - 1:
            h = rho(h)
    if output_activation is not None:
        h = get_activation(output_activation)(h)
    return h


def mlp_loss(
    x,
    y,
    widths: Sequence[int],
    activation: ActivationLike = "relu",
    output_activation: ActivationLike | None = None,
    loss: Literal["l1", "mse"] = "mse",
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A batched loss ``theta (runs, P) -> (runs,)`` of a bias-free MLP on data ``(x, y)``.

    Args:
        x: inputs ``(N, widths[0])``.
        y: targets ``(N, widths[-1])`` or ``(N,)`` for one output.
        loss: ``"l1"`` (mean absolute error) or ``"mse"`` (mean over samples of the squared
            Euclidean error), see the module docstring.
    """
    w = _check_widths(widths)
    x = as_tensor("x", x)
    y = as_tensor("y", y)
    check_floating("x", x)
    check_floating("y", y)
    check_ndim("x", x, (2,), f"(N, {w[0]})")
    if y.ndim == 1:
        y = y.unsqueeze(1)
    check_ndim("y", y, (2,), f"(N, {w[-1]})")
    if x.shape[1] != w[0] or y.shape[1] != w[-1] or x.shape[0] != y.shape[0]:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} do not fit widths {w} (expected (N, {w[0]}) and (N, {w[-1]}))")
    if x.shape[0] == 0:
        raise ValueError(
            f"x: expected at least one sample, got shape {tuple(x.shape)} (a mean over no samples "
            "is 0/0)")
    check_finite("x", x)
    check_finite("y", y)
    check_same_device(x=x, y=y)
    if loss not in ("l1", "mse"):
        raise ValueError(f"loss={loss!r}: expected 'l1' or 'mse'")
    get_activation(activation)
    if output_activation is not None:
        get_activation(output_activation)

    num_params = mlp_num_params(w)

    def fn(theta: torch.Tensor) -> torch.Tensor:
        if theta.ndim != 2 or theta.shape[1] != num_params:  # shapes only: no device sync per step
            raise ValueError(
                f"theta: expected shape (runs, {num_params}) for widths {w}, got "
                f"{tuple(theta.shape)}")
        out = _forward(theta, x, w, activation, output_activation)
        err = out - y.to(out.dtype)
        if loss == "l1":
            return err.abs().mean(dim=(1, 2))
        return err.pow(2).sum(-1).mean(-1)

    return fn


def mlp_init(
    runs: int,
    widths: Sequence[int],
    *,
    scale: float | None = 1.0,
    distribution: Literal["uniform", "normal"] = "uniform",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> torch.Tensor:
    """Random flat parameters ``(runs, P)``.

    ``uniform``: every weight :math:`U(-s, s)` (Freeman & Bruna's scripts use :math:`s = 1`);
    ``normal``: :math:`N(0, s^2)`. ``scale=None`` uses :math:`s = 1/\\sqrt{\\text{fan-in}}` per layer.
    """
    check_positive_int("runs", runs)
    w = _check_widths(widths)
    check_dtype("dtype", dtype)
    device = check_device(device, "device") if device is not None else default_device()
    if scale is not None:
        scale = check_positive_float("scale", scale)
    if distribution not in ("uniform", "normal"):
        raise ValueError(f"distribution={distribution!r}: expected 'uniform' or 'normal'")
    parts = []
    for fan_in, fan_out in zip(w[:-1], w[1:]):
        s = (1.0 / math.sqrt(fan_in)) if scale is None else float(scale)
        if distribution == "uniform":
            u = torch.rand(runs, fan_in * fan_out, generator=generator, dtype=dtype)
            parts.append((2 * u - 1) * s)
        elif distribution == "normal":
            parts.append(torch.randn(runs, fan_in * fan_out, generator=generator, dtype=dtype) * s)
        else:
            raise ValueError(f"distribution={distribution!r}: expected 'uniform' or 'normal'")
    return torch.cat(parts, dim=1).to(device)


@dataclass(frozen=True)
class Task:
    """A model and its data, seen as a batched loss of flat parameters.

    Attributes:
        name: readable name.
        loss: ``theta (runs, P) -> (runs,)``.
        widths: layer sizes of the MLP.
        num_params: ``P``.
        x, y: the data.
        init: ``(runs, generator) -> theta (runs, P)``, the initialisation used for end points.
    """

    name: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    widths: tuple[int, ...]
    num_params: int
    x: torch.Tensor
    y: torch.Tensor
    init: Callable[..., torch.Tensor]


#: Freeman & Bruna's polynomial targets on :math:`x \in [0, 1]`.
POLYNOMIAL_TARGETS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "quadratic": lambda x: 0.5 * x**2 + 0.25 * x + 0.1,
    "cubic": lambda x: 8 * x**3 - 10 * x**2 + 3 * x,
}


def polynomial_task(target: str, samples: int = 10_000, *, seed: int = 0, dtype=torch.float64, device=None) -> Task:
    """Freeman & Bruna's regression task: a 1-4-4-1 sigmoid MLP (sigmoid also on the output,
    no biases), L1 loss, ``samples`` points :math:`x \\sim U[0,1]`, weights initialised :math:`U(-1,1)`.

    Args:
        target: ``"quadratic"`` (:math:`0.5x^2 + 0.25x + 0.1`) or ``"cubic"`` (:math:`8x^3 - 10x^2 + 3x`).
    """
    if not isinstance(target, str) or target not in POLYNOMIAL_TARGETS:
        raise ValueError(f"target={target!r}: expected one of {sorted(POLYNOMIAL_TARGETS)}")
    check_positive_int("samples", samples)
    check_dtype("dtype", dtype)
    device = check_device(device, "device") if device is not None else default_device()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(samples, 1, generator=g, dtype=dtype).to(device)
    y = POLYNOMIAL_TARGETS[target](x)
    widths = (1, 4, 4, 1)
    loss = mlp_loss(x, y, widths, activation="sigmoid", output_activation="sigmoid", loss="l1")

    def init(runs: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return mlp_init(runs, widths, scale=1.0, generator=generator, dtype=dtype, device=device)

    return Task(f"{target} regression, 1-4-4-1 sigmoid MLP, L1 loss", loss, widths, mlp_num_params(widths), x, y, init)


def teacher_student_task(
    d: int, k: int, n: int, samples: int, *, seed: int = 0, dtype=torch.float64, device=None
) -> Task:
    """One-hidden-layer ReLU student :math:`f(x) = \\sum_{i=1}^n a_i\\,\\mathrm{relu}(w_i^\\top x)` fitted,
    with the squared loss, to a ReLU teacher :math:`\\sum_{j=1}^k \\mathrm{relu}(v_j^\\top x)` on
    ``samples`` Gaussian inputs :math:`x \\sim N(0, I_d)`.

    The teacher rows :math:`v_j` are random unit vectors (seeded). The student's flat parameters
    are ``concat(W.T.flatten(), a)``, i.e. the MLP layout of widths ``(d, n, 1)``; students are
    initialised with :math:`N(0, 1/d)` hidden weights and :math:`N(0, 1/n)` output weights.
    """
    for name, v in (("d", d), ("k", k), ("n", n), ("samples", samples)):
        check_positive_int(name, v)
    check_dtype("dtype", dtype)
    device = check_device(device, "device") if device is not None else default_device()
    g = torch.Generator().manual_seed(seed)
    V = torch.randn(k, d, generator=g, dtype=dtype)
    V = V / V.norm(dim=1, keepdim=True)
    x = torch.randn(samples, d, generator=g, dtype=dtype)
    y = two_layer(x, V)  # teacher with unit output weights: (samples,)
    x, y, V = x.to(device), y.to(device).unsqueeze(1), V.to(device)
    widths = (d, n, 1)
    loss = mlp_loss(x, y, widths, activation="relu", output_activation=None, loss="mse")

    def init(runs: int, generator: torch.Generator | None = None) -> torch.Tensor:
        W = torch.randn(runs, d * n, generator=generator, dtype=dtype) / math.sqrt(d)
        a = torch.randn(runs, n, generator=generator, dtype=dtype) / math.sqrt(n)
        return torch.cat([W, a], dim=1).to(device)

    return Task(f"ReLU teacher k={k}, student n={n}, d={d}", loss, widths, mlp_num_params(widths), x, y, init)


def cyclic_task(
    activation: ActivationLike = "relu", *, dtype=torch.float64, device=None
) -> tuple[Task, torch.Tensor, torch.Tensor]:
    """Freeman & Bruna's disconnection example: a 2-3-2 bias-free network (12 weights, squared loss)
    that maps three points of the plane cyclically, :math:`x_1 \\mapsto x_2 \\mapsto x_3 \\mapsto x_1`.

    The points are :math:`x_j = (\\cos(2\\pi j/3), \\sin(2\\pi j/3))`. A zero-loss network is
    :math:`W_1 = [x_1, x_2, x_3]` (hidden unit :math:`j` fires on :math:`x_j` only, because
    :math:`\\langle x_i, x_j\\rangle = -1/2` for :math:`i \\neq j`) and :math:`W_2` with row :math:`j`
    equal to :math:`x_{j+1}` (for ReLU), or :math:`W_2 = W_1^{+}R` with :math:`R` the rotation by
    :math:`2\\pi/3` for a linear network. Its copy with hidden units 1 and 2 swapped computes the
    same function.

    Returns:
        ``(task, theta, theta_permuted)``, both parameter vectors of shape ``(12,)`` with loss 0.
    """
    rho = get_activation(activation)
    check_dtype("dtype", dtype)
    device = check_device(device, "device") if device is not None else default_device()
    ang = torch.tensor([0.0, 2 * math.pi / 3, 4 * math.pi / 3], dtype=dtype)
    X = torch.stack([torch.cos(ang), torch.sin(ang)], dim=1)  # (3, 2), rows x_1..x_3
    Y = X.roll(-1, dims=0)  # x_j -> x_{j+1}
    W1 = X.T.clone()  # (2, 3): hidden unit j has weight vector x_j
    H = rho(X @ W1)  # (3, 3) hidden features
    W2 = torch.linalg.lstsq(H, Y).solution  # (3, 2): exact when H is invertible
    theta = torch.cat([W1.flatten(), W2.flatten()])
    perm = torch.tensor([1, 0, 2])
    theta_p = torch.cat([W1[:, perm].flatten(), W2[perm].flatten()])
    X, Y = X.to(device), Y.to(device)
    widths = (2, 3, 2)
    loss = mlp_loss(X, Y, widths, activation=rho, output_activation=None, loss="mse")

    def init(runs: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return mlp_init(runs, widths, scale=None, distribution="normal", generator=generator, dtype=dtype, device=device)

    task = Task(f"cyclic map of 3 points, 2-3-2 {rho.name} network", loss, widths, 12, X, Y, init)
    return task, theta.to(device), theta_p.to(device)
