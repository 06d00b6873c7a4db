"""The aws-node environment from what users already have.

Three inputs, told apart by their content:

* ``daemonset``: Kubernetes YAML or JSON holding the DaemonSet ``aws-node`` -- the output of
  ``kubectl get ds aws-node -n kube-system -o yaml`` (status and managedFields are ignored),
  a ``kind: List`` of items, or the shipped multi-document ``aws-k8s-cni.yaml``. The env of
  its container ``aws-node`` is read; init containers and other containers are not. Loaded
  with PyYAML's safe loader.
* ``kubectl-set-env``: the output of ``kubectl set env daemonset/aws-node -n kube-system
  --list``: a ``# DaemonSet aws-node, container aws-node`` header per container, then
  ``NAME=VALUE`` lines (values printed raw, so a line that is neither continues the previous
  value, as a value with a newline prints) and ``# NAME from <reference>`` lines.
* ``env-file``: ``NAME=VALUE`` lines, as ``docker --env-file`` reads them: blank lines and
  lines starting with ``#`` are skipped, a leading ``export`` is dropped, the value is the
  rest of the line verbatim (no inline comments, escapes or ``$VAR`` expansion), except that
  one pair of matching quotes around the whole value is removed (as systemd and compose do).

A name given twice keeps its last value, as Kubernetes (and docker) do, with a
``duplicate-variable`` finding. Values from ``valueFrom`` (and ``envFrom`` sources) cannot be
resolved without the cluster: they are listed in ``not_evaluated``, never guessed. Anything
unreadable raises ``ConfigError`` with field ``"manifest"`` and the reason.
"""

from __future__ import annotations

import os
import re
import sys
import types
from collections.abc import Mapping
from typing import Any, Final

import attrs
import yaml

from vpccni_model._errors import ConfigError
from vpccni_model._lint import EnvFinding, shown

__all__ = ["KINDS", "AwsNodeEnv", "parse_aws_node_env", "read_aws_node_env"]

#: The formats ``parse_aws_node_env`` recognises.
KINDS: Final = ("daemonset", "kubectl-set-env", "env-file")

_NAME: Final = r"[A-Za-z_.-][A-Za-z0-9_.-]*"
_ENV_LINE: Final = re.compile(rf"(?:export\s+)?({_NAME})=(.*)", re.DOTALL)
_PAIR: Final = re.compile(rf"({_NAME})=(.*)", re.DOTALL)
_HEADER: Final = re.compile(r"# (\S+) (\S+), container (\S+)")
_FROM_LINE: Final = re.compile(rf"# ({_NAME}) from (.*)")
_EXPECTED: Final = (
    "expected the aws-node DaemonSet (kubectl get ds aws-node -n kube-system -o yaml), "
    "NAME=VALUE lines, or kubectl set env daemonset/aws-node -n kube-system --list output"
)
_DAEMONSET: Final = "aws-node"
_CONTAINER: Final = "aws-node"


@attrs.frozen
class AwsNodeEnv:
    """The environment of the aws-node container, as read from one input.

    ``env`` holds the literal values in document order (read-only); ``not_evaluated`` maps
    each name whose value comes from a reference to that reference in kubectl's words (e.g.
    ``"field path spec.nodeName"``); ``container`` is ``"aws-node"`` except for env files
    (None); ``findings`` are about the document itself (names set twice, ``envFrom``).
    """

    env: Mapping[str, str]
    source: str
    kind: str
    not_evaluated: Mapping[str, str] = attrs.field(factory=dict)
    container: str | None = None
    findings: tuple[EnvFinding, ...] = ()


def _error(source: str, reason: str) -> ConfigError:
    return ConfigError("manifest", source, reason)


def read_aws_node_env(path: str | os.PathLike[str]) -> AwsNodeEnv:
    """Read ``path`` (``"-"``: standard input) and parse it with ``parse_aws_node_env``."""
    if str(path) == "-":
        stream = sys.stdin
        data: bytes | str = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        return parse_aws_node_env(data, "<stdin>")
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise _error(source, "no such file") from None
    except IsADirectoryError:
        raise _error(source, "is a directory, not a file") from None
    except PermissionError:
        raise _error(source, "permission denied") from None
    except OSError as exc:
        raise _error(source, f"cannot be read: {exc.strerror or exc}") from None
    return parse_aws_node_env(data, source)


