"""All settings in one place. Built once in an entrypoint and passed down; nothing reads the
environment elsewhere. Every field is listed in the README (a test keeps the two in step)."""

import ipaddress
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.clock import Clock
from kernel.yaml_files import load as load_yaml
from kernel.yaml_text import ConfigFileError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTKLIK_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        default=Path("var"),
        description="Working directory: embedded PostgreSQL, model registry, demo state",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host/db); unset = embedded pgserver",
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_partitions: int = Field(
        default=3, ge=1, description="Partitions of topics otklik creates (scale-out limit)"
    )
    kafka_replication_factor: int = Field(
        default=1, ge=1, description="Replication factor of topics otklik creates"
    )
    kafka_batch_records: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Most records a stage reads and handles at once (one database transaction)",
    )
    topic_namespace: str = Field(
        default="", description="Prefix for every topic name (several installations, one cluster)"
    )
    consumer_group_prefix: str = Field(default="otklik", description="Kafka consumer group prefix")
    http_host: str = Field(default="127.0.0.1", description="Bind address of HTTP servers")
    http_port: int = Field(default=8080, description="Port of the web app / moderator queue API")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1",
        description="Reverse proxies (comma-separated addresses or CIDR networks, * = any) whose "
        "X-Forwarded-For/-Proto `otklik web` believes: the client address (which the sign-in "
        "throttle counts) and scheme it sees",
    )
    ingest_http_port: int = Field(
        default=8081, description="Port of `otklik ingest http` (VK Callback API, appeal intake)"
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Largest request body any HTTP endpoint reads (VK Callback API, intake, web); "
        "a larger one is refused with 413 before it is read",
    )
    metrics_port: int = Field(
        default=9108, description="Port of /metrics of every process but `otklik ingest http`"
    )
    model_dir: Path | None = Field(
        default=None, description="Classifier model registry; unset = <data_dir>/models"
    )
    policy_file: Path | None = Field(
        default=None, description="SLA policy YAML; unset = the bundled default policy"
    )
    sources_file: Path | None = Field(
        default=None, description="Sources YAML (VK groups, appeal channels); unset = bundled demo"
    )
    plans_file: Path | None = Field(
        default=None, description="Programme plans YAML (plan/fact report); unset = bundled demo"
    )
    delivery_file: Path | None = Field(
        default=None,
        description="Report e-mail recipients YAML (municipalities/regions -> addresses); unset = "
        "no report e-mails",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server of the report e-mails; unset = none are sent"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of OTKLIK_SMTP_HOST")
    smtp_user: str | None = Field(default=None, description="SMTP login; unset = no AUTH")
    smtp_password_secret: str | None = Field(
        default=None, description="Name of the secret holding the SMTP password"
    )
    smtp_from: str = Field(default="otklik@localhost", description="From: of the report e-mails")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before the login"
    )
    webhook_signing_secret: str | None = Field(
        default=None,
        description="Name of the secret whose value signs the report webhooks (HMAC-SHA256); "
        "unset = none are sent",
    )
    telegram_api: str = Field(
        default="https://api.telegram.org",
        description="Base URL of the Telegram Bot API (notifications for people)",
    )
    telegram_token_secret: str | None = Field(
        default=None,
        description="Name of the secret holding the Telegram bot token; unset = no Telegram",
    )
    notify_seconds: float = Field(
        default=30.0, description="How often `otklik sla` looks for notifications to send"
    )
    indicator_threshold_t: int = Field(
        default=150, description="k_об threshold T (150 or 250 in different methodology editions)"
    )
    indicators_close_day: int = Field(
        default=5,
        ge=1,
        le=28,
        description="Day of the next month on which a month's indicators close (local time)",
    )
    indicators_close_time: time = Field(
        default=time(10, 0), description="Time of day (HH:MM, municipality's zone) of the close"
    )
    aggregate_interval_seconds: float = Field(
        default=60.0, description="How often `otklik aggregate` recomputes open months"
    )
    deadline_watch_seconds: float = Field(
        default=30.0, description="How often the SLA watcher looks for warnings and overdue"
    )
    consumer_lag_seconds: float = Field(
        default=15.0, gt=0, description="How often Kafka consumers measure their lag for /metrics"
    )
    outbox_poll_seconds: float = Field(
        default=0.5, description="How often the outbox relay looks for unpublished events"
    )
    claim_lock_minutes: int = Field(
        default=30, ge=1, description="How long a moderator's claim locks an incident"
    )
    session_hours: int = Field(default=12, ge=1, description="Lifetime of a login session")
    secure_cookies: Literal["auto", "true", "false"] = Field(
        default="auto",
        description="Secure flag of the web's cookies: auto = on, except for a browser on this "
        "very host over plain HTTP (`make demo`); true = always; false = never (a plain-HTTP "
        "pilot only: the session token then crosses the network in clear)",
    )
    api_docs: bool = Field(
        default=True,
        description="`otklik web` serves /docs and /redoc (from local assets) and /openapi.json; "
        "false switches all three off",
    )
    ldap_url: str | None = Field(
        default=None,
        description="Directory sign-in (LDAP, Active Directory): ldap://host[:port] or "
        "ldaps://host[:port]; unset = local accounts only (docs/web-ui.md, Directory sign-in)",
    )
    ldap_starttls: bool = Field(
        default=False, description="Upgrade an ldap:// connection with STARTTLS before any bind"
    )
    ldap_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) for ldaps:// or STARTTLS; unset = system's"
    )
    ldap_user_dn_template: str | None = Field(
        default=None,
        description="The user's DN with {login}, e.g. uid={login},ou=people,dc=city,dc=ru; or "
        "set OTKLIK_LDAP_USER_BASE to search for it",
    )
    ldap_user_base: str | None = Field(
        default=None, description="Where to search for the user (instead of the DN template)"
    )
    ldap_user_filter: str = Field(
        default="(uid={login})",
        description="Filter finding the user under OTKLIK_LDAP_USER_BASE (AD: "
        "(sAMAccountName={login}))",
    )
    ldap_bind_dn: str | None = Field(
        default=None, description="Service account that searches the directory; unset = anonymous"
    )
    ldap_bind_password_secret: str | None = Field(
        default=None, description="Name of the secret holding the service account's password"
    )
    ldap_group_base: str | None = Field(
        default=None, description="Where the groups of OTKLIK_LDAP_GROUPS_FILE are searched"
    )
    ldap_group_filter: str = Field(
        default="(member={dn})",
        description="Filter finding the groups of a user's DN {dn} (e.g. "
        "(uniqueMember={dn}) for groupOfUniqueNames)",
    )
    ldap_groups_file: Path | None = Field(
        default=None,
        description="YAML: group DN -> role and scope of its members (highest role, union of "
        "scopes); a user in none is refused",
    )
    ldap_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Bound of each network step of a directory sign-in"
    )
    ldap_recheck_minutes: int = Field(
        default=5,
        ge=1,
        description="A directory user's groups and account are asked again (service account) "
        "at most this often, on their next request: out of every group, deleted or disabled "
        "ends their sessions",
    )
    ldap_recheck_grace_minutes: int = Field(
        default=15,
        ge=0,
        description="Directory unreachable at a re-check: the last grant is kept this long from "
        "the first failed re-check, then the user's requests are refused (401) until it answers",
    )
    reply_templates_file: Path | None = Field(
        default=None, description="Canned reply templates YAML; unset = the bundled ones"
    )
    clock_offset: timedelta = Field(
        default=timedelta(0),
        description="Shift of this process's clock (seconds or ISO 8601, e.g. -P3D); tests "
        "run every process at a chosen moment with it. 0 in production",
    )
    log_level: str = Field(default="INFO", description="Log level")
    secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Named secrets as JSON (VK tokens, callback secrets, API keys)",
    )
    secrets_file: Path | None = Field(
        default=None, description="YAML file of named secrets (name: value); wins over env"
    )
    vk_api_version: str = Field(default="5.199", description="VK API version sent with calls")
    vk_api_url: str = Field(
        default="https://api.vk.ru", description="VK API base URL (tests point it at a fake)"
    )
    vk_user_rps: float = Field(
        default=3.0, gt=0, description="VK requests per second allowed for a user/service token"
    )
    vk_community_rps: float = Field(
        default=20.0, gt=0, description="VK requests per second allowed for a community token"
    )
    vk_poll_interval_seconds: float = Field(
        default=60.0, gt=0, description="Pause between two wall-polling rounds of a group"
    )
    imap_poll_interval_seconds: float = Field(
        default=60.0, gt=0, description="Pause between two checks of the appeal mailboxes"
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """uvicorn takes a malformed entry for a host name and silently trusts nobody by it."""
        for entry in (part.strip() for part in value.split(",")):
            if entry and entry != "*":
                try:
                    _ = ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
                except ValueError:
                    raise ValueError(f"not an address or network: {entry!r}") from None
        return value

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """An environment variable is text: "-518400.5" means seconds, as a number would."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value  # ISO 8601 or [-][DD]D[,]HH:MM:SS, parsed by pydantic
        return value

    def secret(self, name: str) -> SecretStr:
        """The named secret (sources refer to secrets by name, never by value)."""
        found = self._file_secrets.get(name) or self.secrets.get(name)
        if found is None:
            raise KeyError(f"secret {name!r} is not configured (OTKLIK_SECRETS or secrets file)")
        return found

    def secret_values(self) -> list[str]:
        """The value of every configured secret and the database password: what the log
        redaction (kernel/observability.py) hides wherever it appears."""
        named = {**self.secrets, **self._file_secrets}
        values = [value.get_secret_value() for value in named.values()]
        if self.database_url is not None:
            password = urlsplit(self.database_url.get_secret_value()).password
            values += [password] if password else []
        return values

    @cached_property
    def _file_secrets(self) -> dict[str, SecretStr]:
        """Read once: secrets are looked up on every callback and intake request."""
        if self.secrets_file is None:
            return {}
        loaded = load_yaml(self.secrets_file, "файл секретов") or {}
        if not isinstance(loaded, dict):
            raise ConfigFileError(f"файл секретов {self.secrets_file}: нужен словарь имя: значение")
        return {str(key): SecretStr(str(value)) for key, value in loaded.items()}

    @property
    def clock(self) -> Clock:
        """What every stage, command and page of this process takes "now" from."""
        return Clock(self.clock_offset)

    @property
    def models_path(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"
