"""Float64 certificate of spurious local minima, on the published (6,6) minimum and on constructed points."""
import pytest
import torch

from valleylib.certify import certify_minimum, family_signature, group_families, third_derivative_bound
from valleylib.hessian import hessian_min_eigenvalue
from valleylib.population import relu_population_gradient, relu_population_risk

DT = torch.float64
V6 = torch.eye(6, dtype=DT)

from known_points import W6, W_SADDLE  # noqa: E402


def test_fixture_numbers():
    assert float(relu_population_gradient(W6, V6).norm()) < 1e-8
    assert abs(float(hessian_min_eigenvalue(W6, V6)) - 0.0047004) < 1e-6
    assert abs(float(relu_population_risk(W6, V6)) - 0.0250806) < 1e-7
    # five distinct values (papers.md §1.5), at the fixture's 8 significant digits
    assert len(torch.unique(W6.round(decimals=6))) == 5


def test_fixture_is_certified_spurious(device):
    c = certify_minimum(W6.to(device), V6.to(device))
    assert bool(c.certified), c.reason()
    assert c.lambda_lower.device.type == device.type
    assert 0 < float(c.lambda_lower) < float(c.lambda_numeric) < 0.0048
    assert 0 < float(c.radius) < 1e-6  # the authors' certificate has r = 1.0012e-7
    assert 0.025 < float(c.risk_lower) < float(c.risk)


def test_constructed_saddle_is_not_certified():
    assert float(relu_population_gradient(W_SADDLE, V6).norm()) < 1e-13
    assert float(hessian_min_eigenvalue(W_SADDLE, V6)) < -0.02
    c = certify_minimum(W_SADDLE, V6)
    assert not bool(c.certified)
    assert int(c.code) == -1 and c.reason() == "Hessian lower bound not positive"


def test_global_minimum_is_not_certified_spurious():
    c = certify_minimum(torch.eye(6, dtype=DT)[torch.randperm(6)], V6)
    assert not bool(c.certified)
    assert int(c.code) == -5


def test_a_point_with_large_gradient_is_not_certified():
    c = certify_minimum(W6 + 1e-3, V6)
    assert not bool(c.certified) and int(c.code) in (-2, -3)


def test_batched_equals_single(device):
    Ws = torch.stack([W6, W_SADDLE]).to(device)
    c = certify_minimum(Ws, V6.to(device))
    assert c.certified.tolist() == [True, False]
    single = certify_minimum(W6.to(device), V6.to(device))
    assert float(c.lambda_lower[0]) == pytest.approx(float(single.lambda_lower), rel=1e-12)


def test_third_derivative_bound_grows_with_radius_and_is_infinite_when_a_row_may_vanish():
    small, large = third_derivative_bound(W6, V6, 1e-4), third_derivative_bound(W6, V6, 1e-2)
    assert float(small[0]) < float(large[0])
    assert torch.isinf(third_derivative_bound(W6, V6, 10.0)).all()


def test_families_up_to_permutations():
    g = torch.Generator().manual_seed(0)
    P, Q = torch.randperm(6, generator=g), torch.randperm(6, generator=g)
    W6b = W6[P][:, Q]
    assert float(relu_population_risk(W6b, V6)) == pytest.approx(float(relu_population_risk(W6, V6)), abs=1e-15)
    torch.testing.assert_close(family_signature(W6b), family_signature(W6))
    labels, reps = group_families(torch.stack([W6, torch.eye(6, dtype=DT), W6b, W_SADDLE, W_SADDLE[[1, 2, 3, 4, 5, 0]]]))
    assert labels.tolist() == [0, 1, 0, 2, 2]
    assert reps == [0, 1, 3]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="margin_factor"):
        certify_minimum(W6, V6, margin_factor=-1)
    with pytest.raises(ValueError, match="input dimension"):
        certify_minimum(W6[:, :5], V6)
    with pytest.raises(ValueError, match="atol"):
        group_families(W6.unsqueeze(0), atol=0)
