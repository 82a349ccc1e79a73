"""Version of the Python package (kept in step with the C library)."""

__version__ = "0.1.0"
