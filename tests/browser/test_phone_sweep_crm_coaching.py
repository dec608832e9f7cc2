"""The newer pages (CRM follow-up, coaching, e-learning), opened on a phone (390 × 844).

The same sweep as ``test_phone_sweep``, reusing its helpers: each persona opens its pages one after
the other; every page must answer 200 at the address asked for, show what it is about and fit the
screen without sideways scrolling. The data is built through the real services (the factories of
``tests.crm``, ``tests.coaching`` and ``tests.elearning``), with long Cape Verdean names.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest

from accounting.chart import chart_install
from coaching import services as coaching_services
from coaching.models import CoachingInvoice, Engagement
from crm import interactions, leads
from crm.choices import InteractionKind, LeadSource, Relationship
from crm.models import Person
from loans.services import business_date
from tests.browser.test_phone_sweep import Screen, _sweep
from tests.coaching.factories import (
    accepted_engagement,
    day,
    held_sessions,
    make_coach,
    make_product,
)
from tests.crm.factories import make_person
from tests.elearning.factories import make_course, make_lesson

D = Decimal

CLIENT_FIRST = "Maria da Conceição"
CLIENT_LAST = "Tavares Semedo Fortes"
CLIENT_NAME = f"{CLIENT_FIRST} {CLIENT_LAST}"
PROSPECT_NAME = "Crispiniano Gonçalves Tavares de Pina"
TASK_TITLE = "Visit the shop in Achada Santo António to photograph the new stock of the business"
SEGMENT_NAME = "Prospects of Santiago interested in working capital"
COURSE_TITLE = "Contabilidade simplificada para pequenos negócios do arquipélago"
PRODUCT_NAME = "Acompanhamento empresarial intensivo para comércio inter-ilhas"
COACH_FIRST, COACH_LAST = "Hermenegildo Alexandre", "Andrade Brito Sanches"


@dataclass
class Sweep:
    client: Person
    engagement: Engagement
    invoice: CoachingInvoice


@pytest.fixture
def sweep(praia, loan_officer, branch_manager, manager, coach) -> Sweep:
    chart_install()
    today = business_date()
    client = make_person(
        loan_officer,
        first_name=CLIENT_FIRST,
        last_name=CLIENT_LAST,
        email="maria.conceicao.tavares.semedo.fortes@correio-exemplo.cv",
        assigned_to=loan_officer,
    )
    # A likely duplicate of the client, and a prospect in the pipeline.
    make_person(loan_officer, first_name=CLIENT_FIRST, last_name=CLIENT_LAST, phone="+2389912345")
    prospect = make_person(
        loan_officer,
        first_name="Crispiniano Gonçalves",
        last_name="Tavares de Pina",
        relationship=Relationship.PROSPECT,
        assigned_to=loan_officer,
    )
    leads.lead_create(actor=loan_officer, party=prospect, source=LeadSource.FIELD_VISIT)
    leads.segment_create(actor=loan_officer, name=SEGMENT_NAME, query="island=santiago")
    interactions.task_create(actor=loan_officer, title=TASK_TITLE, due_date=today, party=client)
    interactions.interaction_record(
        actor=loan_officer,
        party=client,
        kind=InteractionKind.VISIT,
        summary="Visited the grocery shop; stock of rice and oil running low before the holidays",
        next_action_date=today + datetime.timedelta(days=3),
        next_action_title="Call back about the working capital application",
    )
    course = make_course(manager, title=COURSE_TITLE)
    make_lesson(manager, course)

    coach.first_name, coach.last_name = COACH_FIRST, COACH_LAST
    coach.save(update_fields=["first_name", "last_name"])
    product = make_product(manager, name=PRODUCT_NAME, package_hours=D("10"))
    profile = make_coach(manager, coach)
    engagement = accepted_engagement(branch_manager, party=client, product=product, coach=profile)
    held_sessions(coach, engagement, [60, 90])
    invoice = coaching_services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    return Sweep(client=client, engagement=engagement, invoice=invoice)


def test_loan_officer_crm_pages_fit_a_phone(open_page, screenshot, sweep, loan_officer):
    client = sweep.client.pk
    screens = [
        Screen("tasks", "/parties/tasks/", TASK_TITLE),
        Screen("timeline", f"/parties/{client}/timeline/", "stock of rice and oil"),
        Screen("leads", "/parties/leads/", PROSPECT_NAME),
        Screen("segments", "/parties/segments/", SEGMENT_NAME),
        Screen("duplicates", "/parties/duplicates/", "Likely duplicates"),
        Screen("courses", "/learning/", COURSE_TITLE),
    ]
    _sweep(open_page, screenshot, loan_officer, screens)


def test_manager_coaching_pages_fit_a_phone(open_page, screenshot, sweep, manager):
    coach_name = f"{COACH_FIRST} {COACH_LAST}"
    screens = [
        Screen("coaching", "/coaching/", "Coaching"),
        Screen("coaches", "/coaching/coaches/", coach_name),
        Screen("coaching-products", "/coaching/products/", PRODUCT_NAME),
        Screen("engagement", f"/coaching/engagements/{sweep.engagement.pk}/", CLIENT_NAME),
        Screen("invoices", "/coaching/invoices/", sweep.invoice.number),
        Screen("invoice", f"/coaching/invoices/{sweep.invoice.pk}/", sweep.invoice.number),
        Screen("report-activity", "/coaching/reports/activity/", "Coaching activity"),
        Screen("report-portfolio", "/coaching/reports/portfolio/", "Portfolio quality"),
        Screen("referral-rules", "/coaching/referral-rules/", "Coaching referral rules"),
        Screen("client-report", f"/coaching/clients/{sweep.client.pk}/report/", CLIENT_NAME),
    ]
    _sweep(open_page, screenshot, manager, screens)


def test_coach_session_form_fits_a_phone(open_page, screenshot, sweep, coach):
    screens = [
        Screen(
            "session-new",
            f"/coaching/engagements/{sweep.engagement.pk}/sessions/new/",
            "Log session",
        ),
    ]
    _sweep(open_page, screenshot, coach, screens)
