"""Which mode a W&B run opens in: W&B's own switches first, offline only where the user set nothing.

rudratune passes the resolved mode to ``wandb.init(mode=...)``, which beats everything W&B reads itself; so
the resolution below follows W&B's precedence rather than replacing it:

1. ``tracking.wandb_mode`` when it is not ``auto`` (a setting of this run, like ``wandb.init``'s own);
2. ``$WANDB_MODE`` (``disabled`` turns W&B off: no run is opened at all);
3. the mode in W&B's settings files (what ``wandb offline`` writes);
4. a login: ``$WANDB_API_KEY`` or a ``wandb login`` key in the netrc file for W&B's host → online;
5. nothing set anywhere → offline (our default: no account needed, sync later).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

OFFLINE_DEFAULT = "offline"


def resolve_wandb_mode(configured: str) -> str:
    """The mode to open W&B runs in, given ``tracking.wandb_mode``; see the module docstring for the order."""
    if configured != "auto":
        return configured
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    settings = _wandb_settings()
    files = settings.read_system_settings().all()
    if mode := files.get("mode"):
        return mode
    host = os.environ.get("WANDB_BASE_URL") or files.get("base_url") or settings.base_url
    if os.environ.get("WANDB_API_KEY") or _netrc_key(host):
        return "online"
    return OFFLINE_DEFAULT


def _wandb_settings() -> Any:
    """W&B's settings with the paths of its settings files set the way ``wandb.setup`` sets them (the global
    file under ``$WANDB_CONFIG_DIR`` or ``~/.config/wandb``, the workspace file under ``$WANDB_DIR``), without
    starting W&B."""
    # local: wandb takes about a second to import and is only needed when W&B is on
    import wandb

    settings = wandb.Settings()
    config_dir = Path(os.environ.get("WANDB_CONFIG_DIR") or Path("~", ".config", "wandb")).expanduser()
    settings.settings_system = str(config_dir / "settings")
    settings.update_from_env_vars(dict(os.environ))
    return settings


def _netrc_key(base_url: str) -> bool:
    """Whether ``wandb login`` left a key for ``base_url`` (W&B's own netrc reader, ``$NETRC`` included)."""
    from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth

    try:
        return read_netrc_auth(host=base_url) is not None
    except Exception:  # a malformed key: W&B itself will say so when it logs in
        return True
