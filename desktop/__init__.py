"""BoxFix: find and fix the mistakes in object-detection datasets."""

__version__ = "0.1.0"
