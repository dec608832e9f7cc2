from django.apps import AppConfig


class MfiConfig(AppConfig):
    name = "mfi"
    verbose_name = "Platform"
