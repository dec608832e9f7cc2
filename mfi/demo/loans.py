"""Demo loans: the institution's four offers, four loan products (three on cash accounting, one
on accrual accounting in XOF) and 120 loans to client persons of the three branches, in every
state, with a year of repayments (on time, late, partial, stopped, in advance).

Everything that changes a loan goes through ``loans.services`` (submit, documents, approve,
reject, withdraw, disburse, repayment, write-off), so the schedules, the journal entries, the
audit trail and the loans' balances are exactly what real use would produce. Deterministic (one
seeded ``random.Random``, fixed dates up to ``AS_OF``) and idempotent (nothing happens once the
demo products have loans).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from random import Random

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum

from accounting import services as ledger
from accounting.chart import chart_install
from accounting.choices import AccountRole, EntryStatus
from accounting.models import Account, JournalLine
from accounting.services import LineSpec, account_for_role
from crm.choices import Relationship
from crm.models import Person
from loans import services
from loans.choices import (
    Amortization,
    Channel,
    DocumentKind,
    Frequency,
    InterestCalculation,
    InterestMethod,
    LoanStatus,
    OfferKind,
)
from loans.models import Loan, LoanProduct, Offer
from users.models import Branch, User

SEED = 20261120
AS_OF = datetime.date(2026, 11, 20)  # the last day with repayments
# The demo ledger starts with the share capital on 2 January 2026: loans go out from then on.
FIRST_DISBURSEMENT = datetime.date(2026, 1, 5)
LAST_DISBURSEMENT = datetime.date(2026, 10, 15)

# How many loans end up in each state (the renewal is one more active loan). 120 loans keep
# the whole seed_demo quick: every repayment goes through the real service (about 30 queries).
STATUS_PLAN = {
    LoanStatus.SUBMITTED: 10,
    LoanStatus.APPROVED: 8,
    LoanStatus.REJECTED: 5,
    LoanStatus.WITHDRAWN: 3,
    LoanStatus.ACTIVE: 77,
    LoanStatus.CLOSED: 11,
    LoanStatus.OVERPAID: 2,
    LoanStatus.WRITTEN_OFF: 3,
}
LOAN_COUNT = sum(STATUS_PLAN.values()) + 1

OFFICERS = {"praia": "officer", "mindelo": "officer.mindelo", "sal": "officer.sal"}
# Approvers, smallest limit first: the first one whose branch scope and limit allow a loan
# decides it. Limits are set on the demo accounts unless an administrator already set one.
APPROVERS = ["branchmanager", "committee", "manager"]
APPROVAL_LIMITS = {"branchmanager": Decimal("500000"), "committee": Decimal("2000000")}

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

OFFERS = [
    {
        "code": "microcredito-produtivo",
        "name": "Microcrédito Produtivo",
        "kind": OfferKind.LOAN,
        "description": "Crédito para micro e pequenos negócios em funcionamento: fundo de maneio "
        "e pequenos investimentos, com reembolso mensal ou semanal.",
        "eligibility_rules": [
            "Negócio em funcionamento há pelo menos 6 meses",
            "Residência na área de uma agência",
            "Idade entre 18 e 70 anos",
            "Sem incidentes de crédito em curso",
            "Prestação até 40 % do excedente mensal do negócio",
        ],
        "required_documents": [DocumentKind.ID_CARD, DocumentKind.PROOF_OF_ADDRESS],
        "procedure_steps": [
            "Pedido e entrevista com o agente de crédito",
            "Visita ao negócio e análise da capacidade de reembolso",
            "Decisão (gerente de agência ou comité de crédito, conforme o montante)",
            "Assinatura do contrato e desembolso",
            "Acompanhamento e cobrança",
        ],
        "monitoring_metrics": [
            "Carteira em risco a 30 dias (PAR30)",
            "Taxa de reembolso",
            "Clientes ativos",
            "Percentagem de mulheres clientes",
            "Empregos mantidos ou criados",
        ],
    },
    {
        "code": "fundo-garantia-pme",
        "name": "Fundo de Garantia PME",
        "kind": OfferKind.GUARANTEE,
        "description": "Garantia parcial (até 50 %) de créditos bancários a PME formais, "
        "contra uma comissão anual.",
        "eligibility_rules": [
            "Empresa formal com NIF e inscrição na segurança social",
            "Volume de negócios anual até 50 milhões CVE",
            "Situação regularizada perante as Finanças e a Segurança Social",
            "Crédito destinado a investimento ou fundo de maneio",
        ],
        "required_documents": [
            DocumentKind.TAX_CERTIFICATE,
            DocumentKind.SOCIAL_SECURITY_CERTIFICATE,
            DocumentKind.BUSINESS_PLAN,
        ],
        "procedure_steps": [
            "Pedido apresentado pelo banco parceiro",
            "Análise de risco pelo fundo",
            "Emissão do certificado de garantia",
            "Pagamento da comissão de garantia",
            "Acompanhamento semestral do crédito garantido",
        ],
        "monitoring_metrics": [
            "Montante garantido em vigor",
            "Taxa de execução de garantias",
            "Crédito bancário mobilizado por escudo garantido",
            "Empregos nas empresas apoiadas",
        ],
    },
    {
        "code": "vale-assistencia-tecnica",
        "name": "Vale de Assistência Técnica",
        "kind": OfferKind.TA_VOUCHER,
        "description": "Vale para consultoria, contabilidade ou formação prestadas por "
        "fornecedores acreditados.",
        "eligibility_rules": [
            "Cliente ativo de crédito ou de coaching",
            "Micro ou pequena empresa com menos de 10 trabalhadores",
            "Um vale por empresa e por ano",
        ],
        "required_documents": [DocumentKind.ID_CARD, DocumentKind.BUSINESS_PLAN],
        "procedure_steps": [
            "Diagnóstico das necessidades com o coach",
            "Emissão do vale",
            "Escolha do fornecedor acreditado",
            "Prestação do serviço e relatório",
            "Pagamento ao fornecedor contra relatório validado",
        ],
        "monitoring_metrics": [
            "Vales emitidos e utilizados",
            "Satisfação dos beneficiários",
            "Variação do volume de negócios a 12 meses",
            "Empresas formalizadas após o apoio",
        ],
    },
    {
        "code": "credito-jovem-empreendedor",
        "name": "Crédito Jovem Empreendedor",
        "kind": OfferKind.LOAN,
        "description": "Crédito de arranque para jovens dos 18 aos 35 anos, com formação em "
        "gestão e acompanhamento por um coach.",
        "eligibility_rules": [
            "Idade entre 18 e 35 anos",
            "Plano de negócio validado",
            "Formação em gestão de pequenos negócios concluída",
            "Contribuição própria de pelo menos 10 % do investimento",
        ],
        "required_documents": [DocumentKind.ID_CARD, DocumentKind.BUSINESS_PLAN],
        "procedure_steps": [
            "Sessão de informação",
            "Formação em gestão e elaboração do plano de negócio",
            "Análise do plano e decisão de crédito",
            "Desembolso e designação de um coach",
            "Acompanhamento trimestral durante o primeiro ano",
        ],
        "monitoring_metrics": [
            "Empresas criadas",
            "Sobrevivência a 24 meses",
            "PAR30 da linha jovem",
            "Empregos criados",
            "Percentagem de jovens mulheres",
        ],
    },
]

_MONTHLY_DECLINING = {
    "repayment_every": 1,
    "repayment_frequency": Frequency.MONTHS,
    "interest_method": InterestMethod.DECLINING_BALANCE,
    "amortization": Amortization.EQUAL_INSTALLMENTS,
    "interest_calculation": InterestCalculation.SAME_AS_REPAYMENT_PERIOD,
}


@dataclass(frozen=True)
class DemoProduct:
    code: str
    offer: str
    name: str
    rule_set: str  # "cash" or "accrual", a key of chart_install()'s result
    terms: dict
    principal_range: tuple[int, int]  # what demo borrowers ask for (log-uniform)
    principal_step: int
    rates: tuple[str, ...]  # rates the officers use, most common first
    terms_offered: tuple[int, ...]  # usual numbers of repayments
    weight: float
    purposes: tuple[str, ...]


PRODUCTS = [
    DemoProduct(
        code="mp-mensal",
        offer="microcredito-produtivo",
        name="Microcrédito Produtivo (mensal)",
        rule_set="cash",
        terms={
            "currency": "CVE",
            "principal_min": Decimal("50000"),
            "principal_default": Decimal("250000"),
            "principal_max": Decimal("1000000"),
            "rate_min": Decimal("18"),
            "rate_default": Decimal("24"),
            "rate_max": Decimal("30"),
            "repayments_min": 6,
            "repayments_default": 12,
            "repayments_max": 24,
            **_MONTHLY_DECLINING,
        },
        principal_range=(60000, 800000),
        principal_step=5000,
        rates=("24", "24", "21", "27", "18", "30"),
        terms_offered=(6, 9, 12, 12, 18, 24),
        weight=0.7,
        purposes=(
            "Compra de mercadoria para a mercearia",
            "Máquina de costura industrial",
            "Sistema de rega gota-a-gota para a horta",
            "Motor para o barco de pesca",
            "Forno e amassadeira para a padaria",
            "Renovação do salão de cabeleireiro",
            "Arca frigorífica para venda de peixe",
            "Ferramentas de carpintaria",
            "Compra de cabras para criação",
            "Stock de materiais de construção",
        ),
    ),
    DemoProduct(
        code="mp-mercado",
        offer="microcredito-produtivo",
        name="Crédito Semanal Mercado",
        rule_set="cash",
        terms={
            "currency": "CVE",
            "principal_min": Decimal("20000"),
            "principal_default": Decimal("60000"),
            "principal_max": Decimal("200000"),
            "rate_min": Decimal("24"),
            "rate_default": Decimal("30"),
            "rate_max": Decimal("36"),
            "repayments_min": 12,
            "repayments_default": 26,
            "repayments_max": 52,
            "repayment_every": 1,
            "repayment_frequency": Frequency.WEEKS,
            "interest_method": InterestMethod.FLAT,
            "amortization": Amortization.EQUAL_INSTALLMENTS,
            "interest_calculation": InterestCalculation.SAME_AS_REPAYMENT_PERIOD,
            "installment_multiple": 10,
        },
        principal_range=(20000, 150000),
        principal_step=5000,
        rates=("30", "30", "24", "36"),
        terms_offered=(12, 16, 20, 24, 26, 26),
        weight=0.16,
        purposes=(
            "Fruta e legumes para a banca do mercado",
            "Peixe para revenda no mercado",
            "Roupa e calçado para a feira",
            "Produtos de higiene para revenda",
            "Cereais e feijão para a banca",
        ),
    ),
    DemoProduct(
        code="cje-arranque",
        offer="credito-jovem-empreendedor",
        name="Crédito Jovem Empreendedor (arranque)",
        rule_set="cash",
        terms={
            "currency": "CVE",
            "principal_min": Decimal("100000"),
            "principal_default": Decimal("400000"),
            "principal_max": Decimal("1500000"),
            "rate_min": Decimal("12"),
            "rate_default": Decimal("15"),
            "rate_max": Decimal("20"),
            "repayments_min": 12,
            "repayments_default": 24,
            "repayments_max": 36,
            **_MONTHLY_DECLINING,
            "disbursement_fee_percent": Decimal("2"),
            "penalty_percent": Decimal("5"),
            "penalty_tolerance_days": 5,
        },
        principal_range=(150000, 1200000),
        principal_step=10000,
        rates=("15", "15", "12", "18", "20"),
        terms_offered=(12, 18, 24, 24, 36),
        weight=0,  # young borrowers only, see _pick_product
        purposes=(
            "Estúdio de design gráfico",
            "Oficina de reparação de telemóveis",
            "Carrinha para serviço de entregas",
            "Abertura de um café-snack",
            "Equipamento de fotografia para eventos",
            "Kits solares para habitações",
        ),
    ),
    DemoProduct(
        code="crc-xof",
        offer="microcredito-produtivo",
        name="Crédito Comércio Regional (XOF)",
        rule_set="accrual",
        terms={
            "currency": "XOF",
            "principal_min": Decimal("100000"),
            "principal_default": Decimal("500000"),
            "principal_max": Decimal("2000000"),
            "rate_min": Decimal("18"),
            "rate_default": Decimal("24"),
            "rate_max": Decimal("30"),
            "repayments_min": 6,
            "repayments_default": 12,
            "repayments_max": 24,
            **_MONTHLY_DECLINING,
            "installment_multiple": 100,
            "currency_multiple": 100,
        },
        principal_range=(150000, 2000000),
        principal_step=50000,
        rates=("24", "24", "18", "30"),
        terms_offered=(6, 9, 12, 12, 18, 24),
        weight=0.14,
        purposes=(
            "Tecidos de Dacar para revenda",
            "Mercadoria comprada em Dacar para a loja",
            "Artesanato da sub-região para a loja de turismo",
            "Produtos alimentares importados do Senegal",
        ),
    ),
]
PRODUCT_BY_CODE = {product.code: product for product in PRODUCTS}
YOUNG_BORN_AFTER = datetime.date(1990, 12, 31)  # Crédito Jovem Empreendedor: 35 or younger

REJECTION_REASONS = [
    "Capacidade de reembolso insuficiente face ao excedente do negócio.",
    "Sobre-endividamento: créditos em curso noutra instituição.",
    "Plano de negócio sem viabilidade demonstrada.",
    "Garantias insuficientes para o montante pedido.",
    "Incidentes de pagamento num crédito anterior.",
]
WITHDRAWAL_REASONS = [
    "O cliente obteve financiamento da família.",
    "O cliente adiou o investimento.",
    "O cliente desistiu do projeto.",
]
WRITE_OFF_REASON = "Incumprimento superior a 180 dias; diligências de cobrança esgotadas."
CHANNELS = [Channel.CASH, Channel.MOBILE_MONEY, Channel.BANK_TRANSFER]
CHANNEL_WEIGHTS = [0.5, 0.3, 0.2]


@dataclass(eq=False)
class _Plan:
    """What will happen to one demo loan."""

    status: str
    borrower: Person
    product: DemoProduct
    principal: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)
    repayments: int = 0
    purpose: str = ""
    submitted_on: datetime.date = AS_OF
    approved_on: datetime.date | None = None
    disbursed_on: datetime.date | None = None
    expected_disbursement: datetime.date = AS_OF
    behaviour: str = ""  # how a disbursed loan is repaid, see _payments()
    channel: str = Channel.CASH
    missing_document: bool = False
    renews: _Plan | None = None
    loan: Loan | None = None
    payments: list[tuple[datetime.date, Decimal, str]] = field(default_factory=list)


@transaction.atomic
def seed_loans(*, users: dict[str, User]) -> int:
    """Create the demo offers, products and loans once; returns how many loans were created."""
    rule_sets = chart_install()
    products = _seed_products(actor=users["admin"], rule_sets=rule_sets)
    if Loan.objects.filter(product_version__product__in=products.values()).exists():
        return 0
    for username, limit in APPROVAL_LIMITS.items():
        User.objects.filter(username=username, approval_limit__isnull=True).update(
            approval_limit=limit
        )
    staff = {
        user.username: user
        for user in User.objects.select_related("branch").filter(
            username__in=[*OFFICERS.values(), *APPROVERS, "fieldagent"]
        )
    }
    rng = Random(SEED)
    plans = _plan_loans(rng)
    for plan in sorted(plans, key=lambda item: item.submitted_on):
        _open_loan(plan, products=products, staff=staff, rng=rng)
    receipts = _receipt_numbers(plans, rng)
    for plan in plans:
        if plan.loan is None or plan.disbursed_on is None:
            continue
        _repay(plan, staff=staff, receipts=receipts, rng=rng)
        if plan.status == LoanStatus.WRITTEN_OFF:
            first_unpaid = plan.loan.installments.filter(principal_paid=0).order_by("number")[0]
            day = min(first_unpaid.due_date + datetime.timedelta(days=rng.randint(181, 200)), AS_OF)
            services.loan_write_off(
                actor=staff["manager"], loan=plan.loan, reason=WRITE_OFF_REASON, written_off_on=day
            )
    _fund_branch_cash(maker=users["accountant"], checker=users["manager"])
    return len(plans)


def _seed_products(*, actor: User, rule_sets: dict) -> dict[str, LoanProduct]:
    offers = {}
    for spec in OFFERS:
        offers[spec["code"]], _created = Offer.objects.get_or_create(
            code=spec["code"], defaults={key: value for key, value in spec.items() if key != "code"}
        )
    products = {}
    for spec in PRODUCTS:
        product, _created = LoanProduct.objects.get_or_create(
            code=spec.code, defaults={"offer": offers[spec.offer], "name": spec.name}
        )
        if product.current_version is None:
            services.product_version_create(
                actor=actor,
                product=product,
                terms={**spec.terms, "posting_rule_set": rule_sets[spec.rule_set]},
            )
        products[spec.code] = product
    return products


# --- planning (no database writes) -------------------------------------------------------------


def _day_between(rng: Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def _due_dates(product: DemoProduct, disbursed_on: datetime.date, count: int):
    """The schedule's due dates (the engine counts every period from the disbursement date)."""
    if product.terms["repayment_frequency"] == Frequency.WEEKS:
        return [disbursed_on + datetime.timedelta(weeks=k) for k in range(1, count + 1)]
    return [disbursed_on + relativedelta(months=k) for k in range(1, count + 1)]


