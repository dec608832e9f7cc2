"""Reads of e-learning data, scoped to the user.

Courses are visible to every staff member with ``LEARNING_VIEW``. Learners are scoped: a coach
sees the parties they coach (an engagement whose coach is the user); other staff the parties
``crm.selectors.parties_visible_to`` gives them. A learner out of scope is indistinguishable
from a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from coaching.selectors import engagements_visible_to
from crm.models import Party
from crm.selectors import parties_visible_to
from elearning.models import (
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonCompletion,
    Question,
    Quiz,
    QuizAttempt,
)
from users.roles import Capability, Role


def learners_visible_to(user) -> QuerySet[Party]:
    """Parties whose learning progress the user may see."""
    if not user.is_authenticated or not user.has_capability(Capability.LEARNING_VIEW):
        return Party.objects.none()
    if user.role == Role.COACH:
        coached = engagements_visible_to(user).filter(coach__user=user).values("party_id")
        return Party.objects.filter(pk__in=coached)
    return parties_visible_to(user)


def courses_visible_to(user) -> QuerySet[Course]:
    if not user.is_authenticated or not user.has_capability(Capability.LEARNING_VIEW):
        return Course.objects.none()
    return Course.objects.all()


def course_get_for_user(*, user, course_id: int) -> Course:
    course = courses_visible_to(user).filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course")
    return course


def course_lessons(*, course: Course) -> list[Lesson]:
    return list(course.lessons.select_related("quiz").order_by("position"))


def lesson_get_for_user(*, user, course_id: int, lesson_id: int) -> Lesson:
    lesson = (
        Lesson.objects.filter(course__in=courses_visible_to(user), course_id=course_id)
        .select_related("course", "quiz")
        .filter(pk=lesson_id)
        .first()
    )
    if lesson is None:
        raise Http404("No such lesson")
    return lesson


def quiz_questions(*, quiz: Quiz) -> list[Question]:
    return list(quiz.questions.prefetch_related("choices").order_by("position"))


def enrolments_visible_to(user) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(party__in=learners_visible_to(user)).select_related(
        "party", "course"
    )


def enrolment_get_for_user(*, user, enrolment_id: int) -> Enrolment:
    enrolment = enrolments_visible_to(user).filter(pk=enrolment_id).first()
    if enrolment is None:
        raise Http404("No such enrolment")
    return enrolment


@dataclass(frozen=True)
class LearnerProgress:
    """One learner's progress in a course: lessons completed and quizzes passed, of the total."""

    enrolment: Enrolment
    lessons_completed: int
    lesson_count: int
    quizzes_passed: int
    quiz_count: int
    completed_lesson_ids: frozenset[int]
    passed_quiz_ids: frozenset[int]

    @property
    def is_complete(self) -> bool:
        return self.enrolment.completed_at is not None


def course_progress(*, user, course: Course) -> list[LearnerProgress]:
    """Progress of every learner of the course the user may see, in a fixed number of queries."""
    lessons = course_lessons(course=course)
    quiz_ids = [lesson.quiz.pk for lesson in lessons if hasattr(lesson, "quiz")]
    enrolments = (
        enrolments_visible_to(user)
        .filter(course=course)
        .select_related("certificate")
        .prefetch_related(
            "lesson_completions",
            Prefetch("attempts", to_attr="passed_attempts", queryset=_passed_attempts()),
        )
        .order_by("party__display_name", "pk")
    )
    rows = []
    for enrolment in enrolments:
        completed = frozenset(c.lesson_id for c in enrolment.lesson_completions.all())
        passed = frozenset(a.quiz_id for a in enrolment.passed_attempts) & frozenset(quiz_ids)
        rows.append(
            LearnerProgress(
                enrolment=enrolment,
                lessons_completed=len(completed),
                lesson_count=len(lessons),
                quizzes_passed=len(passed),
                quiz_count=len(quiz_ids),
                completed_lesson_ids=completed,
                passed_quiz_ids=passed,
            )
        )
    return rows


def _passed_attempts() -> QuerySet[QuizAttempt]:
    return QuizAttempt.objects.filter(passed=True)


def enrolment_is_complete(*, enrolment: Enrolment) -> bool:
    """True when every lesson of the course is completed and every quiz passed."""
    lessons = Lesson.objects.filter(course_id=enrolment.course_id)
    if not lessons.exists():
        return False
    completed = LessonCompletion.objects.filter(enrolment=enrolment).values("lesson_id")
    if lessons.exclude(pk__in=completed).exists():
        return False
    passed = QuizAttempt.objects.filter(enrolment=enrolment, passed=True).values("quiz_id")
    quizzes = Quiz.objects.filter(lesson__course_id=enrolment.course_id)
    return not quizzes.exclude(pk__in=passed).exists()


def certificate_get_for_user(*, user, code: str) -> Certificate:
    certificate = (
        Certificate.objects.filter(enrolment__in=enrolments_visible_to(user), code=code)
        .select_related("enrolment__party", "enrolment__course")
        .first()
    )
    if certificate is None:
        raise Http404("No such certificate")
    return certificate


def certificate_for_verification(*, code: str) -> Certificate:
    """The certificate a public verification code names, or Http404."""
    certificate = (
        Certificate.objects.filter(code=code)
        .select_related("enrolment__party", "enrolment__course")
        .first()
    )
    if certificate is None:
        raise Http404("No such certificate")
    return certificate
