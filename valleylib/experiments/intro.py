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

Every scorecard check compares a computation (the library's general closed-form risk, a ring of
risks, the components of grid sublevel sets, a Monte Carlo average) with this quadrant formula or
its consequences; ``tests/test_intro_scorecard.py`` feeds each check a wrong result.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..landscape import grid_evaluate, sublevel_components
from ..population import monte_carlo_risk, relu_population_risk
from ..scorecard import check_close, check_true
from . import Experiment

TEACHER = [[1.0], [-1.0]]
#: the points whose risk is compared: both global minima, two points of the flat segment, its mirror
POINTS = [[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5], [0.2, 0.8], [-0.5, -0.5]]


def quadrant_risk(w1: float, w2: float) -> float:
    """The quadrant formula of the module docstring (our derivation), independent of the library's
    arc-cosine kernel: :math:`\\tfrac14(w_1-1)^2 + \\tfrac14(w_2+1)^2` for :math:`w_1 \\ge 0 \\ge w_2`,
    :math:`\\tfrac14(w_1+w_2-1)^2 + \\tfrac14` for :math:`w_1, w_2 \\ge 0`, and the mirror images."""
    if w1 * w2 <= 0:  # opposite signs: each unit fits one half-line
        pos, neg = (w1, w2) if w1 >= 0 >= w2 else (w2, w1)
        return 0.25 * (pos - 1) ** 2 + 0.25 * (neg + 1) ** 2
    s = abs(w1 + w2)  # same sign: both fit one half-line, the other half-line is missed
    return 0.25 * (s - 1) ** 2 + 0.25


@dataclass(frozen=True)
class Config:
    """Sizes of one budget: grid ``resolution`` on :math:`[-2, 2]^2`, sublevel ``levels``, Monte Carlo ``mc_samples``, ``seed``."""

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


def sublevel_summary(F: torch.Tensor, xs: torch.Tensor, levels) -> list:
    """Components of the grid sublevel sets of ``F`` (``F[i, j]`` at ``w = (xs[j], xs[i])``) at each
    level, and how many contain no global minimiser. The global cells are those within 1e-12 of
    zero risk and the cells nearest (1, -1) and (-1, 1) (the grid need not contain them)."""
    global_mask = F <= 1e-12
    for w1, w2 in ((1.0, -1.0), (-1.0, 1.0)):
        i, j = int(torch.argmin((xs - w2).abs())), int(torch.argmin((xs - w1).abs()))
        global_mask[i, j] = True
    out = []
    for c in levels:
        comp = sublevel_components(F, c, global_mask)
        out.append({"level": c, "components": comp.count, "spurious": len(comp.spurious)})
    return out


def ring_minimum(risk, centre, radius: float = 1e-3, points: int = 72) -> float:
    """Lowest value of ``risk`` (``(runs, 2) -> (runs,)``) on ``points`` points of a circle of
    radius ``radius`` around ``centre``."""
    angles = torch.linspace(0, 2 * torch.pi, points + 1, dtype=torch.float64)[:-1]
    ring = torch.stack([centre[0] + radius * torch.cos(angles), centre[1] + radius * torch.sin(angles)], dim=-1)
    return float(risk(ring).min())


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    """The risk on the grid and its sublevel components, and at the five points by closed form, quadrant formula and Monte Carlo."""
    dt = torch.float64
    xs = torch.linspace(-2, 2, config.resolution, dtype=dt, device=device)
    F = grid_evaluate(risk_of_points, xs, xs)
    components = sublevel_summary(F, xs, config.levels)
    pts = torch.tensor(POINTS, dtype=dt, device=device)
    risks = risk_of_points(pts)
    # Local-minimum check of the segment point (0.5, 0.5): no lower value on a ring around it.
    ring_min = ring_minimum(lambda w: risk_of_points(w.to(device)), (0.5, 0.5))
    gen = torch.Generator().manual_seed(config.seed)
    mc = monte_carlo_risk(pts.unsqueeze(-1), torch.tensor(TEACHER, dtype=dt, device=device), samples=config.mc_samples, generator=gen)
    return {
        "grid": {"xs": xs.cpu().tolist(), "risk": F.cpu().tolist()},
        "points": {
            "w": pts.cpu().tolist(),
            "closed_form": risks.cpu().tolist(),
            "quadrant_formula": [quadrant_risk(*w) for w in POINTS],
            "monte_carlo": mc.mean.cpu().tolist(),
            "monte_carlo_stderr": mc.stderr.cpu().tolist(),
        },
        "segment_ring_min": ring_min,
        "components": components,
    }


def scorecard(result: dict) -> list:
    """Closed form against the quadrant formula and Monte Carlo, the flat segment, and no spurious sublevel component."""
    cf, qf = result["points"]["closed_form"], result["points"]["quadrant_formula"]
    mc, se = result["points"]["monte_carlo"], result["points"]["monte_carlo_stderr"]
    below = [c["components"] for c in result["components"] if c["level"] < 0.25]
    above = [c["components"] for c in result["components"] if c["level"] > 0.25]
    worst_cf = max(abs(a - b) for a, b in zip(cf, qf))
    checks = [
        check_close("library closed form (arc-cosine kernel) = quadrant formula at the 5 points", "this book (closed form)",
                    0.0, worst_cf, 1e-12),
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
        check_true(
            "two components (one per global minimum) at the levels below 1/4, one at the levels above",
            "this book (closed form)",
            {"below": below, "above": above},
            bool(below) and bool(above) and all(n == 2 for n in below) and all(n == 1 for n in above),
        ),
    ]
    worst = max(abs(m - c) / s for m, c, s in zip(mc, cf, se) if s > 0)
    checks.append(check_true("Monte Carlo agrees with the closed form within 4 standard errors", "this book", round(worst, 2), worst <= 4.0))
    return checks


def figures(result: dict) -> dict:
    """``{"landscape": ...}``: the risk on the grid with its level sets 0.1, 1/4, 0.3 and the global minima marked."""
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
