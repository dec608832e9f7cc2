"""E-learning fixtures: a course with a plain lesson and a lesson with a 3-question quiz
(pass mark 60 %), a Praia learner enrolled by the branch manager, and a Mindelo learner."""

from __future__ import annotations

import pytest

from elearning import services
from tests.crm.factories import make_person
from tests.elearning.factories import make_course, make_lesson, make_quiz


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def course(manager):
    return make_course(manager, title="Bookkeeping basics")


@pytest.fixture
def lesson(manager, course):
    return make_lesson(manager, course, title="The cash book")


@pytest.fixture
def quiz_lesson(manager, course, lesson):
    return make_lesson(manager, course, title="Margins")


@pytest.fixture
def quiz(manager, quiz_lesson):
    return make_quiz(manager, quiz_lesson, pass_mark="60", questions=3)


@pytest.fixture
def learner(loan_officer):
    return make_person(loan_officer, first_name="Ana", last_name="Lopes", nif="")


@pytest.fixture
def mindelo_learner(outsider):
    return make_person(outsider, first_name="Cidalia", last_name="Fortes", island="sao_vicente")


@pytest.fixture
def enrolment(branch_manager, course, learner, quiz):
    return services.enrolment_create(actor=branch_manager, course=course, party=learner)
