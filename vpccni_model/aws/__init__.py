"""The model against real EC2: ipamd's call families through boto3 (the ``aws`` extra).

:class:`Boto3EC2` is an :class:`~vpccni_model.cloud.Ec2` for one instance: ``run_tick``,
``converge`` and a controller loop drive it as they drive ``FakeEC2``. ``make_client`` and
``retry_config`` give the boto3 client it uses (botocore's standard retry mode);
:class:`ApiMeter` counts its attempts by API and outcome. The request and response shapes
(ipamd's ENI description and tags, the metadata view of an ENI) are in ``_shapes``.
``docs/aws.md`` says what is called when, and what moto and botocore's Stubber cover in the
tests.

Importing this package needs boto3; nothing else in ``vpccni_model`` imports it.
"""

from vpccni_model.aws._client import (
    DEFAULT_MAX_ATTEMPTS,
    THROTTLING_CODES,
    ApiMeter,
    error_code,
    make_client,
    retry_config,
)
from vpccni_model.aws._driver import DESCRIBE_INSTANCES, DESCRIBE_SUBNETS, Boto3EC2
from vpccni_model.aws._shapes import (
    CLUSTER_TAG,
    CREATED_AT_TAG,
    ENI_DESCRIPTION_PREFIX,
    NODE_TAG,
    OWNER_TAG,
    eni_tags,
    observed_eni,
)

__all__ = [
    "CLUSTER_TAG",
    "CREATED_AT_TAG",
    "DEFAULT_MAX_ATTEMPTS",
    "DESCRIBE_INSTANCES",
    "DESCRIBE_SUBNETS",
    "ENI_DESCRIPTION_PREFIX",
    "NODE_TAG",
    "OWNER_TAG",
    "THROTTLING_CODES",
    "ApiMeter",
    "Boto3EC2",
    "eni_tags",
    "error_code",
    "make_client",
    "observed_eni",
    "retry_config",
]
