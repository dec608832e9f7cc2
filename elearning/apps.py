from django.apps import AppConfig


class ElearningConfig(AppConfig):
    name = "elearning"
    verbose_name = "E-learning"
