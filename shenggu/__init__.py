"""shenggu (声谷): open, self-hosted intelligent-speech platform."""

__version__ = "0.1.0"
