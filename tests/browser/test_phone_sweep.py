"""Every HTML page people use, opened on a phone (390 × 844) by the persona who uses it.

A realistic branch is built first through the real services: the chart of accounts, manual entries
drafted by the accountant and approved by the manager, an offer with its product, parties with
long Cape Verdean names, and loans in several states (submitted, approved, active and current,
active in arrears after a few repayments, due today, written off). Each persona then opens its
pages one after the other: every page must answer 200 at the address asked for (no redirect),
show what it is about, and fit the screen without sideways scrolling. Each page leaves a full-page
screenshot in tests/screenshots/ named after it (``<test>-<persona>-<page>-phone.png``).

The pages of one persona share a test (and one sign-in) to keep the module fast; a test checks all
its pages before failing, and its message lists every page that went wrong and why.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from accounting.chart import chart_install
from accounting.choices import AccountRole
from accounting.models import Account, JournalEntry
from accounting.services import (
    LineSpec,
    account_for_role,
    manual_entry_approve,
    manual_entry_draft,
)
from crm import services as crm_services
from crm.choices import ConsentPurpose, Gender, LinkKind, Relationship, Sector
from crm.models import Enterprise, Person
from loans.choices import OfferKind
from loans.models import Loan, LoanProduct, Offer
from loans.services import business_date, loan_write_off, product_version_create, repayment_record
from tests.browser.support import PHONE, log_in, page_widths
from tests.crm.factories import make_enterprise, make_person
from tests.factories import TEST_PASSWORD
from tests.loans.factories import active_loan, approved_loan, base_terms, submitted_loan
from users.models import User

D = Decimal

# What sticks out, for the failure message: the innermost elements whose box or text ends past the
# right edge of the screen, outside any element that scrolls or clips them.
OVERFLOWING_JS = """() => {
  const limit = window.innerWidth + 0.5;
  const clips = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
  const sticksOut = (el) => {
    const box = el.getBoundingClientRect();
    return Math.max(box.right, el.clientWidth ? box.left + el.scrollWidth : 0) > limit;
  };
  const free = (el) => {
    for (let parent = el.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      if (clips(parent)) return false;
    }
    return true;
  };
  const out = [...document.body.querySelectorAll('*')].filter((el) => sticksOut(el) && free(el));
  return out.filter((el) => !out.some((other) => other !== el && el.contains(other))).slice(0, 5)
    .map((el) => {
      const classes = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const text = el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40);
      return `<${el.tagName.toLowerCase()}${classes}> "${text}"`;
    });
}"""


@dataclass(frozen=True)
class Screen:
    """A page to open: its name (the screenshot's), its address, a text its ``main`` must show."""

    name: str
    url: str
    shows: str


# --- the data ----------------------------------------------------------------------------------

PERSON_FIRST = "Maria da Conceição"
PERSON_LAST = "Tavares Semedo Fortes"
PERSON_NAME = f"{PERSON_FIRST} {PERSON_LAST}"
ENTERPRISE_NAME = "Transportes e Logística Ribeira Grande, Lda"
OFFER_NAME = "Crédito Produtivo para Micro e Pequenas Empresas do Arquipélago"
PRODUCT_NAME = "Capital de giro para comércio e transportes inter-ilhas"
DRAFT_DESCRIPTION = (
    "Rent of the Achada Santo António office for November 2026, "
    "invoice FT 2026/1187 from Imobiliária Atlântico Sul, Lda"
)


@dataclass
class Sweep:
    """What the pages are about: the parties, the loans, the ledger."""

    person: Person
    enterprise: Enterprise
    product: LoanProduct
    submitted: Loan
    approved: Loan
    in_arrears: Loan
    due_today: Loan
    posted_entry: JournalEntry
    draft_entry: JournalEntry
    cash_account: Account


def _rename(user: User, first_name: str, last_name: str) -> None:
    """Long staff names, as the navbar, the loan pages and the audit trail show them."""
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])


