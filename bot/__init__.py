"""The application: command line, settings, Telegram front, scheduler and delivery.

The only package that imports ``telegram``. ``cards`` (rendering) and ``settings``
(validation) are pure; ``delivery`` sends outbox messages through a ``Sender``;
``service`` wires the bot, the poller and delivery into one asyncio process.
"""
