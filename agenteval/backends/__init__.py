"""Backends: the Backend protocol, spec parsing, and the built-in stub, litellm and python backends.

Heavy SDKs (litellm, vertexai) are imported only when their backend is created.
"""

from .base import Backend, BackendFactory, BackendRequest, redact
from .spec import make_backend, parse_option, parse_spec

__all__ = ["Backend", "BackendFactory", "BackendRequest", "make_backend", "parse_option", "parse_spec",
           "redact"]
