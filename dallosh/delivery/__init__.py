"""E-mail and webhook delivery: messages as data, the SMTP sender, the webhook poster and the notify queue.

``services.delivery`` (dallosh/services/delivery.py) holds the rules: who may send, the records of the
``deliveries`` collection, and the RQ jobs on the **notify** queue (``DALLOSH_NOTIFY_QUEUE_NAME``), which every
``dallosh worker`` serves in a separate process with RQ's scheduler, retrying failures with backoff
(``DALLOSH_NOTIFY_RETRY_S``).
"""

from __future__ import annotations

from redis import Redis
from rq import Queue

from dallosh.config import Config, get_config
from dallosh.delivery.message import Attachment, InlineImage, Message
from dallosh.delivery.smtp import SMTPError, send_email
from dallosh.delivery.webhook import WebhookError, WebhookPayload, check_url, mask_url, post_webhook, webhook_body

#: The RQ job function of one delivery (a dotted path, so enqueuers need not import it).
JOB_FUNCTION = "dallosh.delivery.jobs.deliver"


def notify_queue(config: Config | None = None, connection: Redis | None = None) -> Queue:
    """The RQ queue of e-mails and webhooks. Jobs may be enqueued with ``enqueue_at``/``enqueue_in``: the notify
    worker runs RQ's scheduler."""
    config = config or get_config()
    connection = connection or Redis.from_url(config.redis_url, socket_connect_timeout=3)
    return Queue(config.notify_queue_name, connection=connection)


__all__ = ["JOB_FUNCTION", "Attachment", "InlineImage", "Message", "SMTPError", "WebhookError", "WebhookPayload",
           "check_url", "mask_url", "notify_queue", "post_webhook", "send_email", "webhook_body"]
