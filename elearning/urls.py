from django.urls import path

from elearning import views

app_name = "elearning"

urlpatterns = [
    path("", views.course_list, name="course_list"),
    path("courses/new/", views.course_create, name="course_create"),
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("courses/<int:pk>/lessons/new/", views.lesson_create, name="lesson_create"),
    path("courses/<int:pk>/enrol/", views.enrolment_create, name="enrolment_create"),
    path("courses/<int:pk>/lessons/<int:lesson_id>/", views.lesson_detail, name="lesson_detail"),
    path(
        "courses/<int:pk>/lessons/<int:lesson_id>/quiz/new/",
        views.quiz_create,
        name="quiz_create",
    ),
    path(
        "courses/<int:pk>/lessons/<int:lesson_id>/complete/",
        views.lesson_complete,
        name="lesson_complete",
    ),
    path(
        "courses/<int:pk>/lessons/<int:lesson_id>/file/",
        views.lesson_file,
        name="lesson_file",
    ),
    path("certificates/<str:code>/pdf/", views.certificate_download, name="certificate_pdf"),
    path("verify/<str:code>/", views.certificate_verify, name="verify"),
]
