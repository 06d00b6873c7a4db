"""A live node's state from what a user can capture on it: ipamd's introspection
(``curl localhost:61679/v1/enis``), its IPAM checkpoint (``/var/run/aws-node/ipam.json``) and
EC2's ``aws ec2 describe-network-interfaces`` output, each read in the exact shape aws-node
v1.23.1 and EC2 write it (``docs/howto.md``, "Explain a live node").

The dumps carry wall-clock times; the model's clocks are seconds relative to a reference,
"now": the user's, or the dump's newest time. Now is clock 0, earlier times are negative.
What the dumps lack is assumed and said: ipamd does not publish when an ENI entered its
datastore, so an ENI counts as older than the minimum ENI lifetime unless EC2's attach time
says otherwise; its timers (last increase, last decrease, the reconcile cooldown cache) count
as long past. Anything the model cannot hold is a ``StateError`` naming its JSON path;
anything it can proceed without is a ``DumpWarning``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from vpccni_model._config import Config
from vpccni_model._datastore import Datastore
from vpccni_model._eni import ENI
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import PREFIX_SIZE, int_to_ip, ip_to_int
from vpccni_model._limits import InstanceLimits
from vpccni_model._model import Address, Cidr
from vpccni_model._podindex import PodIP
from vpccni_model._state import NodeState

#: ipamd's checkpoint format stamp (``CheckpointFormatVersion``).
CHECKPOINT_VERSION = "vpc-cni-ipam/1"
#: The tag that tells ipamd to leave an ENI alone.
NO_MANAGE_TAG = "node.k8s.amazonaws.com/no_manage"

_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@attrs.frozen
class DumpWarning:
    """Something the import proceeded without: ``code``, the JSON ``path`` it is about, and
    what the model did instead."""

    code: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


@attrs.frozen
class NodeDump:
    """An imported node: the ``state`` (clock 0 is ``now_ns``, nanoseconds since the Unix
    epoch, None when the dump has no time at all), where it came from, the mode its CIDRs
    show (None: no CIDR tells), and the warnings."""

    state: NodeState
    source: str
    now_ns: int | None
    inferred_prefix_delegation: bool | None
    warnings: tuple[DumpWarning, ...] = ()

    def wall(self, clock: float) -> str | None:
        """The wall-clock time of a model clock, RFC 3339 to the millisecond (None without a
        reference)."""
        if self.now_ns is None:
            return None
        at = _EPOCH + dt.timedelta(microseconds=round(self.now_ns / 1000 + clock * 1e6))
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(text: object, path: str) -> int | None:
    """A Go ``time.Time`` as JSON writes it (RFC 3339, up to nanoseconds) in nanoseconds
    since the Unix epoch; None for Go's zero time (year 1), which ipamd writes for unset."""
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise StateError(
            path, text, "must be an RFC 3339 time with its zone, e.g. 2025-07-15T03:13:45.4Z"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if year == 1:
        return None
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        at = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as exc:
        raise StateError(path, text, f"not a valid time ({exc})") from None
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    whole = (at - _EPOCH) // dt.timedelta(seconds=1) - offset
    return whole * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def read_json(path: str | Path, what: str) -> Any:
    """A JSON file, or ``StateError(what, path, reason)`` saying why it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StateError(what, str(path), f"cannot read it ({reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            what, str(path), f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


# -- small readers that name the path ---------------------------------------------------------


def _get(doc: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...]) -> Any:
    if key not in doc:
        raise StateError(f"{path}.{key}" if path else key, None, "missing")
    value = doc[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise StateError(f"{path}.{key}" if path else key, value, f"must be a JSON {_JSON[names]}")
    return value


_JSON = {"dict": "object", "list": "array", "str": "string", "int": "integer", "bool": "boolean"}


def _opt(doc: Mapping[str, Any], key: str, path: str, kind: type, default: Any) -> Any:
    return _get(doc, key, path, kind) if key in doc and doc[key] is not None else default


def _key(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key)}]"


def _ip(text: object, path: str) -> int:
    if not isinstance(text, str):
        raise StateError(path, text, "must be an IPv4 address as text")
    try:
        return ip_to_int(text, field=path)
    except StateError as exc:
        raise StateError(path, text, exc.reason) from None


# -- the clock --------------------------------------------------------------------------------


class _Clock:
    """Collects wall times (ns) by path, then turns them into clocks relative to now."""

    def __init__(self, now_ns: int | None) -> None:
        self.now_ns = now_ns
        self.seen: list[tuple[int, str]] = []

    def note(self, ns: int | None, path: str) -> int | None:
        if ns is not None:
            self.seen.append((ns, path))
        return ns

    def settle(self) -> int | None:
        if self.now_ns is None and self.seen:
            self.now_ns = max(ns for ns, _ in self.seen)
        if self.now_ns is not None:
            for ns, path in self.seen:
                if ns > self.now_ns:
                    raise StateError(path, format_time(ns), "is after now (--now)")
        return self.now_ns

    def clock(self, ns: int | None) -> float | None:
        if ns is None:
            return None
        return (ns - (self.now_ns or 0)) / 1e9


def format_time(ns: int) -> str:
    """Nanoseconds since the Unix epoch as Go writes a UTC ``time.Time`` (9 digits)."""
    at = _EPOCH + dt.timedelta(microseconds=ns // 1000)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


# -- what the dumps say, before the clock -----------------------------------------------------


@attrs.define
class _Entry:
    ip: int
    pod: str | None
    assigned_ns: int | None
    unassigned_ns: int | None
    path: str


@attrs.define
class _Cidr:
    network: int
    is_prefix: bool
    entries: dict[int, _Entry] = attrs.Factory(dict)


@attrs.define
class _Eni:
    eni_id: str
    device: int
    card: int
    primary: bool
    trunk: bool
    efa: bool
    excluded: bool
    cidrs: list[_Cidr]
    path: str
    created_ns: int | None = None
    subnet_id: str | None = None


def _pod_key(meta: object, fallback: str) -> str:
    """``namespace/name`` from ipamd's pod metadata (the bare name without a namespace)."""
    if isinstance(meta, Mapping):
        name, namespace = meta.get("k8sPodName"), meta.get("k8sPodNamespace")
        if isinstance(name, str) and name:
            return f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return fallback


def _read_introspection_eni(
    key: str, doc: object, card: int, path: str, clock: _Clock, warnings: list[DumpWarning]
) -> _Eni:
    if not isinstance(doc, Mapping):
        raise StateError(path, doc, "must be a JSON object (an ENI)")
    eni_id = _get(doc, "ID", path, str)
    if eni_id != key:
        raise StateError(f"{path}.ID", eni_id, f"differs from its key {key!r}")
    if "AvailableIPv4Cidrs" not in doc and "IPv4Addresses" in doc:
        raise StateError(
            f"{path}.AvailableIPv4Cidrs",
            None,
            "missing: this is the shape of aws-node "
            "before v1.9 (IPv4Addresses); capture /v1/enis from v1.9 or later",
        )
    cidrs_doc = _get(doc, "AvailableIPv4Cidrs", path, dict)
    if _opt(doc, "IPv6Cidrs", path, dict, {}):
        warnings.append(
            DumpWarning(
                "ipv6-ignored", f"{path}.IPv6Cidrs", "node_dump reads IPv4 nodes only: ignored"
            )
        )
    cidrs: list[_Cidr] = []
    for cidr_key, cidr_doc in cidrs_doc.items():
        cpath = _key(f"{path}.AvailableIPv4Cidrs", cidr_key)
        cidrs.append(_read_cidr(cidr_key, cidr_doc, cpath, clock, warnings))
    device = _get(doc, "DeviceNumber", path, int)
    if not 0 <= device < 100:
        raise StateError(f"{path}.DeviceNumber", device, "must be 0..99")
    return _Eni(
        eni_id=eni_id,
        device=device,
        card=card,
        primary=_opt(doc, "IsPrimary", path, bool, False),
        trunk=_opt(doc, "IsTrunk", path, bool, False),
        efa=_opt(doc, "IsEFA", path, bool, False),
        excluded=_opt(doc, "IsExcludedForPodIPs", path, bool, False),
        cidrs=cidrs,
        path=path,
    )


def _read_cidr(
    key: str, doc: object, path: str, clock: _Clock, warnings: list[DumpWarning]
) -> _Cidr:
    if not isinstance(doc, Mapping):
        raise StateError(path, doc, "must be a JSON object (a CidrInfo)")
    net = _get(doc, "Cidr", path, dict)
    network = _ip(_get(net, "IP", f"{path}.Cidr", str), f"{path}.Cidr.IP")
    mask = _get(net, "Mask", f"{path}.Cidr", str)
    try:
        raw = base64.b64decode(mask, validate=True)
    except ValueError:
        raise StateError(f"{path}.Cidr.Mask", mask, "must be base64 (Go's []byte)") from None
    bits = int.from_bytes(raw, "big")
    length = bin(bits).count("1")
    if len(raw) != 4 or bits != ((1 << 32) - 1) ^ ((1 << (32 - length)) - 1):
        raise StateError(f"{path}.Cidr.Mask", mask, "must be an IPv4 netmask")
    is_prefix = _opt(doc, "IsPrefix", path, bool, length == 28)
    if (length, is_prefix) not in ((32, False), (28, True)):
        raise StateError(
            f"{path}.Cidr.Mask",
            f"/{length}",
            f"with IsPrefix={str(is_prefix).lower()}: ipamd "
            "holds /32 secondary IPs and /28 prefixes only",
        )
    if key != f"{int_to_ip(network)}/{length}":
        raise StateError(path, key, f"key differs from its Cidr {int_to_ip(network)}/{length}")
    cidr = _Cidr(network, is_prefix)
    size = PREFIX_SIZE if is_prefix else 1
    for ip_key, entry in _opt(doc, "IPAddresses", path, dict, {}).items():
        epath = _key(f"{path}.IPAddresses", ip_key)
        if not isinstance(entry, Mapping):
            raise StateError(epath, entry, "must be a JSON object (an AddressInfo)")
        ip = _ip(_get(entry, "Address", epath, str), f"{epath}.Address")
        if int_to_ip(ip) != ip_key:
            raise StateError(f"{epath}.Address", int_to_ip(ip), f"differs from its key {ip_key!r}")
        if not network <= ip < network + size:
            raise StateError(f"{epath}.Address", ip_key, f"outside {key}")
        ipam_key = _opt(entry, "IPAMKey", epath, dict, {})
        assigned = any(ipam_key.get(k) for k in ("networkName", "containerID", "ifName"))
        pod = None
        if assigned:
            pod = _pod_key(entry.get("IPAMMetadata"), f"sandbox/{ip_key}")
        assigned_ns = clock.note(
            parse_time(entry.get("AssignedTime", "0001-01-01T00:00:00Z"), f"{epath}.AssignedTime"),
            f"{epath}.AssignedTime",
        )
        unassigned_ns = clock.note(
            parse_time(
                entry.get("UnassignedTime", "0001-01-01T00:00:00Z"), f"{epath}.UnassignedTime"
            ),
            f"{epath}.UnassignedTime",
        )
        cidr.entries[ip] = _Entry(ip, pod, assigned_ns, None if pod else unassigned_ns, epath)
    return cidr


def _introspection_cards(doc: object) -> list[tuple[int, str, Mapping[str, Any]]]:
    """(card, path, ENIInfos) of a ``/v1/enis`` answer: v1.23's map of card -> ENIInfos, or
    the single ENIInfos of older releases (card 0)."""
    if not isinstance(doc, Mapping):
        raise StateError("$", type(doc).__name__, "must be a JSON object (/v1/enis)")
    if "ENIs" in doc:
        return [(0, "$", doc)]
    if "ENIIPPools" in doc:
        raise StateError(
            "$.ENIIPPools",
            None,
            "the shape of aws-node v1.6 and older (ENIIPPools, "
            "IPv4Addresses): capture /v1/enis from v1.9 or later",
        )
    cards = []
    for key, infos in doc.items():
        if not (isinstance(key, str) and key.isdigit()):
            raise StateError(_key("$", key), None, "expected a network card number or ENIs")
        if not isinstance(infos, Mapping):
            raise StateError(_key("$", key), infos, "must be a JSON object (ENIInfos)")
        cards.append((int(key), _key("$", key), infos))
    if not cards:
        raise StateError("$", {}, "no datastore in the dump")
    return sorted(cards, key=lambda c: c[0])


def _read_introspection(
    doc: object, clock: _Clock, warnings: list[DumpWarning]
) -> tuple[list[_Eni], dict[int, tuple[str, int, int]]]:
    enis: list[_Eni] = []
    totals: dict[int, tuple[str, int, int]] = {}
    for card, path, infos in _introspection_cards(doc):
        for eni_key, eni_doc in _get(infos, "ENIs", path, dict).items():
            epath = _key(f"{path}.ENIs", eni_key)
            enis.append(_read_introspection_eni(eni_key, eni_doc, card, epath, clock, warnings))
        total = _opt(infos, "TotalIPs", path, int, None)
        assigned = _opt(infos, "AssignedIPs", path, int, None)
        if total is not None and assigned is not None:
            totals[card] = (path, total, assigned)
    return enis, totals


def _read_describe(
    doc: object, clock: _Clock, warnings: list[DumpWarning]
) -> tuple[list[_Eni], list[int]]:
    """The ENIs of ``aws ec2 describe-network-interfaces`` (one instance's), and the card of
    each ENI tagged no_manage."""
    if not isinstance(doc, Mapping):
        raise StateError("$", type(doc).__name__, "must be a JSON object")
    interfaces = _get(doc, "NetworkInterfaces", "", list)
    enis: list[_Eni] = []
    unmanaged: list[int] = []
    instances: dict[str, str] = {}
    for at, eni_doc in enumerate(interfaces):
        path = f"NetworkInterfaces[{at}]"
        if not isinstance(eni_doc, Mapping):
            raise StateError(path, eni_doc, "must be a JSON object (a NetworkInterface)")
        eni_id = _get(eni_doc, "NetworkInterfaceId", path, str)
        attachment = eni_doc.get("Attachment")
        if not isinstance(attachment, Mapping):
            warnings.append(DumpWarning("unattached", path, f"{eni_id} is not attached; ignored"))
            continue
        apath = f"{path}.Attachment"
        instance = attachment.get("InstanceId")
        if isinstance(instance, str):
            instances.setdefault(instance, apath)
        device = _get(attachment, "DeviceIndex", apath, int)
        card = _opt(attachment, "NetworkCardIndex", apath, int, 0)
        attach = attachment.get("AttachTime")
        created = clock.note(
            None if attach is None else parse_time(attach, f"{apath}.AttachTime"),
            f"{apath}.AttachTime",
        )
        tags = {
            t.get("Key"): t.get("Value")
            for t in _opt(eni_doc, "TagSet", path, list, [])
            if isinstance(t, Mapping)
        }
        if str(tags.get(NO_MANAGE_TAG, "")).lower() == "true":
            unmanaged.append(card)
            continue
        cidrs: list[_Cidr] = []
        for k, addr in enumerate(_opt(eni_doc, "PrivateIpAddresses", path, list, [])):
            ipath = f"{path}.PrivateIpAddresses[{k}]"
            if not isinstance(addr, Mapping):
                raise StateError(ipath, addr, "must be a JSON object")
            ip = _ip(_get(addr, "PrivateIpAddress", ipath, str), f"{ipath}.PrivateIpAddress")
            if not _opt(addr, "Primary", ipath, bool, False):  # not the ENI's own address
                cidrs.append(_Cidr(ip, False))
        for k, prefix in enumerate(_opt(eni_doc, "Ipv4Prefixes", path, list, [])):
            ppath = f"{path}.Ipv4Prefixes[{k}].Ipv4Prefix"
            text = prefix.get("Ipv4Prefix") if isinstance(prefix, Mapping) else None
            network_text, _, length = str(text).partition("/")
            if not isinstance(text, str) or length != "28":
                raise StateError(ppath, text, "must be an a.b.c.d/28 prefix")
            network = _ip(network_text, ppath)
            if network % PREFIX_SIZE:
                raise StateError(ppath, text, "a /28 must be 16-aligned")
            cidrs.append(_Cidr(network, True))
        kind = eni_doc.get("InterfaceType", "interface")
        subnet_id = _opt(eni_doc, "SubnetId", path, str, None) or None  # where the ENI lives
        enis.append(
            _Eni(
                eni_id=eni_id,
                device=device,
                card=card,
                primary=device == 0 and card == 0,
                trunk=kind == "trunk",
                efa=kind in ("efa", "efa-only"),
                excluded=False,
                cidrs=cidrs,
                path=path,
                created_ns=created,
                subnet_id=subnet_id,
            )
        )
    if len(instances) > 1:
        raise StateError(
            sorted(instances.values())[1] + ".InstanceId",
            ", ".join(sorted(instances)),
            "ENIs of several instances: describe one (--filters "
            "Name=attachment.instance-id,Values=i-...)",
        )
    return enis, unmanaged


def _read_checkpoint(
    doc: object, clock: _Clock, warnings: list[DumpWarning]
) -> list[tuple[int, str, int | None, str]]:
    """(ip, pod key, allocation time in ns, path) of each IPv4 allocation of ipam.json."""
    if not isinstance(doc, Mapping):
        raise StateError("$", type(doc).__name__, "must be a JSON object (ipam.json)")
    version = _get(doc, "version", "", str)
    if version != CHECKPOINT_VERSION:
        raise StateError("version", version, f"ipamd reads {CHECKPOINT_VERSION!r} only")
    rows = []
    for at, entry in enumerate(_opt(doc, "allocations", "", list, [])):
        path = f"allocations[{at}]"
        if not isinstance(entry, Mapping):
            raise StateError(path, entry, "must be a JSON object")
        ipv4 = _opt(entry, "ipv4", path, str, "")
        if not ipv4:
            warnings.append(DumpWarning("ipv6-ignored", path, "an IPv6 allocation; ignored"))
            continue
        ip = _ip(ipv4, f"{path}.ipv4")
        stamp = _opt(entry, "allocationTimestamp", path, int, 0)
        ns = clock.note(stamp if stamp > 0 else None, f"{path}.allocationTimestamp")
        fallback = "/".join(str(entry.get(k, "")) for k in ("networkName", "containerID", "ifName"))
        rows.append((ip, _pod_key(entry.get("metadata"), fallback), ns, path))
    return rows


# -- building the state -----------------------------------------------------------------------


def _apply_checkpoint(
    enis: list[_Eni], rows: list[tuple[int, str, int | None, str]], warnings: list[DumpWarning]
) -> None:
    """ipamd's ``ReadBackingStore``: assignments come from the checkpoint, each IP matched to
    the first CIDR that holds it (ENIs by device, CIDRs by address), unknown IPs dropped.
    Unassigned entries of the introspection (cooling addresses) are kept."""
    order = sorted(enis, key=lambda e: (e.card, e.device, e.eni_id))
    for eni in order:
        for cidr in eni.cidrs:
            for ip, entry in list(cidr.entries.items()):
                if entry.pod is not None:
                    del cidr.entries[ip]
    for ip, pod, ns, path in rows:
        home = next(
            (
                c
                for e in order
                for c in sorted(e.cidrs, key=lambda c: c.network)
                if c.network <= ip < c.network + (PREFIX_SIZE if c.is_prefix else 1)
            ),
            None,
        )
        if home is None:
            warnings.append(
                DumpWarning(
                    "checkpoint-ip-unknown",
                    f"{path}.ipv4",
                    f"{int_to_ip(ip)} ({pod}) is in no CIDR of the node: dropped, as ipamd "
                    "presumes such a sandbox stale",
                )
            )
            continue
        if ip in home.entries and home.entries[ip].pod is not None:
            raise StateError(f"{path}.ipv4", int_to_ip(ip), "assigned twice in the checkpoint")
        home.entries[ip] = _Entry(ip, pod, ns, None, path)


def _build(
    enis: list[_Eni],
    limits: InstanceLimits,
    config: Config,
    clock: _Clock,
    source: str,
    warnings: list[DumpWarning],
    unmanaged: Sequence[int] = (),
) -> NodeDump:
    effective = config.for_instance(limits)
    now_ns = clock.settle()
    cards = set(limits.card_indices)
    managed = {0} | (cards if effective.multi_nic else set())
    by_card: dict[int, list[ENI]] = {card: [] for card in sorted(managed)}
    unmanaged_count: dict[int, int] = dict.fromkeys(by_card, 0)
    for card in unmanaged:
        if card in unmanaged_count:
            unmanaged_count[card] += 1
    pods: dict[str, PodIP] = {}
    floor = -effective.min_eni_lifetime
    primary: list[_Eni] = []
    prefixes = secondary = 0
    for eni in sorted(enis, key=lambda e: (e.card, e.device, e.eni_id)):
        if eni.card not in cards:
            raise StateError(
                f"{eni.path}",
                eni.card,
                f"network card {eni.card}: {limits.name} has cards "
                f"{sorted(cards)} (is the instance type right?)",
            )
        if eni.card not in managed:
            warnings.append(
                DumpWarning(
                    "unmanaged-card",
                    eni.path,
                    f"{eni.eni_id} is on network card {eni.card}, which ipamd manages only "
                    "with ENABLE_MULTI_NIC: left out",
                )
            )
            continue
        if eni.primary:
            primary.append(eni)
        cidrs = []
        times = []
        for cidr in sorted(eni.cidrs, key=lambda c: c.network):
            prefixes += cidr.is_prefix
            secondary += not cidr.is_prefix
            addresses = []
            for entry in sorted(cidr.entries.values(), key=lambda e: e.ip):
                pod = entry.pod
                if pod is not None and pod in pods:
                    renamed = f"{pod}#{int_to_ip(entry.ip)}"
                    warnings.append(
                        DumpWarning(
                            "duplicate-pod",
                            entry.path,
                            f"{pod} holds a second address {int_to_ip(entry.ip)}: "
                            f"kept as {renamed}",
                        )
                    )
                    pod = renamed
                assigned_at = clock.clock(entry.assigned_ns)
                unassigned_at = clock.clock(entry.unassigned_ns)
                times += [t for t in (assigned_at, unassigned_at) if t is not None]
                addresses.append(Address(entry.ip, pod, assigned_at, unassigned_at))
                if pod is not None:
                    pods[pod] = PodIP(pod, eni.card, eni.eni_id, cidr.network, entry.ip)
            cidrs.append(Cidr(cidr.network, cidr.is_prefix, tuple(addresses)))
        created = clock.clock(eni.created_ns)
        if created is None:
            created = min([floor, *times])
        by_card[eni.card].append(
            ENI(
                eni_id=eni.eni_id,
                device_number=eni.device,
                network_card=eni.card,
                is_primary=eni.primary,
                is_trunk=eni.trunk,
                is_efa=eni.efa,
                is_excluded=eni.excluded,
                created_at=created,
                cidrs=tuple(cidrs),
                subnet_id=eni.subnet_id,
            )
        )
    if len(primary) != 1:
        ids = ", ".join(e.eni_id for e in primary) or "none"
        raise StateError("IsPrimary", ids, "a node has exactly one primary ENI, on card 0")
    if primary[0].card != 0:
        raise StateError(f"{primary[0].path}.IsPrimary", True, "the primary ENI is on card 0")
    inferred = True if prefixes else (False if secondary else None)
    if inferred is not None and inferred != effective.prefix_delegation:
        shows = "/28 prefixes" if inferred else "only /32 secondary IPs"
        mixed = " (and /32 secondary IPs)" if inferred and secondary else ""
        mode = "prefix delegation" if effective.prefix_delegation else "secondary IPs"
        warnings.append(
            DumpWarning(
                "mode-mismatch",
                "ENABLE_PREFIX_DELEGATION",
                f"the dump holds {shows}{mixed} but the configuration runs {mode}: the model "
                f"follows the configuration",
            )
        )
    elif inferred and secondary:
        warnings.append(
            DumpWarning(
                "mixed-cidrs",
                "AvailableIPv4Cidrs",
                f"{secondary} /32 secondary IPs beside {prefixes} prefixes (left from before "
                "prefix delegation was turned on): they take no pods in prefix mode",
            )
        )
    datastores = tuple(
        Datastore.of(card, tuple(by_card[card]), unmanaged_count[card]) for card in by_card
    )
    try:
        state = NodeState(
            limits=limits,
            config=effective,
            primary_eni_id=primary[0].eni_id,
            datastores=datastores,
            pods=pods,
            clock=0.0,
        )
        state.check()
    except StateError as exc:
        raise StateError(exc.field, exc.value, f"{exc.reason} (is --instance right?)") from None
    return NodeDump(state, source, now_ns, inferred, tuple(warnings))


def _totals(
    dump: NodeDump, totals: Mapping[int, tuple[str, int, int]], warnings: list[DumpWarning]
) -> NodeDump:
    for card, (path, total, assigned) in sorted(totals.items()):
        try:
            ds = dump.state.datastore(card)
        except StateError:
            continue
        have_total = sum(c.size for e in ds.enis for c in e.cidrs)
        have_assigned = sum(c.assigned for e in ds.enis for c in e.cidrs)
        if (have_total, have_assigned) != (total, assigned):
            warnings.append(
                DumpWarning(
                    "totals-differ",
                    path,
                    f"TotalIPs={total} AssignedIPs={assigned}, but the ENIs hold {have_total} "
                    f"addresses with {have_assigned} assigned (ipamd's counters drift, issue "
                    "#2041): the model counts the ENIs",
                )
            )
    return attrs.evolve(dump, warnings=tuple(warnings))


def from_introspection(
    enis: object,
    limits: InstanceLimits,
    config: Config,
    *,
    checkpoint: object = None,
    now: str | None = None,
) -> NodeDump:
    """The node from ``/v1/enis`` (the parsed JSON), optionally with ``ipam.json``: then the
    pods come from the checkpoint, as ipamd restores them. ``now`` is an RFC 3339 time
    (default: the newest time in the dumps)."""
    warnings: list[DumpWarning] = []
    clock = _Clock(None if now is None else _now(now))
    found, totals = _read_introspection(enis, clock, warnings)
    source = "introspection"
    if checkpoint is not None:
        _apply_checkpoint(found, _read_checkpoint(checkpoint, clock, warnings), warnings)
        source = "introspection + checkpoint"
    dump = _build(found, limits, config, clock, source, warnings)
    return _totals(dump, {} if checkpoint is not None else totals, warnings)


def from_describe_network_interfaces(
    doc: object,
    limits: InstanceLimits,
    config: Config,
    *,
    checkpoint: object = None,
    now: str | None = None,
) -> NodeDump:
    """The node as EC2 holds it (``aws ec2 describe-network-interfaces`` JSON for one
    instance), its pods from ``ipam.json`` if given. EC2 knows no cooling: none is cooling."""
    warnings: list[DumpWarning] = []
    clock = _Clock(None if now is None else _now(now))
    found, unmanaged = _read_describe(doc, clock, warnings)
    source = "DescribeNetworkInterfaces"
    if checkpoint is None:
        warnings.append(
            DumpWarning(
                "no-pods-known",
                "NetworkInterfaces",
                "EC2 does not know which addresses pods hold: every address counts as free "
                "(give the checkpoint, ipam.json)",
            )
        )
    else:
        _apply_checkpoint(found, _read_checkpoint(checkpoint, clock, warnings), warnings)
        source += " + checkpoint"
    return _build(found, limits, config, clock, source, warnings, unmanaged)


def _now(text: str) -> int:
    ns = parse_time(text, "now")
    if ns is None:
        raise StateError("now", text, "must be a real time, not Go's zero time")
    return ns


def kind_of(doc: object) -> str:
    """``"describe"`` for DescribeNetworkInterfaces output, ``"introspection"`` for
    ``/v1/enis``; StateError for anything else."""
    if isinstance(doc, Mapping) and "NetworkInterfaces" in doc:
        return "describe"
    if isinstance(doc, Mapping) and (
        "ENIs" in doc or (doc and all(isinstance(k, str) and k.isdigit() for k in doc))
    ):
        return "introspection"
    if isinstance(doc, Mapping) and "allocations" in doc:
        raise StateError(
            "$", None, "this is ipamd's checkpoint (ipam.json): pass it as --checkpoint"
        )
    raise StateError(
        "$", None, "neither /v1/enis output nor DescribeNetworkInterfaces JSON (a JSON object)"
    )


def read_node_dump(
    path: str | Path,
    limits: InstanceLimits,
    config: Config,
    *,
    checkpoint: str | Path | None = None,
    now: str | None = None,
) -> NodeDump:
    """A node from files: ``path`` is ``/v1/enis`` or DescribeNetworkInterfaces output (told
    from the content), ``checkpoint`` an ``ipam.json``. A file that cannot be read is a
    ``StateError`` with field ``"node dump"`` or ``"checkpoint"`` and the file as value; one
    with bad content names the file and the JSON path (``"FILE: $.a.b"``)."""
    doc = read_json(path, "node dump")
    saved = None if checkpoint is None else read_json(checkpoint, "checkpoint")
    try:
        reader = (
            from_describe_network_interfaces if kind_of(doc) == "describe" else from_introspection
        )
        return reader(doc, limits, config, checkpoint=saved, now=now)
    except StateError as exc:
        if exc.field == "now":
            raise
        in_checkpoint = exc.field == "version" or exc.field.startswith("allocations")
        where = checkpoint if in_checkpoint and checkpoint is not None else path
        raise StateError(f"{where}: {exc.field}", exc.value, exc.reason) from None


# -- the other way: a state as /v1/enis -------------------------------------------------------

_ZERO_TIME = "0001-01-01T00:00:00Z"


def to_introspection(state: NodeState, now_ns: int) -> dict[str, Any]:
    """``state`` as ipamd v1.23's ``/v1/enis`` would show it, clock 0 at ``now_ns``: for
    tests, fixtures and tools that feed the importer. Pod keys ``ns/name`` become the pod
    metadata; ``containerID`` and ``ifName`` are scrubbed, as ipamd does."""

    def when(clock: float | None) -> str:
        return _ZERO_TIME if clock is None else format_time(now_ns + round(clock * 1e9))

    out: dict[str, Any] = {}
    for ds in state.datastores:
        enis: dict[str, Any] = {}
        for eni in ds.enis:
            cidrs: dict[str, Any] = {}
            for cidr in eni.cidrs:
                entries: dict[str, Any] = {}
                for a in cidr.addresses:
                    namespace, _, name = (a.pod or "").rpartition("/")
                    entries[a.address] = {
                        "Address": a.address,
                        "IPAMKey": {
                            "networkName": "aws-cni" if a.pod else "",
                            "containerID": "",
                            "ifName": "",
                        },
                        "IPAMMetadata": {"k8sPodNamespace": namespace, "k8sPodName": name}
                        if a.pod
                        else {},
                        "AssignedTime": when(a.assigned_at),
                        "UnassignedTime": when(None if a.pod else a.unassigned_at),
                    }
                mask = ((1 << 32) - 1) ^ ((1 << (32 - (28 if cidr.is_prefix else 32))) - 1)
                cidrs[cidr.key] = {
                    "Cidr": {
                        "IP": int_to_ip(cidr.network),
                        "Mask": base64.b64encode(mask.to_bytes(4, "big")).decode(),
                    },
                    "IPAddresses": entries,
                    "IsPrefix": cidr.is_prefix,
                    "AddressFamily": "",
                }
            enis[eni.eni_id] = {
                "ID": eni.eni_id,
                "IsPrimary": eni.is_primary,
                "IsTrunk": eni.is_trunk,
                "IsEFA": eni.is_efa,
                "DeviceNumber": eni.device_number,
                "AvailableIPv4Cidrs": cidrs,
                "IPv6Cidrs": {},
                "IsExcludedForPodIPs": eni.is_excluded,
                "RouteTableID": 254 if eni.is_primary else eni.device_number + 1,
                "SubnetID": "",
            }
        out[str(ds.network_card)] = {
            "TotalIPs": sum(c.size for e in ds.enis for c in e.cidrs),
            "AssignedIPs": sum(c.assigned for e in ds.enis for c in e.cidrs),
            "ENIs": enis,
        }
    return out


__all__ = [
    "CHECKPOINT_VERSION",
    "DumpWarning",
    "NodeDump",
    "from_describe_network_interfaces",
    "format_time",
    "from_introspection",
    "kind_of",
    "parse_time",
    "read_json",
    "read_node_dump",
    "to_introspection",
]
