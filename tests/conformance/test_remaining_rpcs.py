"""Update, Read, Delete, Invoke and DiffConfig as the engine calls them: previews work, and
operations that cannot run (no credential, a malformed ID) fail cleanly and say why."""

from __future__ import annotations

import re

import grpc
import pytest

from harness import UNKNOWN, from_struct, secret, to_struct, urn
from pulumi.runtime.proto import provider_pb2
from test_lifecycle import CONNECTION, FLEX, SERVER, SERVER_ID, SERVER_STATE, SUBSCRIPTION

PRINCIPAL = "pgentra:index:Principal"
GRANT = "pgentra:index:Grant"
# A server on a loopback port nothing listens on: these tests never reach past this machine.
LOCAL = {**CONNECTION, "host": "127.0.0.1", "port": 9}
PRINCIPAL_ID = "postgresql://pg-admins@127.0.0.1:9/postgres?principal=app-myapp-prod"
PRINCIPAL_STATE = {"connection": LOCAL, "name": "app-myapp-prod", "isAdmin": False, "isMfa": False}

DiffChanges = provider_pb2.DiffResponse.DiffChanges
CLEAN_FAILURES = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INVALID_ARGUMENT)


def update(provider, olds: dict, news: dict, preview: bool) -> provider_pb2.UpdateResponse:
    return provider.stub.Update(
        provider_pb2.UpdateRequest(
            id=SERVER_ID, urn=urn(FLEX, "db"), olds=to_struct(olds), news=to_struct(news),
            old_inputs=to_struct(SERVER), preview=preview, name="db", type=FLEX,
        ),
        timeout=10,
    )


def assert_clean_failure(err: pytest.ExceptionInfo, verb: str) -> None:
    """Nothing changed, and the message names the operation and why (no credential to sign in)."""
    assert err.value.code() in CLEAN_FAILURES, err.value.code()
    details = err.value.details() or ""
    assert details.startswith(f"{verb} {PRINCIPAL}"), details
    assert "client secret" in details and "managed identity" in details, details


def test_preview_update_keeps_stable_outputs_and_marks_volatile_ones_unknown(configured):
    news = from_struct(configured.check(FLEX, "db", {**SERVER, "tags": {"env": "prod"}}, olds=SERVER).inputs)
    outputs = from_struct(update(configured, SERVER_STATE, news, preview=True).properties)
    assert outputs["tags"] == {"env": "prod"}
    assert outputs["fullyQualifiedDomainName"] == SERVER_STATE["fullyQualifiedDomainName"]
    assert outputs["state"] == UNKNOWN


def test_sql_update_without_a_credential_fails_cleanly_naming_the_sources(configured):
    grant = {"connection": LOCAL, "role": "app-myapp-prod", "database": "myappdb", "objectType": "table",
             "schema": "public", "privileges": ["SELECT"], "withGrantOption": False, "defaultPrivileges": False}
    grant_id = "postgresql://pg-admins@127.0.0.1:9/postgres?grant=app-myapp-prod&in=myappdb&on=table&schema=public"
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Update(
            provider_pb2.UpdateRequest(id=grant_id, urn=urn(GRANT, "g"), olds=to_struct(grant),
                                       news=to_struct({**grant, "privileges": ["INSERT", "SELECT"]}), old_inputs=to_struct(grant),
                                       name="g", type=GRANT),
            timeout=10,
        )
    assert err.value.code() in CLEAN_FAILURES, err.value.code()
    details = err.value.details() or ""
    assert details.startswith(f"updating {GRANT}") and "client secret" in details, details


def test_sql_read_of_a_malformed_id_says_which_form_an_id_has(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Read(provider_pb2.ReadRequest(id="pg-myapp-prod/app", urn=urn(PRINCIPAL, "app"), name="app", type=PRINCIPAL), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.code()
    assert "postgresql://" in (err.value.details() or ""), err.value.details()


def test_sql_delete_without_a_credential_fails_cleanly_naming_the_sources(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Delete(
            provider_pb2.DeleteRequest(id=PRINCIPAL_ID, urn=urn(PRINCIPAL, "app"), properties=to_struct(PRINCIPAL_STATE),
                                       name="app", type=PRINCIPAL),
            timeout=10,
        )
    assert_clean_failure(err, "deleting")


def test_invoke_with_a_bad_argument_answers_a_failure_naming_it(configured):
    resp = configured.stub.Invoke(
        provider_pb2.InvokeRequest(tok="pgentra:index:getAccessToken", args=to_struct({"scope": 42})), timeout=10
    )
    assert [f.property for f in resp.failures] == ["scope"], resp.failures


def test_invoke_of_an_unknown_function_is_refused_by_name(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Invoke(provider_pb2.InvokeRequest(tok="pgentra:index:getNothing", args=to_struct({})), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "getNothing" in (err.value.details() or "")


def test_invoke_without_any_credential_lists_each_source_and_why(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Invoke(provider_pb2.InvokeRequest(tok="pgentra:index:getClientConfig", args=to_struct({})), timeout=30)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, err.value.code()
    details = err.value.details() or ""
    for source in ("client secret", "workload identity", "managed identity", "Azure CLI"):
        assert source in details, details


def test_diff_config_reports_changes_but_never_replaces_the_provider(configured):
    olds = {"environment": "public", "subscriptionId": SUBSCRIPTION}
    news = {"environment": "china", "subscriptionId": SUBSCRIPTION, "clientSecret": secret("x")}
    resp = configured.stub.DiffConfig(
        provider_pb2.DiffRequest(urn="urn:pulumi:dev::app::pulumi:providers:pgentra::default", olds=to_struct(olds),
                                 old_inputs=to_struct(olds), news=to_struct(news)),
        timeout=10,
    )
    assert resp.changes == DiffChanges.DIFF_SOME
    assert sorted(resp.diffs) == ["clientSecret", "environment"]
    assert list(resp.replaces) == []
    same = configured.stub.DiffConfig(
        provider_pb2.DiffRequest(olds=to_struct(olds), old_inputs=to_struct(olds), news=to_struct(olds)), timeout=10
    )
    assert same.changes == DiffChanges.DIFF_NONE
