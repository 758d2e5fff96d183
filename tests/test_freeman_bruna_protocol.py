"""Held-out loss, the beads' power-law fit, Prop. 2.3 sides, and every check of the
``freeman-bruna-protocol`` scorecard fed a wrong result."""
import copy
import math

import pytest
import torch

from valleylib.experiments import freeman_bruna_protocol as fbp
from valleylib.heldout import held_out_loss


def test_held_out_loss_value_of_test_gradient_of_train():
    a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    b = torch.tensor([0.0, 3.0, 1.0], dtype=torch.float64)
    train = lambda th: 0.5 * ((th - a) ** 2).sum(1)
    test = lambda th: 0.5 * ((th - b) ** 2).sum(1)
    loss = held_out_loss(train, test)
    th = torch.tensor([[0.3, 0.1, -0.4], [2.0, 2.0, 2.0]], dtype=torch.float64, requires_grad=True)
    v = loss(th)
    (g,) = torch.autograd.grad(v.sum(), th)
    assert torch.allclose(v, test(th), atol=1e-15)
    assert torch.allclose(g, th.detach() - a, atol=1e-15)


def test_held_out_loss_bad_input():
    with pytest.raises(TypeError, match="train_loss"):
        held_out_loss(3, lambda t: t.sum(1))
    bad = held_out_loss(lambda t: t.sum(1), lambda t: t.sum())
    with pytest.raises(ValueError, match="same shape"):
        bad(torch.zeros(2, 3))


def test_power_law_fit_closed_form():
    levels = [0.001, 0.01, 0.05, 0.125]
    beads = [5.0 * l ** -0.7 for l in levels]
    beta, c = fbp.power_law_fit(levels, beads)
    assert beta == pytest.approx(0.7, abs=1e-12) and c == pytest.approx(math.log(5.0), abs=1e-12)
    with pytest.raises(ValueError, match="levels"):
        fbp.power_law_fit([0.1], [3.0])
    with pytest.raises(ValueError, match="distinct"):
        fbp.power_law_fit([0.1, 0.1], [3.0, 4.0])
    with pytest.raises(ValueError, match="positive"):
        fbp.power_law_fit([0.1, 0.2], [0.0, 4.0])


def test_bootstrap_exponent_degenerate_and_spread():
    g = torch.Generator().manual_seed(0)
    levels = [0.01, 0.05, 0.125]
    same = [[2.0 * l ** -0.5] * 4 for l in levels]
    out = fbp.bootstrap_exponent(levels, same, 200, g)
    assert out["lo"] == pytest.approx(0.5, abs=1e-12) and out["hi"] == pytest.approx(0.5, abs=1e-12)
    noisy = [[3, 30], [3, 10], [3, 5]]
    out = fbp.bootstrap_exponent(levels, noisy, 500, g)
    assert out["lo"] < out["beta"] < out["hi"] and out["se"] > 0
    with pytest.raises(ValueError, match="beads_per_pair"):
        fbp.bootstrap_exponent(levels, [[3], []], 10, g)


def test_prop23_sides_match_the_gaussian_closed_form_and_are_tight_on_the_bisector():
    g = torch.Generator().manual_seed(1)
    w1, w2 = fbp._random_unit_pairs(40, 3, g)
    x = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    emp = fbp.prop23_sides(w1, w2, x)
    alpha = torch.arccos((w1 * w2).sum(1).clamp(-1, 1))
    cf = fbp._gaussian_sides(alpha)
    assert torch.allclose(emp["middle"], cf["middle"], atol=5e-3)
    assert emp["sigma"] == pytest.approx(1.0, abs=2e-2)
    # all mass on the bisector: the upper bound is an equality
    wm = (w1[0] + w2[0]) / (w1[0] + w2[0]).norm()
    line = torch.linspace(-2, 2, 101, dtype=torch.float64).unsqueeze(1) * wm
    s = fbp.prop23_sides(w1[:1], w2[:1], line)
    assert float(s["upper"][0] - s["middle"][0]) == pytest.approx(0.0, abs=1e-14)
    with pytest.raises(ValueError, match="x"):
        fbp.prop23_sides(w1, w2, x[:, :2])
    with pytest.raises(ValueError, match="w1"):
        fbp.prop23_sides([[1.0, 0.0, 0.0]], w2, x)


def _good():
    def row(l0, beads, pairs=4, other=1.02):
        return {"L0": l0, "pairs": pairs, "connected_fraction": 1.0, "beads": [beads] * pairs,
                "connected": [True] * pairs, "mean_beads": float(beads), "mean_normalized_length": 1.3,
                "other_sample_max_over_L0": [other] * pairs}
    rows = [row(0.01, 14), row(0.05, 7), row(0.125, 4)]
    fit = {"levels": [0.01, 0.05, 0.125], "min_pairs": 4, "beta": 0.5, "c": 0.3, "lo": 0.4, "hi": 0.6,
           "digitised_beta": 0.52, "digitised_levels": [0.01, 0.05, 0.125]}
    side = {"upper_holds": True, "lower_holds": True, "upper_slack_min": 0.0, "lower_slack_min": 0.1}
    return {"samples": 10_000, "multiplier": 1.1,
            "protocols": {"held_out": {"rows": copy.deepcopy(rows), "fit": dict(fit)},
                          "one_sample": {"rows": copy.deepcopy(rows), "fit": dict(fit)}},
            "prop23": {k: dict(side) for k in ("gaussian_closed_form", "gaussian_sample", "skewed_sample")}}


def test_protocol_good_result_passes():
    checks = fbp.scorecard(_good())
    assert all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


@pytest.mark.parametrize("mutate, word", [
    (lambda r: r["protocols"]["held_out"]["rows"][0].update(connected_fraction=0.5), "every quadratic pair"),
    (lambda r: r["protocols"]["one_sample"]["rows"][1].update(other_sample_max_over_L0=[1.3]), "re-measured"),
    (lambda r: r["protocols"]["held_out"]["rows"][2].update(mean_beads=20.0), "fewer beads"),
    (lambda r: r["protocols"]["held_out"]["fit"].update(beta=0.3, lo=-0.1, hi=0.6), "power law"),
    (lambda r: r["protocols"]["held_out"]["fit"].update(digitised_beta=0.9), "digitised"),
    (lambda r: r["prop23"]["skewed_sample"].update(upper_holds=False, upper_slack_min=-0.01), "upper bound"),
    (lambda r: r["prop23"]["gaussian_sample"].update(lower_holds=False, lower_slack_min=-0.01), "lower bound"),
])
def test_protocol_each_check_can_fail(mutate, word):
    r = _good()
    mutate(r)
    bad = [c.claim for c in fbp.scorecard(r) if c.passed is False]
    assert bad and all(word in c for c in bad), (word, bad)


def test_protocol_too_few_levels_or_points_is_na():
    r = _good()
    r["samples"] = 200
    r["protocols"]["held_out"]["fit"].update(levels=[0.01, 0.125], min_pairs=4)
    r["protocols"]["one_sample"]["rows"][0]["other_sample_max_over_L0"] = [1.5]
    checks = fbp.scorecard(r)
    na = [c.claim for c in checks if c.passed is None]
    assert any("power law" in c for c in na) and any("digitised" in c for c in na) and any("re-measured" in c for c in na)
