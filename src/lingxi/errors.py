"""One exception tree for all of lingxi.

Every error carries a message that says what went wrong and a `hint` that says
how to fix it; the CLI prints both as sentences (``--debug`` adds the traceback).

    LingxiError
    ├── ConfigError          bad settings, unknown alias, invalid sampling values
    ├── ModelError           a model could not be loaded or did not answer
    │   ├── ContextLengthError  the messages do not fit the model's context window
    │   ├── ModelCrashed     the model's worker process died while answering (restarted on the next call)
    │   ├── ModelNotFound    the weights file or remote model does not exist
    │   ├── EndpointError    a remote endpoint is unreachable or failed
    │   └── AuthError        a remote endpoint refused the API key
    ├── PluginError          a plugin or provider could not be registered or found
    ├── StoreError           a knowledge-base store failed
    ├── ToolError            an agent tool failed
    ├── GuardrailError       a guard refused the input or output
    └── TuneError            fine-tuning data, an adapter or a training run is not usable
"""

from __future__ import annotations


class LingxiError(Exception):
    """Base of every error lingxi raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(LingxiError):
    exit_code = 2


class ModelError(LingxiError):
    pass


class ModelNotFound(ModelError):
    pass


class ContextLengthError(ModelError):
    pass


class ModelCrashed(ModelError):
    pass


class EndpointError(ModelError):
    pass


class AuthError(EndpointError):
    pass


class PluginError(LingxiError):
    pass


class StoreError(LingxiError):
    pass


class ToolError(LingxiError):
    pass


class GuardrailError(LingxiError):
    pass


class TuneError(LingxiError):
    pass


def missing_extra(package: str, extra: str) -> ConfigError:
    """The error for an optional backend whose package is not installed."""
    return ConfigError(
        f"The optional package '{package}' is not installed.",
        f"install it with: pip install 'lingxi[{extra}]'",
    )
