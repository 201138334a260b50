"""Identity resolution: people and companies into stable, explainable golden records."""

from include.identity.legacy_resolve import resolve

__all__ = ["resolve"]
