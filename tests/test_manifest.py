"""Reading the aws-node environment (``vpccni_model.manifest``) from the inputs users have: the
DaemonSet YAML, env files and ``kubectl set env --list`` output, and every way they go wrong.
Expected values are read off the fixtures by hand (tests/data/README.md)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from vpccni_model import ENV_VARIABLES, MANIFEST_ENV, ConfigError
from vpccni_model.manifest import parse_aws_node_env, read_aws_node_env

DATA = Path(__file__).parent / "data"
SHIPPED = DATA / "aws-k8s-cni.yaml"
KUBECTL_GET = DATA / "aws-node-kubectl-get.yaml"
SET_ENV_LIST = DATA / "aws-node-set-env-list.txt"


def error_of(data: bytes | str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_aws_node_env(data, "x.yaml")
    assert (caught.value.field, caught.value.value) == ("manifest", "x.yaml")
    return caught.value.reason


# -- the shipped manifest ---------------------------------------------------------------------


def test_the_shipped_manifest_gives_manifest_env() -> None:
    read = read_aws_node_env(SHIPPED)
    assert (read.kind, read.container, read.source) == ("daemonset", "aws-node", str(SHIPPED))
    assert {name: read.env[name] for name in MANIFEST_ENV} == dict(MANIFEST_ENV)
    # The one variable the model reads that the manifest sets and MANIFEST_ENV leaves out: it
    # only decides whether ipamd starts, and "standard" is valid (and ipamd's default).
    modelled = {name for name in read.env if name in ENV_VARIABLES}
    assert modelled - set(MANIFEST_ENV) == {"NETWORK_POLICY_ENFORCING_MODE"}
    assert read.env["NETWORK_POLICY_ENFORCING_MODE"] == "standard"
    assert len(read.env) == 25  # literal values of container aws-node
    assert dict(read.not_evaluated) == {
        "MY_NODE_NAME": "field path spec.nodeName",
        "MY_POD_NAME": "field path metadata.name",
    }
    assert "DISABLE_TCP_EARLY_DEMUX" not in read.env  # init container
    assert list(read.env)[:2] == ["ADDITIONAL_ENI_TAGS", "AWS_VPC_CNI_NODE_PORT_SUPPORT"]
    assert read.findings == ()


def test_kubectl_get_output_reads_only_the_aws_node_container() -> None:
    read = read_aws_node_env(KUBECTL_GET)
    assert read.kind == "daemonset"
    assert read.env["WARM_IP_TARGET"] == "5"  # not 99 (nodeagent) or 77 (init container)
    assert read.env["ENABLE_PREFIX_DELEGATION"] == "true"
    assert read.env["CLUSTER_NAME"] == "prod-eu-west-1"
    assert "MINIMUM_IP_TARGET" not in read.env
    assert read.not_evaluated["MINIMUM_IP_TARGET"] == (
        "configmap aws-node-tuning, key minimum-ip-target"
    )
    assert "DISABLE_TCP_EARLY_DEMUX" not in read.env
    assert len(read.env) == 27


def test_kubectl_set_env_list_reads_the_aws_node_section() -> None:
    read = read_aws_node_env(SET_ENV_LIST)
    assert (read.kind, read.container) == ("kubectl-set-env", "aws-node")
    assert read.env["WARM_IP_TARGET"] == "2"
    assert read.env["MINIMUM_IP_TARGET"] == "12"
    assert read.env["MAX_ENI"] == "2"
    assert read.env["ADDITIONAL_ENI_TAGS"] == '{"team":"platform"}'
    assert set(read.not_evaluated) == {"MY_NODE_NAME", "MY_POD_NAME"}
    assert len(read.env) == 28


def test_a_list_of_items_and_json_are_read() -> None:
    listing = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: aws-node}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: aws-node, namespace: kube-system}
  spec:
    template:
      spec:
        containers:
        - name: aws-node
          env:
          - {name: WARM_IP_TARGET, value: "3"}
          - {name: EMPTY}
"""
    read = parse_aws_node_env(listing)
    assert dict(read.env) == {"WARM_IP_TARGET": "3", "EMPTY": ""}
    as_json = json.dumps(
        {
            "kind": "DaemonSet",
            "metadata": {"name": "aws-node"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "aws-node", "env": [{"name": "MAX_ENI", "value": "2"}]}
            ]}}},
        }
    )  # fmt: skip
    assert dict(parse_aws_node_env(as_json).env) == {"MAX_ENI": "2"}


def daemonset(env: str, extra: str = "", container: str = "aws-node") -> str:
    return f"""kind: DaemonSet
metadata:
  name: aws-node
spec:
  template:
    spec:
      containers:
      - name: {container}
{extra}        env:
{env}"""