def _pick_product(rng: Random, borrower: Person) -> DemoProduct:
    """Young borrowers often take the youth line; nobody older than 35 may."""
    if borrower.birth_date and borrower.birth_date > YOUNG_BORN_AFTER and rng.random() < 0.6:
        return PRODUCT_BY_CODE["cje-arranque"]
    others = [product for product in PRODUCTS if product.code != "cje-arranque"]
    return rng.choices(others, weights=[product.weight for product in others])[0]


def _pick_terms(rng: Random, plan: _Plan, fits) -> bool:
    """Choose the number of repayments among the usual ones for which ``fits(due_dates)``."""
    product = plan.product
    low, high = product.terms["repayments_min"], product.terms["repayments_max"]
    options = [n for n in product.terms_offered if fits(_due_dates(product, plan.disbursed_on, n))]
    if not options:
        options = [
            n for n in range(low, high + 1) if fits(_due_dates(product, plan.disbursed_on, n))
        ]
    if not options:
        return False
    plan.repayments = rng.choice(options)
    return True


def _fill_amounts(rng: Random, plan: _Plan) -> None:
    product = plan.product
    low, high = product.principal_range
    raw = low * (high / low) ** rng.random()
    step = product.principal_step
    plan.principal = Decimal(max(low, round(raw / step) * step))
    plan.rate = Decimal(rng.choice(product.rates))
    plan.purpose = rng.choice(product.purposes)
    plan.channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]