def _parties(officer):
    person = make_person(
        officer,
        first_name=PERSON_FIRST,
        last_name=PERSON_LAST,
        birth_date=datetime.date(1979, 3, 14),
        civil_id="19790314F001234",
        nif="123456789",
        social_security_number="1234567890",
        phone="+2389912345",
        email="maria.conceicao.tavares.semedo.fortes@correio-exemplo.cv",
        address="Rua Cidade do Funchal, Edifício Atlântico, 3.º andar esquerdo, Achada Santo António",
        assigned_to=officer,
    )
    enterprise = make_enterprise(
        officer,
        legal_name=ENTERPRISE_NAME,
        trade_name="",
        sector=Sector.TRANSPORT,
        employees=27,
        nif="223456780",
        phone="+2382601234",
        email="administracao.geral@transportes-ribeira-grande.cv",
        address="Zona Industrial da Várzea, Armazém n.º 14, junto ao Porto da Praia",
        assigned_to=officer,
    )
    crm_services.party_link_create(
        actor=officer, from_party=person, to_party=enterprise, kind=LinkKind.OWNER
    )
    for purpose in (ConsentPurpose.DATA_PROCESSING, ConsentPurpose.REGISTRY_CHECKS):
        crm_services.consent_record(
            actor=officer,
            party=person,
            purpose=purpose,
            given_on=datetime.date(2026, 1, 5),
            notes="Signed at the Praia branch in the presence of the loan officer.",
        )
    others = [
        make_person(
            officer,
            first_name=first,
            last_name=last,
            gender=gender,
            relationship=Relationship.CLIENT,
            assigned_to=officer,
        )
        for first, last, gender in (
            ("João Baptista", "Lopes Varela Cabral", Gender.MALE),
            ("Ana Filomena", "Rodrigues Moreira da Veiga", Gender.FEMALE),
            ("Crispiniano", "Gonçalves Tavares de Pina", Gender.MALE),
        )
    ]
    return person, enterprise, others


def _product(manager, rules) -> LoanProduct:
    offer = Offer.objects.create(
        code="credito-produtivo",
        name=OFFER_NAME,
        kind=OfferKind.LOAN,
        description=(
            "Working capital and small equipment for formal and informal businesses of every "
            "island, with coaching by the institution's business advisers during the loan."
        ),
        eligibility_rules=[
            "Business running for at least six months in Cabo Verde",
            "No loan in arrears for more than thirty days in the last twelve months",
        ],
        required_documents=["id_card", "business_plan"],
        procedure_steps=[
            "Visit of the business by the loan officer, with photographs of the stock",
            "Credit committee of the branch",
            "Signature of the contract and disbursement",
        ],
        monitoring_metrics=["Portfolio at risk over 30 days", "Jobs kept and created"],
    )
    product = LoanProduct.objects.create(
        offer=offer, code="capital-giro-inter-ilhas", name=PRODUCT_NAME
    )
    product_version_create(actor=manager, product=product, terms=base_terms(rules["cash"]))
    return product


def _days_ago(days: int) -> datetime.date:
    return business_date() - datetime.timedelta(days=days)


