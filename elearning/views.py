"""E-learning screens: course list, course page (lessons and each learner's progress), lesson
page with its quiz form, enrolment form, authoring forms, the certificate PDF and the public
verification page. Thin views: parse with a form, call a selector or a service, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from elearning import services
from elearning.documents import certificate_pdf
from elearning.forms import (
    CourseForm,
    EnrolmentForm,
    LessonCompleteForm,
    LessonForm,
    QuizAnswerForm,
    QuizForm,
    apply_service_errors,
)
from elearning.selectors import (
    certificate_for_verification,
    certificate_get_for_user,
    course_get_for_user,
    course_lessons,
    course_progress,
    courses_visible_to,
    enrolments_visible_to,
    learners_visible_to,
    lesson_get_for_user,
    quiz_questions,
)
from mfi.permissions import capability_required
from users.roles import Capability


def _can_manage(user) -> bool:
    return user.has_capability(Capability.LEARNING_MANAGE)


@capability_required(Capability.LEARNING_VIEW)
def course_list(request):
    courses = courses_visible_to(request.user).order_by("title")
    return render(
        request,
        "elearning/course_list.html",
        {"courses": courses, "can_manage": _can_manage(request.user)},
    )


@capability_required(Capability.LEARNING_MANAGE)
def course_create(request):
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("elearning:course_detail", pk=course.pk)
    return render(request, "elearning/form.html", {"form": form, "title": _("New course")})


@capability_required(Capability.LEARNING_VIEW)
def course_detail(request, pk: int):
    course = course_get_for_user(user=request.user, course_id=pk)
    return render(
        request,
        "elearning/course_detail.html",
        {
            "course": course,
            "lessons": course_lessons(course=course),
            "progress": course_progress(user=request.user, course=course),
            "can_manage": _can_manage(request.user),
        },
    )


@capability_required(Capability.LEARNING_MANAGE)
def lesson_create(request, pk: int):
    course = course_get_for_user(user=request.user, course_id=pk)
    form = LessonForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.lesson_create(actor=request.user, course=course, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("elearning:course_detail", pk=course.pk)
    return render(
        request,
        "elearning/form.html",
        {"form": form, "title": _("New lesson in %(course)s") % {"course": course}},
    )


@capability_required(Capability.LEARNING_MANAGE)
def quiz_create(request, pk: int, lesson_id: int):
    lesson = lesson_get_for_user(user=request.user, course_id=pk, lesson_id=lesson_id)
    form = QuizForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.quiz_create(actor=request.user, lesson=lesson, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("elearning:lesson_detail", pk=pk, lesson_id=lesson.pk)
    return render(
        request,
        "elearning/form.html",
        {"form": form, "title": _("Quiz of %(lesson)s") % {"lesson": lesson}},
    )


@capability_required(Capability.LEARNING_MANAGE)
def enrolment_create(request, pk: int):
    course = course_get_for_user(user=request.user, course_id=pk)
    parties = learners_visible_to(request.user).exclude(course_enrolments__course=course)
    form = EnrolmentForm(request.POST or None, parties=parties.order_by("display_name"))
    if request.method == "POST" and form.is_valid():
        try:
            services.enrolment_create(
                actor=request.user, course=course, party=form.cleaned_data["party"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Learner enrolled."))
            return redirect("elearning:course_detail", pk=course.pk)
    return render(
        request,
        "elearning/form.html",
        {"form": form, "title": _("Enrol a learner in %(course)s") % {"course": course}},
    )


def _course_enrolments(user, course):
    return enrolments_visible_to(user).filter(course=course).order_by("party__display_name")


@capability_required(Capability.LEARNING_VIEW)
def lesson_detail(request, pk: int, lesson_id: int):
    lesson = lesson_get_for_user(user=request.user, course_id=pk, lesson_id=lesson_id)
    enrolments = _course_enrolments(request.user, lesson.course)
    quiz = getattr(lesson, "quiz", None)
    questions = quiz_questions(quiz=quiz) if quiz else []
    can_manage = _can_manage(request.user)
    quiz_form = None
    attempt = None
    if quiz and can_manage:
        quiz_form = QuizAnswerForm(request.POST or None, questions=questions, enrolments=enrolments)
        if request.method == "POST" and quiz_form.is_valid():
            try:
                attempt = services.quiz_attempt_record(
                    actor=request.user,
                    enrolment=quiz_form.cleaned_data["enrolment"],
                    quiz=quiz,
                    answers=quiz_form.answers(),
                )
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                verdict = _("passed") if attempt.passed else _("not passed")
                messages.success(
                    request,
                    _("Score %(score)s %% — %(verdict)s.")
                    % {"score": attempt.score_percent, "verdict": verdict},
                )
                return redirect("elearning:lesson_detail", pk=pk, lesson_id=lesson.pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "elearning/lesson_detail.html",
        {
            "course": lesson.course,
            "lesson": lesson,
            "quiz": quiz,
            "quiz_form": quiz_form,
            "complete_form": LessonCompleteForm(enrolments=enrolments) if can_manage else None,
            "can_manage": can_manage,
        },
    )


@require_POST
@capability_required(Capability.LEARNING_MANAGE)
def lesson_complete(request, pk: int, lesson_id: int):
    lesson = lesson_get_for_user(user=request.user, course_id=pk, lesson_id=lesson_id)
    form = LessonCompleteForm(
        request.POST, enrolments=_course_enrolments(request.user, lesson.course)
    )
    if not form.is_valid():
        raise Http404("No such learner")
    try:
        services.lesson_complete(
            actor=request.user, enrolment=form.cleaned_data["enrolment"], lesson=lesson
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Lesson marked completed."))
    return redirect("elearning:lesson_detail", pk=pk, lesson_id=lesson.pk)


@capability_required(Capability.LEARNING_VIEW)
def lesson_file(request, pk: int, lesson_id: int):
    lesson = lesson_get_for_user(user=request.user, course_id=pk, lesson_id=lesson_id)
    if not lesson.file:
        raise Http404("No file")
    return FileResponse(lesson.file.open("rb"), as_attachment=True, filename=lesson.file.name)


@capability_required(Capability.LEARNING_VIEW)
def certificate_download(request, code: str):
    certificate = certificate_get_for_user(user=request.user, code=code)
    verify_url = request.build_absolute_uri(f"/learning/verify/{certificate.code}/")
    pdf = certificate_pdf(certificate=certificate, verify_url=verify_url)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{certificate.code}.pdf"'
    return response


def certificate_verify(request, code: str):
    """Public: anyone with the code sees the learner's name, the course and the date only."""
    certificate = certificate_for_verification(code=code)
    return render(
        request,
        "elearning/verify.html",
        {
            "learner_name": certificate.enrolment.party.display_name,
            "course_title": certificate.enrolment.course.title,
            "issued_on": certificate.issued_on,
        },
    )
