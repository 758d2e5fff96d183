"""The introduction's landscape: two ReLU units in one dimension learning :math:`|x|`.

Student :math:`f(x) = [w_1 x]_+ + [w_2 x]_+`, teacher :math:`g(x) = [x]_+ + [-x]_+ = |x|`,
:math:`x \\sim \\mathcal N(0, 1)`. The closed-form risk (our derivation, from the arc-cosine
kernel) is, by quadrant,

.. math::

    F(w) = \\begin{cases}
      \\tfrac14 (w_1 - 1)^2 + \\tfrac14 (w_2 + 1)^2 & w_1 \\ge 0 \\ge w_2,\\\\
      \\tfrac14 (w_1 + w_2 - 1)^2 + \\tfrac14 & w_1, w_2 \\ge 0,
    \\end{cases}

and symmetrically in the other two quadrants. Global minima: :math:`(1,-1)` and :math:`(-1,1)`,
risk 0. The segment :math:`w_1 + w_2 = 1` in the positive quadrant (and its mirror) consists of
non-strict spurious local minima at risk 1/4, yet no sublevel set has a spurious component.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..landscape import grid_evaluate, sublevel_components
from ..population import monte_carlo_risk, relu_population_risk
from ..scorecard import check_close, check_true
from . import Experiment

TEACHER = [[1.0], [-1.0]]


@dataclass(frozen=True)
class Config:
    resolution: int  # grid points per axis on [-2, 2]
    levels: tuple[float, ...]  # avoid exactly 1/4: the flat segment has measure zero and a grid cannot resolve it
    mc_samples: int
    seed: int = 0


CONFIGS = {
    "smoke": Config(resolution=121, levels=(0.05, 0.2, 0.24, 0.26, 0.3, 0.6), mc_samples=200_000),
    "default": Config(resolution=241, levels=(0.05, 0.1, 0.2, 0.24, 0.26, 0.3, 0.4, 0.6, 1.0), mc_samples=1_000_000),
    "full": Config(resolution=481, levels=(0.05, 0.1, 0.2, 0.24, 0.26, 0.3, 0.4, 0.6, 1.0), mc_samples=4_000_000),
}


def risk_of_points(points: torch.Tensor) -> torch.Tensor:
    """Risk of the student with parameters ``points`` of shape ``(runs, 2)`` = ``(w_1, w_2)``."""
    V = torch.tensor(TEACHER, dtype=points.dtype, device=points.device)
    return relu_population_risk(points.unsqueeze(-1), V)


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    dt = torch.float64
    xs = torch.linspace(-2, 2, config.resolution, dtype=dt, device=device)
    F = grid_evaluate(risk_of_points, xs, xs)
    global_mask = F <= 1e-12
    # Global minima sit on the grid only if the grid contains +-1; mark the nearest cells instead.
    for w1, w2 in ((1.0, -1.0), (-1.0, 1.0)):
        i, j = int(torch.argmin((xs - w2).abs())), int(torch.argmin((xs - w1).abs()))
        global_mask[i, j] = True
    components = []
    for c in config.levels:
        comp = sublevel_components(F, c, global_mask)
        components.append({"level": c, "components": comp.count, "spurious": len(comp.spurious)})
    pts = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5], [0.2, 0.8], [-0.5, -0.5]], dtype=dt, device=device)
    risks = risk_of_points(pts)
    # Local-minimum check of the segment point (0.5, 0.5): no lower value on a ring around it.
    angles = torch.linspace(0, 2 * torch.pi, 73, dtype=dt, device=device)[:-1]
    ring = torch.stack([0.5 + 1e-3 * torch.cos(angles), 0.5 + 1e-3 * torch.sin(angles)], dim=-1)
    ring_min = float(risk_of_points(ring).min())
    gen = torch.Generator(device=device).manual_seed(config.seed)
    mc = monte_carlo_risk(pts.unsqueeze(-1), torch.tensor(TEACHER, dtype=dt, device=device), samples=config.mc_samples, generator=gen)
    return {
        "grid": {"xs": xs.cpu().tolist(), "risk": F.cpu().tolist()},
        "points": {
            "w": pts.cpu().tolist(),
            "closed_form": risks.cpu().tolist(),
            "monte_carlo": mc.mean.cpu().tolist(),
            "monte_carlo_stderr": mc.stderr.cpu().tolist(),
        },
        "segment_ring_min": ring_min,
        "components": components,
    }


def scorecard(result: dict) -> list:
    cf = result["points"]["closed_form"]
    mc, se = result["points"]["monte_carlo"], result["points"]["monte_carlo_stderr"]
    checks = [
        check_close("risk at the global minimum (1, -1) is 0", "this book (closed form)", 0.0, cf[0], 1e-12),
        check_close("risk on the flat segment at (0.5, 0.5) is 1/4", "this book (closed form)", 0.25, cf[2], 1e-12),
        check_close("risk at (0.2, 0.8) is also 1/4 (the segment is flat)", "this book (closed form)", 0.25, cf[3], 1e-12),
        check_true(
            "(0.5, 0.5) is a local minimum: no lower risk on a ring of radius 1e-3",
            "this book",
            result["segment_ring_min"],
            result["segment_ring_min"] >= cf[2] - 1e-12,
        ),
        check_true(
            "no sublevel set on the grid has a spurious component",
            "this book",
            [c["spurious"] for c in result["components"]],
            all(c["spurious"] == 0 for c in result["components"]),
        ),
    ]
    worst = max(abs(m - c) / s for m, c, s in zip(mc, cf, se) if s > 0)
    checks.append(check_true("Monte Carlo agrees with the closed form within 4 standard errors", "this book", round(worst, 2), worst <= 4.0))
    return checks


def figures(result: dict) -> dict:
    from ..plotting import landscape_figure

    xs = result["grid"]["xs"]
    fig = landscape_figure(xs, xs, result["grid"]["risk"], levels=[0.1, 0.25, 0.3], marks={"global minima": [(1, -1), (-1, 1)]})
    return {"landscape": fig}


EXPERIMENT = Experiment(
    name="intro",
    title="Two ReLU units learning |x|: a spurious local minimum but no spurious valley",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
