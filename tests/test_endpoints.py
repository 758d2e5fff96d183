"""The one end-point vocabulary: the decision rule, its input checks, and that both classifiers use it."""
import pytest
import torch

from valleylib import lowrisk, safran_shamir
from valleylib.endpoints import GLOBAL, LABELS, NOT_CONVERGED, SADDLE, SPURIOUS, end_point_codes, label_counts


def test_the_rule_global_first_then_not_converged_then_the_hessian():
    nan = float("nan")
    is_global = torch.tensor([True, True, False, False, False, False])
    converged = torch.tensor([False, True, False, True, True, True])
    lam = torch.tensor([nan, nan, 0.5, 0.5, 0.0, -0.1], dtype=torch.float64)
    codes = end_point_codes(is_global, converged, lam)
    assert codes.tolist() == [GLOBAL, GLOBAL, NOT_CONVERGED, SPURIOUS, SADDLE, SADDLE]
    assert [LABELS[c] for c in codes.tolist()] == ["global", "global", "not converged", "spurious", "saddle", "saddle"]
    assert label_counts(codes) == {"global": 2, "spurious": 1, "saddle": 2, "not converged": 1}
    assert safran_shamir.LABELS is lowrisk.END_LABELS is LABELS  # one vocabulary


def test_bad_masks_are_named():
    ok = torch.ones(3, dtype=torch.bool)
    lam = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(TypeError, match="is_global"):
        end_point_codes(torch.ones(3), ok, lam)
    with pytest.raises(TypeError, match="lam_min"):
        end_point_codes(ok, ok, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="three \\(runs,\\) tensors"):
        end_point_codes(ok, ok[:2], lam)
    with pytest.raises(ValueError, match="codes"):
        label_counts(torch.tensor([0, 7]))
