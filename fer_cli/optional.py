"""The one place that imports optional dependencies: the packages of an extra such as ``[train]``.

``pip install fer-cli`` is the light install: prepare to ``.npz``, evaluate and
predict on ONNX Runtime. TensorFlow, Keras, the ONNX converters,
scikit-learn and matplotlib come with ``pip install 'fer-cli[train]'``, for ``train``,
``export`` and sharded ``prepare``; matplotlib alone, for the charts of ``evaluate`` and
``predict``, with ``pip install 'fer-cli[plot]'``. A command that needs one of them and does
not find it stops with one line naming the package and the command that
installs it, and exit code 2 (pandas' ``import_optional_dependency`` idea):

    Error: fer train needs TensorFlow: pip install 'fer-cli[train]'

Commands check up front with `check` (before decoding any data); the modules
that import the packages go through `require`, so a path the checks missed
still ends in that line instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from fer_cli.errors import UsageError

DISTRIBUTION = "fer-cli"

# Top-level import name → (the name people know the package by, the extra that installs it, or None
# for a package no extra installs: the message then names the package itself).
PACKAGES: dict[str, tuple[str, str | None]] = {
    "tensorflow": ("TensorFlow", "train"),
    "keras": ("Keras", "train"),
    "tf2onnx": ("tf2onnx", "train"),
    "onnx": ("ONNX", "train"),
    "sklearn": ("scikit-learn", "train"),
    "matplotlib": ("matplotlib", "plot"),  # [train] has it too
    "pandas": ("pandas", None),  # `to_dataframe`: for those who use pandas anyway, so no extra pulls it in
}


class MissingExtra(UsageError):
    """An optional package is not installed (exit code 2); the message says what to install.

    Args:
        module: the import name that was not found (its top-level package names the extra).
        feature: what needs it, e.g. ``fer train``. Defaults to ``this command`` when None;
            the CLI fills in the running command (`fer_cli.cli.error_handling`).
    """

    def __init__(self, module: str, feature: str | None = None):
        self.module = module.partition(".")[0]
        self.feature = feature
        super().__init__(self.module)

    def __str__(self) -> str:
        label, extra = PACKAGES.get(self.module, (self.module, "train"))
        install = f"'{DISTRIBUTION}[{extra}]'" if extra else self.module
        return f"{self.feature or 'this command'} needs {label}: pip install {install}"


def require(module: str, feature: str | None = None) -> ModuleType:
    """Import an optional module, or say in one line what to install.

    Args:
        module: import name, e.g. ``tensorflow`` or ``sklearn.model_selection``.
        feature: what needs it, for the message. Defaults to the running command.

    Returns:
        The module.

    Raises:
        MissingExtra: when the module's package is not installed. An installed
            package that fails to import (a missing library of its own, an ABI
            mismatch) raises its own error: reinstalling the extra would not fix it.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if not _names_module(exc.name, module):
            raise
        raise MissingExtra(module, feature) from exc


def available(module: str) -> bool:
    """Whether a top-level module is installed, without importing it."""
    return importlib.util.find_spec(module) is not None


def check(*modules: str, feature: str | None = None) -> None:
    """Fail early, without importing anything, when one of `modules` is not installed.

    Args:
        modules: top-level import names.
        feature: what needs them, for the message. Defaults to the running command.

    Raises:
        MissingExtra: for the first module that is not installed.
    """
    for module in modules:
        if not available(module):
            raise MissingExtra(module, feature)


def _names_module(missing: str | None, module: str) -> bool:
    """Whether the module that was not found is `module` or a package above it."""
    return missing is not None and (module == missing or module.startswith(missing + "."))
