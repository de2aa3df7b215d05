"""docker-compose.yml describes the scaled deployment and only sets variables duban reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from duban.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DUBAN_SERVICES = ("migrate", "worker", "web")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        choices = getattr(field.validation_alias, "choices", ())
        names |= {c for c in choices if isinstance(c, str) and c.isupper()}
    return names


def _expand(value: str) -> str:
    """Expand `${VAR:-default}` the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


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
    env = compose["services"]["worker"]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, _expand(str(value)))
    settings = Settings()
    assert settings.secret_key == "change-me-in-production"
    assert settings.sqlalchemy_url == env["DATABASE_URL"]
    assert settings.temporal_address == "temporal:7233"
    assert str(settings.data_dir) == "/data"


def test_dockerfile_installs_from_the_lock():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "uv sync --frozen" in dockerfile
    for package in ("duban", "policies", "workflows", "activities", "web"):
        assert f"COPY {package} ./{package}" in dockerfile