def _loans(officer, branch_manager, product, person, enterprise, others):
    """Submitted (two), approved, in arrears, due today, written off; all the officer's."""
    today = business_date()
    soon = {"submitted_on": today, "expected_disbursement_date": today + datetime.timedelta(7)}
    submitted = submitted_loan(officer, product, borrower=person, principal="250000", **soon)
    submitted_loan(officer, product, borrower=enterprise, principal="480000", **soon)
    approved = approved_loan(
        officer,
        branch_manager,
        product,
        borrower=enterprise,
        submitted_on=_days_ago(7),
        approved_on=_days_ago(2),
        expected_disbursement_date=today,
    )
    ten_months_ago = {
        "submitted_on": _days_ago(310),
        "approved_on": _days_ago(305),
        "expected_disbursement_date": _days_ago(300),
        "disbursed_on": _days_ago(300),
    }
    in_arrears = active_loan(officer, branch_manager, product, borrower=person, **ten_months_ago)
    # Three installments paid (the third a day late), then part of the fourth; none since.
    first, second, third, fourth = in_arrears.installments.order_by("number")[:4]
    payments = [
        (first.due_date, first.total_due),
        (second.due_date, second.total_due),
        (third.due_date + datetime.timedelta(1), third.total_due),
        (fourth.due_date + datetime.timedelta(5), D("5000.00")),
    ]
    for number, (day, amount) in enumerate(payments, start=1):
        repayment_record(
            actor=officer,
            loan=in_arrears,
            amount=amount,
            value_date=day,
            channel="cash",
            receipt_number=f"REC-PRAIA-{day.year}-{number:06d}",
        )
    due_today = active_loan(
        officer,
        branch_manager,
        product,
        borrower=others[0],
        principal="85000",
        submitted_on=_days_ago(20),
        approved_on=_days_ago(15),
        expected_disbursement_date=_days_ago(10),
        disbursed_on=_days_ago(10),
        first_repayment_date=today,
        number_of_repayments=6,
    )
    written_off = active_loan(
        officer, branch_manager, product, borrower=others[1], **ten_months_ago
    )
    loan_write_off(
        actor=branch_manager,
        loan=written_off,
        reason="Borrower emigrated; no contact for six months",
        written_off_on=_days_ago(30),
    )
    return submitted, approved, in_arrears, due_today


def _this_year(days: int) -> datetime.date:
    """A day of this year (the reports open on it), ``days`` after 1 January, today at the latest."""
    today = business_date()
    return min(today.replace(month=1, day=1) + datetime.timedelta(days), today)


def _ledger(accountant, manager, head_office, praia):
    bank = account_for_role(AccountRole.BANK)
    praia_cash = account_for_role(AccountRole.CASH, praia)
    capital = account_for_role(AccountRole.SHARE_CAPITAL)
    salaries, rent = Account.objects.get(code="5100"), Account.objects.get(code="5200")

    def draft(branch, day, description, debit, credit, amount, note=""):
        return manual_entry_draft(
            actor=accountant,
            entry_date=day,
            branch=branch,
            currency="CVE",
            description=description,
            lines=[
                LineSpec(debit, debit=D(amount), description=note),
                LineSpec(credit, credit=D(amount), description=note),
            ],
        )

    manual_entry_approve(
        actor=manager,
        entry=draft(
            head_office,
            _this_year(1),
            "Paid-in share capital subscribed by the founding members of the institution",
            bank,
            capital,
            "25000000",
            "Deposit slip 0001/2026, Banco Comercial do Atlântico",
        ),
    )
    transfer = manual_entry_approve(
        actor=manager,
        entry=draft(
            praia,
            _this_year(4),
            "Transfer from the head-office bank account to the Praia branch cash box "
            "for the January disbursements",
            praia_cash,
            bank,
            "1500000",
            "Cheque n.º 0004512 cashed by the branch cashier",
        ),
    )
    manual_entry_approve(
        actor=manager,
        entry=draft(
            praia,
            max(_this_year(0), _days_ago(23)),
            "Salaries of the Praia branch staff for last month",
            salaries,
            praia_cash,
            "420000",
        ),
    )
    pending = draft(
        head_office, business_date(), DRAFT_DESCRIPTION, rent, bank, "95000", "Invoice FT 2026/1187"
    )
    return transfer, pending, praia_cash


