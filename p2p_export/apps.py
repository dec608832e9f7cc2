from django.apps import AppConfig


class P2pExportConfig(AppConfig):
    name = "p2p_export"
    verbose_name = "P2P export"
