"""E-learning screens: scoping (403/404 and nothing changed), the quiz form, the enrolment form,
the certificate PDF and the public verification page."""

import re

import pytest

from audit.models import AuditEvent
from elearning import services
from elearning.models import Enrolment, QuizAttempt
from tests.coaching.factories import accepted_engagement, make_coach, make_product
from tests.crm.factories import make_person
from tests.elearning.factories import answers


def _complete(actor, enrolment, lesson, quiz_lesson, quiz):
    services.lesson_complete(actor=actor, enrolment=enrolment, lesson=lesson)
    services.lesson_complete(actor=actor, enrolment=enrolment, lesson=quiz_lesson)
    services.quiz_attempt_record(
        actor=actor, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
    )
    enrolment.refresh_from_db()
    return enrolment.certificate


@pytest.fixture
def certificate(branch_manager, enrolment, lesson, quiz_lesson, quiz):
    return _complete(branch_manager, enrolment, lesson, quiz_lesson, quiz)


def test_the_course_list_and_page_show_lessons_and_progress(
    client, branch_manager, course, enrolment, lesson, django_assert_max_num_queries
):
    # given
    services.lesson_complete(actor=branch_manager, enrolment=enrolment, lesson=lesson)
    client.force_login(branch_manager)
    # when
    listing = client.get("/learning/")
    with django_assert_max_num_queries(15):
        page = client.get(f"/learning/courses/{course.pk}/")
    # then
    assert listing.status_code == 200
    assert "Bookkeeping basics" in listing.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "The cash book" in html and "Margins" in html
    assert "Ana Lopes" in html
    row = re.search(rf'data-enrolment="{enrolment.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "1 / 2" in row and "0 / 1" in row


def test_staff_of_another_branch_do_not_see_the_learner(client, outsider, course, enrolment):
    client.force_login(outsider)
    html = client.get(f"/learning/courses/{course.pk}/").content.decode()
    assert "Ana Lopes" not in html


def test_a_coach_sees_the_progress_of_their_customers_only(
    client, manager, branch_manager, coach, course, learner, loan_officer
):
    # given a coached learner and another learner of the same branch, both enrolled
    engagement_party = learner
    accepted_engagement(
        branch_manager,
        party=engagement_party,
        product=make_product(manager),
        coach=make_coach(manager, coach),
    )
    other = make_person(loan_officer, first_name="Bela", last_name="Monteiro")
    services.enrolment_create(actor=branch_manager, course=course, party=learner)
    services.enrolment_create(actor=branch_manager, course=course, party=other)
    client.force_login(coach)
    # when
    html = client.get(f"/learning/courses/{course.pk}/").content.decode()
    # then
    assert "Ana Lopes" in html
    assert "Bela Monteiro" not in html


def test_the_enrolment_form_enrols_a_learner_in_scope(client, branch_manager, course, learner):
    client.force_login(branch_manager)
    form = client.get(f"/learning/courses/{course.pk}/enrol/")
    assert "Ana Lopes" in form.content.decode()
    response = client.post(f"/learning/courses/{course.pk}/enrol/", {"party": learner.pk})
    assert response.status_code == 302
    assert Enrolment.objects.filter(course=course, party=learner).count() == 1


def test_the_enrolment_form_refuses_a_learner_out_of_scope(
    client, branch_manager, course, mindelo_learner
):
    client.force_login(branch_manager)
    response = client.post(f"/learning/courses/{course.pk}/enrol/", {"party": mindelo_learner.pk})
    assert response.status_code == 200
    assert Enrolment.objects.count() == 0


def test_an_auditor_may_read_but_not_enrol(client, auditor, course, learner):
    # given
    client.force_login(auditor)
    events = AuditEvent.objects.count()
    # when
    page = client.get(f"/learning/courses/{course.pk}/")
    response = client.post(f"/learning/courses/{course.pk}/enrol/", {"party": learner.pk})
    # then
    assert page.status_code == 200
    assert response.status_code == 403
    assert Enrolment.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_submitting_the_quiz_form_records_an_attempt(
    client, branch_manager, course, quiz_lesson, quiz, enrolment
):
    client.force_login(branch_manager)
    url = f"/learning/courses/{course.pk}/lessons/{quiz_lesson.pk}/"
    assert client.get(url).status_code == 200
    data = {"enrolment": enrolment.pk}
    data.update({f"question_{q}": c for q, c in answers(quiz, right=2).items()})
    response = client.post(url, data)
    assert response.status_code == 302
    attempt = QuizAttempt.objects.get(enrolment=enrolment)
    assert str(attempt.score_percent) == "66.67"
    assert attempt.passed is True


def test_the_quiz_form_refuses_a_learner_out_of_scope(
    client, outsider, course, quiz_lesson, quiz, enrolment
):
    client.force_login(outsider)
    data = {"enrolment": enrolment.pk}
    data.update({f"question_{q}": c for q, c in answers(quiz, right=3).items()})
    response = client.post(f"/learning/courses/{course.pk}/lessons/{quiz_lesson.pk}/", data)
    assert response.status_code == 200
    assert QuizAttempt.objects.count() == 0


def test_marking_a_lesson_completed_from_the_lesson_page(
    client, branch_manager, course, lesson, enrolment
):
    client.force_login(branch_manager)
    response = client.post(
        f"/learning/courses/{course.pk}/lessons/{lesson.pk}/complete/",
        {"enrolment": enrolment.pk},
    )
    assert response.status_code == 302
    assert enrolment.lesson_completions.count() == 1


def test_the_certificate_pdf(client, branch_manager, certificate):
    client.force_login(branch_manager)
    response = client.get(f"/learning/certificates/{certificate.code}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_certificate_pdf_is_404_out_of_scope(client, outsider, certificate):
    client.force_login(outsider)
    assert client.get(f"/learning/certificates/{certificate.code}/pdf/").status_code == 404


def test_the_public_verification_page_shows_name_course_and_date_only(client, certificate):
    # when, without signing in
    response = client.get(f"/learning/verify/{certificate.code}/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    fields = dict(re.findall(r'data-field="(\w+)">([^<]*)<', html))
    assert fields == {
        "name": "Ana Lopes",
        "course": "Bookkeeping basics",
        "date": certificate.issued_on.isoformat(),
    }
    party = certificate.enrolment.party
    assert party.branch.name not in html
    assert "Praia" not in html


def test_the_verification_page_is_404_for_an_unknown_code(client, certificate):
    assert client.get("/learning/verify/NOSUCHCODE00/").status_code == 404


def test_someone_signed_out_cannot_see_courses(client, course):
    response = client.get("/learning/")
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]
