"""The digits stand-in for Freeman & Bruna's MNIST panel: its losses against closed forms, a smoke
run, and every check of the ``freeman-bruna-digits`` scorecard fed a wrong result."""
import copy
import math

import pytest
import torch

pytest.importorskip("sklearn")

from valleylib.experiments import freeman_bruna_digits as fbd  # noqa: E402


def _data(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 64, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def test_losses_at_zero_weights_are_log10_and_the_share_of_nonzero_labels():
    x, y = _data()
    tr, te, err, P = fbd.digits_losses(x, y, x[:20], y[:20], hidden=5)
    assert P == 64 * 5 + 5 + 5 * 10 + 10
    th = torch.zeros(3, P, dtype=torch.float64)
    assert torch.allclose(tr(th), torch.full((3,), math.log(10.0), dtype=torch.float64), atol=1e-14)
    # all logits equal: argmax is class 0
    share = float((y[:20] != 0).double().mean())
    assert torch.allclose(err(th), torch.full((3,), share, dtype=torch.float64))


def test_batched_losses_match_one_network_at_a_time():
    x, y = _data()
    h = 4
    tr, _, err, P = fbd.digits_losses(x, y, x, y, hidden=h)
    th = fbd._init(3, h, torch.Generator().manual_seed(1), torch.float64, "cpu")
    for r in range(3):
        w1 = th[r, : 64 * h].view(64, h)
        b1 = th[r, 64 * h: 64 * h + h]
        w2 = th[r, 64 * h + h: 64 * h + h + 10 * h].view(h, 10)
        b2 = th[r, -10:]
        z = torch.relu(x @ w1 + b1) @ w2 + b2
        ce = torch.nn.functional.cross_entropy(z, y)
        assert float(tr(th)[r]) == pytest.approx(float(ce), abs=1e-12)
        wrong = float((z.argmax(1) != y).double().mean())
        assert float(err(th)[r]) == pytest.approx(wrong, abs=1e-15)
    with pytest.raises(ValueError, match="theta"):
        tr(th[:, :-1])


def test_smoke_run_strings_are_sane():
    res = fbd.run(fbd.CONFIGS["smoke"], device="cpu", progress=False)
    assert [r["L0"] for r in res["rows"]] == list(fbd.CONFIGS["smoke"].levels)
    for r in res["rows"]:
        assert all(b >= 3 for b in r["beads"])
        assert all(x >= 1 - 1e-9 for x in r["normalized_lengths"])
    assert len(fbd.scorecard(res)) >= 3


def _good():
    def row(l0, beads, pairs=6, length=1.03):
        return {"L0": l0, "pairs": pairs, "connected_fraction": 1.0, "beads": [beads] * pairs,
                "connected": [True] * pairs, "normalized_lengths": [length] * pairs,
                "mean_beads": float(beads), "mean_normalized_length": length}
    return {"rows": [row(0.15, 4), row(0.1, 4), row(0.05, 6)], "multiplier": 1.02}


def test_digits_good_result_passes():
    checks = fbd.scorecard(_good())
    assert len(checks) == 4 and all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


@pytest.mark.parametrize("mutate, word", [
    (lambda r: r["rows"][0].update(connected_fraction=0.75), "highest level"),
    (lambda r: r["rows"][2].update(connected_fraction=0.75), "every level"),
    (lambda r: r["rows"][2].update(beads=[4, 4, 4, 4, 4, 5]), "more beads"),
    (lambda r: r["rows"][2].update(mean_normalized_length=1.4), "normalized length"),
])
def test_digits_each_check_can_fail(mutate, word):
    r = copy.deepcopy(_good())
    mutate(r)
    bad = [c.claim for c in fbd.scorecard(r) if c.passed is False]
    assert bad and any(word in c for c in bad), (word, bad)
    if word != "highest level":  # a failure at the highest level is also a failure at every level
        assert all(word in c for c in bad), (word, bad)


def test_digits_trend_is_na_with_too_few_pairs_or_levels():
    r = _good()
    for row in r["rows"]:
        row.update(pairs=2)
    r["rows"][2]["beads"] = [4, 4]
    na = [c.claim for c in fbd.scorecard(r) if c.passed is None]
    assert any("more beads" in c for c in na)
    r["rows"][2]["mean_normalized_length"] = 1.4
    na = [c.claim for c in fbd.scorecard(r) if c.passed is None]
    assert any("normalized length" in c for c in na)
    r = _good()
    r["rows"] = r["rows"][:1]
    na = [c.claim for c in fbd.scorecard(r) if c.passed is None]
    assert any("more beads" in c for c in na)
    none = dict(_good()["rows"][0], pairs=0, connected_fraction=float("nan"))
    empty = fbd.scorecard({"rows": [none]})
    assert all(c.passed is None for c in empty)
