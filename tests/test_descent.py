"""The one descent engine: batched = a loop of single runs for every step rule, the restart policy,
level stops with snapshots, the outcome vocabulary and per-check hooks."""
import math

import pytest
import torch

from valleylib.descent import (
    CONVERGED,
    DIVERGED,
    GD,
    HIT_CAP,
    OUTCOMES,
    Adam,
    HeavyBall,
    descend,
)

f64 = torch.float64
S0 = torch.tensor([1.0, 3.0], dtype=f64)  # runs differ by their starts (and stop times)


def quad(p):
    return 0.5 * (S0 * p * p).sum(-1), S0 * p


def reference(p0, s, rule, lr, tol, max_iter, thr=math.inf, restarts=0):
    """A plain single-run loop: the obvious semantics."""
    p, step, it, r = p0.clone(), lr, 0, 0
    m = torch.zeros_like(p)
    v = torch.zeros_like(p)
    t = 0
    while True:
        g = s * p
        gn = float(g.norm())
        if gn <= tol:
            return p, it, "converged", step
        if it >= max_iter:
            return p, it, "hit_cap", step
        if not gn <= thr:
            if r >= restarts:
                return p, it, "diverged", step
            p, step, r, t = p0.clone(), step / 2, r + 1, 0
            m, v = torch.zeros_like(p), torch.zeros_like(p)
            continue
        if rule == "gd":
            p = p - step * g
        elif rule == "hb":
            m = 0.9 * m + g
            p = p - step * m
        else:
            t += 1
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - step * (m / (1 - 0.9**t)) / (torch.sqrt(v / (1 - 0.999**t)) + 1e-8)
        it += 1


@pytest.mark.parametrize("name,rule", [("gd", GD()), ("hb", HeavyBall(0.9)), ("adam", Adam())])
def test_batched_equals_a_loop_of_single_runs(name, rule):
    p0 = torch.tensor([[1.0, -2.0], [0.3, 0.7], [-1.5, 0.4]], dtype=f64)
    res = descend(p0, quad, rule, lr=0.1, tol=1e-8, max_iter=5000, check_every=7, progress=False)
    for r in range(3):
        p, it, out, _ = reference(p0[r], S0, name, 0.1, 1e-8, 5000)
        assert int(res.iterations[r]) == it and OUTCOMES[int(res.status[r])] == out
        torch.testing.assert_close(res.params[r], p, atol=1e-13, rtol=0)


def test_restart_halves_the_step_and_matches_an_immediate_restart():
    p0 = torch.tensor([[1.0, 1.0], [0.5, -0.5], [1.0, 0.0]], dtype=f64)
    res = descend(p0, quad, GD(), lr=1.9, tol=1e-9, max_iter=10_000, on_divergence="restart",
                  divergence_threshold=5.0, max_restarts=3, check_every=5, progress=False)
    for r in range(3):
        p, it, out, step = reference(p0[r], S0, "gd", 1.9, 1e-9, 10_000, thr=5.0, restarts=3)
        assert OUTCOMES[int(res.status[r])] == out and int(res.iterations[r]) == it
        assert float(res.lr[r]) == step
        torch.testing.assert_close(res.params[r], p, atol=1e-13, rtol=0)
    assert int(res.restarts.max()) > 0


def test_outcomes_cap_and_divergence_stop():
    p0 = torch.tensor([[0.1, 0.1], [1.0, 1.0], [1e-12, 0.0]], dtype=f64)
    res = descend(p0, quad, GD(), lr=0.1, tol=1e-9, max_iter=3, divergence_threshold=2.0,
                  on_divergence="stop", progress=False)
    assert res.status.tolist() == [HIT_CAP, DIVERGED, CONVERGED]
    assert res.hit_cap.tolist() == [True, False, False] and res.diverged[1]


def test_level_stops_snapshot_the_first_iterate_below_each_level():
    p0 = torch.tensor([[1.0, -2.0], [0.3, 0.7], [-1.5, 0.4]], dtype=f64)
    levels = torch.tensor([0.5, 0.1, 1e-3], dtype=f64).expand(3, 3).contiguous()
    res = descend(p0, quad, GD(), lr=0.1, tol=None, max_iter=400, levels=levels, check_every=9,
                  progress=False)
    x = res.extra
    for r in range(3):
        p, evals = p0[r].clone(), 0
        for k, lv in enumerate(levels[r].tolist()):
            while True:
                loss, g = quad(p[None].expand(3, -1))
                evals += 1
                if float(loss[r]) <= lv or evals > 401:
                    break
                p = p - 0.1 * g[r]
            if evals > 401:
                assert not x["level_reached"][r, k]
                break
            assert x["level_reached"][r, k] and int(x["level_evals"][r, k]) == evals
            torch.testing.assert_close(x["level_params"][r, k], p, atol=1e-14, rtol=0)
            evals -= 1  # the same evaluation may pass the next level too


def test_a_hook_can_stop_runs_at_a_check():
    p0 = torch.ones(3, 2, dtype=f64)

    def stop_first(batch):
        batch.status[batch.idx == 0] = CONVERGED

    res = descend(p0, quad, GD(), lr=0.01, tol=1e-12, max_iter=50, check_every=10,
                  hooks=[stop_first], progress=False)
    assert int(res.iterations[0]) == 10 and res.status[0] == CONVERGED
    assert (res.iterations[1:] == 50).all() and res.hit_cap[1:].all()


def test_decided_stop_ends_at_the_first_iterate_below_the_level_of_a_monotone_descent():
    p0 = torch.tensor([[1.0, -2.0], [0.3, 0.7], [1e-3, 0.0]], dtype=f64)
    res = descend(p0, quad, GD(), lr=0.1, tol=1e-12, max_iter=5000, decide_below=0.05,
                  check_every=4, progress=False)
    for r in range(3):
        p, it = p0[r].clone(), 0
        while float(0.5 * (S0 * p * p).sum()) >= 0.05:  # GD on a convex quadratic: monotone
            p, it = p - 0.1 * S0 * p, it + 1
        assert OUTCOMES[int(res.status[r])] == "decided" and int(res.iterations[r]) == it
        torch.testing.assert_close(res.params[r], p, atol=1e-14, rtol=0)
    assert res.decided.all() and not res.converged.any()


def test_decided_stop_is_refused_once_the_loss_went_up():
    # heavy ball overshoots: the loss rises before it falls below the level, so no run is decided
    p0 = torch.tensor([[1.0, -2.0], [0.3, 0.7]], dtype=f64)
    res = descend(p0, quad, HeavyBall(0.9), lr=0.1, tol=1e-8, max_iter=5000,
                  decide_below=0.05, check_every=6, progress=False)
    assert res.converged.all() and not res.decided.any()
    # a slack larger than the rises lets them through: then both runs are decided
    loose = descend(p0, quad, HeavyBall(0.9), lr=0.1, tol=1e-8, max_iter=5000,
                    decide_below=0.05, decide_slack=100.0, check_every=6, progress=False)
    assert loose.decided.all()
    assert (loose.iterations < res.iterations).all()