def _decode(data: bytes | str, source: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise _error(
                source, f"is not UTF-8 text (line {line}, byte {column}); is it binary?"
            ) from None
    if "\x00" in text:
        raise _error(source, "is a binary file (it holds NUL bytes), not text")
    return text


def parse_aws_node_env(data: bytes | str, source: str = "<string>") -> AwsNodeEnv:
    """The aws-node environment in ``data``, its format told from the content (``KINDS``)."""
    text = _decode(data, source)
    lines = text.splitlines()
    significant = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if any(_HEADER.fullmatch(line) for line in lines):
        return _from_kubectl_list(lines, source)
    if not significant:
        raise _error(source, f"is empty: {_EXPECTED}")
    if all(_ENV_LINE.fullmatch(line.lstrip()) for line in significant):
        return _from_env_file(lines, source)
    return _from_yaml(text, lines, source)


# -- shared --------------------------------------------------------------------------------------


class _Collector:
    """Values and references in order; a later definition replaces an earlier one."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.refs: dict[str, str] = {}
        self.seen: dict[str, list[str]] = {}
        self.findings: list[EnvFinding] = []

    def value(self, name: str, value: str) -> None:
        self.refs.pop(name, None)
        self.env.pop(name, None)
        self.env[name] = value
        self.seen.setdefault(name, []).append(shown(name, value))

    def extend(self, name: str, line: str) -> None:
        """One more line of ``name``'s value (kubectl prints a value's newlines raw)."""
        self.env[name] += "\n" + line
        self.seen[name][-1] = shown(name, self.env[name])

    def reference(self, name: str, where: str) -> None:
        self.env.pop(name, None)
        self.refs[name] = where
        self.seen.setdefault(name, []).append(f"{name} from {where}")

    def result(self, source: str, kind: str, container: str | None) -> AwsNodeEnv:
        for name, uses in self.seen.items():
            if len(uses) > 1:
                self.findings.append(
                    EnvFinding(
                        "duplicate-variable",
                        "warning",
                        name,
                        self.env.get(name),
                        f"{name} is set {len(uses)} times ({'; '.join(uses)}); Kubernetes "
                        f"keeps the last, {uses[-1]}",
                        uses[-1],
                    )
                )
        return AwsNodeEnv(
            env=types.MappingProxyType(self.env),
            source=source,
            kind=kind,
            not_evaluated=types.MappingProxyType(self.refs),
            container=container,
            findings=tuple(sorted(self.findings, key=lambda f: (f.variable, f.code))),
        )


# -- env file ------------------------------------------------------------------------------------


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _from_env_file(lines: list[str], source: str) -> AwsNodeEnv:
    out = _Collector()
    for line in lines:
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(stripped)
        assert match is not None  # every significant line matched when the format was chosen
        out.value(match[1], _unquote(match[2]))
    return out.result(source, "env-file", None)


# -- kubectl set env --list ----------------------------------------------------------------------


def _from_kubectl_list(lines: list[str], source: str) -> AwsNodeEnv:
    sections: list[tuple[str, str, str, list[str]]] = []
    for number, line in enumerate(lines, 1):
        header = _HEADER.fullmatch(line)
        if header is not None:
            sections.append((header[1], header[2], header[3], []))
        elif sections:
            sections[-1][3].append(line)
        elif line.strip():
            raise _error(
                source,
                f"line {number} ({line!r}) comes before the first '# <Kind> <name>, container "
                "<name>' header of kubectl set env --list",
            )
    ours = [s for s in sections if s[0] == "DaemonSet" and s[1] == _DAEMONSET]
    if not ours:
        found = sorted({f"{kind} {name}" for kind, name, _, _ in sections})
        raise _error(source, f"has no DaemonSet {_DAEMONSET} (found: {', '.join(found)})")
    body = [s[3] for s in ours if s[2] == _CONTAINER]
    if not body:
        found = sorted({s[2] for s in ours})
        raise _error(
            source,
            f"the DaemonSet {_DAEMONSET} has no container {_CONTAINER} "
            f"(containers: {', '.join(found)})",
        )
    out = _Collector()
    last: str | None = None
    for line in body[-1]:
        ref = _FROM_LINE.fullmatch(line)
        pair = _PAIR.fullmatch(line)
        if ref is not None:
            out.reference(ref[1], ref[2])
            last = None
        elif pair is not None:
            out.value(pair[1], pair[2])
            last = pair[1]
        elif last is not None:
            out.extend(last, line)
        elif line.strip():
            raise _error(source, f"cannot read the line {line!r} of kubectl set env --list")
    return out.result(source, "kubectl-set-env", _CONTAINER)


# -- YAML ----------------------------------------------------------------------------------------


def _objects(docs: list[Any]) -> list[Mapping[str, Any]]:
    """Every Kubernetes object in the documents, the items of a ``List`` included."""
    found: list[Mapping[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        items = doc.get("items")
        if str(doc.get("kind", "")).endswith("List") and isinstance(items, list):
            found += [item for item in items if isinstance(item, Mapping)]
        else:
            found.append(doc)
    return found


def _name_of(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("name")) if isinstance(metadata, Mapping) else "?"


def _reference(value_from: object) -> str:
    """A valueFrom reference in kubectl's words (``GetEnvVarRefString``)."""
    if not isinstance(value_from, Mapping):
        return "an unreadable valueFrom"
    for key, word in (("configMapKeyRef", "configmap"), ("secretKeyRef", "secret")):
        ref = value_from.get(key)
        if isinstance(ref, Mapping):
            return f"{word} {ref.get('name')}, key {ref.get('key')}"
    field = value_from.get("fieldRef")
    if isinstance(field, Mapping):
        return f"field path {field.get('fieldPath')}"
    res = value_from.get("resourceFieldRef")
    if isinstance(res, Mapping):
        prefix = f"{res['containerName']}/" if res.get("containerName") else ""
        return f"resource field {prefix}{res.get('resource')}"
    return "an unreadable valueFrom"


