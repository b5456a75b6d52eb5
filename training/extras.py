"""Which optional extras a command needs: training and evaluation need [train], whose modules are checked first."""

from __future__ import annotations

import importlib.util

# Training and evaluation need the [train] extra and import scikit-learn (about a second): only their commands
# load them, so `stance classify` and `stance serve` start quickly and work on the lean install.
TRAIN_MODULES = ("sklearn", "joblib", "datasets", "matplotlib")


class MissingExtra(Exception):
    """A command needs an optional extra that is not installed."""


def require_train_extra(command: str) -> None:
    """Stop with a message naming the extra to install when the training stack is missing."""
    missing = [module for module in TRAIN_MODULES if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtra(
            f"`stance {command}` needs the [train] extra ({', '.join(missing)} not installed): "
            "pip install -c constraints.txt '.[train]'"
        )
