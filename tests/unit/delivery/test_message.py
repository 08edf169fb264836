"""Messages: checks, the MIME structure mail clients expect, storage round trip, and the SMTP errors' wording."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
import ssl

import pytest

from dallosh.delivery.message import Message
from dallosh.delivery.smtp import SMTPError, _explain, send_email
from dallosh.errors import ValidationError
from dallosh.schemas.settings import DeliverySettings

PNG = b"\x89PNG\r\n\x1a\nfake"


def make(**changes) -> Message:
    values = {"subject": "Report", "to": ["a@example.com"], "html": '<p>Hi <img src="cid:chart"></p>',
              "text": "Hi", "attachments": [("r.pdf", b"%PDF-1.4", "application/pdf")], "inline": [("chart", PNG)]}
    return Message(**{**values, **changes})


def test_mime_structure_text_html_inline_image_and_attachment():
    raw = make().to_mime("reports@example.com").as_bytes()
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    assert mail["From"] == "reports@example.com" and mail["To"] == "a@example.com" and mail["Message-ID"]
    alternative = mail.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.get_payload()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html" and 'cid:chart' in html.get_content()
    assert image["Content-ID"] == "<chart>" and image.get_content() == PNG
    (attachment,) = mail.iter_attachments()
    assert attachment.get_filename() == "r.pdf" and attachment.get_content() == b"%PDF-1.4"


def test_subject_is_one_line_and_recipients_are_plain_addresses():
    assert make(subject="Report\r\nBcc: victim@example.com").subject == "Report Bcc: victim@example.com"
    for bad in (["a@example.com, b@example.com"], ["Name <a@example.com>"], ["a@example.com\nBcc: x@y.z"], ["nope"]):
        with pytest.raises(ValidationError, match="not an e-mail address"):
            make(to=bad)
    with pytest.raises(ValidationError):
        make(inline=[("../etc", PNG)])
    with pytest.raises(ValidationError):
        make(attachments=[("x", b"", "not a type")])


def test_attachment_names_lose_paths_and_control_characters():
    mail = make(attachments=[("../../etc/pass\nwd.pdf", b"x", "application/pdf")]).to_mime("r@example.com")
    assert next(mail.iter_attachments()).get_filename() == "etcpasswd.pdf"


def test_save_and_load_give_the_same_message(tmp_path):
    message = make()
    message.save(tmp_path / "m")
    assert Message.load(tmp_path / "m") == message
    assert all((p.stat().st_mode & 0o077) == 0 for p in (tmp_path / "m").iterdir())  # the app's account only
    assert message.addressed(["b@example.com"]).to == ["b@example.com"] and message.to == ["a@example.com"]


@pytest.mark.parametrize(("exc", "words", "permanent"), [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), "user name or password", True),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), "does not offer STARTTLS", True),
    (smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")}), "refused the recipient", True),
    (smtplib.SMTPSenderRefused(553, b"not yours", "r@example.com"), "sender address", True),
    (smtplib.SMTPDataError(451, b"try later"), "temporary error (451)", False),
    (ssl.SSLCertVerificationError("self-signed"), "certificate is not trusted", True),
    (socket.gaierror(-2, "Name or service not known"), "name was not found", True),
    (TimeoutError(), "did not answer within 20 seconds", False),
    (ConnectionRefusedError(111, "refused"), "refused the connection", False),
    (smtplib.SMTPServerDisconnected("gone"), "connection to the mail server was lost", False),
])
def test_errors_are_explained_in_plain_words(exc, words, permanent):
    settings = DeliverySettings(smtpHost="mail.internal.example", smtpUser="u", smtpPassword="hunter22",
                                fromAddress="r@example.com")
    error = _explain(exc, settings, 20.0)
    assert words in str(error) and error.permanent is permanent
    assert "hunter22" not in str(error) and "mail.internal.example" not in str(error)


def test_sending_without_settings_says_what_to_do():
    with pytest.raises(SMTPError, match="not set up") as error:
        send_email(DeliverySettings(), make())
    assert error.value.permanent
