"""Settings from the environment (MTS_*), one place for every knob."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_DIR / "data"

DEMO_OPERATOR_TOKEN = "demo-operator-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MTS_", extra="ignore")

    db_url: str = Field(
        default=f"sqlite:///{DATA_DIR / 'mts_portal.db'}",
        description="SQLAlchemy URL of the store: sqlite:///abs/path.db or postgresql+psycopg://...",
    )
    operator_token: str | None = Field(
        default=None,
        description="Bearer token of the operator API; in demo mode it defaults to a known demo token",
    )
    demo: bool = Field(default=False, description="demo mode: simulated clock, phone panel, mailbox")
    sim_clock: bool = Field(default=False, description="simulated clock without the rest of demo mode (tests)")
    cookie_secure: bool = Field(default=True, description="mark the session cookie Secure")
    data_dir: Path = Field(default=DATA_DIR, description="reports and other files the portal writes")
    scheduler_interval_s: float = Field(default=5.0, description="how often period/daily jobs run")
    live_poll_interval_s: float = Field(default=0.2, description="change-feed poll interval of live updates")
    tab_grace_s: float = Field(default=30.0, gt=0, description="a tab whose socket is gone this long is closed: "
                               "its watchers are cancelled and its state dropped (a reload reconnects in seconds)")
    log_level: str = "INFO"
    secret_key: str | None = Field(default=None, description="pepper for one-time code hashes; default: data/secret_key")
    sms_per_number_per_hour: int | None = Field(
        default=None, description="codes per number per hour (default 5; 30 in demo mode)")
    sms_per_client_per_hour: int | None = Field(
        default=None, description="codes per client per hour (default 20; 200 in demo mode)")
    demo_focus: bool = Field(default=True, description="demo traffic follows the audience (open cabinets)")
    demo_focus_rate: float = Field(
        default=0.5, description="demo mode: events per second for each line shown in an open cabinet")

    @property
    def code_limit_per_number(self) -> int:
        """Codes a number may be sent per hour. A presenter repeats every journey (login by code, a
        transfer, adding a number) many times an hour in front of a room: demo mode allows 30."""
        if self.sms_per_number_per_hour is not None:
            return self.sms_per_number_per_hour
        return 30 if self.demo else 5

    @property
    def code_limit_per_client(self) -> int:
        if self.sms_per_client_per_hour is not None:
            return self.sms_per_client_per_hour
        return 200 if self.demo else 20

    @property
    def simulated_clock(self) -> bool:
        return self.demo or self.sim_clock

    @property
    def effective_operator_token(self) -> str | None:
        if self.operator_token:
            return self.operator_token
        return DEMO_OPERATOR_TOKEN if self.demo else None


def secret_key(settings: Settings | None = None) -> bytes:
    """The server secret: MTS_SECRET_KEY, else a random key kept in the data folder (mode 0600)."""
    settings = settings or get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret_key"
    if not path.exists():
        import os
        import secrets
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests change the environment; this makes the next get_settings() re-read it."""
    get_settings.cache_clear()
