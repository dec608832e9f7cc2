"""Builders of e-learning data through the real services."""

from __future__ import annotations

import itertools
from decimal import Decimal

from elearning import services
from elearning.services import QuestionData

_numbers = itertools.count(1)


def make_course(actor, **overrides):
    values = {"title": f"Bookkeeping basics {next(_numbers)}", "description": "Cash book."}
    values.update(overrides)
    return services.course_create(actor=actor, **values)


def make_lesson(actor, course, **overrides):
    values = {"title": f"Lesson {next(_numbers)}", "body": "Write every sale down."}
    values.update(overrides)
    return services.lesson_create(actor=actor, course=course, **values)


def make_quiz(actor, lesson, *, pass_mark="60", questions=3):  # noqa: S107 (a percent)
    """A quiz whose right answer is always the first choice."""
    return services.quiz_create(
        actor=actor,
        lesson=lesson,
        pass_mark_percent=Decimal(pass_mark),
        questions=[
            QuestionData(text=f"Question {n}", choices=["Right", "Wrong"], correct_index=0)
            for n in range(1, questions + 1)
        ],
    )


def answers(quiz, *, right: int) -> dict[int, int]:
    """Answers with the first ``right`` questions right and the rest wrong."""
    result = {}
    for index, question in enumerate(quiz.questions.order_by("position")):
        choices = list(question.choices.order_by("position"))
        result[question.pk] = (choices[0] if index < right else choices[1]).pk
    return result
