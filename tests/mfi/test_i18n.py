"""Portuguese and French: pages, menus and errors are translated; the catalogs are complete."""

import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.crm.factories import person_form_data

LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = ["pt", "fr"]


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """A request activates its language for the thread; later tests start from the default."""
    yield
    translation.deactivate()


def _po_entries(path: Path) -> list[dict]:
    """Entries of a .po file: flags, msgid and every msgstr / msgstr[n] (no polib needed)."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        entry, field = {"flags": [], "msgid": "", "msgstr": {}}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            else:
                if not line.startswith('"'):
                    field, _, line = line.partition(" ")
                value = ast.literal_eval(line)  # PO string escapes are Python's
                if field == "msgid":
                    entry["msgid"] += value
                elif field.startswith("msgstr"):
                    entry["msgstr"][field] = entry["msgstr"].get(field, "") + value
        entries.append(entry)
    return entries


def test_the_login_page_is_in_portuguese_when_the_browser_asks_for_it(client, db):
    # given
    accept_language = "pt"
    # when
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept_language)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="pt">' in html
    assert "<title>Iniciar sessão · Plataforma IMF</title>" in html
    assert '<button class="btn btn-primary w-100" type="submit">Iniciar sessão</button>' in html
    assert "Esqueceu-se da palavra-passe?" in html
    assert "Sign in" not in html


def test_the_login_page_is_in_french_when_the_browser_asks_for_it(client, db):
    # given
    accept_language = "fr"
    # when
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept_language)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert "<title>Se connecter · Plateforme IMF</title>" in html
    assert '<button class="btn btn-primary w-100" type="submit">Se connecter</button>' in html
    assert "Mot de passe oublié\u00a0?" in html
    assert "Sign in" not in html


def test_a_loan_officer_gets_the_party_list_in_portuguese_from_the_language_cookie(
    client, loan_officer
):
    # given
    client.force_login(loan_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt"
    # when
    response = client.get("/parties/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="pt">' in html
    assert "<title>Entidades · Plataforma IMF</title>" in html
    assert re.findall(r'<i class="bi bi-[\w-]+"></i> ([^<]+)</a></li>', html) == [
        "Início",
        "As minhas tarefas",
        "Entidades",
        "Oportunidades",
        "Empréstimos",
        "Conformidade",
        "O meu dia",
        "Coaching",
        "Formação",
        "API",
    ]
    assert "Nova pessoa" in html  # the button on the party list
    assert "Oficial de crédito" in html  # the role under the user menu
    assert "Terminar sessão" in html
    assert "New person" not in html


def test_a_form_error_is_shown_in_portuguese(client, loan_officer, praia):
    # given
    client.force_login(loan_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt"
    # when
    response = client.post("/parties/new/person/", person_form_data(praia, nif="12AB"))
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["nif"] == ["Um NIF tem exatamente 9 algarismos."]
    assert "Um NIF tem exatamente 9 algarismos." in response.content.decode()
    assert "A NIF has exactly 9 digits." not in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    # given
    entries = _po_entries(LOCALE / language / "LC_MESSAGES" / "django.po")
    # when
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    untranslated = [
        entry["msgid"]
        for entry in entries[1:]
        if not entry["msgstr"] or not all(entry["msgstr"].values())
    ]
    # then
    assert entries[0]["msgid"] == ""  # the header
    assert f"Language: {language}\n" in entries[0]["msgstr"]["msgstr"]
    assert len(entries) > 250
    assert fuzzy == []
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_up_to_date_with_the_po_file(language, tmp_path):
    # given
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed")
    messages = LOCALE / language / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    # when
    subprocess.run(  # noqa: S603 - msgfmt from PATH on our own .po file
        [msgfmt, "--check", "-o", str(fresh), str(messages / "django.po")],
        check=True,
        capture_output=True,
    )
    # then
    with fresh.open("rb") as expected, (messages / "django.mo").open("rb") as committed:
        assert (
            gettext.GNUTranslations(committed)._catalog
            == gettext.GNUTranslations(expected)._catalog
        )
