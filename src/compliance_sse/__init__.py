"""compliance-sse: upload a PDF, stream its compliance analysis over Server-Sent Events."""

__version__ = "0.1.0"
__all__ = ["__version__"]
