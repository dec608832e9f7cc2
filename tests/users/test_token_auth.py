"""API token authentication: the token, its user and the user's branch in one query; a wrong
token or an inactive user is refused (403: session authentication comes first, as for
every unauthenticated API call) with a message in the caller's language."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from users.authentication import TokenAuthentication


def _client(key: str, language: str = "en") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE=language)
    return client


def test_a_token_reads_its_user_and_the_users_branch_in_one_query(
    branch_manager, praia, django_assert_num_queries
):
    # given
    token = Token.objects.create(user=branch_manager)
    # when
    with django_assert_num_queries(1):
        user, found = TokenAuthentication().authenticate_credentials(token.key)
        # then: the branch is already there (scope and head-office checks need it)
        assert (user.pk, found.key, user.branch.code) == (branch_manager.pk, token.key, "praia")


def test_an_api_call_with_a_branch_managers_token_is_served(branch_manager):
    token = Token.objects.create(user=branch_manager)
    response = _client(token.key).get("/api/v1/loans/")
    assert (response.status_code, response.json()["count"]) == (200, 0)


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Invalid token."), ("pt", "Token inválido."), ("fr", "Jeton invalide.")],
)
def test_an_unknown_token_is_refused_in_the_callers_language(db, language, message):
    response = _client("0" * 40, language).get("/api/v1/loans/")
    assert (response.status_code, response.json()) == (403, {"detail": message})


def test_the_token_of_an_inactive_user_is_refused(branch_manager):
    # given
    token = Token.objects.create(user=branch_manager)
    branch_manager.is_active = False
    branch_manager.save(update_fields=["is_active"])
    # when
    response = _client(token.key).get("/api/v1/loans/")
    # then
    assert (response.status_code, response.json()) == (403, {"detail": "User inactive or deleted."})
