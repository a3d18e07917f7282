"""The test session's botocore sessions share parsed service models, and nothing else."""

from __future__ import annotations

import boto3
import botocore.session
from moto import mock_aws

from tests.botocore_models import SharedCacheLoader


def test_a_new_mock_session_reuses_the_models_an_earlier_one_parsed() -> None:
    sessions = []
    for _ in range(2):
        with mock_aws():  # each block starts a new boto3 default session
            boto3.client("sns", region_name="us-east-1")
            sessions.append(boto3.DEFAULT_SESSION)
    first, second = sessions
    assert first is not None
    assert second is not None
    assert first is not second
    assert first._loader is not second._loader
    assert second.client("sns").meta.service_model._service_description is (
        first.client("sns").meta.service_model._service_description
    )


def test_loaders_share_by_search_path_only() -> None:
    plain = botocore.session.Session().get_component("data_loader")
    with_boto3 = boto3.session.Session()._loader
    assert isinstance(plain, SharedCacheLoader)
    assert isinstance(with_boto3, SharedCacheLoader)
    assert plain is not with_boto3
    assert plain.search_paths != with_boto3.search_paths  # boto3 appends its own data folder to its session's
    assert plain._cache is not with_boto3._cache
