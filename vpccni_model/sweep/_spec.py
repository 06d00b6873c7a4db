"""What a sweep runs: the base simulation settings and the axes of its grid.

A :class:`SweepSpec` is validated whole at construction (every instance type, every env set
linted against each, every workload built), so a bad value fails before any run starts,
with a :class:`ConfigError` naming the key as a sweep file spells it (``env[1].WARM_IP_TARGET``,
``workloads[0].kind``). :meth:`SweepSpec.runs` enumerates the grid in one documented order:
instance, then env set, then workload, then seed (the last varies fastest).
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from vpccni_model._config import MANIFEST_ENV, Config
from vpccni_model._errors import ConfigError, UnknownInstanceTypeError, VpcCniModelError
from vpccni_model._iteration import GO_RANDOM, KINDS
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits, instance_limits
from vpccni_model._lint import lint_env
from vpccni_model._policy import effective_max_pods
from vpccni_model.cloud import FakeEC2, SdkRetry
from vpccni_model.sim.spec import SimulationSpec, cluster
from vpccni_model.sim.workloads import WORKLOADS, Workload, named_workload

#: The one subnet every run's nodes take their addresses from.
SUBNET_NAME = "subnet-a"


def _text(value: object) -> str:
    """An env value as aws-node sees it: YAML/TOML numbers and booleans as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ConfigError("env value", value, "must be a string, a number or a boolean")


def _env_pairs(value: object) -> tuple[tuple[str, str], ...]:
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, tuple | list):
        items = value
    else:
        raise ConfigError("env", value, "must be a mapping NAME -> value")
    pairs = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise ConfigError("env", item, "expected NAME -> value")
        try:
            pairs.append((item[0], _text(item[1])))
        except ConfigError as exc:
            raise ConfigError(item[0], exc.value, exc.reason) from None
    return tuple(pairs)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def check_keys(where: str, given: Iterable[object], known: Iterable[str]) -> None:
    """Every key of a mapping is one of ``known``; a typo gets the closest known key."""
    names = list(known)
    for key in given:
        if key in names:
            continue
        close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"{where}{key}", key, f"unknown key ({hint}known: {', '.join(names)})")


def _label(field: str, value: object) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(field, value, "must be a non-empty string")


@attrs.frozen
class EnvSet:
    """aws-node variables set on top of the shipped manifest's environment (``MANIFEST_ENV``),
    and an optional label (default: the ``NAME=value`` pairs, or ``shipped`` for none)."""

    values: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_env_pairs)
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        _label("label", self.label)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> EnvSet:
        """From a sweep file's entry: ``label`` and aws-node variables (upper case)."""
        for key in data:
            if key != "label" and difflib.get_close_matches(str(key), ["label"], cutoff=0.6):
                check_keys("", [key], ["label"])
        values = {k: v for k, v in data.items() if k != "label"}
        return cls(values, data.get("label"))

    @property
    def name(self) -> str:
        """The label shown in tables and plots."""
        if self.label is not None:
            return self.label
        return " ".join(f"{k}={v}" for k, v in self.values) or "shipped"

    def environment(self) -> dict[str, str]:
        """The whole environment ipamd reads: the shipped manifest's, then these values."""
        return {**MANIFEST_ENV, **dict(self.values)}


