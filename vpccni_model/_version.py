"""The package version, in one place: the build (hatch) and ``vpccni_model.__version__`` read it."""

__version__ = "0.2.0"
