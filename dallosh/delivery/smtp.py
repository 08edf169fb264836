"""Sending a ``Message`` through the configured SMTP server (smtplib), with errors told in plain words.

The password is used for the login only: it never appears in an error message (any echo of it is masked), a log
line or a record. Every network operation has a timeout.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from dallosh.delivery.message import Message
from dallosh.schemas.settings import DeliverySettings

#: Seconds for connecting and for each answer of the server.
TIMEOUT_S = 20.0


class SMTPError(Exception):
    """The e-mail was not sent; the text says why and what to check, without the password or the server's name."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        #: True when trying again cannot help (the settings must change first).
        self.permanent = permanent


def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _explain(exc: BaseException, settings: DeliverySettings, timeout: float) -> SMTPError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SMTPError("The mail server refused the user name or password: check them in the Delivery "
                         "settings.", permanent=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError) or (
            isinstance(exc, smtplib.SMTPException) and "STARTTLS" in str(exc)):
        return SMTPError("The mail server does not offer STARTTLS on that port: choose TLS (usually port 465) or, "
                         "for a relay on your own network only, no encryption.", permanent=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(exc.recipients))
        return SMTPError(f"The mail server refused the recipient {refused}: check the address.", permanent=True)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return SMTPError("The mail server refused the sender address: many servers only accept their own "
                         "account's address as sender; change it in the Delivery settings.", permanent=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = "temporary" if 400 <= exc.smtp_code < 500 else "permanent"
        return SMTPError(f"The mail server answered with a {kind} error ({exc.smtp_code}); "
                         + ("the app will try again." if kind == "temporary" else "check the Delivery settings."),
                         permanent=kind == "permanent")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SMTPError("The mail server's certificate is not trusted (self-signed or for another name): use "
                         "the server's exact name, or install its certificate authority on this machine.",
                         permanent=True)
    if isinstance(exc, ssl.SSLError):
        return SMTPError("The secure connection to the mail server failed: check that the security choice "
                         "matches the port (STARTTLS for 587, TLS for 465).", permanent=True)
    if isinstance(exc, socket.gaierror):
        return SMTPError("The mail server's name was not found: check the server name in the Delivery "
                         "settings.", permanent=True)
    if isinstance(exc, TimeoutError | socket.timeout):
        return SMTPError(f"The mail server did not answer within {timeout:g} seconds; the app will try again. If "
                         "it keeps failing, check the server name, the port and the security choice.")
    if isinstance(exc, ConnectionRefusedError):
        return SMTPError("The mail server refused the connection: check the port (587, 465 or 25) and that the "
                         "server is running.")
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | OSError):
        return SMTPError("The connection to the mail server was lost; the app will try again. If it keeps "
                         "failing, check the port and the security choice.")
    return SMTPError("The e-mail could not be sent (unexpected error); the app will try again.")


def send_email(settings: DeliverySettings, message: Message, *, timeout: float = TIMEOUT_S,
               context: ssl.SSLContext | None = None) -> None:
    """Send ``message`` with ``settings`` (password in clear); raises :class:`SMTPError` when it was not sent.

    ``context`` verifies the server's certificate (default: the system's authorities).
    """
    if not settings.smtpHost or not settings.fromAddress:
        raise SMTPError("E-mail is not set up: an administrator fills in the mail server and the sender address "
                        "in Settings › Delivery.", permanent=True)
    mail = message.to_mime(settings.fromAddress)
    context = context or _ssl_context()
    try:
        if settings.smtpSecurity == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtpHost, settings.smtpPort, timeout=timeout,
                                                   context=context)
        else:
            client = smtplib.SMTP(settings.smtpHost, settings.smtpPort, timeout=timeout)
        with client:
            client.ehlo()
            if settings.smtpSecurity == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.smtpUser:
                client.login(settings.smtpUser, settings.smtpPassword)
            client.send_message(mail, from_addr=settings.fromAddress, to_addrs=message.to)
    except (smtplib.SMTPException, OSError) as exc:
        raise _explain(exc, settings, timeout) from None