@pytest.fixture
def sweep(
    head_office, praia, mindelo, loan_officer, branch_manager, accountant, manager, administrator
) -> Sweep:
    """The branch every persona looks at (built once per test: each has a fresh database)."""
    _rename(loan_officer, "Adilson Francisco", "Monteiro Spencer Lima")
    _rename(branch_manager, "Eurídice Alexandra", "Duarte Fernandes Barbosa")
    _rename(accountant, "Hermenegildo", "Andrade Brito Sanches")
    _rename(manager, "Filomena Maria", "Delgado Évora Ramos")
    _rename(administrator, "Sistema", "Administrador da Plataforma")
    rules = chart_install()
    person, enterprise, others = _parties(loan_officer)
    product = _product(manager, rules)
    submitted, approved, in_arrears, due_today = _loans(
        loan_officer, branch_manager, product, person, enterprise, others
    )
    posted, draft, cash = _ledger(accountant, manager, head_office, praia)
    return Sweep(
        person=person,
        enterprise=enterprise,
        product=product,
        submitted=submitted,
        approved=approved,
        in_arrears=in_arrears,
        due_today=due_today,
        posted_entry=posted,
        draft_entry=draft,
        cash_account=cash,
    )


# --- the sweep ---------------------------------------------------------------------------------


def _problems_on(page, screen: Screen) -> list[str]:
    """Open one page; what is wrong with it (nothing, one hopes)."""
    problems = []
    response = page.goto(screen.url)
    status = response.status if response is not None else None
    if status != 200:
        problems.append(f"HTTP {status}")
    asked, landed = urlsplit(screen.url), urlsplit(page.url)
    if (landed.path, landed.query) != (asked.path, asked.query):
        problems.append(f"landed on {landed.path}?{landed.query}")
    text = page.locator("main").inner_text()
    if screen.shows not in text:
        problems.append(f"does not show {screen.shows!r}")
    widths = page_widths(page)  # measured with app.css's overflow clip lifted
    if widths["scrollWidth"] > widths["innerWidth"]:
        problems.append(
            f"{widths['scrollWidth']}px wide on a {widths['innerWidth']}px screen: "
            f"{page.evaluate(OVERFLOWING_JS)}"
        )
    return problems


def _sweep(open_page, screenshot, user: User, screens: list[Screen]) -> None:
    page = open_page(PHONE)
    log_in(page, user.username, TEST_PASSWORD)
    failures = []
    for screen in screens:
        problems = _problems_on(page, screen)
        screenshot(page, f"{user.role}-{screen.name}", PHONE)
        failures.extend(f"{screen.name} ({screen.url}): {problem}" for problem in problems)
    assert not failures, "\n".join(failures)


def test_loan_officer_pages_fit_a_phone(open_page, screenshot, sweep, loan_officer):
    person, enterprise, loans = sweep.person.pk, sweep.enterprise.pk, sweep
    screens = [
        Screen("home", "/", "Adilson Francisco Monteiro Spencer Lima"),
        Screen("search", "/search/?q=Tavares", PERSON_NAME),
        Screen("parties", "/parties/", ENTERPRISE_NAME),
        Screen("person", f"/parties/{person}/", "maria.conceicao.tavares.semedo.fortes@"),
        Screen("person-history", f"/parties/{person}/history/", "consent.given"),
        Screen("person-edit", f"/parties/{person}/edit/", f"Edit {PERSON_NAME}"),
        Screen("person-new", "/parties/new/person/", "New person"),
        Screen("consent-new", f"/parties/{person}/consents/new/", PERSON_NAME),
        Screen("enterprise", f"/parties/{enterprise}/", "administracao.geral@"),
        Screen("enterprise-history", f"/parties/{enterprise}/history/", "enterprise.created"),
        Screen("enterprise-edit", f"/parties/{enterprise}/edit/", f"Edit {ENTERPRISE_NAME}"),
        Screen("enterprise-new", "/parties/new/enterprise/", "New enterprise"),
        Screen("loans-mine", "/loans/?view=mine", loans.in_arrears.number),
        Screen("loans-due-today", "/loans/?view=due_today", loans.due_today.number),
        Screen("loans-arrears", "/loans/?view=arrears", loans.in_arrears.number),
        Screen("loans-all", "/loans/?view=all", loans.submitted.number),
        Screen("loan-new", f"/loans/new/?borrower={person}", "New loan application"),
        Screen("loan-submitted", f"/loans/{loans.submitted.pk}/", "Submitted"),
        Screen("loan-in-arrears", f"/loans/{loans.in_arrears.pk}/", "REC-PRAIA-2026-000004"),
        Screen("loan-due-today", f"/loans/{loans.due_today.pk}/", "Active"),
        Screen("disburse", f"/loans/{loans.approved.pk}/disburse/", ENTERPRISE_NAME),
        Screen("repay", f"/loans/{loans.in_arrears.pk}/repay/", "days late"),
        Screen("catalogue", "/loans/catalogue/", PRODUCT_NAME),
        Screen("password-change", "/accounts/password_change/", "Change password"),
    ]
    _sweep(open_page, screenshot, loan_officer, screens)


