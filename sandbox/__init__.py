"""Local Telegram Bot API sandbox: the real bot runs against it; people and tests chat through it.

See ``server.Sandbox`` (start/stop), ``client.SandboxClient`` and ``client.Resident`` (control API).
"""

from .client import Resident, SandboxClient
from .core import SandboxConfig
from .server import Sandbox, create_app, run_sandbox

__all__ = ["Resident", "Sandbox", "SandboxClient", "SandboxConfig", "create_app", "run_sandbox"]
