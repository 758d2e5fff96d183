import pytest
import torch

import valleylib as vl
from valleylib.budget import by_budget, current_budget


def test_default_device_follows_cuda_availability(monkeypatch):
    monkeypatch.delenv("VALLEYLIB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert vl.default_device().type == expected


def test_device_env_override(monkeypatch):
    monkeypatch.setenv("VALLEYLIB_DEVICE", "cpu")
    assert vl.default_device() == torch.device("cpu")
    monkeypatch.setenv("VALLEYLIB_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="VALLEYLIB_DEVICE"):
        vl.default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_device_env_cuda_without_gpu(monkeypatch):
    monkeypatch.setenv("VALLEYLIB_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        vl.default_device()


def test_budget_precedence(monkeypatch):
    monkeypatch.setenv("VALLEYLIB_BUDGET", "default")
    assert current_budget() == "default"
    assert current_budget("full") == "full"  # explicit wins
    monkeypatch.delenv("VALLEYLIB_BUDGET")
    monkeypatch.setenv("VALLEYLIB_DEVICE", "cpu")
    assert current_budget() == "default"  # CPU -> default


def test_budget_bad_names(monkeypatch):
    with pytest.raises(ValueError, match="budget='huge'"):
        current_budget("huge")
    monkeypatch.setenv("VALLEYLIB_BUDGET", "tiny")
    with pytest.raises(ValueError, match="VALLEYLIB_BUDGET='tiny'"):
        current_budget()
    with pytest.raises(ValueError, match="missing entries"):
        by_budget({"smoke": 1, "default": 2})


def test_by_budget_picks():
    assert by_budget({"smoke": 1, "default": 2, "full": 3}, "full") == 3


def test_set_cpu_threads_validates(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("VALLEYLIB_THREADS", raising=False)
        assert vl.set_cpu_threads() == 1  # the measured default
        monkeypatch.setenv("VALLEYLIB_THREADS", "2")
        assert vl.set_cpu_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("VALLEYLIB_THREADS", "many")
        with pytest.raises(ValueError, match="VALLEYLIB_THREADS='many'"):
            vl.set_cpu_threads()
        assert vl.set_cpu_threads(1) == 1 and torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="threads=0"):
            vl.set_cpu_threads(0)
    finally:
        torch.set_num_threads(before)


def test_session_info_mentions_budget(monkeypatch):
    monkeypatch.setenv("VALLEYLIB_BUDGET", "smoke")
    assert "budget: smoke" in vl.session_info()


CLOSED_FORMS = ("relu_population_risk", "relu_population_gradient", "relu_population_hessian")


def closed_form(name: str):
    """The closed form ``name`` from its home module."""
    from valleylib import hessian, population

    return getattr(hessian if name == "relu_population_hessian" else population, name)


def host_reads(fn, *args) -> int:
    """How many times ``fn(*args)`` reads a tensor's value on the host (bool, float, item)."""
    count = [0]
    saved = {name: getattr(torch.Tensor, name) for name in ("__bool__", "__float__", "item")}

    def counting(f):
        def g(self, *a, **k):
            count[0] += 1
            return f(self, *a, **k)
        return g

    try:
        for name, f in saved.items():
            setattr(torch.Tensor, name, counting(f))
        fn(*args)
    finally:
        for name, f in saved.items():
            setattr(torch.Tensor, name, f)
    return count[0]


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_closed_forms_read_the_host_a_fixed_number_of_times(name):
    """Only the input checks read values on the host: as many reads for 2 runs as for 64."""
    fn = closed_form(name)
    V = torch.eye(6, dtype=torch.float64)
    few, many = (host_reads(fn, torch.randn(r, 6, 6, dtype=torch.float64), V) for r in (2, 64))
    assert few == many <= 4, (few, many)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="counts CUDA synchronisations")
@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_closed_forms_synchronise_only_for_their_input_checks(name):
    """On CUDA the batched closed forms stay on the device: no more synchronisations than the host
    reads of their input checks (counted on the CPU), however many runs are batched."""
    import warnings

    fn, dev = closed_form(name), torch.device("cuda")
    V = torch.eye(6, dtype=torch.float64)
    allowed = host_reads(fn, torch.randn(64, 6, 6, dtype=torch.float64), V)
    W = torch.randn(64, 6, 6, dtype=torch.float64, device=dev)
    fn(W, V.to(dev))  # warm-up (first-call allocations)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn(W, V.to(dev))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message)]
    assert out.device.type == "cuda" and len(syncs) <= allowed, (allowed, syncs)


def test_a_gpu_slow_in_float64_gets_the_default_budget(monkeypatch):
    import valleylib.budget as budget_mod

    monkeypatch.delenv("VALLEYLIB_BUDGET", raising=False)
    monkeypatch.setattr(budget_mod, "default_device", lambda: torch.device("cuda"))
    monkeypatch.setattr(budget_mod, "float64_tflops", lambda dev: 0.3)  # a T4-like GPU
    assert budget_mod.current_budget() == "default"
    monkeypatch.setattr(budget_mod, "float64_tflops", lambda dev: 20.0)  # a data-centre GPU
    assert budget_mod.current_budget() == "full"
    assert budget_mod.current_budget("default") == "default"  # an explicit choice wins
    monkeypatch.setenv("VALLEYLIB_BUDGET", "full")
    monkeypatch.setattr(budget_mod, "float64_tflops", lambda dev: 0.3)
    assert budget_mod.current_budget() == "full"  # the reader asked for it


def test_float64_speed_is_measured_and_checked():
    from valleylib.budget import float64_tflops

    assert 0 < float64_tflops("cpu", size=64) < 1e3
    with pytest.raises(ValueError, match="size"):
        float64_tflops("cpu", size=0)


def test_a_full_run_says_how_long_the_recorded_one_took_before_it_starts(capsys):
    from valleylib.experiments import _full_notice

    line = _full_notice("safran-shamir")
    assert line.startswith("safran-shamir: starting the full (paper-scale) budget")
    assert ("recorded full run took" in line) == (vl.full_run("safran-shamir") is not None)
    assert ("no full run is recorded" in _full_notice("linear")) == (vl.full_run("linear") is None)
