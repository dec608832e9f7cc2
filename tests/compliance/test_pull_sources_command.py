"""The pull_sources command pulls every active HTTP source over real HTTP (the sandboxes)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from compliance.choices import SourceKind, Transport
from compliance.models import SourceRun
from tests.compliance.factories import make_source


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.COMPLIANCE_HTTP_BACKOFF = 0.01


def test_every_active_http_source_is_pulled_and_reported(
    db, inps_sandbox, revenue_sandbox, registry_tokens
):
    # given
    make_source(
        SourceKind.SOCIAL_SECURITY,
        code="inps",
        base_url=inps_sandbox.url,
        token_env="INPS_API_TOKEN",
    )
    make_source(SourceKind.REVENUE, code="dnre", base_url="http://127.0.0.1:9", is_active=False)
    make_source(SourceKind.SOCIAL_SECURITY, code="inps-files", transport=Transport.FILE)
    out = io.StringIO()
    # when
    call_command("pull_sources", stdout=out)
    # then
    (line,) = out.getvalue().splitlines()
    assert line.startswith("inps: succeeded, ")
    assert list(SourceRun.objects.values_list("source__code", "status")) == [("inps", "succeeded")]


def test_an_unknown_source_is_refused(db):
    with pytest.raises(CommandError, match="No active HTTP source named nope"):
        call_command("pull_sources", source=["nope"])
