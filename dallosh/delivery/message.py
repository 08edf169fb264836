"""An e-mail as data (``Message``), its MIME form, and how it is kept on disk so that a retry re-sends the same bytes.

A message is HTML with a plain-text alternative, images shown inline (``cid:`` links in the HTML) and files
attached. It is stored under the storage root (``deliveries/<batch>/``), not in Redis: a report's PDF and charts
weigh hundreds of kilobytes and every recipient of a batch shares one copy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from dallosh.errors import ValidationError
from dallosh.schemas.settings import is_email_address

#: The folder of the storage root holding queued messages.
FOLDER = "deliveries"
_CID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MIME = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


@dataclass(frozen=True)
class Attachment:
    """A file sent with the e-mail: its name as the reader sees it, its bytes and its MIME type."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class InlineImage:
    """A PNG the HTML shows with ``<img src="cid:{cid}">``."""

    cid: str
    png: bytes


@dataclass(frozen=True)
class Message:
    """One e-mail: ``html`` and ``text`` say the same thing; ``attachments`` are ``(filename, bytes, mime)``,
    ``inline`` images ``(cid, png bytes)`` (tuples or the dataclasses above)."""

    subject: str
    to: list[str]
    html: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    inline: list[InlineImage] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attachments", [a if isinstance(a, Attachment) else Attachment(*a)
                                                 for a in self.attachments])
        object.__setattr__(self, "inline", [i if isinstance(i, InlineImage) else InlineImage(*i)
                                            for i in self.inline])
        object.__setattr__(self, "to", [str(t).strip() for t in self.to])
        object.__setattr__(self, "subject", " ".join(str(self.subject).split()))  # no header injection
        self.check()

    def check(self) -> None:
        if not self.subject:
            raise ValidationError("subject", "is required")
        bad = [t for t in self.to if not is_email_address(t)]
        if bad:
            raise ValidationError("to", f"{bad[0]!r} is not an e-mail address such as name@example.com")
        for image in self.inline:
            if not _CID.match(image.cid):
                raise ValidationError("inline", f"image id {image.cid!r} may hold letters, digits, '.', '_' and "
                                                "'-' only")
        for item in self.attachments:
            if not _MIME.match(item.mime):
                raise ValidationError("attachments", f"{item.mime!r} is not a MIME type such as application/pdf")

    def addressed(self, to: list[str]) -> Message:
        """The same message for other recipients."""
        return Message(self.subject, list(to), self.html, self.text, list(self.attachments), list(self.inline))

    def to_mime(self, sender: str) -> EmailMessage:
        """The MIME e-mail: ``multipart/mixed`` [``multipart/alternative`` [text, ``multipart/related`` [html,
        images]], attachments]; the structure every mail client shows with the images in place."""
        mail = EmailMessage()
        mail["Subject"] = self.subject
        mail["From"] = sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        mail.set_content(self.text)
        mail.add_alternative(self.html, subtype="html")
        if self.inline:
            html_part = mail.get_payload()[1]
            for image in self.inline:
                html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>",
                                      filename=f"{image.cid}.png", disposition="inline")
        for item in self.attachments:
            maintype, _, subtype = item.mime.partition("/")
            mail.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=_safe_name(item.filename))
        return mail

    # -- storage -------------------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the message to ``folder`` (created 0700): ``message.json`` and one file per binary part."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        parts = []
        for i, item in enumerate(self.attachments):
            (folder / f"attachment-{i}.bin").write_bytes(item.data)
            parts.append({"filename": item.filename, "mime": item.mime, "file": f"attachment-{i}.bin"})
        images = []
        for i, image in enumerate(self.inline):
            (folder / f"inline-{i}.png").write_bytes(image.png)
            images.append({"cid": image.cid, "file": f"inline-{i}.png"})
        doc = {"subject": self.subject, "to": self.to, "html": self.html, "text": self.text,
               "attachments": parts, "inline": images}
        (folder / "message.json").write_text(json.dumps(doc), encoding="utf-8")
        for child in folder.iterdir():
            child.chmod(0o600)

    @classmethod
    def load(cls, folder: Path) -> Message:
        doc = json.loads((folder / "message.json").read_text(encoding="utf-8"))
        return cls(doc["subject"], doc["to"], doc["html"], doc["text"],
                   [Attachment(p["filename"], (folder / p["file"]).read_bytes(), p["mime"])
                    for p in doc["attachments"]],
                   [InlineImage(i["cid"], (folder / i["file"]).read_bytes()) for i in doc["inline"]])


def _safe_name(filename: str) -> str:
    """An attachment's file name without path separators or control characters (it comes from user data)."""
    name = "".join(ch for ch in filename if ch.isprintable() and ch not in '/\\:*?"<>|').strip(" .")
    return name[:120] or "attachment"
