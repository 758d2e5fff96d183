"""Long reproductions resume from their finished parts: a rerun with the same out_dir reuses them
(no training at all) and returns the same result as the uninterrupted run."""
import importlib

import pytest

from valleylib.experiments import reproduce


def _without_seconds(x):
    if isinstance(x, dict):
        return {k: _without_seconds(v) for k, v in x.items() if k != "seconds"}
    if isinstance(x, list):
        return [_without_seconds(v) for v in x]
    return x


@pytest.mark.parametrize("name, module, folder", [
    ("freeman-bruna-protocol", "valleylib.experiments.freeman_bruna_protocol", "freeman-bruna-protocol-parts"),
    ("freeman-bruna-digits", "valleylib.experiments.freeman_bruna_digits", "freeman-bruna-digits-parts"),
])
def test_a_rerun_reuses_every_part(tmp_path, monkeypatch, name, module, folder):
    first = reproduce(name, "smoke", device="cpu", out=tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / folder).glob("*.json")), "no parts were kept"
    mod = importlib.import_module(module)

    def no_training(*a, **k):
        raise AssertionError("a finished part was recomputed")

    monkeypatch.setattr(mod, "train_through_levels", no_training)
    monkeypatch.setattr(mod, "dss_many", no_training)
    again = reproduce(name, "smoke", device="cpu", out=tmp_path, progress=False)
    assert _without_seconds(again.result) == _without_seconds(first.result)
    assert [c.passed for c in again.scorecard] == [c.passed for c in first.scorecard]
