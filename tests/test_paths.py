"""Tests of valleylib.paths (DSS, line, Bezier, PolyChain, NEB) and valleylib.mlp."""
from __future__ import annotations

import math

import pytest
import torch
from reference import dss_depth_first

from valleylib.mlp import cyclic_task, mlp_forward, mlp_init, mlp_loss, mlp_num_params, polynomial_task, teacher_student_task
from valleylib.networks import two_layer
from valleylib.paths import (
    PATH_FINDERS,
    dss,
    dss_many,
    find_path,
    insert_position,
    interpolated_losses,
    path_length,
    train_through_levels,
    train_to_level,
)

torch.set_num_threads(1)
F64 = torch.float64


def quadratic_bowl(center: torch.Tensor):
    return lambda th: 0.5 * ((th - center) ** 2).sum(1)


def ring(gamma: float = 0.5):
    """E(x, y) = (x^2 + y^2 - 1)^2 + gamma y^2: minima (+-1, 0) with E = 0, a maximum E = 1 at the
    origin (on the straight line between the minima), saddles (0, +-sqrt(1 - gamma/2)) with
    E = gamma - gamma^2/4, the barrier of the minimum-energy path."""

    def E(th):
        x, y = th[:, 0], th[:, 1]
        return (x**2 + y**2 - 1) ** 2 + gamma * y**2

    return E, gamma - gamma**2 / 4


@pytest.fixture
def bowl():
    c = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    a = c + torch.tensor([0.3, 0.0, 0.0], dtype=F64)
    b = c + torch.tensor([0.0, -0.3, 0.1], dtype=F64)
    return quadratic_bowl(c), a, b


# ----------------------------------------------------------------------------- DSS


@pytest.mark.parametrize("method", ["dss", "dss-bfs"])
def test_dss_convex_is_straight(bowl, method):
    loss, a, b = bowl
    res = find_path(method, loss, a, b, threshold=0.1, progress=False)
    assert res.connected
    assert res.normalized_length == pytest.approx(1.0, abs=1e-12)
    assert res.num_beads == 3  # Algorithm 1 always inserts the first bead
    # the midpoint of a convex loss is already below alpha*L0: the bead is not trained
    assert res.grad_evals == 1
    torch.testing.assert_close(res.nodes[1], 0.5 * (a + b))
    line_first = find_path(method, loss, a, b, threshold=0.1, check_line_first=True, progress=False)
    assert line_first.connected and line_first.num_beads == 2  # one segment
    assert line_first.normalized_length == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", sorted(PATH_FINDERS))
def test_end_points_are_exactly_the_inputs(bowl, method):
    loss, a, b = bowl
    opts = {"threshold": 0.1} if method.startswith("dss") else {}
    if method in ("bezier", "polychain", "neb"):
        opts["steps"] = 5
    if method != "line":
        opts["progress"] = False
    res = find_path(method, loss, a, b, **opts)
    assert torch.equal(res.nodes[0], a) and torch.equal(res.nodes[-1], b)
    assert res.normalized_length >= 1.0 - 1e-12
    assert res.length == pytest.approx(path_length(res.nodes), rel=1e-2)
    assert res.profile.shape == res.profile_t.shape
    assert float(res.profile_t[0]) == 0.0 and float(res.profile_t[-1]) == pytest.approx(1.0)


def test_dss_disconnection_example_does_not_connect_but_linear_does():
    task, ta, tb = cyclic_task("relu")
    opts = dict(lr=1e-2, max_iter=300, max_depth=6, resolution=50, progress=False)
    relu = find_path("dss-bfs", task.loss, ta, tb, threshold=0.1, **opts)
    assert relu.connected is False
    assert relu.max_loss > 0.3  # the string never gets below about 1/3 (see the chapter)
    lin_task, la, lb = cyclic_task("linear")
    lin = find_path("dss-bfs", lin_task.loss, la, lb, threshold=0.1, **{**opts, "max_iter": 2000})
    assert lin.connected is True
    assert lin.max_loss < 1.1 * 0.1


def test_dss_depth_first_equals_breadth_first(device):
    task = teacher_student_task(d=3, k=2, n=4, samples=100, seed=1, device=device)
    th0 = task.init(2, torch.Generator(device).manual_seed(3))
    th, _, _, ok = train_to_level(task.loss, th0, 0.05, lr=1e-2, max_iter=3000, progress=False)
    assert ok.all()
    opts = dict(threshold=0.05, lr=1e-2, max_iter=500, resolution=40)
    nodes, connected, grad = dss_depth_first(task.loss, th[0], th[1], **opts)  # Algorithm 1 as written
    bfs = find_path("dss", task.loss, th[0], th[1], progress=False, **opts)
    assert bfs.nodes.device == th0.device
    assert bfs.num_beads == nodes.shape[0] > 3
    torch.testing.assert_close(bfs.nodes, nodes, rtol=0, atol=1e-9)
    assert bfs.connected == connected and bfs.grad_evals == grad
    assert find_path("dss-bfs", task.loss, th[0], th[1], progress=False, **opts).nodes.equal(bfs.nodes)  # old name


