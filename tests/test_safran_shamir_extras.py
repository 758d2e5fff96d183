"""Safran–Shamir extras (issue 19): closed forms, and every scorecard entry can fail."""
import copy
import math
from dataclasses import replace

import pytest
import torch
from known_points import V6, W6

from valleylib.certify import certify_minimum
from valleylib.experiments import get_experiment
from valleylib.experiments import safran_shamir_extras as sx
from valleylib.population import relu_population_risk

# ------------------------------------------------------------------------------ closed forms


def test_embedding_keeps_the_risk_and_the_authors_minimum_is_w6():
    assert torch.equal(torch.tensor(sx.W6_AUTHORS, dtype=torch.float64), W6)
    for m in (0, 1, 5):
        Wm, Vm = sx.embed(W6, m), sx.padded_teacher(6, 6 + m)
        assert Wm.shape == (6, 6 + m) and Vm.shape == (6, 6 + m)
        assert torch.equal(Wm[:, :6], W6) and not bool(Wm[:, 6:].any())
        gap = float(relu_population_risk(Wm, Vm)) - float(relu_population_risk(W6, V6))
        assert abs(gap) < 1e-15
    batched = sx.embed(torch.stack([W6, W6]), 3)
    assert batched.shape == (2, 6, 9)


def test_embedded_w6_is_certified_with_the_extra_coordinates():
    c = certify_minimum(sx.embed(W6, 4), sx.padded_teacher(6, 10))
    assert bool(c.certified)
    assert abs(float(c.lambda_numeric) - 0.0047004) < 1e-6  # the extra directions are no flatter


def test_random_teacher_statistics():
    g = torch.Generator().manual_seed(0)
    V = sx.random_teacher(4, 400, generator=g)
    assert V.shape == (4, 400) and V.dtype == torch.float64
    G = V @ V.T
    assert float((G.diagonal() - 1).abs().max()) < 0.3  # |v|^2 ~ chi^2_d / d, sd sqrt(2/d) = 0.07
    assert float((G - torch.diag(G.diagonal())).abs().max()) < 0.3  # sd 1/sqrt(d) = 0.05


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="m="):
        sx.embed(W6, -1)
    with pytest.raises(TypeError, match="W"):
        sx.embed([[1.0]], 1)
    with pytest.raises(ValueError, match="d="):
        sx.padded_teacher(6, 5)
    with pytest.raises(TypeError, match="generator"):
        sx.random_teacher(3, 4, generator=None)


def test_row_averages_closed_form():
    row = {"families": [
        {"runs": 3, "certified": True, "lambda_lower": 0.01, "lambda_min": 0.0100001, "risk": 0.02},
        {"runs": 1, "certified": True, "lambda_lower": 0.03, "lambda_min": 0.03, "risk": 0.04},
        {"runs": 5, "certified": False, "lambda_lower": 0.5, "lambda_min": 0.5, "risk": 0.5},
    ]}
    a = sx.row_averages(row)
    assert a["runs"] == 4 and a["families"] == 2
    assert math.isclose(a["lambda"], 0.015) and math.isclose(a["objective"], 0.025)
    assert math.isclose(a["lambda_sd"], math.sqrt((3 * 0.005**2 + 0.015**2) / 4))
    assert math.isclose(a["lambda_gap"], 1e-7, rel_tol=1e-6)
    assert sx.row_averages({"families": []})["lambda"] is None


# ------------------------------------------------------------------------- averages scorecard


def _fam(runs, lam, risk, certified=True):
    return {"runs": runs, "certified": certified, "lambda_lower": lam, "lambda_min": lam + 1e-9,
            "risk": risk}


def averages_good():
    return {"rows": [
        {"k": 8, "n": 8, "runs": 300, "families": [_fam(38, 0.02131, 0.02151)]},
        {"k": 9, "n": 9, "runs": 300,
         "families": [_fam(60, 0.0263, 0.0200), _fam(5, 0.032, 0.0375)]},
        {"k": 6, "n": 6, "runs": 300, "families": []},
        {"k": 6, "n": 8, "runs": 300, "families": []},  # no published averages: no check
    ]}


def test_averages_good_result_passes_and_is_na_without_minima():
    checks = sx.averages_scorecard(averages_good())
    assert len(checks) == 6
    assert [c.passed for c in checks] == [True, True, True, True, None, None]
    assert all("no certified spurious minimum" in c.claim for c in checks[4:])


@pytest.mark.parametrize("row, fam, field, value, word", [
    (0, 0, "lambda_lower", 0.0190, "λ_min lower bound of the certified spurious minima, k=8"),
    (0, 0, "risk", 0.0232, "average objective of the certified spurious minima, k=8"),
    (1, 0, "risk", 0.0230, "average objective of the certified spurious minima, k=9"),
    (1, 0, "lambda_lower", 0.0240, "λ_min lower bound of the certified spurious minima, k=9"),
])
def test_each_average_check_can_fail(row, fam, field, value, word):
    res = averages_good()
    res["rows"][row]["families"][fam][field] = value
    checks = sx.averages_scorecard(res)
    bad = [c.claim for c in checks if c.passed is False]
    assert bad and all(word in c for c in bad), bad


def test_one_family_where_the_authors_had_several_is_na():
    res = averages_good()
    res["rows"][1]["families"] = [_fam(60, 0.0263, 0.0200)]
    k9 = [c for c in sx.averages_scorecard(res) if "k=9" in c.claim]
    assert [c.passed for c in k9] == [None, None] and "no mixture" in k9[0].claim


