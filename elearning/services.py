"""Every change of e-learning data: atomic, permission-checked and audited.

Course authoring and learner progress need ``LEARNING_MANAGE``; a learner (a party) must also be
in the actor's scope (``elearning.selectors.learners_visible_to``). A course is completed when
every lesson is completed and every quiz passed; the certificate is then issued, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm.models import Party
from elearning.choices import (
    HUNDRED,
    LESSON_FILE_TYPES,
    SCORE_QUANTUM,
    VERIFICATION_ALPHABET,
    VERIFICATION_CODE_LENGTH,
)
from elearning.models import (
    Certificate,
    Choice,
    Course,
    Enrolment,
    Lesson,
    LessonCompletion,
    Question,
    Quiz,
    QuizAttempt,
)
from elearning.selectors import enrolment_is_complete, learners_visible_to
from mfi.uploads import validate_upload
from users.roles import Capability


def _require_manage(actor) -> None:
    if not actor.has_capability(Capability.LEARNING_MANAGE):
        raise PermissionDenied(_("You may not manage courses or learners."))


def _require_learner_in_scope(actor, party_id: int) -> None:
    _require_manage(actor)
    if not learners_visible_to(actor).filter(pk=party_id).exists():
        raise PermissionDenied(_("This learner is not in your scope."))


def score_percent(*, correct: int, total: int) -> Decimal:
    """Right answers as a percentage of the questions, to the hundredth (half even)."""
    if total == 0:
        return Decimal("0.00")
    return (Decimal(correct) * HUNDRED / Decimal(total)).quantize(
        SCORE_QUANTUM, rounding=ROUND_HALF_EVEN
    )


# --- courses, lessons, quizzes ---------------------------------------------------------------


@transaction.atomic
def course_create(*, actor, title: str, description: str = "") -> Course:
    _require_manage(actor)
    if Course.objects.filter(title=title).exists():
        raise ValidationError({"title": _("A course with this title exists already.")})
    course = Course.objects.create(title=title, description=description, created_by=actor)
    audit_record(
        actor=actor, action="elearning.course_create", target=course, after=snapshot(course)
    )
    return course


@transaction.atomic
def lesson_create(
    *, actor, course: Course, title: str, body: str = "", video_url: str = "", file=None
) -> Lesson:
    """Append a lesson at the end of the course. ``file`` is checked by its content."""
    _require_manage(actor)
    course = Course.objects.select_for_update().get(pk=course.pk)
    if file:
        validate_upload(file, allowed=LESSON_FILE_TYPES)
    last = course.lessons.aggregate(last=Max("position"))["last"] or 0
    lesson = Lesson.objects.create(
        course=course,
        position=last + 1,
        title=title,
        body=body,
        video_url=video_url,
        file=file or "",
    )
    audit_record(
        actor=actor, action="elearning.lesson_create", target=lesson, after=snapshot(lesson)
    )
    return lesson


@dataclass(frozen=True)
class QuestionData:
    """A question to add to a quiz: its text, its choices in order, the index of the right one."""

    text: str
    choices: Sequence[str]
    correct_index: int


@transaction.atomic
def quiz_create(
    *, actor, lesson: Lesson, pass_mark_percent: Decimal, questions: Sequence[QuestionData]
) -> Quiz:
    """The lesson's quiz (one per lesson), with questions each having exactly one right choice."""
    _require_manage(actor)
    lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
    if Quiz.objects.filter(lesson=lesson).exists():
        raise ValidationError(_("This lesson has a quiz already."))
    if not Decimal(0) <= pass_mark_percent <= HUNDRED:
        raise ValidationError({"pass_mark_percent": _("The pass mark is between 0 and 100.")})
    if not questions:
        raise ValidationError(_("A quiz needs at least one question."))
    for question in questions:
        if len(question.choices) < 2 or not 0 <= question.correct_index < len(question.choices):
            raise ValidationError(
                _("Each question needs two or more choices and exactly one correct choice.")
            )
    quiz = Quiz.objects.create(lesson=lesson, pass_mark_percent=pass_mark_percent)
    for q_position, data in enumerate(questions, start=1):
        question = Question.objects.create(quiz=quiz, position=q_position, text=data.text)
        Choice.objects.bulk_create(
            Choice(
                question=question,
                position=c_position,
                text=text,
                is_correct=index == data.correct_index,
            )
            for index, (c_position, text) in enumerate(enumerate(data.choices, start=1))
        )
    audit_record(
        actor=actor,
        action="elearning.quiz_create",
        target=quiz,
        after={**snapshot(quiz), "question_count": len(questions)},
    )
    return quiz


# --- learners and their progress -------------------------------------------------------------


