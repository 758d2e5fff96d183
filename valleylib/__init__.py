"""valleylib: optimisation landscapes of two-layer networks, batched in PyTorch.

The executable companion of the *spurious-valleys* book. Every function follows the device
and dtype of its inputs; :func:`default_device` is the one place that picks a device, and
:func:`current_budget` the one place that picks problem sizes.
"""
from __future__ import annotations

__version__ = "0.1.0"

# Where and how big.
from .device import default_device, describe_device, set_cpu_threads
from .budget import BUDGETS, by_budget, current_budget
from .info import session_info

# Models.
from .activations import ACTIVATIONS, Activation, get_activation, polynomial
from .networks import deep_linear, deep_linear_product, two_layer

# Gaussian population risk of ReLU teacher-student networks.
from .population import (
    MonteCarloEstimate,
    arccos_kernel,
    monte_carlo_risk,
    relu_population_gradient,
    relu_population_risk,
)

# Training.
from .training import TrainResult, grad_norm, train

# Landscapes on a grid.
from .landscape import grid_evaluate, sublevel_components

# Reproductions.
from .scorecard import Check, binomial_tolerance, format_scorecard
from .experiments import Report, experiments, reproduce

# Submodules used as namespaces in the chapters.
from . import landscape, plotting

__all__ = [
    "__version__",
    # device and budget
    "default_device", "describe_device", "set_cpu_threads", "BUDGETS", "by_budget", "current_budget", "session_info",
    # models
    "ACTIVATIONS", "Activation", "get_activation", "polynomial", "two_layer", "deep_linear", "deep_linear_product",
    # population risk
    "arccos_kernel", "relu_population_risk", "relu_population_gradient", "monte_carlo_risk", "MonteCarloEstimate",
    # training
    "train", "TrainResult", "grad_norm",
    # landscapes
    "grid_evaluate", "sublevel_components", "landscape", "plotting",
    # reproductions
    "reproduce", "experiments", "Report", "Check", "binomial_tolerance", "format_scorecard",
]
