"""The application: command line, settings, Telegram front, scheduler and delivery.

The only package that imports ``telegram``. ``cards`` (rendering) and ``settings``
(validation) are pure; ``delivery`` sends outbox messages through a ``Sender``;
``service`` wires the bot, the poller and delivery into one asyncio process.
"""

import os as _os

# python-telegram-bot 22 reports durations such as RetryAfter.retry_after as
# timedelta when this is set (the future default); without it every access warns.
_os.environ.setdefault("PTB_TIMEDELTA", "true")
