"""Providers: the only code that talks to an account."""