def test_duplicates_keep_the_last_as_kubernetes_does() -> None:
    read = parse_aws_node_env(
        daemonset(
            "        - {name: WARM_IP_TARGET, value: '2'}\n"
            "        - {name: WARM_IP_TARGET, value: '5'}\n"
            "        - {name: MAX_ENI, value: '2'}\n"
            "        - {name: MAX_ENI, valueFrom: {secretKeyRef: {name: s, key: k}}}\n"
        )
    )
    assert dict(read.env) == {"WARM_IP_TARGET": "5"}
    assert dict(read.not_evaluated) == {"MAX_ENI": "secret s, key k"}
    assert [(f.code, f.variable, f.ipamd_uses) for f in read.findings] == [
        ("duplicate-variable", "MAX_ENI", "MAX_ENI from secret s, key k"),
        ("duplicate-variable", "WARM_IP_TARGET", "WARM_IP_TARGET=5"),
    ]
    assert "Kubernetes keeps the last, WARM_IP_TARGET=5" in read.findings[1].message


def test_value_from_kinds_are_described_in_kubectl_words() -> None:
    read = parse_aws_node_env(
        daemonset(
            "        - {name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}\n"
            "        - name: B\n"
            "          valueFrom:\n"
            "            resourceFieldRef: {containerName: c, resource: requests.memory}\n"
            "        - {name: C, valueFrom: {configMapKeyRef: {name: m, key: k}}}\n"
            "        - {name: D, valueFrom: {}}\n"
        )
    )
    assert dict(read.not_evaluated) == {
        "A": "resource field limits.cpu",
        "B": "resource field c/requests.memory",
        "C": "configmap m, key k",
        "D": "an unreadable valueFrom",
    }


def test_env_from_is_reported_not_guessed() -> None:
    read = parse_aws_node_env(
        daemonset(
            "        - {name: WARM_IP_TARGET, value: '2'}\n",
            "        envFrom:\n        - configMapRef: {name: cni-extra}\n",
        )
    )
    assert dict(read.env) == {"WARM_IP_TARGET": "2"}
    (finding,) = read.findings
    assert (finding.code, finding.severity, finding.variable) == (
        "not-evaluated",
        "warning",
        "envFrom",
    )
    assert "configmap cni-extra" in finding.message


# -- env files --------------------------------------------------------------------------------


def test_env_file_lines() -> None:
    text = (
        "# tuned for the batch node group\n"
        "\n"
        "WARM_IP_TARGET=5\n"
        "export MINIMUM_IP_TARGET=10\n"
        '  ENABLE_PREFIX_DELEGATION="true"\n'
        "CLUSTER_NAME='prod'\n"
        'ADDITIONAL_ENI_TAGS={"a":"b=c"}\n'
        "WARM_ENI_TARGET=1 # inline text is part of the value\n"
        "MAX_ENI=2  \n"
        "EMPTY=\n"
        'HALF_QUOTED="x\n'
    )
    read = parse_aws_node_env(text, "tuning.env")
    assert (read.kind, read.container, read.source) == ("env-file", None, "tuning.env")
    assert dict(read.env) == {
        "WARM_IP_TARGET": "5",
        "MINIMUM_IP_TARGET": "10",
        "ENABLE_PREFIX_DELEGATION": "true",
        "CLUSTER_NAME": "prod",
        "ADDITIONAL_ENI_TAGS": '{"a":"b=c"}',
        "WARM_ENI_TARGET": "1 # inline text is part of the value",
        "MAX_ENI": "2  ",
        "EMPTY": "",
        "HALF_QUOTED": '"x',
    }
    assert read.not_evaluated == {}


def test_env_file_duplicates_keep_the_last() -> None:
    read = parse_aws_node_env("WARM_IP_TARGET=1\nWARM_IP_TARGET=4\n")
    assert dict(read.env) == {"WARM_IP_TARGET": "4"}
    assert [f.code for f in read.findings] == ["duplicate-variable"]


def test_kubectl_list_values_with_newlines_continue() -> None:
    text = (
        "# DaemonSet aws-node, container aws-node\n"
        "ADDITIONAL_ENI_TAGS={\n"
        '  "team": "platform"\n'
        "}\n"
        "WARM_IP_TARGET=3\n"
    )
    read = parse_aws_node_env(text)
    assert dict(read.env) == {
        "ADDITIONAL_ENI_TAGS": '{\n  "team": "platform"\n}',
        "WARM_IP_TARGET": "3",
    }
    assert read.findings == ()


# -- standard input ---------------------------------------------------------------------------


def test_dash_reads_standard_input_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("WARM_IP_TARGET=6\n"))
    read = read_aws_node_env("-")
    assert (dict(read.env), read.source) == ({"WARM_IP_TARGET": "6"}, "<stdin>")


def test_dash_reads_standard_input_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = SET_ENV_LIST.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert read_aws_node_env("-").env["MINIMUM_IP_TARGET"] == "12"


# -- errors -----------------------------------------------------------------------------------


