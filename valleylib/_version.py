"""The package version: the one source, read by ``pyproject.toml`` and by ``valleylib.__version__``."""

__version__ = "0.1.0"
