"""`source.anonymous`: both S3 stores read a bucket that allows anonymous reads with unsigned
requests, with no credentials anywhere in the environment; without it they say how to fix it."""

from __future__ import annotations

import os

import botocore
import pytest

from tests.s3servers import S3Bucket, S3Server
from xetra_etl.common.adapters.storage import factory
from xetra_etl.common.adapters.storage.s3 import S3Store, make_client
from xetra_etl.common.adapters.storage.s3_obstore import ObstoreS3Store
from xetra_etl.common.infra.errors import ExitCode, XetraEtlError
from xetra_etl.common.ports import ObjectStore

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.fixture
def public_bucket(moto_server: S3Server) -> S3Bucket:
    """A bucket with one public-read object, written with credentials: moto's server answers
    unsigned requests as AWS does, by the ACL (the test SeaweedFS refuses them)."""
    bucket = S3Bucket(moto_server, moto_server.make_bucket())
    moto_server.admin.put_object(
        Bucket=bucket.name, Key="pds/2022-05-13/a.csv", Body=b"x,y\n", ACL="public-read"
    )
    return bucket


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture(params=["botocore", "obstore"])
def client_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "botocore":
        monkeypatch.setattr(factory, "obstore_installed", lambda: False)  # as a control image
    return str(request.param)


@pytest.mark.usefixtures("no_credentials")
def test_store_reads_a_public_bucket_unsigned_when_anonymous_without_credentials(
    public_bucket: S3Bucket, client_kind: str
) -> None:
    store = factory.open_store(
        public_bucket.uri("pds"),
        endpoint_url=public_bucket.server.endpoint_url,
        region="eu-central-1",
        anonymous=True,
    )
    assert isinstance(store, S3Store if client_kind == "botocore" else ObstoreS3Store)

    assert [info.key for info in store.list("")] == ["2022-05-13/a.csv"]
    assert store.get("2022-05-13/a.csv").data == b"x,y\n"
    _close(store)


@pytest.mark.usefixtures("no_credentials")
def test_store_without_anonymous_names_the_setting_when_no_credentials_are_found(
    public_bucket: S3Bucket, client_kind: str
) -> None:
    with pytest.raises(XetraEtlError) as caught:
        store = factory.open_store(
            public_bucket.uri("pds"), endpoint_url=public_bucket.server.endpoint_url
        )
        list(store.list(""))
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "no AWS credentials found" in str(caught.value)
    assert "source.anonymous: true" in str(caught.value)


def test_botocore_client_is_unsigned_and_in_the_region_when_configured() -> None:
    store = factory.open_store("s3://b/p", region="eu-central-1", anonymous=True)
    if isinstance(store, ObstoreS3Store):
        store = S3Store("b", "p", make_client(region="eu-central-1", anonymous=True))
    assert isinstance(store, S3Store)
    assert store.client.meta.region_name == "eu-central-1"
    assert store.client.meta.config.signature_version is botocore.UNSIGNED
    _close(store)


def _close(store: ObjectStore) -> None:
    if isinstance(store, S3Store):
        store.client.close()
