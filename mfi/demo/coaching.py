"""Demo coaching, CRM follow-up and e-learning on top of the demo parties and loans.

Two coaching products (one part-paid by the technical-assistance programme), five coaches (the
demo ``coach`` and four more staff or volunteer coaches in the three branches), 40 engagements
over 2026 in every state for borrowers and coaching-only customers, with goals, sessions (held,
no-shows, and some planned after the demo date), feedback, invoices and payments; calls, visits
and desk visits by the officers and the field agent with their follow-up tasks; a leads pipeline
of prospects; two e-learning courses with learners at every step.

Everything goes through the services (``coaching.services``, ``crm.interactions``,
``crm.leads``, ``elearning.services``), so journal entries, tasks and audit events are what
real use produces. Deterministic (one seeded ``random.Random`` and fixed dates in 2026) except
for what the services date with the real clock: task due dates are relative to today (some due
today, some later; the overdue ones are created due today and moved back, the only write that
bypasses a service, since no service may date a task in the past), and certificates are issued
today. Idempotent: nothing happens once the demo coaching products exist.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from random import Random

from django.db import transaction
from django.utils import timezone

from coaching import services as coaching
from coaching.choices import (
    EngagementStatus,
    PaymentChannel,
    SessionMode,
    SessionStatus,
)
from coaching.models import Coach, CoachingProduct, Engagement
from crm import interactions, leads
from crm import services as crm_services
from crm.choices import InteractionKind, InteractionOutcome, LeadSource, LeadStage, Relationship
from crm.models import Interaction, Lead, Party, Person, Task
from elearning import services as learning
from elearning.models import Course, Lesson
from loans.choices import LoanStatus
from loans.models import Loan, Offer
from mfi.demo.organisation import DEMO_PASSWORD, DemoStaff
from users.models import Branch, User
from users.roles import Role

SEED = 20261123
AS_OF = datetime.date(2026, 11, 20)  # the last day anything happened in the demo
PLANNED_FROM = datetime.date(2026, 12, 1)  # sessions planned ahead are booked from here on

COACHES = [
    DemoStaff("coach.praia", "Kátia", "Gomes", Role.COACH, "praia"),
    DemoStaff("coach.mindelo", "Lúcio", "Évora", Role.COACH, "mindelo"),
    DemoStaff("coach.voluntario", "Nuno", "Barros", Role.COACH, "mindelo"),
    DemoStaff("coach.sal", "Marisa", "Delgado", Role.COACH, "sal"),
]
# username: (volunteer, skills, sectors, languages, islands, hours a month, hourly rate)
COACH_PROFILES = {
    "coach": (
        False,
        ["gestão financeira", "contabilidade", "plano de negócio"],
        ["retail", "food", "services"],
        ["kea", "pt"],
        ["santiago"],
        "60",
        "1500",
    ),
    "coach.praia": (
        True,
        ["marketing digital", "redes sociais", "vendas"],
        ["tourism", "crafts", "retail"],
        ["kea", "pt", "en"],
        ["santiago", "maio"],
        "20",
        "1200",  # volunteers give their time; the rate values the hours they give
    ),
    "coach.mindelo": (
        False,
        ["gestão financeira", "stocks", "preços"],
        ["fishing", "food", "retail"],
        ["kea", "pt", "fr"],
        ["sao_vicente", "santo_antao"],
        "50",
        "1400",
    ),
    "coach.voluntario": (
        True,
        ["marketing digital", "fotografia", "turismo"],
        ["tourism", "services"],
        ["kea", "pt", "en"],
        ["sao_vicente"],
        "15",
        "1200",
    ),
    "coach.sal": (
        False,
        ["gestão financeira", "turismo", "atendimento"],
        ["tourism", "transport", "food"],
        ["kea", "pt", "en", "es"],
        ["sal", "boa_vista"],
        "40",
        "1500",
    ),
}
COACHES_BY_BRANCH = {
    "praia": ["coach", "coach.praia"],
    "mindelo": ["coach.mindelo", "coach.voluntario"],
    "sal": ["coach.sal"],
}
SUBSIDY_PROGRAMME = "vale-assistencia-tecnica"
PRODUCTS = [
    # name, hours, price (CVE), subsidy %, description
    (
        "Gestão financeira básica",
        Decimal("10"),
        Decimal("30000"),
        Decimal("50"),
        "Separar as contas da casa e do negócio, registo de vendas e despesas, preços, stocks "
        "e tesouraria. Metade paga pelo Vale de Assistência Técnica.",
    ),
    (
        "Marketing digital",
        Decimal("6"),
        Decimal("18000"),
        Decimal("0"),
        "Página do negócio nas redes sociais, fotografias dos produtos, WhatsApp Business e "
        "anúncios locais.",
    ),
]

# How many engagements end up in each state; "cancelled_active" were cancelled after sessions.
ENGAGEMENT_PLAN = {
    EngagementStatus.REQUESTED: 5,
    EngagementStatus.ACCEPTED: 4,
    EngagementStatus.ACTIVE: 14,
    EngagementStatus.COMPLETED: 12,
    EngagementStatus.CANCELLED: 5,
}
ENGAGEMENT_COUNT = sum(ENGAGEMENT_PLAN.values())
BORROWER_ENGAGEMENTS = 24  # the others go to coaching-only customers

NEEDS = [
    "Não sabe quanto ganha por mês: mistura o dinheiro da casa e do negócio.",
    "Quer vender mais aos turistas e não tem presença nas redes sociais.",
    "Atrasos nas prestações por falta de tesouraria no fim do mês.",
    "Stock parado e preços calculados sem contar os custos.",
    "Quer formalizar o negócio e preparar um plano para crescer.",
    "Clientes novos difíceis de encontrar fora do bairro.",
]
GOALS = [
    ("Registar todas as vendas e despesas num caderno diário", Decimal("30"), "dias"),
    ("Aumentar as vendas mensais", Decimal("15"), "%"),
    ("Constituir uma reserva de tesouraria", Decimal("20000"), "CVE"),
    ("Publicar os produtos na página do negócio", Decimal("12"), "publicações"),
    ("Reduzir o stock parado", Decimal("25"), "%"),
    ("Conquistar clientes novos", Decimal("10"), "clientes"),
]
SITUATIONS = [
    "Revimos o caderno de vendas da semana.",
    "Analisámos os custos de cada produto.",
    "Vimos as fotografias e as mensagens da página.",
    "Conversámos sobre as prestações e a tesouraria do mês.",
    "Visitámos o ponto de venda e a montra.",
]
ADVICE = [
    "Guardar o dinheiro do negócio numa caixa à parte.",
    "Subir o preço dos produtos com margem abaixo de 20 %.",
    "Publicar duas vezes por semana, sempre com preço.",
    "Pagar a prestação logo no dia das maiores vendas.",
    "Arrumar a montra com os produtos mais procurados à frente.",
]
ACTIONS = [
    "Preencher o caderno de vendas todos os dias",
    "Calcular o custo dos cinco produtos principais",
    "Criar a página do negócio",
    "Abrir uma conta só para o negócio",
]
CANCEL_REASONS = [
    "A cliente emigrou para Portugal.",
    "O cliente fechou o negócio.",
    "Sem disponibilidade para as sessões.",
]
FEEDBACK_COMMENTS = {
    5: "Excelente, mudou a forma como giro o negócio.",
    4: "Muito útil, gostaria de mais sessões.",
    3: "Boas dicas mas os horários foram difíceis.",
}

INTERACTION_COUNT = 120
FIELD_AGENT_ROUND = 15  # borrowers the field agent follows
INTERACTION_ACTORS = {
    "praia": ["officer", "fieldagent"],
    "mindelo": ["officer.mindelo"],
    "sal": ["officer.sal"],
}
INTERACTION_SUMMARIES = {
    InteractionKind.CALL: [
        "Lembrete da prestação",
        "Pedido de informação sobre crédito",
        "Marcação de visita",
        "Cliente pediu para adiar o pagamento",
    ],
    InteractionKind.VISIT: [
        "Visita ao negócio",
        "Verificação do investimento financiado",
        "Visita de cobrança",
        "Avaliação da capacidade de reembolso",
    ],
    InteractionKind.DESK_VISIT: [
        "Entrega de documentos na agência",
        "Pagamento ao balcão e dúvidas",
        "Pedido de segunda via do plano de pagamentos",
    ],
}
# The interactions with a next action: due days from today (negative: overdue), then how many
# of the ones due later are done already.
NEXT_ACTION_DAYS = [-9, -6, -4, -3, -2, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0] + [
    1,
    1,
    2,
    3,
    3,
    5,
    7,
    7,
    10,
    14,
    14,
    21,
    21,
    30,
]
TASKS_DONE = 4

LEAD_PLAN = {
    LeadStage.PROSPECT: 5,
    LeadStage.CONTACTED: 5,
    LeadStage.APPLIED: 4,
    LeadStage.CLIENT: 3,
    LeadStage.LOST: 3,
}
LEAD_PATHS = {
    LeadStage.PROSPECT: [],
    LeadStage.CONTACTED: [LeadStage.CONTACTED],
    LeadStage.APPLIED: [LeadStage.CONTACTED, LeadStage.APPLIED],
    LeadStage.CLIENT: [LeadStage.CONTACTED, LeadStage.APPLIED, LeadStage.CLIENT],
    LeadStage.LOST: [LeadStage.CONTACTED, LeadStage.LOST],
}

COURSES = [
    (
        "Gerir o meu pequeno negócio",
        "Três lições curtas sobre contas, preços e tesouraria.",
        [
            ("Separar o dinheiro da casa e do negócio", "Porquê e como ter uma caixa à parte."),
            ("Calcular o preço certo", "Custo, margem e preço de venda."),
            ("Planear a tesouraria do mês", "Entradas, saídas e a data da prestação."),
        ],
        [
            ("Onde guardar o dinheiro das vendas?", ["Na carteira", "Numa caixa do negócio"], 1),
            ("O preço de venda deve cobrir…", ["Só a compra", "Os custos e a margem"], 1),
            ("A prestação paga-se…", ["Quando sobrar", "Na data combinada"], 1),
        ],
    ),
    (
        "Crédito responsável e poupança",
        "O que perguntar antes de pedir crédito e como poupar todos os meses.",
        [
            ("Quanto posso pagar por mês?", "A prestação e o excedente do negócio."),
            ("Ler o plano de pagamentos", "Capital, juros e datas."),
            ("Poupar um pouco todos os meses", "Pequenas quantias, objetivos claros."),
        ],
        [
            ("Uma prestação confortável é…", ["Todo o lucro", "Parte do excedente"], 1),
            ("Os juros são…", ["O custo do dinheiro emprestado", "Um desconto"], 0),
            ("Poupar é mais fácil…", ["Com um objetivo", "Sem planear"], 0),
        ],
    ),
]
ENROLMENT_COUNT = 30
# Progress of the learners, one entry per enrolment in turn: lessons done, then the quiz
# ("pass", "fail", "fail-pass" or None). A learner who did all three lessons and passed the quiz
# gets the certificate.
PROGRESS_PLAN = [
    (3, "pass"),
    (3, "fail-pass"),
    (3, "fail"),
    (2, None),
    (1, None),
    (0, None),
    (3, None),
    (2, None),
    (1, None),
    (3, "pass"),
]


@dataclass
class _EngagementPlan:
    party: Party
    coach: Coach
    product: CoachingProduct
    status: str
    cancelled_from: str = ""


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone()
    )


def _day_between(rng: Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@transaction.atomic
def seed_coaching(*, users: dict[str, User]) -> int:
    """Create the demo coaching, follow-up and learning data once; returns how many coaching
    engagements were created."""
    if CoachingProduct.objects.filter(name=PRODUCTS[0][0]).exists():
        return 0
    rng = Random(SEED)
    manager = users["manager"]
    staff = {**users, **_seed_coach_users()}
    coaches = _seed_coaches(actor=manager, staff=staff)
    products = _seed_products(actor=manager)
    plans = _plan_engagements(rng, coaches=coaches, products=products)
    for plan in plans:
        _run_engagement(rng, plan, manager=manager)
    _seed_interactions(rng, staff=staff)
    _seed_leads(rng, staff=staff)
    _seed_learning(rng, actor=manager)
    return len(plans)


# --- coaches and products ------------------------------------------------------------------------


def _seed_coach_users() -> dict[str, User]:
    branches = {branch.code: branch for branch in Branch.objects.all()}
    users = {}
    for staff in COACHES:
        user = User.objects.filter(username=staff.username).first()
        if user is None:
            user = User(
                username=staff.username,
                first_name=staff.first_name,
                last_name=staff.last_name,
                role=staff.role,
                branch=branches[staff.branch],
                email=f"{staff.username}@demo.mfi.cv",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        users[staff.username] = user
    return users


def _seed_coaches(*, actor: User, staff: dict[str, User]) -> dict[str, Coach]:
    coaches = {}
    for username, profile in COACH_PROFILES.items():
        volunteer, skills, sectors, languages, islands, capacity, rate = profile
        user = staff[username]
        coach = Coach.objects.filter(user=user).first()
        if coach is None:
            coach = coaching.coach_create(
                actor=actor,
                user=user,
                capacity_hours_per_month=Decimal(capacity),
                is_volunteer=volunteer,
                skills=skills,
                sectors=sectors,
                languages=languages,
                islands=islands,
                accreditation_name="" if volunteer else "Formador certificado IEFP",
                accreditation_expires_on=None if volunteer else datetime.date(2028, 6, 30),
                hourly_rate=Decimal(rate),
            )
        coaches[username] = coach
    return coaches


def _seed_products(*, actor: User) -> list[CoachingProduct]:
    programme = Offer.objects.filter(code=SUBSIDY_PROGRAMME).first()
    products = []
    for name, hours, price, subsidy, description in PRODUCTS:
        if programme is None:
            subsidy = Decimal(0)
        products.append(
            coaching.coaching_product_create(
                actor=actor,
                name=name,
                package_hours=hours,
                price=price,
                subsidy_percent=subsidy,
                programme=programme if subsidy else None,
                description=description,
            )
        )
    return products


# --- engagements -------------------------------------------------------------------------------


def _plan_engagements(rng: Random, *, coaches, products) -> list[_EngagementPlan]:
    borrower_ids = list(
        Loan.objects.filter(status__in=[LoanStatus.ACTIVE, LoanStatus.CLOSED])
        .order_by("borrower_id")
        .values_list("borrower_id", flat=True)
        .distinct()
    )
    borrowers = list(Party.objects.filter(pk__in=borrower_ids).order_by("pk"))
    customers = list(
        Party.objects.filter(relationship=Relationship.COACHING_CUSTOMER, person__isnull=False)
        .exclude(pk__in=borrower_ids)
        .order_by("pk")
    )
    borrowers.sort(key=lambda _party: rng.random())
    customers.sort(key=lambda _party: rng.random())
    parties = (
        borrowers[:BORROWER_ENGAGEMENTS] + customers[: ENGAGEMENT_COUNT - BORROWER_ENGAGEMENTS]
    )
    rng.shuffle(parties)
    statuses = [status for status, count in ENGAGEMENT_PLAN.items() for _ in range(count)]
    branch_codes = dict(Branch.objects.values_list("pk", "code"))
    plans = []
    cancelled_from = [
        EngagementStatus.REQUESTED,
        EngagementStatus.REQUESTED,
        EngagementStatus.ACCEPTED,
        EngagementStatus.ACTIVE,
        EngagementStatus.ACTIVE,
    ]
    for party, status in zip(parties, statuses, strict=True):
        candidates = COACHES_BY_BRANCH[branch_codes[party.branch_id]]
        # The demo coach follows the parties assigned to them in the CRM.
        mine = [name for name in candidates if coaches[name].user_id == party.assigned_to_id]
        username = mine[0] if mine else rng.choice(candidates)
        product = products[0] if rng.random() < 0.6 else products[1]
        plan = _EngagementPlan(party=party, coach=coaches[username], product=product, status=status)
        if status == EngagementStatus.CANCELLED:
            plan.cancelled_from = cancelled_from.pop()
        plans.append(plan)
    return plans


def _run_engagement(rng: Random, plan: _EngagementPlan, *, manager: User) -> None:
    status = plan.status
    if status == EngagementStatus.COMPLETED:
        requested = _day_between(rng, datetime.date(2026, 1, 12), datetime.date(2026, 6, 30))
    elif status in (EngagementStatus.ACTIVE, EngagementStatus.CANCELLED):
        requested = _day_between(rng, datetime.date(2026, 3, 2), datetime.date(2026, 9, 15))
    else:
        requested = _day_between(rng, datetime.date(2026, 10, 1), datetime.date(2026, 11, 13))
    coach_user = plan.coach.user
    engagement = coaching.engagement_request(
        actor=manager,
        party=plan.party,
        product=plan.product,
        coach=plan.coach,
        needs=rng.choice(NEEDS),
        skills=plan.coach.skills[:1],
        requested_on=requested,
    )
    goals = [
        coaching.goal_add(
            actor=coach_user,
            engagement=engagement,
            description=description,
            target_value=value,
            target_unit=unit,
            target_date=requested + _days(rng.choice([60, 90, 120])),
        )
        for description, value, unit in rng.sample(GOALS, rng.randint(1, 2))
    ]
    final = plan.cancelled_from or status
    if final == EngagementStatus.REQUESTED:
        if status == EngagementStatus.CANCELLED:
            coaching.engagement_transition(
                actor=manager,
                engagement=engagement,
                to_status=EngagementStatus.CANCELLED,
                on=requested + _days(rng.randint(3, 15)),
                reason=rng.choice(CANCEL_REASONS),
            )
        return
    accepted = requested + _days(rng.randint(2, 7))
    engagement = coaching.engagement_transition(
        actor=coach_user,
        engagement=engagement,
        to_status=EngagementStatus.ACCEPTED,
        on=min(accepted, AS_OF),
    )
    if final == EngagementStatus.ACCEPTED:
        # Sessions booked ahead, after the demo date.
        for k in range(rng.randint(1, 2)):
            day = PLANNED_FROM + _days(rng.randint(0, 6) + 7 * k)
            _log(rng, engagement, coach_user, day, SessionStatus.PLANNED)
        if status == EngagementStatus.CANCELLED:
            coaching.engagement_transition(
                actor=coach_user,
                engagement=engagement,
                to_status=EngagementStatus.CANCELLED,
                on=AS_OF,
                reason=rng.choice(CANCEL_REASONS),
            )
        return
    # Active, completed or cancelled after it started: held sessions every one to three weeks.
    if status == EngagementStatus.COMPLETED:
        count = rng.randint(5, 7)
    elif status == EngagementStatus.CANCELLED:
        count = 2
    else:
        count = rng.randint(3, 5)
    day = accepted + _days(rng.randint(3, 10))
    held_days = []
    for index in range(count):
        if day > AS_OF:
            break
        no_show = index > 0 and rng.random() < 0.1
        _log(
            rng,
            engagement,
            coach_user,
            day,
            SessionStatus.NO_SHOW if no_show else SessionStatus.HELD,
            with_items=index == 0,
        )
        if not no_show:
            held_days.append(day)
        day += _days(rng.randint(7, 21))
    engagement.refresh_from_db()
    if status == EngagementStatus.ACTIVE:
        _log(
            rng,
            engagement,
            coach_user,
            PLANNED_FROM + _days(rng.randint(0, 20)),
            SessionStatus.PLANNED,
        )
    last = held_days[-1]
    if status == EngagementStatus.COMPLETED:
        completed = last + _days(rng.randint(1, 5))
        for goal in goals[: rng.randint(0, len(goals))]:
            coaching.goal_mark_achieved(actor=coach_user, goal=goal, achieved_on=last)
        engagement = coaching.engagement_transition(
            actor=coach_user,
            engagement=engagement,
            to_status=EngagementStatus.COMPLETED,
            on=completed,
        )
        rating = rng.choice([5, 5, 4, 4, 4, 3])
        coaching.feedback_record(
            actor=manager,
            engagement=engagement,
            rating=rating,
            comment=FEEDBACK_COMMENTS[rating],
        )
        issue_date = completed + _days(2)
    elif status == EngagementStatus.CANCELLED:
        cancelled = last + _days(rng.randint(10, 30))
        engagement = coaching.engagement_transition(
            actor=manager,
            engagement=engagement,
            to_status=EngagementStatus.CANCELLED,
            on=min(cancelled, AS_OF),
            reason=rng.choice(CANCEL_REASONS),
        )
        issue_date = min(cancelled, AS_OF)
    else:
        issue_date = last + _days(rng.randint(1, 4))
    _bill(rng, engagement, manager=manager, issue_date=min(issue_date, AS_OF))


def _log(rng, engagement, coach_user, day, status, *, with_items=False) -> None:
    items = ()
    if with_items and engagement.party.assigned_to_id == coach_user.pk:
        items = [(rng.choice(ACTIONS), day + _days(14))]
    coaching.session_log(
        actor=coach_user,
        engagement=engagement,
        scheduled_at=_at(day, rng.choice([9, 10, 14, 16])),
        duration_minutes=rng.choice([60, 90, 90, 120]),
        mode=rng.choice(
            [SessionMode.IN_PERSON, SessionMode.IN_PERSON, SessionMode.PHONE, SessionMode.VIDEO]
        ),
        status=status,
        situation=rng.choice(SITUATIONS) if status == SessionStatus.HELD else "",
        advice=rng.choice(ADVICE) if status == SessionStatus.HELD else "",
        action_items=items,
    )


def _bill(rng: Random, engagement: Engagement, *, manager: User, issue_date) -> None:
    """Invoice the held sessions; most invoices are paid (the programme's share separately),
    some in part, some not yet."""
    invoice = coaching.invoice_for_engagement(
        actor=manager, engagement=engagement, issue_date=issue_date
    )
    roll = rng.random()
    if roll < 0.2:
        return
    pay_day = min(issue_date + _days(rng.randint(3, 25)), AS_OF)
    if invoice.subsidy_amount:
        invoice = coaching.payment_record(
            actor=manager,
            invoice=invoice,
            amount=invoice.subsidy_amount,
            date=pay_day,
            channel=PaymentChannel.PROGRAMME,
        ).invoice
    customer_share = invoice.total - invoice.subsidy_amount
    if roll < 0.35:  # part of the customer's share
        customer_share = (customer_share / 2 / 100).quantize(Decimal("1")) * 100
    if customer_share > 0:
        coaching.payment_record(
            actor=manager,
            invoice=invoice,
            amount=customer_share,
            date=pay_day,
            channel=rng.choice(
                [PaymentChannel.CASH, PaymentChannel.MOBILE_MONEY, PaymentChannel.BANK_TRANSFER]
            ),
        )


# --- interactions and tasks --------------------------------------------------------------------


def _seed_interactions(rng: Random, *, staff: dict[str, User]) -> None:
    today = timezone.localdate()
    loans_by_party = {}
    for loan in Loan.objects.exclude(disbursed_on=None).order_by("pk"):
        loans_by_party.setdefault(loan.borrower_id, loan)
    _give_field_agent_a_round(rng, staff=staff, loans_by_party=loans_by_party)
    candidates = {}
    for branch_code, usernames in INTERACTION_ACTORS.items():
        for username in usernames:
            user = staff[username]
            parties = Party.objects.exclude(relationship=Relationship.PROSPECT).filter(
                branch__code=branch_code
            )
            if user.sees_assigned_only:
                parties = parties.filter(assigned_to=user)
            candidates[username] = list(parties.order_by("pk"))
    actors = [name for names in INTERACTION_ACTORS.values() for name in names]
    weights = [3 if name == "officer" else 2 for name in actors]
    next_actions = list(NEXT_ACTION_DAYS)
    with_action = set(rng.sample(range(INTERACTION_COUNT), len(next_actions)))
    overdue: list[tuple[int, int]] = []
    due_later: list[Task] = []
    for index in range(INTERACTION_COUNT):
        username = rng.choices(actors, weights=weights)[0]
        actor = staff[username]
        party = rng.choice(candidates[username])
        if actor.sees_assigned_only:
            kind = InteractionKind.VISIT
        else:
            kind = rng.choice([InteractionKind.CALL, InteractionKind.CALL, InteractionKind.VISIT])
            if rng.random() < 0.25:
                kind = InteractionKind.DESK_VISIT
        day = _day_between(rng, datetime.date(2026, 1, 8), AS_OF - _days(1))
        loan = loans_by_party.get(party.pk)
        offset = next_actions.pop(0) if index in with_action else None
        interaction = interactions.interaction_record(
            actor=actor,
            party=party,
            kind=kind,
            summary=rng.choice(INTERACTION_SUMMARIES[kind]),
            outcome=rng.choice(
                [
                    InteractionOutcome.REACHED,
                    InteractionOutcome.REACHED,
                    InteractionOutcome.NOT_REACHED,
                    InteractionOutcome.PROMISED_TO_PAY,
                    InteractionOutcome.NEEDS_HELP,
                ]
            )
            if kind == InteractionKind.CALL
            else InteractionOutcome.REACHED,
            occurred_at=_at(day, rng.randint(8, 17), rng.choice([0, 15, 30, 45])),
            loan=loan if loan is not None and not actor.sees_assigned_only else None,
            next_action_date=None if offset is None else today + _days(max(offset, 0)),
        )
        if offset is not None and offset < 0:
            overdue.append((interaction.pk, offset))
        elif offset is not None and offset > 0:
            due_later.append(Task.objects.get(source_interaction=interaction))
    # No service dates a task in the past: the overdue ones were promised days ago.
    for interaction_id, offset in overdue:
        Interaction.objects.filter(pk=interaction_id).update(next_action_date=today + _days(offset))
        Task.objects.filter(source_interaction_id=interaction_id).update(
            due_date=today + _days(offset)
        )
    for task in due_later[:TASKS_DONE]:
        interactions.task_complete(actor=task.assigned_to, task=task)


def _give_field_agent_a_round(rng: Random, *, staff: dict[str, User], loans_by_party) -> None:
    """The Praia branch manager hands some borrowers without a coach to the field agent."""
    agent = staff["fieldagent"]
    if Party.objects.filter(assigned_to=agent).exists():
        return
    borrowers = list(
        Person.objects.filter(
            pk__in=list(loans_by_party),
            branch__code="praia",
            coaching_engagements__isnull=True,
        ).order_by("pk")
    )
    for person in rng.sample(borrowers, min(FIELD_AGENT_ROUND, len(borrowers))):
        crm_services.person_update(
            actor=staff["branchmanager"], person=person, data={"assigned_to": agent}
        )


# --- leads -------------------------------------------------------------------------------------


def _seed_leads(rng: Random, *, staff: dict[str, User]) -> None:
    officers = {"praia": "officer", "mindelo": "officer.mindelo", "sal": "officer.sal"}
    prospects = list(
        Party.objects.filter(relationship=Relationship.PROSPECT, person__isnull=False)
        .exclude(pk__in=Lead.objects.values("party_id"))
        .select_related("branch")
        .order_by("pk")
    )
    prospects = rng.sample(prospects, sum(LEAD_PLAN.values()))
    stages = [stage for stage, count in LEAD_PLAN.items() for _ in range(count)]
    for party, stage in zip(prospects, stages, strict=True):
        actor = staff[officers[party.branch.code]]
        lead = leads.lead_create(actor=actor, party=party, source=rng.choice(LeadSource.values))
        for to_stage in LEAD_PATHS[stage]:
            if to_stage == LeadStage.CONTACTED:
                day = _day_between(rng, datetime.date(2026, 9, 1), AS_OF - _days(1))
                interactions.interaction_record(
                    actor=actor,
                    party=party,
                    kind=InteractionKind.CALL,
                    summary="Primeiro contacto: apresentação do microcrédito",
                    outcome=InteractionOutcome.REACHED,
                    occurred_at=_at(day, rng.randint(9, 17)),
                )
            lead = leads.lead_move(
                actor=actor,
                lead=lead,
                to_stage=to_stage,
                lost_reason="Preferiu o crédito de um banco." if to_stage == LeadStage.LOST else "",
            )


# --- e-learning --------------------------------------------------------------------------------


def _seed_learning(rng: Random, *, actor: User) -> None:
    courses = []
    for title, description, lessons, questions in COURSES:
        course = Course.objects.filter(title=title).first()
        if course is None:
            course = learning.course_create(actor=actor, title=title, description=description)
            created = [
                learning.lesson_create(actor=actor, course=course, title=name, body=body)
                for name, body in lessons
            ]
            learning.quiz_create(
                actor=actor,
                lesson=created[-1],
                pass_mark_percent=Decimal("60"),
                questions=[
                    learning.QuestionData(text=text, choices=choices, correct_index=right)
                    for text, choices, right in questions
                ],
            )
        courses.append(course)
    learners = list(
        Party.objects.filter(coaching_engagements__isnull=False, person__isnull=False)
        .distinct()
        .order_by("pk")
    )
    learners = rng.sample(learners, ENROLMENT_COUNT)
    for index, party in enumerate(learners):
        course = courses[index % len(courses)]
        enrolment = learning.enrolment_create(actor=actor, course=course, party=party)
        lessons_done, quiz_result = PROGRESS_PLAN[index % len(PROGRESS_PLAN)]
        lessons = list(Lesson.objects.filter(course=course).order_by("position"))
        for lesson in lessons[:lessons_done]:
            learning.lesson_complete(actor=actor, enrolment=enrolment, lesson=lesson)
        if quiz_result is None:
            continue
        quiz = lessons[-1].quiz
        right = {
            question.pk: next(c.pk for c in question.choices.all() if c.is_correct)
            for question in quiz.questions.prefetch_related("choices")
        }
        wrong = {
            question.pk: next(c.pk for c in question.choices.all() if not c.is_correct)
            for question in quiz.questions.prefetch_related("choices")
        }
        if quiz_result.startswith("fail"):
            learning.quiz_attempt_record(actor=actor, enrolment=enrolment, quiz=quiz, answers=wrong)
        if quiz_result.endswith("pass"):
            learning.quiz_attempt_record(actor=actor, enrolment=enrolment, quiz=quiz, answers=right)