def _still_running(due_dates) -> bool:
    return sum(1 for day in due_dates if day > AS_OF) >= 2


def _matured(due_dates) -> bool:
    """A short first loan (at most nine months) that ended three weeks before ``AS_OF``."""
    return len(due_dates) <= 9 and due_dates[-1] <= AS_OF - datetime.timedelta(days=20)


def _plan_loans(rng: Random) -> list[_Plan]:
    clients = list(
        Person.objects.filter(relationship=Relationship.CLIENT)
        .select_related("branch")
        .order_by("nif")
    )
    statuses = [status for status, count in STATUS_PLAN.items() for _ in range(count)]
    if len(clients) < len(statuses):
        raise RuntimeError(f"The demo loans need {len(statuses)} client persons.")
    rng.shuffle(clients)
    rng.shuffle(statuses)
    plans = []
    for status, borrower in zip(statuses, clients, strict=False):
        plan = _Plan(status=status, borrower=borrower, product=_pick_product(rng, borrower))
        _fill_amounts(rng, plan)
        if status in (LoanStatus.ACTIVE, LoanStatus.CLOSED, LoanStatus.OVERPAID):
            _plan_disbursed(rng, plan)
        elif status == LoanStatus.WRITTEN_OFF:
            plan.product = PRODUCT_BY_CODE["mp-mensal"]
            _fill_amounts(rng, plan)
            # paid once or twice, then nothing: written off after 180 days in arrears
            plan.disbursed_on = _day_between(rng, FIRST_DISBURSEMENT, datetime.date(2026, 2, 10))
            plan.repayments = rng.choice((12, 18))
            plan.behaviour = "written_off"
        else:
            _plan_pipeline(rng, plan)
        if plan.disbursed_on is not None:
            plan.approved_on = plan.disbursed_on - datetime.timedelta(days=rng.randint(0, 4))
            plan.submitted_on = plan.approved_on - datetime.timedelta(days=rng.randint(3, 15))
            plan.expected_disbursement = plan.disbursed_on
        plans.append(plan)
    _assign_behaviours(rng, [plan for plan in plans if plan.status == LoanStatus.ACTIVE])
    plans.append(_plan_renewal(rng, plans))
    return plans


