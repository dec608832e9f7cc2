"""E-learning: courses made of ordered lessons (text, a video link, a downloadable file), an
optional quiz per lesson, the enrolment of learners (parties: entrepreneurs and volunteers), their
progress (lessons completed, quiz attempts) and the completion certificate with its public
verification code. Every change goes through ``elearning.services``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

PERCENT = {"max_digits": 5, "decimal_places": 2}


def lesson_file_path(instance: Lesson, filename: str) -> str:
    """Files live under the course; the name is already random (``validate_upload``)."""
    return f"elearning/courses/{instance.course_id}/{uuid.uuid4().hex}-{filename}"


class Course(models.Model):
    """A course: an ordered list of lessons. A learner completes it when every lesson is
    completed and every quiz passed."""

    title = models.CharField(_("title"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("open for enrolment"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    """One lesson of a course, shown in ``position`` order: a text, an optional video link and
    an optional downloadable file (PDF, PNG or JPEG, type sniffed from the content)."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="lessons")
    position = models.PositiveIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    file = models.FileField(_("downloadable file"), upload_to=lesson_file_path, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["course", "position"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "position"], name="%(app_label)s_%(class)s_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Quiz(models.Model):
    """The quiz of one lesson (at most one). Passed when the score, in percent of questions
    answered right, is at least ``pass_mark_percent``."""

    lesson = models.OneToOneField(Lesson, on_delete=models.PROTECT, related_name="quiz")
    pass_mark_percent = models.DecimalField(_("pass mark (%)"), **PERCENT)

    class Meta:
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark_percent__gte=0, pass_mark_percent__lte=100),
                name="%(app_label)s_%(class)s_pass_mark_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.lesson)


class Question(models.Model):
    """One question of a quiz, with its choices (exactly one correct)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(_("position"))
    text = models.CharField(_("question"), max_length=500)

    class Meta:
        ordering = ["quiz", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "position"], name="%(app_label)s_%(class)s_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Choice(models.Model):
    """One possible answer to a question. The database allows at most one correct choice per
    question; the service requires exactly one."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveIntegerField(_("position"))
    text = models.CharField(_("answer"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["question"],
                condition=Q(is_correct=True),
                name="%(app_label)s_%(class)s_one_correct",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Enrolment(models.Model):
    """A learner (a party) enrolled in a course by a staff member, once per course.
    ``completed_at`` is set when every lesson is completed and every quiz passed; never unset."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    party = models.ForeignKey(
        "crm.Party", on_delete=models.PROTECT, related_name="course_enrolments"
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    enrolled_at = models.DateTimeField(_("enrolled"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["course", "party__display_name", "pk"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "party"], name="%(app_label)s_%(class)s_once_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} — {self.course}"

    @property
    def branch_id(self) -> int:
        return self.party.branch_id


class LessonCompletion(models.Model):
    """A lesson a learner has completed (recorded once)."""

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="lesson_completions"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField(_("completed"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "lesson"], name="%(app_label)s_%(class)s_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id}: lesson {self.lesson_id}"


class QuizAttempt(models.Model):
    """One attempt at a quiz: the answers given (question id → choice id), the score in percent
    to the hundredth, and whether it reached the pass mark at the time."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="attempts")
    answers = models.JSONField(_("answers"), default=dict)
    correct_count = models.PositiveIntegerField(_("right answers"))
    question_count = models.PositiveIntegerField(_("questions"))
    score_percent = models.DecimalField(_("score (%)"), **PERCENT)
    passed = models.BooleanField(_("passed"))
    attempted_at = models.DateTimeField(_("attempted"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-attempted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.enrolment_id}: quiz {self.quiz_id} {self.score_percent} %"


class Certificate(models.Model):
    """The completion certificate of an enrolment, issued once. ``code`` is random and unique;
    anyone holding it may verify the certificate (name, course and date only)."""

    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(_("verification code"), max_length=32, unique=True)
    issued_on = models.DateField(_("issued on"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self) -> str:
        return self.code
