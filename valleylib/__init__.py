"""valleylib: optimisation landscapes of two-layer networks, batched in PyTorch.

The executable companion of the *spurious-valleys* book. Every function follows the device
and dtype of its inputs; :func:`default_device` is the one place that picks a device, and
:func:`current_budget` the one place that picks problem sizes.
"""
from __future__ import annotations

# The imports are sorted by module; ``__all__`` below lists the public API by concept.
# Submodules used as namespaces in the chapters (public: listed in ``__all__``).
from . import landscape, linear, plotting, tables, widgets
from ._version import __version__
from .activations import ACTIVATIONS, Activation, get_activation, polynomial
from .book import REPOSITORY_URL, chapter_source, colab_url, install_cell, recorded, recorded_names
from .budget import BUDGETS, by_budget, current_budget
from .certify import Certificate, certify_minimum, family_signature, group_families, third_derivative_bound
from .device import default_device, describe_device, set_cpu_threads
from .empirical import (
    descent_path,
    empirical_risk,
    function_space_minimum,
    output_layer_minimum,
    relu_valley_points,
    relu_valley_risk,
    relu_valley_sampler,
    success_fraction,
)
from .experiments import Report, experiments, reproduce
from .full_runs import FullRun, full_run, full_run_table, full_runs
from .gaussian import arccos_kernel, gaussian_kernel, gaussian_risk
from .hessian import hessian_min_eigenvalue, relu_population_hessian, smallest_eigenvalues
from .info import session_info
from .intrinsic import FeatureSpectrum, feature_spectrum, intrinsic_dimension, numerical_rank, polynomial_dimension
from .landscape import grid_evaluate, sublevel_components
from .linear import (
    Classification,
    CriticalPoints,
    Whitened,
    classify,
    classify_shallow,
    critical_points,
    deep_linear_hessian,
    deep_linear_loss_grad,
    global_minimum_path,
    global_minimum_value,
    saddle_curvature_bound,
    shallow_hessian,
    shallow_loss,
    shallow_loss_grad,
    shallow_train_loss_grad,
    whiten,
)
from .lowrisk import (
    Descent,
    SweepRow,
    descend,
    label_end_points,
    start_certificate,
    straight_line_to_global,
    width_sweep,
)
from .mlp import (
    POLYNOMIAL_TARGETS,
    Task,
    cyclic_task,
    mlp_forward,
    mlp_init,
    mlp_loss,
    mlp_num_params,
    polynomial_task,
    teacher_student_task,
)
from .networks import make_teacher, teacher_identity, two_layer, xavier_init
from .paths import (
    PATH_FINDERS,
    PathResult,
    bezier_curve,
    dss,
    dss_many,
    find_path,
    interpolated_losses,
    neb,
    path_length,
    polychain_curve,
    straight_line,
    train_through_levels,
    train_to_level,
)
from .population import (
    MonteCarloEstimate,
    monte_carlo_risk,
    relu_population_gradient,
    relu_population_risk,
)
from .random_features import (
    RandomFeaturesFit,
    fit_power_law,
    random_features_curve,
    random_features_fit,
    relu_rate,
)
from .safran_shamir import ProtocolResult, run_protocol
from .safran_shamir import classify as classify_end_points
from .scorecard import FWER_LEVEL, Check, compare_fractions, fisher_exact, format_scorecard, holm_adjusted, wilson_interval
from .training import TrainResult, grad_norm, train

__all__ = [
    "__version__",
    # device and budget
    "default_device", "describe_device", "set_cpu_threads", "BUDGETS", "by_budget", "current_budget", "session_info",
    # the book: its address, the install cell, recorded measurements, chapter sources
    "REPOSITORY_URL", "install_cell", "colab_url", "recorded", "recorded_names", "chapter_source",
    "FullRun", "full_run", "full_run_table", "full_runs",
    # models
    "ACTIVATIONS", "Activation", "get_activation", "polynomial", "two_layer",
    # population risk
    "arccos_kernel", "relu_population_risk", "relu_population_gradient", "monte_carlo_risk", "MonteCarloEstimate",
    # Hessian, certification, Safran–Shamir protocol
    "relu_population_hessian", "hessian_min_eigenvalue", "smallest_eigenvalues",
    "certify_minimum", "Certificate", "group_families", "family_signature", "third_derivative_bound",
    "run_protocol", "ProtocolResult", "xavier_init", "teacher_identity", "classify_end_points",
    # random features, low-risk confinement
    "gaussian_kernel", "gaussian_risk", "RandomFeaturesFit", "random_features_fit",
    "random_features_curve", "fit_power_law", "relu_rate",
    "make_teacher", "descend", "Descent", "label_end_points", "SweepRow", "width_sweep", "start_certificate",
    "straight_line_to_global",
    # training
    "train", "TrainResult", "grad_norm",
    # linear networks
    "Whitened", "whiten", "shallow_loss", "shallow_loss_grad", "shallow_hessian", "shallow_train_loss_grad",
    "global_minimum_value", "CriticalPoints", "critical_points", "Classification", "classify", "classify_shallow",
    "saddle_curvature_bound", "global_minimum_path", "deep_linear_loss_grad", "deep_linear_hessian", "linear",
    # intrinsic dimension
    "intrinsic_dimension", "polynomial_dimension", "feature_spectrum", "FeatureSpectrum", "numerical_rank",
    "empirical_risk", "output_layer_minimum", "function_space_minimum", "success_fraction", "descent_path",
    "relu_valley_risk", "relu_valley_sampler", "relu_valley_points",
    # paths and small models
    "PathResult", "PATH_FINDERS", "find_path", "dss", "dss_many", "straight_line", "bezier_curve", "polychain_curve",
    "neb", "train_to_level", "train_through_levels", "interpolated_losses", "path_length",
    "Task", "POLYNOMIAL_TARGETS", "mlp_forward", "mlp_loss", "mlp_init", "mlp_num_params", "polynomial_task",
    "teacher_student_task", "cyclic_task",
    # landscapes
    "grid_evaluate", "sublevel_components", "landscape", "plotting",
    # namespaces of the chapters
    "tables", "widgets",
    # reproductions
    "reproduce", "experiments", "Report", "Check", "FWER_LEVEL", "compare_fractions", "fisher_exact", "holm_adjusted", "wilson_interval",
    "format_scorecard",
]


#: Names removed from the public surface, and where their work is done now.
_REMOVED = {
    "deep_linear": "deep linear networks live in valleylib.linear (deep_linear_loss_grad, deep_linear_hessian)",
    "deep_linear_product": "deep linear networks live in valleylib.linear (deep_linear_loss_grad, deep_linear_hessian)",
    "least_squares_fit": "use random_features_fit (the population fit); least squares on samples is a test reference",
}


def __getattr__(name: str):
    if name in _REMOVED:
        raise AttributeError(f"valleylib.{name} was removed: {_REMOVED[name]}")
    raise AttributeError(f"module 'valleylib' has no attribute {name!r}")