def _assign_behaviours(rng: Random, plans: list[_Plan]) -> None:
    """How the running loans are repaid: about 10 % stopped paying two to five months ago,
    15 % pay late or in part now and then, 5 % pay ahead, the others always on time."""
    stop_window = (AS_OF - datetime.timedelta(days=148), AS_OF - datetime.timedelta(days=33))
    can_stop = [
        plan
        for plan in plans
        if any(
            stop_window[0] <= day <= stop_window[1]
            for day in _due_dates(plan.product, plan.disbursed_on, plan.repayments)
        )
    ]
    stopped = rng.sample(can_stop, k=round(len(plans) * 0.10))
    others = [plan for plan in plans if plan not in stopped]
    late = rng.sample(others, k=round(len(plans) * 0.15))
    others = [plan for plan in others if plan not in late]
    advance = rng.sample(others, k=round(len(plans) * 0.05))
    for plan in plans:
        plan.behaviour = (
            "stopped"
            if plan in stopped
            else "late"
            if plan in late
            else "advance"
            if plan in advance
            else "on_time"
        )


def _plan_disbursed(rng: Random, plan: _Plan) -> None:
    if plan.status == LoanStatus.ACTIVE:
        # A fast-growing portfolio: far more loans went out in recent months than a year ago.
        # Weekly market loans are short, so the running ones went out in the last four months.
        first = FIRST_DISBURSEMENT
        if plan.product.terms["repayment_frequency"] == Frequency.WEEKS:
            first = AS_OF - datetime.timedelta(weeks=17)
        days = (LAST_DISBURSEMENT - first).days
        plan.disbursed_on = first + datetime.timedelta(days=round(days * rng.random() ** 0.45))
        if not _pick_terms(rng, plan, _still_running):
            plan.product = PRODUCT_BY_CODE["mp-mensal"]
            _fill_amounts(rng, plan)
            _pick_terms(rng, plan, _still_running)
        return
    # Closed and overpaid loans ran their course (short monthly terms, paid in full).
    if plan.product.code != "mp-mensal":
        plan.product = PRODUCT_BY_CODE["mp-mensal"]
        _fill_amounts(rng, plan)
    plan.disbursed_on = _day_between(rng, FIRST_DISBURSEMENT, datetime.date(2026, 4, 30))
    if not _pick_terms(rng, plan, _matured):
        plan.product = PRODUCT_BY_CODE["mp-mensal"]
        _fill_amounts(rng, plan)
        plan.disbursed_on = _day_between(rng, FIRST_DISBURSEMENT, datetime.date(2026, 2, 28))
        _pick_terms(rng, plan, _matured)
    plan.behaviour = "overpaid" if plan.status == LoanStatus.OVERPAID else "closed"


