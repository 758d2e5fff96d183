"""valleylib: optimisation landscapes of two-layer networks, batched in PyTorch.

The executable companion of the *spurious-valleys* book. Every function follows the device
and dtype of its inputs; :func:`default_device` is the one place that picks a device, and
:func:`current_budget` the one place that picks problem sizes.

The top level holds what a reader of the book calls (``__all__`` below, by concept); everything
else is reached through its module, one module per concept (``valleylib.linear``,
``valleylib.paths``, ``valleylib.safran_shamir``, ...; CONTRIBUTING.md has the map). Names that
used to live at the top level still work there, with a ``DeprecationWarning`` naming their home.
"""
from __future__ import annotations

import importlib as _importlib
import warnings as _warnings

# Submodules used as namespaces in the chapters (public: listed in ``__all__``).
from . import book, landscape, linear, plotting, tables, widgets
from ._version import __version__
from .book import chapter_source, recorded, recorded_names
from .budget import BUDGETS, by_budget, current_budget
from .device import default_device, describe_device, set_cpu_threads
from .experiments import Report, experiments, reproduce
from .full_runs import FullRun, full_run, full_run_table, full_runs
from .gaussian import arccos_kernel
from .info import session_info
from .lowrisk import descend, start_certificate
from .networks import make_teacher, two_layer, xavier_init
from .paths import neb
from .population import monte_carlo_risk, relu_population_gradient, relu_population_risk
from .random_features import fit_power_law, random_features_curve, random_features_fit, relu_rate
from .scorecard import FWER_LEVEL, Check, fisher_exact
from .training import train

__all__ = [
    "__version__",
    # where and how big: device, threads, budget, what a page ran with
    "default_device", "describe_device", "set_cpu_threads", "BUDGETS", "by_budget", "current_budget", "session_info",
    # reproductions, their scorecards and the recorded full runs
    "reproduce", "experiments", "Report", "Check", "FWER_LEVEL", "fisher_exact",
    "FullRun", "full_run", "full_run_table", "full_runs", "recorded", "recorded_names", "chapter_source",
    # networks, starts, teachers and their Gaussian population risk
    "two_layer", "xavier_init", "make_teacher", "arccos_kernel", "relu_population_risk", "relu_population_gradient",
    "monte_carlo_risk",
    # descent
    "train", "descend", "start_certificate",
    # random features
    "random_features_fit", "random_features_curve", "fit_power_law", "relu_rate",
    # paths
    "neb",
    # namespaces of the chapters
    "book", "landscape", "linear", "plotting", "tables", "widgets",
]

#: Names that left the top level: ``name -> (module, attribute)`` of their home.
_MOVED: dict[str, tuple[str, str]] = {
    **{n: ("activations", n) for n in ("ACTIVATIONS", "Activation", "get_activation", "polynomial")},
    **{n: ("book", n) for n in ("REPOSITORY_URL", "install_cell", "colab_url")},
    **{n: ("certify", n) for n in ("certify_minimum", "Certificate", "group_families", "family_signature",
                                    "third_derivative_bound")},
    **{n: ("empirical", n) for n in ("empirical_risk", "output_layer_minimum", "function_space_minimum",
                                      "success_fraction", "descent_path", "relu_valley_risk", "relu_valley_sampler",
                                      "relu_valley_points")},
    **{n: ("gaussian", n) for n in ("gaussian_kernel", "gaussian_risk")},
    **{n: ("hessian", n) for n in ("relu_population_hessian", "hessian_min_eigenvalue", "smallest_eigenvalues")},
    **{n: ("intrinsic", n) for n in ("intrinsic_dimension", "polynomial_dimension", "feature_spectrum",
                                      "FeatureSpectrum", "numerical_rank")},
    **{n: ("landscape", n) for n in ("grid_evaluate", "sublevel_components")},
    **{n: ("linear", n) for n in ("Whitened", "whiten", "shallow_loss", "shallow_loss_grad", "shallow_hessian",
                                   "shallow_train_loss_grad", "global_minimum_value", "CriticalPoints",
                                   "critical_points", "Classification", "classify", "classify_shallow",
                                   "saddle_curvature_bound", "global_minimum_path", "deep_linear_loss_grad",
                                   "deep_linear_hessian")},
    **{n: ("lowrisk", n) for n in ("Descent", "label_end_points", "SweepRow", "width_sweep", "straight_line_to_global")},
    **{n: ("mlp", n) for n in ("Task", "POLYNOMIAL_TARGETS", "mlp_forward", "mlp_loss", "mlp_init", "mlp_num_params",
                                "polynomial_task", "teacher_student_task", "cyclic_task")},
    **{n: ("networks", n) for n in ("teacher_identity",)},
    **{n: ("paths", n) for n in ("PathResult", "PATH_FINDERS", "find_path", "dss", "dss_many", "straight_line",
                                  "bezier_curve", "polychain_curve", "train_to_level", "train_through_levels",
                                  "interpolated_losses", "path_length")},
    **{n: ("population", n) for n in ("MonteCarloEstimate",)},
    **{n: ("random_features", n) for n in ("RandomFeaturesFit",)},
    **{n: ("safran_shamir", n) for n in ("run_protocol", "ProtocolResult")},
    "classify_end_points": ("safran_shamir", "classify"),
    **{n: ("scorecard", n) for n in ("compare_fractions", "holm_adjusted", "wilson_interval", "format_scorecard")},
    **{n: ("training", n) for n in ("TrainResult", "grad_norm")},
}

#: Names removed from the public surface, and where their work is done now.
_REMOVED = {
    "deep_linear": "deep linear networks live in valleylib.linear (deep_linear_loss_grad, deep_linear_hessian)",
    "deep_linear_product": "deep linear networks live in valleylib.linear (deep_linear_loss_grad, deep_linear_hessian)",
    "least_squares_fit": "use random_features_fit (the population fit); least squares on samples is a test reference",
}


def _moved_home(name: str) -> str:
    """Where a name that left the top level lives now, e.g. ``"valleylib.paths.dss"``."""
    if name not in _MOVED:
        raise ValueError(f"name={name!r}: not a name that left the top level of valleylib")
    module, attr = _MOVED[name]
    return f"valleylib.{module}.{attr}"


def __getattr__(name: str):
    if name in _MOVED:
        module, attr = _MOVED[name]
        _warnings.warn(f"valleylib.{name} is reached as {_moved_home(name)} (the top level keeps the names "
                       "the chapters call)", DeprecationWarning, stacklevel=2)
        return getattr(_importlib.import_module(f"valleylib.{module}"), attr)
    if name in _REMOVED:
        raise AttributeError(f"valleylib.{name} was removed: {_REMOVED[name]}")
    raise AttributeError(f"module 'valleylib' has no attribute {name!r}")