@transaction.atomic
def enrolment_create(*, actor, course: Course, party: Party) -> Enrolment:
    """Enrol a learner in a course, once."""
    _require_learner_in_scope(actor, party.pk)
    if not course.is_active:
        raise ValidationError(_("This course is closed for enrolment."))
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(course=course, party=party, enrolled_by=actor)
    except IntegrityError as exc:
        raise ValidationError(_("This learner is enrolled in this course already.")) from exc
    audit_record(
        actor=actor,
        action="elearning.enrolment_create",
        target=enrolment,
        after=snapshot(enrolment),
        branch_id=party.branch_id,
    )
    return enrolment


def _lock_enrolment(enrolment: Enrolment) -> Enrolment:
    return (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("party", "course")
        .get(pk=enrolment.pk)
    )


def _complete_if_done(*, actor, enrolment: Enrolment) -> None:
    """Mark the course completed and issue the certificate once everything is done."""
    if enrolment.completed_at is not None or not enrolment_is_complete(enrolment=enrolment):
        return
    before = snapshot(enrolment, ["completed_at"])
    enrolment.completed_at = timezone.now()
    enrolment.save(update_fields=["completed_at"])
    audit_record(
        actor=actor,
        action="elearning.course_complete",
        target=enrolment,
        before=before,
        after=snapshot(enrolment, ["completed_at"]),
        branch_id=enrolment.party.branch_id,
    )
    _certificate_issue(actor=actor, enrolment=enrolment)


@transaction.atomic
def lesson_complete(*, actor, enrolment: Enrolment, lesson: Lesson) -> LessonCompletion:
    """Record that the learner completed the lesson (a second call returns the first record)."""
    _require_learner_in_scope(actor, enrolment.party_id)
    enrolment = _lock_enrolment(enrolment)
    if lesson.course_id != enrolment.course_id:
        raise ValidationError(_("This lesson is not part of the learner's course."))
    completion = LessonCompletion.objects.filter(enrolment=enrolment, lesson=lesson).first()
    if completion is not None:
        return completion
    completion = LessonCompletion.objects.create(
        enrolment=enrolment, lesson=lesson, recorded_by=actor
    )
    audit_record(
        actor=actor,
        action="elearning.lesson_complete",
        target=enrolment,
        after={"lesson": lesson.pk},
        branch_id=enrolment.party.branch_id,
    )
    _complete_if_done(actor=actor, enrolment=enrolment)
    return completion


@transaction.atomic
def quiz_attempt_record(
    *, actor, enrolment: Enrolment, quiz: Quiz, answers: Mapping[int, int | None]
) -> QuizAttempt:
    """Score the answers (question id → chosen choice id; a missing answer is wrong) and record
    the attempt. Passed when the score reaches the quiz's pass mark."""
    _require_learner_in_scope(actor, enrolment.party_id)
    enrolment = _lock_enrolment(enrolment)
    if quiz.lesson.course_id != enrolment.course_id:
        raise ValidationError(_("This quiz is not part of the learner's course."))
    correct_choice = dict(
        Choice.objects.filter(question__quiz=quiz, is_correct=True).values_list("question_id", "pk")
    )
    question_ids = list(quiz.questions.values_list("pk", flat=True))
    given = {int(k): (int(v) if v is not None else None) for k, v in answers.items()}
    correct = sum(
        1
        for pk in question_ids
        if given.get(pk) is not None and given[pk] == correct_choice.get(pk)
    )
    score = score_percent(correct=correct, total=len(question_ids))
    attempt = QuizAttempt.objects.create(
        enrolment=enrolment,
        quiz=quiz,
        answers={str(pk): given.get(pk) for pk in question_ids},
        correct_count=correct,
        question_count=len(question_ids),
        score_percent=score,
        passed=score >= quiz.pass_mark_percent,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="elearning.quiz_attempt",
        target=enrolment,
        after={"quiz": quiz.pk, "score_percent": str(score), "passed": attempt.passed},
        branch_id=enrolment.party.branch_id,
    )
    _complete_if_done(actor=actor, enrolment=enrolment)
    return attempt


def _new_code() -> str:
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_CODE_LENGTH))


def _certificate_issue(*, actor, enrolment: Enrolment) -> Certificate:
    existing = Certificate.objects.filter(enrolment=enrolment).first()
    if existing is not None:
        return existing
    code = _new_code()
    while Certificate.objects.filter(code=code).exists():  # 32**12 codes: a clash is a fluke
        code = _new_code()
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        code=code,
        issued_on=timezone.localdate(),
        issued_by=actor,
    )
    audit_record(
        actor=actor,
        action="elearning.certificate_issue",
        target=certificate,
        after=snapshot(certificate),
        branch_id=enrolment.party.branch_id,
    )
    return certificate


@transaction.atomic
def certificate_issue(*, actor, enrolment: Enrolment) -> Certificate:
    """The enrolment's certificate, issued once, only for a completed course."""
    _require_learner_in_scope(actor, enrolment.party_id)
    enrolment = _lock_enrolment(enrolment)
    if enrolment.completed_at is None:
        raise ValidationError(_("The course is not completed yet."))
    return _certificate_issue(actor=actor, enrolment=enrolment)