def _path(obj: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _not_env_hint(lines: list[str]) -> str:
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and not _ENV_LINE.fullmatch(stripped):
            return f"; line {number} ({line.strip()!r}) is not NAME=VALUE"
    return ""  # pragma: no cover - only called when some line is not NAME=VALUE


def _from_yaml(text: str, lines: list[str], source: str) -> AwsNodeEnv:
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        hint = "" if "kind:" in text else f" ({_EXPECTED})"
        raise _error(source, f"YAML syntax error{where}: {exc.problem or exc}{hint}") from None
    except yaml.YAMLError as exc:
        raise _error(source, f"YAML error: {exc}") from None
    objects = [o for o in _objects(docs) if "kind" in o]
    if not objects and any(isinstance(doc, Mapping) for doc in docs):
        raise _error(
            source,
            "is YAML but holds no Kubernetes object (no kind: field; a Helm values file?); "
            f"{_EXPECTED}",
        )
    if not objects:
        raise _error(
            source,
            "is neither Kubernetes YAML, NAME=VALUE lines, nor kubectl set env --list output"
            + _not_env_hint(lines),
        )
    ours = [o for o in objects if o.get("kind") == "DaemonSet" and _name_of(o) == _DAEMONSET]
    if not ours:
        found = [f"{o.get('kind', '?')} {_name_of(o)}" for o in objects][:6]
        raise _error(source, f"has no DaemonSet named {_DAEMONSET} (found: {', '.join(found)})")
    if len(ours) > 1:
        spaces = ", ".join(str(_path(o, "metadata", "namespace")) for o in ours)
        raise _error(source, f"has {len(ours)} DaemonSets named {_DAEMONSET} ({spaces})")
    containers = _path(ours[0], "spec", "template", "spec", "containers")
    if not isinstance(containers, list):
        raise _error(source, f"DaemonSet {_DAEMONSET}: spec.template.spec.containers is not a list")
    named = [c for c in containers if isinstance(c, Mapping) and c.get("name") == _CONTAINER]
    if not named:
        names = ", ".join(str(c.get("name")) for c in containers if isinstance(c, Mapping))
        raise _error(
            source,
            f"the DaemonSet {_DAEMONSET} has no container named {_CONTAINER} "
            f"(containers: {names or 'none'})",
        )
    return _container_env(named[0], source)


def _container_env(container: Mapping[str, Any], source: str) -> AwsNodeEnv:
    where = f"container {_CONTAINER}"
    entries = container.get("env") or []
    if not isinstance(entries, list):
        raise _error(source, f"{where}: env is not a list")
    out = _Collector()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name:
            raise _error(source, f"{where}: env[{index}] has no name")
        assert isinstance(entry, Mapping)
        if entry.get("valueFrom") is not None:
            out.reference(name, _reference(entry["valueFrom"]))
            continue
        value = entry.get("value", "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise _error(
                source,
                f"{where}: env {name} has the YAML {type(value).__name__} {value!r}; "
                f'Kubernetes takes only strings (quote it: "{value}")',
            )
        out.value(name, value)
    for index, entry in enumerate(container.get("envFrom") or []):
        label = f"envFrom[{index}]"
        for key, word in (("configMapRef", "configmap"), ("secretRef", "secret")):
            ref = entry.get(key) if isinstance(entry, Mapping) else None
            if isinstance(ref, Mapping):
                label = f"{word} {ref.get('name')}"
        out.findings.append(
            EnvFinding(
                "not-evaluated",
                "warning",
                "envFrom",
                None,
                f"the aws-node container also takes variables from {label} (envFrom), which "
                "this tool cannot read; any variable set only there is missing here",
            )
        )
    return out.result(source, "daemonset", _CONTAINER)