def _plan_pipeline(rng: Random, plan: _Plan) -> None:
    """Applications that were not (yet) disbursed."""
    product = plan.product
    plan.repayments = rng.choice(product.terms_offered)
    if plan.status == LoanStatus.SUBMITTED:
        plan.submitted_on = _day_between(rng, datetime.date(2026, 11, 2), AS_OF)
        plan.missing_document = rng.random() < 0.5
    elif plan.status == LoanStatus.APPROVED:
        plan.submitted_on = _day_between(
            rng, datetime.date(2026, 10, 20), datetime.date(2026, 11, 12)
        )
        plan.approved_on = plan.submitted_on + datetime.timedelta(days=rng.randint(2, 7))
    else:
        plan.submitted_on = _day_between(
            rng, datetime.date(2026, 1, 5), datetime.date(2026, 10, 31)
        )
    start = plan.approved_on or plan.submitted_on
    plan.expected_disbursement = start + datetime.timedelta(days=rng.randint(7, 21))


def _plan_renewal(rng: Random, plans: list[_Plan]) -> _Plan:
    """A second loan for a client whose first one closed: a larger amount, same product."""
    previous = next(
        plan
        for plan in plans
        if plan.status == LoanStatus.CLOSED and plan.product.code == "mp-mensal"
    )
    # The first loan: six months, every installment paid on its due date.
    previous.disbursed_on = _day_between(rng, FIRST_DISBURSEMENT, datetime.date(2026, 2, 15))
    previous.approved_on = previous.disbursed_on - datetime.timedelta(days=2)
    previous.submitted_on = previous.approved_on - datetime.timedelta(days=7)
    previous.expected_disbursement = previous.disbursed_on
    previous.repayments = 6
    previous.behaviour = "exact"
    closed_on = _due_dates(previous.product, previous.disbursed_on, 6)[-1]
    plan = _Plan(status=LoanStatus.ACTIVE, borrower=previous.borrower, product=previous.product)
    _fill_amounts(rng, plan)
    step = plan.product.principal_step
    plan.principal = min(
        Decimal(round(previous.principal * Decimal("1.5") / step) * step),
        plan.product.terms["principal_max"],
    )
    plan.purpose = f"Renovação: {previous.purpose[0].lower()}{previous.purpose[1:]}"
    plan.submitted_on = closed_on + datetime.timedelta(days=5)
    plan.approved_on = plan.submitted_on + datetime.timedelta(days=3)
    plan.disbursed_on = plan.approved_on + datetime.timedelta(days=4)
    plan.expected_disbursement = plan.disbursed_on
    plan.renews = previous
    plan.behaviour = "on_time"
    _pick_terms(rng, plan, _still_running)
    return plan