@attrs.frozen
class WorkloadSpec:
    """A named workload of the grid: ``kind`` is one of ``churn``, ``constant``, ``ramp``,
    ``burst``, ``diurnal`` (built as ``vpccni-model simulate --workload`` builds it)."""

    kind: str = "churn"
    pods_per_node: int = 10
    changes_per_minute: float = 1.0
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind not in WORKLOADS:
            close = difflib.get_close_matches(str(self.kind), list(WORKLOADS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError("kind", self.kind, f"must be one of {', '.join(WORKLOADS)}{hint}")
        if not _is_int(self.pods_per_node) or self.pods_per_node < 0:
            raise ConfigError("pods_per_node", self.pods_per_node, "must be an int >= 0")
        if not _is_number(self.changes_per_minute) or self.changes_per_minute <= 0:
            raise ConfigError("changes_per_minute", self.changes_per_minute, "must be a number > 0")
        _label("label", self.label)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> WorkloadSpec:
        """From a sweep file's entry (keys as the fields)."""
        check_keys("", data, [f.name for f in attrs.fields(cls)])
        return cls(**data)

    @property
    def name(self) -> str:
        return self.label if self.label is not None else self.kind

    def build(self, duration: float, nodes: int) -> Workload:
        return named_workload(
            self.kind,
            pods_per_node=self.pods_per_node,
            changes_per_minute=self.changes_per_minute,
            duration=duration,
            nodes=nodes,
        )


@attrs.frozen
class Run:
    """One point of the grid; ``index`` is its position in :meth:`SweepSpec.runs`."""

    index: int
    instance: str
    env: EnvSet
    workload: WorkloadSpec
    seed: int


def _tuple(field: str, value: object) -> tuple[Any, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    raise ConfigError(field, value, "must be a list")


def _items(field: str, value: object, cls: type[Any]) -> tuple[Any, ...]:
    """A list of ``cls`` values, mappings built into ``cls``, errors named ``field[i].key``."""
    out = []
    for i, item in enumerate(_tuple(field, value)):
        if isinstance(item, cls):
            out.append(item)
        elif isinstance(item, Mapping):
            try:
                out.append(cls.of(item))
            except ConfigError as exc:
                raise ConfigError(f"{field}[{i}].{exc.field}", exc.value, exc.reason) from None
        else:
            raise ConfigError(
                f"{field}[{i}]", item, f"must be a mapping (or an {cls.__name__} value)"
            )
    return tuple(out)


def _instances(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else _tuple("instances", value)  # one needs no list


def _env_sets(value: object) -> tuple[EnvSet, ...]:
    return _items("env", value, EnvSet)


def _workloads(value: object) -> tuple[WorkloadSpec, ...]:
    return _items("workloads", value, WorkloadSpec)


def _seeds(value: object) -> tuple[int, ...]:
    return _tuple("seeds", value)


def _unique(field: str, names: list[Any], why: str = "") -> None:
    seen: set[Any] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"{field}[{i}]", name, f"appears twice{why}")
        seen.add(name)


@attrs.frozen
class SweepSpec:
    """A grid of simulations: every ``instances`` x ``env`` x ``workloads`` x ``seeds``, each a
    cluster of ``nodes`` identical nodes for ``hours`` in one ``subnet``, with the simulator's
    default EC2 latency and account-wide throttling (``throttle=False``: none). ``max_pods``
    is kubelet's (default: the EKS node default per type); ``iteration`` and ``pod_timeout``
    as :class:`SimulationSpec`; per-node series are not kept (a sweep reads the cluster's)."""

    instances: tuple[str, ...] = attrs.field(converter=_instances)
    env: tuple[EnvSet, ...] = attrs.field(default=(EnvSet(),), converter=_env_sets)
    workloads: tuple[WorkloadSpec, ...] = attrs.field(
        default=(WorkloadSpec(),), converter=_workloads
    )
    seeds: tuple[int, ...] = attrs.field(default=(0,), converter=_seeds)
    nodes: int = 10
    hours: float = 1.0
    subnet: str = "10.0.0.0/16"
    host_network_pods: int = HOST_NETWORK_PODS
    max_pods: int | None = None
    iteration: str = GO_RANDOM
    pod_timeout: float = 600.0
    sample_interval: float = 60.0
    throttle: bool = True

    def __attrs_post_init__(self) -> None:
        self._check_numbers()
        for field in ("instances", "env", "workloads", "seeds"):
            if not getattr(self, field):
                raise ConfigError(field, [], "must list at least one value")
        for i, seed in enumerate(self.seeds):
            if not _is_int(seed) or not 0 <= seed < 2**63:
                raise ConfigError(f"seeds[{i}]", seed, "must be an int >= 0")
        _unique("seeds", list(self.seeds))
        _unique("instances", list(self.instances))
        _unique("env", [e.name for e in self.env], " (labels must be unique)")
        _unique("workloads", [w.name for w in self.workloads], " (labels must be unique)")
        limits = [self._limits(i, name) for i, name in enumerate(self.instances)]
        for i, env_set in enumerate(self.env):
            for lim in limits:
                self._check_env(i, env_set, lim)

    def _check_numbers(self) -> None:
        if not _is_int(self.nodes) or self.nodes < 1:
            raise ConfigError("nodes", self.nodes, "must be an int >= 1")
        for field in ("hours", "pod_timeout", "sample_interval"):
            value = getattr(self, field)
            if not _is_number(value) or value <= 0:
                raise ConfigError(field, value, "must be a number > 0")
        if not _is_int(self.host_network_pods) or self.host_network_pods < 0:
            raise ConfigError("host_network_pods", self.host_network_pods, "must be an int >= 0")
        if self.max_pods is not None and (not _is_int(self.max_pods) or self.max_pods < 1):
            raise ConfigError("max_pods", self.max_pods, "must be an int >= 1")
        if self.iteration not in KINDS:
            raise ConfigError("iteration", self.iteration, f"must be one of {', '.join(KINDS)}")
        if not isinstance(self.throttle, bool):
            raise ConfigError("throttle", self.throttle, "must be true or false")
        if not isinstance(self.subnet, str):
            raise ConfigError("subnet", self.subnet, "must be a CIDR string, e.g. 10.0.0.0/16")
        try:
            FakeEC2(subnets={SUBNET_NAME: self.subnet})
        except VpcCniModelError as exc:
            raise ConfigError("subnet", self.subnet, getattr(exc, "reason", str(exc))) from None

    @staticmethod
    def _limits(i: int, name: object) -> InstanceLimits:
        if not isinstance(name, str):
            raise ConfigError(f"instances[{i}]", name, "must be an instance type name")
        try:
            return instance_limits(name)
        except UnknownInstanceTypeError as exc:
            hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
            raise ConfigError(f"instances[{i}]", name, f"unknown instance type{hint}") from None

    def _check_env(self, i: int, env_set: EnvSet, limits: InstanceLimits) -> None:
        """Typos and values ipamd would ignore or refuse are errors in a sweep: a grid point
        that silently runs other settings than its label says is a wrong answer."""
        env = env_set.environment()
        given = dict(env_set.values)
        for finding in lint_env(env, limits):
            if finding.severity == "info":
                continue
            why = f"{finding.message} (on {limits.name})"
            if finding.severity == "warning":
                why += "; a sweep refuses what ipamd would ignore or change"
            if finding.variable in given:
                raise ConfigError(f"env[{i}].{finding.variable}", given[finding.variable], why)
            raise ConfigError(f"env[{i}]", given, why)
        try:  # the SDK's own variables (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE)
            SdkRetry.from_env(env)
        except ConfigError as exc:
            raise ConfigError(f"env[{i}].{exc.field}", exc.value, exc.reason) from None
        max_pods = self._max_pods(limits, Config.from_env(env))
        if self.host_network_pods > max_pods:
            raise ConfigError(
                "host_network_pods",
                self.host_network_pods,
                f"more than max pods {max_pods} of {limits.name}: kubelet would admit none",
            )

    def config(self, env_set: EnvSet) -> Config:
        """ipamd's configuration for ``env_set`` in this sweep (``max_pods`` applied), as
        every run of that env set gets it and as ``explain`` takes it."""
        config = Config.from_env(env_set.environment())
        if self.max_pods is not None:
            config = attrs.evolve(config, max_pods=self.max_pods)
        return config

    def _max_pods(self, limits: InstanceLimits, config: Config) -> int:
        if self.max_pods is not None:
            config = attrs.evolve(config, max_pods=self.max_pods)
        return effective_max_pods(limits, config.for_instance(limits))

    def runs(self) -> tuple[Run, ...]:
        """Every grid point: instance, then env set, then workload, then seed."""
        grid = itertools.product(self.instances, self.env, self.workloads, self.seeds)
        return tuple(Run(i, *point) for i, point in enumerate(grid))

    def run(self, index: int) -> Run:
        """Grid point ``index`` (as ``runs()[index]``, without building the others)."""
        sizes = (len(self.instances), len(self.env), len(self.workloads), len(self.seeds))
        total = math.prod(sizes)
        if not _is_int(index) or not 0 <= index < total:
            raise ConfigError("index", index, f"must be an int from 0 to {total - 1}")
        rest, seed = divmod(index, sizes[3])
        rest, workload = divmod(rest, sizes[2])
        instance, env = divmod(rest, sizes[1])
        return Run(
            index,
            self.instances[instance],
            self.env[env],
            self.workloads[workload],
            self.seeds[seed],
        )

    def __len__(self) -> int:
        return len(self.instances) * len(self.env) * len(self.workloads) * len(self.seeds)

    def simulation(self, run: Run) -> SimulationSpec:
        """The :class:`SimulationSpec` of one grid point."""
        duration = self.hours * 3600
        extra: dict[str, Any] = {} if self.throttle else {"throttle": None}
        return SimulationSpec(
            nodes=cluster(
                instance_limits(run.instance),
                self.config(run.env),
                self.nodes,
                host_network_pods=self.host_network_pods,
            ),
            workload=run.workload.build(duration, self.nodes),
            duration=duration,
            seed=run.seed,
            subnets=((SUBNET_NAME, self.subnet),),
            sample_interval=self.sample_interval,
            pod_timeout=self.pod_timeout,
            per_node_series=False,
            iteration=self.iteration,  # type: ignore[arg-type]  # checked: one of KINDS
            sdk_retry=SdkRetry.from_env(run.env.environment()),
            **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec as a sweep file spells it (reading this back gives an equal spec)."""

        def labelled(label: str | None, body: dict[str, Any]) -> dict[str, Any]:
            return body if label is None else {"label": label, **body}

        return {
            "instances": list(self.instances),
            "env": [labelled(e.label, dict(e.values)) for e in self.env],
            "workloads": [
                labelled(
                    w.label,
                    {
                        "kind": w.kind,
                        "pods_per_node": w.pods_per_node,
                        "changes_per_minute": w.changes_per_minute,
                    },
                )
                for w in self.workloads
            ],
            "seeds": list(self.seeds),
            "nodes": self.nodes,
            "hours": self.hours,
            "subnet": self.subnet,
            "host_network_pods": self.host_network_pods,
            "max_pods": self.max_pods,
            "iteration": self.iteration,
            "pod_timeout": self.pod_timeout,
            "sample_interval": self.sample_interval,
            "throttle": self.throttle,
        }
