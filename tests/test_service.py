"""``deportwatch run`` as a process: starts without Telegram and stops cleanly on signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_stops_cleanly_on_signal(sig: signal.Signals, tmp_path: Path) -> None:
    """Without a token the service says it prints cards, and exits 0 on SIGTERM/SIGINT."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPORTWATCH_", "TELEGRAM_")) and k != "DATABASE_URL"}
    env.update(DEPORTWATCH_TICK_SECONDS="0.2", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "TELEGRAM_BOT_TOKEN is not set" in line
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "data" / "deportwatch.db").exists()
