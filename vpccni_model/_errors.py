"""Typed errors. Every error names the field or value that caused it, so a caller can react
without parsing messages."""

from __future__ import annotations


class VpcCniModelError(Exception):
    """Base class of every error this library raises on purpose."""


class _FieldError(VpcCniModelError, ValueError):
    """An error about one named field and its value, with the reason in plain words."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")

    def __reduce__(self) -> tuple[type[_FieldError], tuple[str, object, str]]:
        # Raised in a worker process (a sweep's run), it must unpickle in the parent.
        return (type(self), (self.field, self.value, self.reason))


class ConfigError(_FieldError):
    """A configuration value is invalid, or a combination of values is one ipamd refuses."""


class UnknownInstanceTypeError(VpcCniModelError, LookupError):
    """The instance type is not in the packaged limits catalog."""

    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown instance type {name!r}{hint}")


class StateError(_FieldError):
    """A node state is internally inconsistent, or an operation does not fit the state."""


class NoAvailableIPError(VpcCniModelError):
    """ipamd's ErrNoAvailableIPInDataStore: no assignable address for the pod right now."""

    def __init__(self, pod: str) -> None:
        self.pod = pod
        super().__init__(f"no available IP/Prefix addresses for pod {pod!r}")


class UnknownPodError(VpcCniModelError, LookupError):
    """ipamd's ErrUnknownPod: the pod holds no address in the datastore."""

    def __init__(self, pod: str) -> None:
        self.pod = pod
        super().__init__(f"datastore: unknown pod {pod!r}")


class UnexpectedEventError(VpcCniModelError, ValueError):
    """An event was applied that does not answer the call the node is waiting for."""

    def __init__(self, event: object, reason: str) -> None:
        self.event = event
        self.reason = reason
        super().__init__(f"{type(event).__name__}: {reason}")
