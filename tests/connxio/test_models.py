"""The read views check shapes without dropping anything or quoting values in errors."""

from __future__ import annotations

import pytest

from shared.connxio import IntegrationView, SubscriptionView
from shared.connxio.models import validate_document
from shared.errors import ConnxioProtocolError


def test_an_integration_view_keeps_unknown_properties_and_reads_the_etag() -> None:
    view = validate_document(
        IntegrationView,
        {"id": "a", "_etag": '"e1"', "someFutureProperty": {"x": 1}},
        operation="GET /v2/integrations/a",
    )

    assert view.etag == '"e1"'
    assert view.model_extra == {"someFutureProperty": {"x": 1}}


def test_an_integration_without_an_id_is_a_protocol_error_naming_the_field() -> None:
    with pytest.raises(ConnxioProtocolError) as caught:
        validate_document(
            list[IntegrationView], [{"id": "a"}, {"sender": "x"}], operation="GET /v2/integrations"
        )

    assert "GET /v2/integrations" in str(caught.value)
    assert "[1].id: missing" in str(caught.value)


def test_an_integration_with_a_non_string_id_is_a_protocol_error() -> None:
    with pytest.raises(ConnxioProtocolError) as caught:
        validate_document(IntegrationView, {"id": 42}, operation="GET /v2/integrations/42")

    assert "id: string_type" in str(caught.value)


def test_an_object_where_a_list_is_promised_is_a_protocol_error() -> None:
    with pytest.raises(ConnxioProtocolError) as caught:
        validate_document(list[IntegrationView], {"id": "a"}, operation="GET /v2/integrations")

    assert "(document): list_type" in str(caught.value)


def test_protocol_errors_never_quote_the_offending_value() -> None:
    secret = "decrypted-secret-value-1234"

    with pytest.raises(ConnxioProtocolError) as caught:
        validate_document(
            IntegrationView, {"id": "a", "sender": {"decryptedValue": secret}}, operation="GET x"
        )

    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None
    assert "sender: string_type" in str(caught.value)


def test_a_subscription_view_requires_an_id_and_types_active() -> None:
    with pytest.raises(ConnxioProtocolError) as caught:
        validate_document(SubscriptionView, {"name": "x", "active": "yes"}, operation="GET y")

    assert "id: missing" in str(caught.value)
    assert "active: bool_type" in str(caught.value)
