"""Placeholder: this area's views and its ``urlpatterns`` are being built."""

urlpatterns: list = []