def test_dss_many_equals_one_pair_at_a_time():
    task = teacher_student_task(d=3, k=2, n=4, samples=100, seed=2)
    th0 = task.init(4, torch.Generator().manual_seed(5))
    th, _, _, ok = train_to_level(task.loss, th0, 0.08, lr=1e-2, max_iter=3000, progress=False)
    assert ok.all()
    A, B = th[:2], th[2:]
    thr = torch.tensor([0.08, 0.1], dtype=F64)
    opts = dict(lr=1e-2, max_iter=400, resolution=40, progress=False, insert="argmax")
    many = dss_many(task.loss, A, B, threshold=thr, **opts)
    for r in range(2):
        one = dss(task.loss, A[r], B[r], threshold=float(thr[r]), **opts)
        torch.testing.assert_close(many[r].nodes, one.nodes, rtol=0, atol=1e-9)
        assert many[r].threshold == pytest.approx(float(thr[r]))


def test_insert_position():
    prof = torch.tensor([0.0, 1.0, 3.0, 2.0, 0.5], dtype=F64)  # grid t = 0, .25, .5, .75, 1
    assert insert_position(prof, "midpoint") == 0.5
    assert insert_position(prof, "argmax") == 0.5
    prof2 = torch.tensor([5.0, 1.0, 0.0, 2.0, 6.0], dtype=F64)  # end points excluded from the argmax
    assert insert_position(prof2, "argmax") == 0.75


def test_interpolated_losses_closed_form(bowl):
    loss, a, b = bowl
    c = a.new_tensor([1.0, -2.0, 0.5])
    prof = interpolated_losses(loss, a[None], b[None], resolution=10)[0]
    t = torch.linspace(0, 1, 11, dtype=F64)
    expected = 0.5 * (((1 - t)[:, None] * a + t[:, None] * b - c) ** 2).sum(1)
    torch.testing.assert_close(prof, expected)


def test_train_through_levels_matches_train_to_level():
    task = polynomial_task("quadratic", samples=100, seed=0)
    th0 = task.init(3, torch.Generator().manual_seed(0))
    levels = [0.05, 0.15]
    T, L, E, ok = train_through_levels(task.loss, th0, levels, lr=1e-2, max_iter=1500, progress=False)
    for k, level in enumerate(levels):
        t1, l1, e1, ok1 = train_to_level(task.loss, th0, level, lr=1e-2, max_iter=1500, progress=False)
        torch.testing.assert_close(T[k], t1, rtol=0, atol=0)
        assert torch.equal(E[k], e1) and torch.equal(ok[k], ok1)
        assert bool((L[k][ok[k]] <= level).all())


# ----------------------------------------------------------------------------- baselines


def test_neb_and_bezier_lower_the_barrier_of_a_ring():
    E, saddle = ring(0.5)
    a = torch.tensor([-1.0, 0.0], dtype=F64)
    b = torch.tensor([1.0, 0.0], dtype=F64)
    line = find_path("line", E, a, b, resolution=200)
    assert line.max_loss == pytest.approx(1.0, abs=1e-12)  # the origin
    # start slightly off the symmetric straight line (on it the gradient has no sideways part)
    t = torch.linspace(0, 1, 17, dtype=F64)[1:-1]
    init = torch.stack([2 * t - 1, 0.05 * torch.sin(math.pi * t)], dim=1)
    band = find_path("neb", E, a, b, pivots=15, steps=1500, lr=5e-3, init=init, resolution=20, progress=False)
    assert band.max_loss == pytest.approx(saddle, abs=0.01)  # the minimum-energy path's barrier
    assert band.barrier == pytest.approx(saddle, abs=0.01)
    springs = find_path("neb", E, a, b, pivots=15, steps=1500, lr=5e-3, init=init, spring=5.0, progress=False)
    assert springs.max_loss == pytest.approx(saddle, abs=0.02)
    curve = find_path("bezier", E, a, b, steps=1500, lr=1e-2, init=torch.tensor([0.0, 0.1], dtype=F64), progress=False)
    assert saddle - 1e-9 <= curve.max_loss < 0.8  # a quadratic curve cannot follow the circle exactly
    chain = find_path("polychain", E, a, b, steps=1500, lr=1e-2, init=torch.tensor([0.0, 0.1], dtype=F64), progress=False)
    assert saddle - 1e-9 <= chain.max_loss < 0.9
    assert curve.grad_evals == 1500 and band.grad_evals == 1500 * 15


