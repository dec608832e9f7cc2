"""E-learning services: enrolment once, progress, quiz scoring, completion and certificates."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from elearning import services
from elearning.models import Certificate, Enrolment, QuizAttempt
from tests.elearning.factories import answers, make_lesson, make_quiz


def test_a_learner_is_enrolled_once_per_course(branch_manager, course, learner):
    # given
    services.enrolment_create(actor=branch_manager, course=course, party=learner)
    # when / then
    with pytest.raises(ValidationError):
        services.enrolment_create(actor=branch_manager, course=course, party=learner)
    assert Enrolment.objects.filter(course=course, party=learner).count() == 1
    assert AuditEvent.objects.filter(action="elearning.enrolment_create").count() == 1


def test_staff_cannot_enrol_a_learner_out_of_their_scope(branch_manager, course, mindelo_learner):
    with pytest.raises(PermissionDenied):
        services.enrolment_create(actor=branch_manager, course=course, party=mindelo_learner)
    assert Enrolment.objects.count() == 0


def test_an_auditor_cannot_enrol(auditor, course, learner):
    with pytest.raises(PermissionDenied):
        services.enrolment_create(actor=auditor, course=course, party=learner)
    assert Enrolment.objects.count() == 0


def test_completing_a_lesson_is_recorded_once(branch_manager, enrolment, lesson):
    # when
    first = services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=lesson)
    second = services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=lesson)
    # then
    assert first.pk == second.pk
    assert enrolment.lesson_completions.count() == 1
    assert AuditEvent.objects.filter(action="elearning.lesson_complete").count() == 1


@pytest.mark.parametrize(
    ("right", "score", "passed"),
    [(0, "0.00", False), (1, "33.33", False), (2, "66.67", True), (3, "100.00", True)],
)
def test_a_quiz_attempt_scores_the_exact_percent_against_the_pass_mark(
    branch_manager, enrolment, quiz, right, score, passed
):
    # when
    attempt = services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=right)
    )
    # then
    assert attempt.correct_count == right
    assert attempt.question_count == 3
    assert attempt.score_percent == Decimal(score)
    assert attempt.passed is passed


def test_a_score_equal_to_the_pass_mark_passes(manager, branch_manager, course, learner):
    # given a 4-question quiz with a 50 % pass mark
    quiz = make_quiz(manager, make_lesson(manager, course), pass_mark="50", questions=4)
    enrolment = services.enrolment_create(actor=branch_manager, course=course, party=learner)
    # when
    attempt = services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=2)
    )
    # then
    assert attempt.score_percent == Decimal("50.00")
    assert attempt.passed is True


def test_an_unanswered_question_counts_as_wrong(branch_manager, enrolment, quiz):
    given = answers(quiz, right=3)
    given.pop(next(iter(given)))
    attempt = services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=given
    )
    assert attempt.score_percent == Decimal("66.67")


def test_the_course_is_completed_only_when_every_lesson_is_done_and_every_quiz_passed(
    branch_manager, enrolment, lesson, quiz_lesson, quiz
):
    # given every lesson completed but the quiz failed
    services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=lesson)
    services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=quiz_lesson)
    services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=1)
    )
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None
    assert Certificate.objects.count() == 0
    # when the quiz is passed
    services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=2)
    )
    # then
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    assert QuizAttempt.objects.filter(enrolment=enrolment).count() == 2
    assert Certificate.objects.filter(enrolment=enrolment).count() == 1


def test_passing_the_quiz_without_completing_every_lesson_does_not_complete_the_course(
    branch_manager, enrolment, quiz_lesson, quiz
):
    services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=quiz_lesson)
    services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
    )
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None


def _complete(actor, enrolment, lesson, quiz_lesson, quiz):
    services.lesson_complete(actor=actor, enrolment=enrolment, lesson=lesson)
    services.lesson_complete(actor=actor, enrolment=enrolment, lesson=quiz_lesson)
    services.quiz_attempt_record(
        actor=actor, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
    )
    enrolment.refresh_from_db()
    return enrolment


def test_the_certificate_is_issued_once_with_a_unique_code(
    branch_manager, manager, course, enrolment, lesson, quiz_lesson, quiz, loan_officer
):
    # given a completed course
    enrolment = _complete(branch_manager, enrolment, lesson, quiz_lesson, quiz)
    first = enrolment.certificate
    # when asked again, and after another attempt
    again = services.certificate_issue(actor=branch_manager, enrolment=enrolment)
    services.quiz_attempt_record(
        actor=branch_manager, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
    )
    # then
    assert again.pk == first.pk
    assert Certificate.objects.count() == 1
    assert len(first.code) == 12
    assert AuditEvent.objects.filter(action="elearning.certificate_issue").count() == 1
    # and another learner's certificate has another code
    from tests.crm.factories import make_person

    other = services.enrolment_create(
        actor=branch_manager, course=course, party=make_person(loan_officer)
    )
    other = _complete(branch_manager, other, lesson, quiz_lesson, quiz)
    assert other.certificate.code != first.code


def test_no_certificate_before_completion(branch_manager, enrolment):
    with pytest.raises(ValidationError):
        services.certificate_issue(actor=branch_manager, enrolment=enrolment)
    assert Certificate.objects.count() == 0


def test_a_quiz_needs_exactly_one_correct_choice_and_a_lesson_has_one_quiz(manager, lesson):
    with pytest.raises(ValidationError):
        services.quiz_create(
            actor=manager,
            lesson=lesson,
            pass_mark_percent=Decimal("50"),
            questions=[services.QuestionData(text="Q", choices=["Only"], correct_index=0)],
        )
    make_quiz(manager, lesson)
    with pytest.raises(ValidationError):
        make_quiz(manager, lesson)


def test_a_lesson_file_must_really_be_a_pdf_or_image(manager, course):
    fake = SimpleUploadedFile("notes.pdf", b"MZ not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError):
        make_lesson(manager, course, file=fake)
    assert course.lessons.count() == 0
    pdf = SimpleUploadedFile("notes.pdf", b"%PDF-1.4 minimal", content_type="application/pdf")
    lesson = make_lesson(manager, course, file=pdf)
    assert lesson.file.name.endswith(".pdf")
    assert "notes" not in lesson.file.name