def test_missing_directory_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file") as caught:
        read_aws_node_env(tmp_path / "nope.yaml")
    assert caught.value.field == "manifest"
    with pytest.raises(ConfigError, match="is a directory"):
        read_aws_node_env(tmp_path)
    locked = tmp_path / "locked.yaml"
    locked.write_text("WARM_IP_TARGET=1\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):  # root reads anything
            pytest.skip("running as a user that can read a mode-000 file")
        with pytest.raises(ConfigError, match="permission denied"):
            read_aws_node_env(locked)
    finally:
        locked.chmod(0o600)


def test_permission_denied_and_other_os_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_open = builtins.open
    errors = {
        str(tmp_path / "locked.yaml"): PermissionError(13, "Permission denied"),
        str(tmp_path / "bad-disk.yaml"): OSError(5, "Input/output error"),
    }

    def failing(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str) and file in errors:
            raise errors[file]
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", failing)
    with pytest.raises(ConfigError, match="permission denied"):
        read_aws_node_env(tmp_path / "locked.yaml")
    with pytest.raises(ConfigError, match="cannot be read: Input/output error"):
        read_aws_node_env(tmp_path / "bad-disk.yaml")


def test_binary_and_non_utf8_input() -> None:
    assert "binary" in error_of(b"\x7fELF\x02\x01\x01\x00\x00")
    reason = error_of(b"WARM_IP_TARGET=1\nNAME=caf\xe9\n")
    assert reason == "is not UTF-8 text (line 2, byte 9); is it binary?"  # "NAME=caf" + 0xE9


def test_a_byte_order_mark_is_accepted() -> None:
    assert dict(parse_aws_node_env(b"\xef\xbb\xbfWARM_IP_TARGET=1\n").env) == {
        "WARM_IP_TARGET": "1"
    }


def test_empty_input() -> None:
    assert error_of("").startswith("is empty")
    assert error_of("# only a comment\n\n").startswith("is empty")


def test_yaml_syntax_error_names_the_line() -> None:
    text = "kind: DaemonSet\nmetadata:\n  name: aws-node\n spec: [\n"
    reason = error_of(text)
    assert reason.startswith("YAML syntax error at line 4")


def test_no_daemonset_aws_node() -> None:
    text = (
        "kind: Deployment\nmetadata: {name: coredns}\n"
        "---\nkind: DaemonSet\nmetadata: {name: kube-proxy}\n"
    )
    assert error_of(text) == (
        "has no DaemonSet named aws-node (found: Deployment coredns, DaemonSet kube-proxy)"
    )


def test_two_daemonsets_named_aws_node() -> None:
    one = "kind: DaemonSet\nmetadata: {name: aws-node, namespace: %s}\n"
    assert error_of(one % "a" + "---\n" + one % "b") == "has 2 DaemonSets named aws-node (a, b)"


def test_no_aws_node_container() -> None:
    text = daemonset("        - {name: X, value: '1'}\n", container="sidecar")
    assert error_of(text) == (
        "the DaemonSet aws-node has no container named aws-node (containers: sidecar)"
    )
    text = (
        "# DaemonSet aws-node, container aws-eks-nodeagent\n"
        "# MY_NODE_NAME from field path spec.nodeName\n"
    )
    assert error_of(text) == (
        "the DaemonSet aws-node has no container aws-node (containers: aws-eks-nodeagent)"
    )
    assert error_of("# Deployment coredns, container coredns\n") == (
        "has no DaemonSet aws-node (found: Deployment coredns)"
    )


def test_a_yaml_number_value_is_refused_as_kubernetes_refuses_it() -> None:
    reason = error_of(daemonset("        - {name: WARM_IP_TARGET, value: 5}\n"))
    assert reason == (
        "container aws-node: env WARM_IP_TARGET has the YAML int 5; Kubernetes takes only "
        'strings (quote it: "5")'
    )


def test_an_entry_without_a_name() -> None:
    reason = error_of(daemonset("        - {value: '5'}\n"))
    assert reason == "container aws-node: env[0] has no name"


def test_neither_format_points_at_the_line() -> None:
    reason = error_of("WARM_IP_TARGET=5\nMINIMUM IP TARGET 3\n")
    assert reason.endswith("line 2 ('MINIMUM IP TARGET 3') is not NAME=VALUE")
    assert "nor kubectl set env --list output" in reason


def test_yaml_that_is_not_kubernetes_says_what_is_expected() -> None:
    reason = error_of('env:\n  WARM_IP_TARGET: "5"\n')
    assert reason.startswith("is YAML but holds no Kubernetes object (no kind: field")
    assert "kubectl get ds aws-node -n kube-system -o yaml" in reason
    reason = error_of("# Notes\n\n`kubectl get ds` lists them\n")
    assert reason.startswith("YAML syntax error at line 3, column 1")
    assert reason.endswith("kubectl set env daemonset/aws-node -n kube-system --list output)")


def test_windows_line_endings_do_not_reach_the_values() -> None:
    read = parse_aws_node_env(b"ENABLE_IPv4=true\r\nWARM_IP_TARGET=5\r\n")
    assert dict(read.env) == {"ENABLE_IPv4": "true", "WARM_IP_TARGET": "5"}


def test_a_continued_value_set_twice_shows_its_whole_value() -> None:
    text = "# DaemonSet aws-node, container aws-node\nA=1\nA=x\ny\n"
    read = parse_aws_node_env(text)
    assert dict(read.env) == {"A": "x\ny"}
    assert read.findings[0].message.endswith('keeps the last, A="x\\ny"')
