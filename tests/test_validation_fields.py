"""Field checks of the models and the lookups behind cross-reference checks, value by value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chancal.models import Contact, Partner, ProgramSettings
from chancal.validation import _countries, _subdivisions


def error_of(model: type[Contact | Partner | ProgramSettings], data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    messages = [e["msg"] for e in caught.value.errors()]
    assert len(messages) == 1
    return messages[0]


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.com",
        "a.b+c@mail.example.co",
        "x@b.c",
        "o'brien@acme.example",
        "jürgen@bücher.de",
    ],
)
def test_valid_emails(email: str) -> None:
    """Addresses as mail software takes them: a dot-atom, '@' and a domain name."""
    assert Contact(name="A", email=email).email == email


@pytest.mark.parametrize(
    "email",
    [
        "ann",
        "@example.com",
        "ann@",
        "ann@example",
        "ann@.com",
        "ann@example.",
        "ann@@example.com",
        "ann@exa@mple.com",
        "ann smith@example.com",
        "ann@example.com\n",
        "\tann@example.com",
        "ann@example\u00a0.com",
        "a@" + "b" * 50_000,
        "a@b..c",
        "a" * 100_000 + "@example.com",
        "x@example.com;ROLE=CHAIR",
        'a;b,c:d"e\\f@example.com',
        "ann@example.com\x00",
        "ann\x1b@example.com",
        ".ann@example.com",
        "ann@exam_ple.com",
        "ann@example.123",
    ],
)
def test_invalid_emails(email: str) -> None:
    """Anything else is refused, quickly even for a long address without a dot.

    An address longer than RFC 5321's 254 characters is refused by its length,
    without echoing the value.
    """
    message = error_of(Contact, {"name": "A", "email": email})
    if len(email) > 254:
        assert message == "String should have at most 254 characters"
    else:
        assert message.startswith(
            f"Value error, '{email}' is not an email address; write it like name@example.com"
        )


PARTNER = {
    "id": "acme",
    "name": "Acme",
    "tier": "gold",
    "manager": "ann",
    "country": "DE",
    "timezone": "Europe/Berlin",
}


@pytest.mark.parametrize("field", ["id", "tier", "manager"])
def test_id_with_trailing_newline_is_refused(field: str) -> None:
    """An id from a block scalar ('acme' plus a line break) is not a valid id."""
    message = error_of(Partner, {**PARTNER, field: "acme\n"})
    assert message.startswith("Value error, 'acme\n' is not a valid id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Europe/Berlin", None),
        ("Europe/Berlin", None),  # a second time: answered from the names already seen
        ("Europe/Berln", "unknown time zone 'Europe/Berln'"),
        ("Europe/Berln", "unknown time zone 'Europe/Berln'"),
        ("", "unknown time zone ''"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
    ],
)
def test_time_zones(value: str, expected: str | None) -> None:
    """IANA names are accepted, every time; others are refused, every time."""
    if expected is None:
        assert Partner.model_validate({**PARTNER, "timezone": value}).timezone == value
    else:
        assert error_of(Partner, {**PARTNER, "timezone": value}).startswith(
            f"Value error, {expected}"
        )


def test_fiscal_year_start_with_trailing_newline_is_refused() -> None:
    """A month and day followed by a line break is not a month and day."""
    message = error_of(
        ProgramSettings,
        {
            "name": "P",
            "year": 2027,
            "timezone": "UTC",
            "country": "DE",
            "fiscal_year_start": "04-01\n",
        },
    )
    assert message.startswith("Value error, '04-01\n' is not a month and day")


def test_country_codes_match_holidays() -> None:
    """The codes read from the holidays registry are exactly those holidays lists."""
    import holidays

    assert _countries() == frozenset(holidays.list_supported_countries())


@pytest.mark.parametrize("country", ["US", "DE", "AU", "BR", "NO", "USA", "GBR"])
def test_subdivisions_match_holidays(country: str) -> None:
    """A country's subdivisions are those holidays lists for it, aliases included."""
    import holidays

    assert list(_subdivisions(country)) == holidays.list_supported_countries()[country]