def test_line_barrier_closed_form():
    E, _ = ring(0.5)
    res = find_path("line", E, torch.tensor([-1.0, 0.0], dtype=F64), torch.tensor([1.0, 0.0], dtype=F64), threshold=0.5)
    assert res.barrier == pytest.approx(1.0) and res.connected is False and res.num_beads == 2
    assert res.normalized_length == 1.0 and res.endpoint_distance == pytest.approx(2.0)


# ----------------------------------------------------------------------------- validation


def test_bad_inputs(bowl):
    loss, a, b = bowl
    with pytest.raises(ValueError, match="different shapes"):
        find_path("line", loss, a, b[:2])
    with pytest.raises(ValueError, match="flat parameter vectors"):
        find_path("line", loss, a[None], b[None])
    with pytest.raises(ValueError, match="below the end points' loss"):
        find_path("dss", loss, a, b, threshold=1e-3)
    with pytest.raises(ValueError, match="non-finite"):
        find_path("line", lambda th: th.sum(1) * float("nan"), a, b)
    with pytest.raises(ValueError, match="batched loss"):
        find_path("line", lambda th: th.sum(), a, b)
    with pytest.raises(ValueError, match="not a path finder"):
        find_path("simplex", loss, a, b)
    with pytest.raises(ValueError, match="alpha"):
        find_path("dss", loss, a, b, threshold=0.1, alpha=1.5)
    with pytest.raises(ValueError, match="insert"):
        find_path("dss-bfs", loss, a, b, threshold=0.1, insert="random")
    with pytest.raises(ValueError, match="theta_a: contains"):
        find_path("line", loss, a * float("inf"), b)
    with pytest.raises(ValueError, match="threshold: expected"):
        dss_many(loss, torch.stack([a, a]), torch.stack([b, b]), threshold=torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="init: expected shape"):
        find_path("neb", loss, a, b, pivots=3, init=torch.zeros(2, 3, dtype=F64))
    with pytest.raises(TypeError, match="callable"):
        find_path("line", "loss", a, b)


# ----------------------------------------------------------------------------- mlp


def test_mlp_forward_against_a_loop():
    widths = (2, 3, 4, 1)
    th = mlp_init(2, widths, generator=torch.Generator().manual_seed(0), device="cpu")
    x = torch.randn(5, 2, dtype=F64)
    out = mlp_forward(th, x, widths, activation="tanh", output_activation="sigmoid")
    assert mlp_num_params(widths) == 6 + 12 + 4 == th.shape[1]
    for r in range(2):
        W1, W2, W3 = th[r, :6].view(2, 3), th[r, 6:18].view(3, 4), th[r, 18:].view(4, 1)
        for j in range(5):
            h = torch.tanh(torch.tanh(x[j] @ W1) @ W2) @ W3
            torch.testing.assert_close(out[r, j], torch.sigmoid(h))


def test_teacher_student_matches_two_layer():
    task = teacher_student_task(d=3, k=2, n=5, samples=50, seed=0)
    th = task.init(2, torch.Generator().manual_seed(1))
    W = th[:, :15].view(2, 3, 5).transpose(1, 2)  # (runs, n, d)
    a = th[:, 15:]
    pred = two_layer(task.x, W, a)
    expected = ((pred - task.y[:, 0]) ** 2).mean(1)
    torch.testing.assert_close(task.loss(th), expected)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_cyclic_task_zero_loss_and_same_function(activation):
    task, ta, tb = cyclic_task(activation)
    assert task.num_params == 12
    assert float(task.loss(torch.stack([ta, tb])).max()) < 1e-20
    out = mlp_forward(torch.stack([ta, tb]), task.x, task.widths, activation)
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out[0], task.x.roll(-1, dims=0))
    assert not torch.allclose(ta, tb)


def test_mlp_loss_bad_inputs():
    with pytest.raises(ValueError, match="do not fit widths"):
        mlp_loss(torch.zeros(4, 2, dtype=F64), torch.zeros(4, 3, dtype=F64), (2, 3, 2))
    with pytest.raises(ValueError, match="loss="):
        mlp_loss(torch.zeros(4, 2, dtype=F64), torch.zeros(4, 2, dtype=F64), (2, 3, 2), loss="huber")
    with pytest.raises(ValueError, match="target="):
        polynomial_task("quartic")
    fn = mlp_loss(torch.zeros(4, 2, dtype=F64), torch.zeros(4, 2, dtype=F64), (2, 3, 2))
    with pytest.raises(ValueError, match=r"theta: expected shape \(runs, 12\)"):
        fn(torch.zeros(1, 11, dtype=F64))


def test_polynomial_task_l1_loss_closed_form():
    task = polynomial_task("cubic", samples=64, seed=0)
    th = torch.zeros(1, 24, dtype=F64)  # every sigmoid outputs 1/2
    expected = (0.5 - (8 * task.x**3 - 10 * task.x**2 + 3 * task.x)).abs().mean()
    torch.testing.assert_close(task.loss(th)[0], expected)

