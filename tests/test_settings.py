"""Settings.from_env: the only reader of the environment (given a mapping here, never os.environ)."""

from __future__ import annotations

import dataclasses

import pytest

from compliance_sse.settings import Settings


def test_an_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_values_are_converted_to_the_fields_types() -> None:
    settings = Settings.from_env(
        {
            "CSSE_PORT": " 9000 ",
            "CSSE_MAX_UPLOAD_MB": "2.5",
            "CSSE_SERVER_WORKER": "no",
            "CSSE_EXTRACT_ISOLATION": "process",
            "CSSE_BROKER": "redis://127.0.0.1:6379/0",
            "CSSE_CORS_ORIGINS": "https://a.example, ,*",
            "CSSE_API_KEYS": "k1:alpha,k2,:nobody",
            "GROQ_API_KEY": "gsk_x",
            "CSSE_LOG_FORMAT": "json",
        }
    )
    assert (settings.port, settings.max_upload_mb, settings.max_upload_bytes) == (9000, 2.5, 2_621_440)
    assert settings.server_worker is False and settings.extract_isolation == "process"
    assert settings.broker == "redis://127.0.0.1:6379/0"
    assert settings.cors_origins == ("https://a.example", "*")
    assert settings.api_keys == {"k1": "alpha", "k2": "default"}
    assert settings.groq_api_key == "gsk_x" and settings.analyzer_name == "groq", "auto picks groq with a key"
    assert settings.log_format == "json"


def test_blank_values_keep_the_default() -> None:
    assert Settings.from_env({"CSSE_PORT": "  ", "CSSE_ANALYZER": ""}) == Settings()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CSSE_PORT": "eighty"}, "CSSE_PORT='eighty'"),
        ({"CSSE_SERVER_WORKER": "maybe"}, "CSSE_SERVER_WORKER='maybe'"),
        ({"CSSE_HEARTBEAT_S": "0"}, "CSSE_HEARTBEAT_S must be positive"),
        ({"CSSE_BROKER": "postgres://x"}, "CSSE_BROKER"),
        ({"CSSE_ANALYZER": "gpt"}, "CSSE_ANALYZER"),
        ({"CSSE_URL_SECRET": "s"}, "CSSE_URL_SECRET has no effect without CSSE_API_KEYS"),
        ({"CSSE_CORS_ORIGINS": "example.com"}, "CSSE_CORS_ORIGINS"),
        ({"CSSE_REDIS_PREFIX": "a b"}, "CSSE_REDIS_PREFIX"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_or_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(ValueError, match=names.replace("(", r"\(").replace("*", r"\*")):
        Settings.from_env(env)


def test_every_field_has_a_variable() -> None:
    """A field ``from_env`` cannot set would be a setting the service ignores."""
    for field in dataclasses.fields(Settings):
        name = {"groq_api_key": "GROQ_API_KEY", "groq_base_url": "GROQ_BASE_URL"}.get(
            field.name, f"CSSE_{field.name.upper()}"
        )
        sample = {"bool": "0", "int": "7", "float": "7"}.get(str(field.type).split(" ")[0])
        if sample is None:
            continue  # strings, literals and the parsed lists are covered above
        settings = Settings.from_env({name: sample})
        assert getattr(settings, field.name) != getattr(Settings(), field.name), field.name