# --- execution through the services ------------------------------------------------------------


def _approver(staff: dict[str, User], branch_id: int, principal: Decimal) -> User:
    for username in APPROVERS:
        user = staff[username]
        scope = user.branch_scope_ids()
        if scope is not None and branch_id not in scope:
            continue
        if user.approval_limit is not None and principal > user.approval_limit:
            continue
        return user
    return staff["manager"]


def _open_loan(plan: _Plan, *, products, staff, rng: Random) -> None:
    """Submit (with documents), decide and disburse one loan as its plan says."""
    officer = staff[OFFICERS[plan.borrower.branch.code]]
    loan = services.loan_submit(
        actor=officer,
        borrower=plan.borrower,
        product=products[plan.product.code],
        principal=plan.principal,
        purpose=plan.purpose,
        expected_disbursement_date=plan.expected_disbursement,
        annual_interest_rate=plan.rate,
        number_of_repayments=plan.repayments,
        officer=officer,
        previous_loan=plan.renews.loan if plan.renews else None,
        submitted_on=plan.submitted_on,
    )
    plan.loan = loan
    kinds = [str(kind) for kind in products[plan.product.code].offer.required_documents]
    if plan.missing_document:
        kinds = kinds[:-1]
    for kind in kinds:
        services.loan_document_add(
            actor=officer,
            loan=loan,
            kind=kind,
            file=ContentFile(PDF_BYTES, name=f"{kind}.pdf"),
        )
    if plan.status == LoanStatus.SUBMITTED:
        return
    approver = _approver(staff, loan.branch_id, loan.principal)
    if plan.status == LoanStatus.REJECTED:
        services.loan_reject(actor=approver, loan=loan, reason=rng.choice(REJECTION_REASONS))
        return
    if plan.status == LoanStatus.WITHDRAWN:
        services.loan_withdraw(actor=officer, loan=loan, reason=rng.choice(WITHDRAWAL_REASONS))
        return
    services.loan_approve(actor=approver, loan=loan, approved_on=plan.approved_on)
    if plan.disbursed_on is None:
        return
    large = loan.currency != "CVE" or loan.principal >= 300000
    services.loan_disburse(
        actor=officer,
        loan=loan,
        disbursed_on=plan.disbursed_on,
        channel=Channel.BANK_TRANSFER if large else Channel.CASH,
    )


