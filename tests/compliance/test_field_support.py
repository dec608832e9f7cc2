"""Builders shared by the field follow-up tests (no tests here): clients, their cases and
follow-ups, made with the real services (``compliance.cases.case_open``, ``follow_up_record``)."""

from __future__ import annotations

import datetime
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.cases import case_open
from compliance.choices import RequirementKind, Severity
from compliance.field import follow_up_record
from tests.crm.factories import make_person

# The smallest valid images: the service sniffs the content, not the name.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def photo(content: bytes = JPEG, name: str = "document.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def client_with_case(
    agent,
    *,
    kind: str = RequirementKind.TAX_REGULAR,
    severity: str = Severity.HIGH,
    today: datetime.date | None = None,
    **person,
):
    """A client assigned to ``agent`` (who creates them) and a case about them, which the
    assignment rules give to the agent."""
    party = make_person(agent, **person)
    case, created = case_open(party=party, kind=kind, severity=severity, today=today)
    assert created and case.owner_id == agent.pk
    return party, case


def record(agent, party, *, case=None, kind="call", outcome="will_regularise", **fields):
    follow_up, created = follow_up_record(
        actor=agent,
        client_uuid=fields.pop("client_uuid", uuid.uuid4()),
        party=party,
        case=case,
        kind=kind,
        outcome=outcome,
        **fields,
    )
    assert created
    return follow_up