# -------------------------------------------------------------------------- extras scorecard


def _counts(runs, bad, cert=None, risks=(), capped=0):
    return {"runs": runs, "bad": bad, "certified": bad if cert is None else cert,
            "capped_high": capped, "certified_risks": list(risks)}


def extras_good():
    emb = [{"k": 6, "family": 0, "source": "authors", "m": m, "d": 6 + m, "risk_k": 0.0250806,
            "risk_d": 0.0250806, "certified_d": True, "certificate_d": "certified"} for m in (1, 4)]
    emb.append({"k": 9, "family": None, "source": "none in 10 runs", "m": None})
    sweep = []
    for d, bad in ((8, 40), (16, 36), (32, 44)):
        rand = dict(_counts(300, bad + 3), bad_per_teacher=[bad + 3],
                    certified_per_teacher=[bad + 3])
        sweep.append({"k": 8, "n": 8, "d": d, "orthonormal": _counts(300, bad, risks=[0.021508]),
                      "random": rand})
    plus2 = {"rows": [{"k": 6, "n": 8, "runs": 300, "count_spurious": 0, "count_certified": 0,
                       "fraction_spurious": 0.0, "families": [], "hit_cap": 0,
                       "hit_cap_high_risk": 0, "spurious_risks": []}]}
    return {"embedding": emb, "sweep": sweep, "plus2": plus2}


def test_extras_good_result_passes():
    checks = sx.scorecard(extras_good())
    failed = [c.claim for c in checks if c.passed is False]
    assert not failed, failed
    assert sum(c.passed is True for c in checks) >= 9
    assert any("k=n=9" in c.claim and c.passed is None for c in checks)  # nothing to embed: n/a
    assert any("k=6 n=8" in c.claim and c.passed is None for c in checks)  # inferred 0: n/a


def _set(path, value):
    def mutate(res):
        obj = res
        for p in path[:-1]:
            obj = obj[p]
        obj[path[-1]] = value
    return mutate


@pytest.mark.parametrize("mutate, word", [
    (_set(("embedding", 0, "certified_d"), False), "embedded minimum of k=n=6 family 0, d=7"),
    (_set(("embedding", 1, "risk_d"), 0.0251), "embedding keeps the risk, k=n=6 family 0, d=10"),
    (_set(("sweep", 1, "orthonormal"), _counts(300, 2, risks=[0.021508])),
     "orthonormal teacher, k=n=8, d=16 against d=k"),
    (_set(("sweep", 2, "orthonormal", "certified_risks"), [0.021508, 0.0300]),
     "every certified spurious risk at k=n=8, d=32"),
    (_set(("sweep", 2, "random"), dict(_counts(300, 0), bad_per_teacher=[0])),
     "random teacher"),
    (_set(("sweep", 2, "random"), dict(_counts(300, 44, cert=0), bad_per_teacher=[44])),
     "certified spurious minimum of a random teacher"),
    (_set(("plus2", "rows", 0, "count_spurious"), 60), "k=6 n=8"),
])
def test_each_extras_check_can_fail(mutate, word):
    res = copy.deepcopy(extras_good())
    mutate(res)
    if word == "k=6 n=8":
        res["plus2"]["rows"][0]["fraction_spurious"] = 0.2
    checks = sx.scorecard(res)
    bad = [c.claim for c in checks if c.passed is False]
    assert bad and all(word in c for c in bad), (word, bad)


def test_embedding_part_runs_on_the_authors_minimum():
    cfg = replace(sx.CONFIGS["smoke"], embed_k=(6,), embed_m=(2,))
    rows = sx._embedding(cfg, torch.device("cpu"))
    assert len(rows) == 1 and rows[0]["certified_d"] and rows[0]["d"] == 8
    assert abs(rows[0]["risk_d"] - 0.0250806) < 1e-7


def test_registered_with_every_budget():
    exp = get_experiment("safran-shamir-extras")
    assert set(exp.configs) == {"smoke", "default", "full"}
    full = exp.configs["full"]
    assert set(full.embed_k) == set(range(6, 11)) and full.plus2_k == ()
    main_full = get_experiment("safran-shamir").configs["full"]
    assert {(k, k + 2) for k in range(6, 19)} <= set(main_full.rows)  # run there, not twice


def test_random_teacher_existence_is_na_when_none_was_expected():
    res = copy.deepcopy(extras_good())
    res["sweep"][2]["orthonormal"] = _counts(300, 1)
    res["sweep"][2]["random"] = dict(_counts(300, 0), bad_per_teacher=[0])
    ex = [c for c in sx.scorecard(res) if "certified spurious minimum of a random" in c.claim]
    assert len(ex) == 1 and ex[0].passed is None


def test_protocol_part_certifies_the_runs_that_end_at_the_authors_minimum():
    W = torch.tensor(sx.W6_AUTHORS, dtype=torch.float64)
    W0 = torch.stack([W + 1e-4, W - 1e-4, 0.9 * torch.eye(6, dtype=torch.float64)])
    c = sx._counts(sx._protocol(sx.CONFIGS["smoke"], W0, sx.padded_teacher(6, 6)))
    assert (c["runs"], c["bad"], c["certified"]) == (3, 2, 2)
    assert c["certified_risks"] == [0.025081]
