"""Placeholder: this area's API views and its ``urlpatterns`` are being built."""

urlpatterns: list = []