def test_branch_manager_pages_fit_a_phone(open_page, screenshot, sweep, branch_manager):
    screens = [
        Screen("home", "/", "Applications to approve"),
        Screen("approvals", "/loans/approvals/", ENTERPRISE_NAME),
        Screen("loan-submitted", f"/loans/{sweep.submitted.pk}/", "Reject the application"),
        Screen("loan-in-arrears", f"/loans/{sweep.in_arrears.pk}/", "Write off"),
        Screen("write-off", f"/loans/{sweep.in_arrears.pk}/write-off/", "booked as a loss"),
    ]
    _sweep(open_page, screenshot, branch_manager, screens)


def test_accountant_pages_fit_a_phone(open_page, screenshot, sweep, accountant):
    report = "/accounting/reports"
    screens = [
        Screen("accounting", "/accounting/", "Entries awaiting approval"),
        Screen("chart", "/accounting/accounts/", "Cash — Praia"),
        Screen("entries", "/accounting/entries/", "Transfer from the head-office bank account"),
        Screen(
            "entry-posted", f"/accounting/entries/{sweep.posted_entry.pk}/", "Cheque n.º 0004512"
        ),
        Screen("entry-draft", f"/accounting/entries/{sweep.draft_entry.pk}/", DRAFT_DESCRIPTION),
        Screen("entry-new", "/accounting/entries/new/", "New manual entry"),
        Screen("periods", "/accounting/periods/", "Accounting periods"),
        Screen("trial-balance", f"{report}/trial-balance/", "Share capital"),
        Screen(
            "general-ledger",
            f"{report}/general-ledger/?account={sweep.cash_account.pk}",
            "Salaries of the Praia branch staff",
        ),
        Screen("journal", f"{report}/journal/", "Deposit slip 0001/2026"),
        Screen("balance-sheet", f"{report}/balance-sheet/", "Loan portfolio"),
        Screen("income-statement", f"{report}/income-statement/", "Interest income on loans"),
    ]
    _sweep(open_page, screenshot, accountant, screens)


def test_manager_pages_fit_a_phone(open_page, screenshot, sweep, manager):
    screens = [
        Screen("home", "/", DRAFT_DESCRIPTION),
        Screen("audit", "/audit/", "journal_entry.drafted"),
        Screen(
            "entry-draft-to-approve",
            f"/accounting/entries/{sweep.draft_entry.pk}/",
            "Approve and post",
        ),
        Screen("catalogue", "/loans/catalogue/", "New version of the terms"),
        Screen(
            "product-version-new",
            f"/loans/products/{sweep.product.pk}/new-version/",
            PRODUCT_NAME,
        ),
    ]
    _sweep(open_page, screenshot, manager, screens)


def test_administrator_pages_fit_a_phone(open_page, screenshot, sweep, administrator):
    screens = [
        Screen("system", "/system/", "System status"),
        Screen("password-change", "/accounts/password_change/", "Change password"),
    ]
    _sweep(open_page, screenshot, administrator, screens)