def _part(amount: Decimal, share: float, currency: str) -> Decimal:
    """A round partial payment (a multiple of 100 CVE or 100 XOF) below ``amount``."""
    hundreds = (amount * Decimal(str(share)) / 100).to_integral_value(rounding=ROUND_DOWN)
    return max(Decimal(100), hundreds * 100) if amount > 100 else amount


def _payments(plan: _Plan, rng: Random) -> list[tuple[datetime.date, Decimal]]:
    """(date, amount) of each repayment of a disbursed loan, from its real schedule.

    Money goes to the oldest unpaid installment first, so a payment dated on or after the due
    date it is meant for never pays anything not yet due, except the deliberate advances.
    """
    loan = plan.loan
    rows = [
        (row.due_date, row.principal_due + row.interest_due + row.fee_due)
        for row in loan.installments.order_by("number")
    ]
    due = [(day, total) for day, total in rows if day <= AS_OF]
    behaviour = plan.behaviour
    payments: list[tuple[datetime.date, Decimal]] = []
    if behaviour == "exact":
        return list(rows)
    if behaviour in ("closed", "overpaid"):
        payoff_at = rng.randrange(2, len(rows)) if rng.random() < 0.3 else None
        for index, (day, total) in enumerate(rows):
            if index == payoff_at:  # early settlement: everything still owed at once
                payments.append((day, sum((t for _d, t in rows[index:]), Decimal(0))))
                break
            late = rng.randint(1, 12) if rng.random() < 0.15 else 0
            payments.append((min(day + datetime.timedelta(days=late), AS_OF), total))
        payments.sort(key=lambda item: item[0])
        if behaviour == "overpaid":
            day, amount = payments[-1]
            extra = Decimal(rng.randrange(1, 10) * (100 if loan.currency == "XOF" else 50))
            payments[-1] = (day, amount + extra)
        return payments
    if behaviour == "written_off":
        return due[: rng.randint(1, 2)]
    if behaviour == "stopped":
        window = [
            index
            for index, (day, _total) in enumerate(due)
            if AS_OF - datetime.timedelta(days=148) <= day <= AS_OF - datetime.timedelta(days=33)
        ]
        if window:  # paid at least once before stopping, when the dates allow it
            return due[: rng.choice([index for index in window if index > 0] or window)]
        behaviour = "late"
    if behaviour == "late":
        carry = Decimal(0)
        for day, total in due:
            roll = rng.random()
            if roll < 0.2:  # paid 10-40 days late, or not yet
                late_day = day + datetime.timedelta(days=rng.randint(10, 40))
                if late_day <= AS_OF:
                    payments.append((late_day, total + carry))
                    carry = Decimal(0)
            elif roll < 0.32:  # part now, the rest with the next payment
                owed = total + carry
                paid = _part(owed, rng.uniform(0.4, 0.8), loan.currency)
                payments.append((day, paid))
                carry = owed - paid
            else:
                payments.append((day, total + carry))
                carry = Decimal(0)
        return sorted(payments, key=lambda item: item[0])
    # on time (a few days early now and then), some paying the next installment in advance
    advances = set()
    if behaviour == "advance" and due:
        advances = set(rng.sample(range(len(due)), k=min(2, len(due))))
    skip = False
    for index, (day, total) in enumerate(due):
        if skip:
            skip = False
            continue
        early = rng.randint(1, 3) if rng.random() < 0.25 else 0
        amount = total
        if index in advances:
            amount += rows[index + 1][1]
            skip = True
        payments.append((max(day - datetime.timedelta(days=early), plan.disbursed_on), amount))
    return payments


