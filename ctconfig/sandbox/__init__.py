"""The sandbox: an embedded CleverTap account store (SQLite) and, on top, its HTTP server."""

from ctconfig.sandbox.store import ADMIN_EMAIL, Credential, SandboxStore

__all__ = ["ADMIN_EMAIL", "Credential", "SandboxStore"]
