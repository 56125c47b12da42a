"""qa: answers from your own articles, with the exact passage cited. Offline, on your machine."""

__version__ = "0.1.0"