def _receipt_numbers(plans: list[_Plan], rng: Random) -> dict[tuple[int, int], str]:
    """Plan every repayment, then number the receipts in date order, per year."""
    events = []
    for plan in plans:
        if plan.loan is None or plan.disbursed_on is None:
            continue
        for seq, (day, amount) in enumerate(_payments(plan, rng)):
            channel = plan.channel if rng.random() < 0.8 else rng.choice(CHANNELS)
            plan.payments.append((day, amount, channel))
            events.append((day, plan.loan.number, seq))
    numbers = {}
    per_year: dict[int, int] = {}
    for day, number, seq in sorted(events):
        per_year[day.year] = per_year.get(day.year, 0) + 1
        numbers[(number, seq)] = f"R-{day.year}-{per_year[day.year]:06d}"
    return numbers


def _repay(plan: _Plan, *, staff, receipts, rng: Random) -> None:
    loan = plan.loan
    officer = staff[OFFICERS[plan.borrower.branch.code]]
    for seq, (day, amount, channel) in enumerate(plan.payments):
        actor = officer
        if (
            plan.borrower.branch.code == "praia"
            and channel == Channel.CASH
            and rng.random() < 0.4
            and plan.borrower.assigned_to_id == staff["fieldagent"].pk
        ):
            actor = staff["fieldagent"]  # collected on the round of the agent who looks after them
        services.repayment_record(
            actor=actor,
            loan=loan,
            amount=amount,
            value_date=day,
            channel=channel,
            receipt_number=receipts[(loan.number, seq)],
        )


# --- funding the branches' cash ----------------------------------------------------------------

CASH_TOP_UP_STEP = {"CVE": Decimal("500000"), "XOF": Decimal("1000000")}
XOF_CREDIT_LINE = "Regional trade credit line (XOF)"


def _fund_branch_cash(*, maker: User, checker: User) -> None:
    """Loans are paid out of branch cash. Wherever a branch's cash (in a currency) would end a
    day below zero, the head office sends it the shortfall from the bank that day, in round
    amounts, as manual entries (drafted by the accountant, approved by the manager); the XOF
    comes from a regional trade credit line drawn for that purpose."""
    bank = account_for_role(AccountRole.BANK)
    head_office = Branch.objects.get(code="hq")
    top_ups = []  # (day, branch, cash account, currency, amount)
    for cash in Account.objects.filter(role=AccountRole.CASH, branch__isnull=False).order_by(
        "code"
    ):
        for currency, step in CASH_TOP_UP_STEP.items():
            balance = Decimal(0)
            daily = (
                JournalLine.objects.filter(
                    account=cash, entry__status=EntryStatus.POSTED, entry__currency=currency
                )
                .values_list("entry__entry_date")
                .annotate(debit=Sum("debit"), credit=Sum("credit"))
                .order_by("entry__entry_date")
            )
            for day, debit, credit in daily:
                balance += debit - credit
                if balance < 0:
                    amount = (-balance / step).to_integral_value(rounding=ROUND_UP) * step
                    top_ups.append((day, cash.branch, cash, currency, amount))
                    balance += amount
    xof = [top_up for top_up in top_ups if top_up[3] == "XOF"]
    if xof:
        total = sum((top_up[4] for top_up in xof), Decimal(0))
        _manual_entry(
            maker,
            checker,
            head_office,
            min(top_up[0] for top_up in xof),
            "XOF",
            XOF_CREDIT_LINE,
            bank,
            account_for_role(AccountRole.BORROWINGS),
            (total / 5000000).to_integral_value(rounding=ROUND_UP) * 5000000,
        )
    for day, branch, cash, currency, amount in sorted(top_ups, key=lambda item: item[0]):
        _manual_entry(
            maker,
            checker,
            branch,
            day,
            currency,
            f"Cash for loan disbursements — {branch.name}",
            cash,
            bank,
            amount,
        )


def _manual_entry(maker, checker, branch, day, currency, description, debit, credit, amount):
    entry = ledger.manual_entry_draft(
        actor=maker,
        entry_date=day,
        branch=branch,
        currency=currency,
        description=description,
        lines=[LineSpec(debit, debit=amount), LineSpec(credit, credit=amount)],
    )
    ledger.manual_entry_approve(actor=checker, entry=entry)
