"""Choices of compliance monitoring: requirements, sources, evaluations, cases, follow-ups, desk.

Each state machine's allowed moves sit next to its statuses, so services and tests read one map.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceKind(models.TextChoices):
    """Which external registry a source is."""

    SOCIAL_SECURITY = "social_security", _("Social Security Institute")
    REVENUE = "revenue", _("Revenue authority")
    BANK = "bank", _("Commercial bank")


class Transport(models.TextChoices):
    HTTP = "http", _("HTTP JSON API")
    FILE = "file", _("CSV file drop")


class RequirementKind(models.TextChoices):
    """What a borrower must keep up while the loan runs (each needs one kind of evidence)."""

    TAX_REGULAR = "tax_regular", _("Tax situation regular")
    SOCIAL_SECURITY_PAID = "social_security_paid", _("Social security contributions paid")
    NO_BANK_ARREARS = "no_bank_arrears", _("No arrears at any bank beyond the threshold")
    JOBS_KEPT = "jobs_kept", _("Jobs kept at or above the threshold")
    REPORT_SUBMITTED = "report_submitted", _("Periodic report submitted")


# The source whose records prove each requirement (reports and jobs come from our own records).
REQUIREMENT_SOURCE: dict[str, str | None] = {
    RequirementKind.TAX_REGULAR: SourceKind.REVENUE,
    RequirementKind.SOCIAL_SECURITY_PAID: SourceKind.SOCIAL_SECURITY,
    RequirementKind.NO_BANK_ARREARS: SourceKind.BANK,
    RequirementKind.JOBS_KEPT: SourceKind.SOCIAL_SECURITY,
    RequirementKind.REPORT_SUBMITTED: None,
}


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Weight of a severity in the worklist's risk score and the days allowed to resolve a case.
SEVERITY_WEIGHT: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 5}
SEVERITY_SLA_DAYS: dict[str, int] = {"low": 30, "medium": 14, "high": 7, "critical": 3}


class CheckStatus(models.TextChoices):
    """Outcome of evaluating one requirement. Unknown and stale are never compliant."""

    COMPLIANT = "compliant", _("Compliant")
    NON_COMPLIANT = "non_compliant", _("Non-compliant")
    UNKNOWN = "unknown", _("Unknown (no data)")
    STALE = "stale", _("Stale (data too old)")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    ON_DEMAND = "on_demand", _("Refresh now")
    UPLOAD = "upload", _("File uploaded")
    INBOUND = "inbound", _("Inbound folder")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Succeeded with quarantined rows")
    FAILED = "failed", _("Failed")


class ReconciliationReason(models.TextChoices):
    NO_MATCH = "no_match", _("No party with this NIF or number")
    AMBIGUOUS = "ambiguous", _("Several parties match")
    IDENTIFIER_MISMATCH = (
        "identifier_mismatch",
        _("NIF and registry number point to different parties"),
    )


class ReconciliationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MATCHED = "matched", _("Matched to a party")
    DISMISSED = "dismissed", _("Dismissed")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTACTED = "contacted", _("Borrower contacted")
    SOLUTION_AGREED = "solution_agreed", _("Solution agreed")
    CLOSED = "closed", _("Closed")


CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset(
        {CaseStatus.CONTACTED, CaseStatus.SOLUTION_AGREED, CaseStatus.CLOSED}
    ),
    CaseStatus.CONTACTED: frozenset({CaseStatus.SOLUTION_AGREED, CaseStatus.CLOSED}),
    CaseStatus.SOLUTION_AGREED: frozenset({CaseStatus.CONTACTED, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


class CaseOutcome(models.TextChoices):
    CURED = "cured", _("Cured: a later check is compliant")
    LOAN_ENDED = "loan_ended", _("Loan ended")
    ESCALATED = "escalated", _("Escalated to recovery")
    FALSE_ALARM = "false_alarm", _("False alarm (registry error)")


class Solution(models.TextChoices):
    """The playbook: what staff propose for each kind of non-compliance."""

    SOCIAL_SECURITY_PLAN = "social_security_plan", _("Payment plan with social security")
    TAX_REGULARISATION = "tax_regularisation", _("Tax regularisation")
    RESTRUCTURING_WATCH = "restructuring_watch", _("Restructuring with a watch period")
    COACHING_REFERRAL = "coaching_referral", _("Coaching referral")
    REPORT_REMINDER = "report_reminder", _("Help to prepare and submit the report")


PLAYBOOK: dict[str, str] = {
    RequirementKind.TAX_REGULAR: Solution.TAX_REGULARISATION,
    RequirementKind.SOCIAL_SECURITY_PAID: Solution.SOCIAL_SECURITY_PLAN,
    RequirementKind.NO_BANK_ARREARS: Solution.RESTRUCTURING_WATCH,
    RequirementKind.JOBS_KEPT: Solution.COACHING_REFERRAL,
    RequirementKind.REPORT_SUBMITTED: Solution.REPORT_REMINDER,
}


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")


class FollowUpOutcome(models.TextChoices):
    """Outcome codes of a field call or visit."""

    WILL_REGULARISE = "will_regularise", _("Reached: will regularise")
    REGULARISED = "regularised", _("Reached: says it is regularised (document seen)")
    NEEDS_HELP = "needs_help", _("Reached: needs help")
    REFUSED = "refused", _("Reached: refuses")
    NOT_REACHED = "not_reached", _("Not reached")
    WRONG_CONTACT = "wrong_contact", _("Wrong number or address")


class DeskReason(models.TextChoices):
    """Why a walk-in came to the service desk."""

    REPAYMENT = "repayment", _("Repayment or balance question")
    NEW_LOAN = "new_loan", _("New loan or renewal")
    COMPLIANCE_DOCUMENT = "compliance_document", _("Bring a tax or social security document")
    COMPLIANCE_HELP = "compliance_help", _("Help with tax or social security")
    COACHING = "coaching", _("Coaching or training")
    COMPLAINT = "complaint", _("Complaint")
    INFORMATION = "information", _("General information")


class DeskVisitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    IN_SERVICE = "in_service", _("Being served")
    DONE = "done", _("Served")
    LEFT = "left", _("Left without service")


DESK_TRANSITIONS: dict[str, frozenset[str]] = {
    DeskVisitStatus.WAITING: frozenset({DeskVisitStatus.IN_SERVICE, DeskVisitStatus.LEFT}),
    DeskVisitStatus.IN_SERVICE: frozenset({DeskVisitStatus.DONE}),
    DeskVisitStatus.DONE: frozenset(),
    DeskVisitStatus.LEFT: frozenset(),
}


class HandOff(models.TextChoices):
    NONE = "none", _("None")
    CASE = "case", _("Compliance case")
    TASK = "task", _("Task")
    APPOINTMENT = "appointment", _("Appointment")
