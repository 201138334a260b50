"""Identity resolution: people and companies into stable, explainable golden records."""

from include.identity.resolve import resolve

__all__ = ["resolve"]
