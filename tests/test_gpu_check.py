"""The comparisons of scripts/gpu_check.py pass when CPU and device agree and fail when not."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402


def card(*verdicts, measured=1.0):
    return {"scorecard": [{"claim": f"c{i}", "pass": v, "measured": measured} for i, v in enumerate(verdicts)]}


def test_scorecards_agree_and_disagree():
    same = gpu_check.compare_scorecards({"a": card(True, None)}, {"a": card(True, None, measured=1.5)})
    assert same["agree"] and abs(same["experiments"]["a"]["max_relative_gap_of_measured"] - 1 / 3) < 1e-12
    assert not gpu_check.compare_scorecards({"a": card(True, True)}, {"a": card(True, False)})["agree"]
    assert not gpu_check.compare_scorecards({"a": card(True)}, {})["agree"]
    assert not gpu_check.compare_scorecards({"a": card(True)}, {"a": card(True, True)})["agree"]


def test_numbers_flattens_measurements():
    assert gpu_check._numbers({"b": [1, 2.5], "a": {"x": 3}, "s": "text", "t": True}) == [3.0, 1.0, 2.5]


def test_same_inputs_comparison_can_fail(monkeypatch):
    monkeypatch.setattr(gpu_check, "same_input_suite", lambda d: {
        "x": torch.tensor([1.0, 2.0], dtype=torch.float64), "labels": torch.tensor([0, 1])})
    assert gpu_check.compare_same_inputs(torch.device("cpu"))["agree"]
    calls = iter([0.0, 1e-6])
    monkeypatch.setattr(gpu_check, "same_input_suite", lambda d: {
        "x": torch.tensor([1.0, 2.0], dtype=torch.float64) + next(calls), "labels": torch.tensor([0, 1])})
    bad = gpu_check.compare_same_inputs(torch.device("cpu"))
    assert not bad["agree"] and not bad["quantities"]["x"]["equal_within_tolerance"]
    labels = iter([[0, 1], [0, 2]])
    monkeypatch.setattr(gpu_check, "same_input_suite", lambda d: {"labels": torch.tensor(next(labels))})
    assert not gpu_check.compare_same_inputs(torch.device("cpu"))["agree"]
