"""E-learning forms: parse and validate input only; the services decide."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from elearning.choices import LESSON_FILE_TYPES
from elearning.services import QuestionData
from mfi.forms import apply_service_errors  # noqa: F401 - used by this app's views
from mfi.uploads import validate_upload


def _helper(label) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label))
    return helper


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Create course"))


class LessonForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea, required=False)
    video_url = forms.URLField(label=_("Video link"), required=False, assume_scheme="https")
    file = forms.FileField(label=_("Downloadable file (PDF, PNG, JPEG)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Add lesson"))

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded:
            validate_upload(uploaded, allowed=LESSON_FILE_TYPES)
        return uploaded


class QuizForm(forms.Form):
    """A quiz typed as text: questions separated by a blank line, the first line of each block is
    the question, the next lines its choices, the correct one starting with ``*``."""

    pass_mark_percent = forms.DecimalField(
        label=_("Pass mark (%)"), min_value=Decimal(0), max_value=Decimal(100), decimal_places=2
    )
    questions = forms.CharField(
        label=_("Questions"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "One block per question, separated by a blank line: the question, then one choice "
            "per line; start the correct choice with *."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save quiz"))

    def clean_questions(self) -> list[QuestionData]:
        text = self.cleaned_data["questions"].replace("\r\n", "\n")
        questions = []
        for block in (b for b in text.split("\n\n") if b.strip()):
            lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
            choices = [line.lstrip("*").strip() for line in lines[1:]]
            correct = [i for i, line in enumerate(lines[1:]) if line.startswith("*")]
            if len(choices) < 2 or len(correct) != 1:
                raise ValidationError(
                    _("“%(question)s” needs two or more choices and exactly one marked with *.")
                    % {"question": lines[0]}
                )
            questions.append(QuestionData(text=lines[0], choices=choices, correct_index=correct[0]))
        if not questions:
            raise ValidationError(_("Type at least one question."))
        return questions


class EnrolmentForm(forms.Form):
    party = forms.ModelChoiceField(label=_("Learner"), queryset=None)

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties
        self.helper = _helper(_("Enrol"))


class QuizAnswerForm(forms.Form):
    """One radio group per question; the learner whose attempt it is is chosen first."""

    enrolment = forms.ModelChoiceField(label=_("Learner"), queryset=None)

    def __init__(self, *args, questions, enrolments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enrolment"].queryset = enrolments
        self.fields["enrolment"].label_from_instance = lambda enrolment: (
            enrolment.party.display_name
        )
        for question in questions:
            self.fields[f"question_{question.pk}"] = forms.TypedChoiceField(
                label=question.text,
                choices=[(choice.pk, choice.text) for choice in question.choices.all()],
                coerce=int,
                widget=forms.RadioSelect,
                required=False,
            )
        self.question_ids = [question.pk for question in questions]

    def answers(self) -> dict[int, int | None]:
        return {pk: self.cleaned_data.get(f"question_{pk}") or None for pk in self.question_ids}


class LessonCompleteForm(forms.Form):
    enrolment = forms.ModelChoiceField(label=_("Learner"), queryset=None)

    def __init__(self, *args, enrolments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enrolment"].queryset = enrolments
        self.fields["enrolment"].label_from_instance = lambda enrolment: (
            enrolment.party.display_name
        )
