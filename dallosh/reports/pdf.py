"""A report as a PDF (fpdf2, pure Python): the same content and words as the HTML, laid out on A4.

French accents need a Unicode TrueType font: DejaVu Sans from the system (Debian's ``fonts-dejavu-core``, which
``./run`` and the Docker image install). DejaVu has no emoji, and a glyph the font lacks would print as an empty
box: such characters are left out of the PDF and a note at the end says how many.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from dallosh.errors import DalloshError
from dallosh.reports import layout
from dallosh.reports.content import Bar, ReportContent

#: Where Linux distributions put DejaVu Sans (Debian/Ubuntu, Fedora, Arch), first found wins.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
             Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
#: Characters the font lacks that have a plain equivalent (a full-width "＝" pasted in a filter or a tweet).
SUBSTITUTES = str.maketrans({"\uff1d": "="})
#: Page width available for content (A4 210 mm minus 15 mm margins).
WIDTH = 180.0


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@cache
def font_paths() -> dict[str, Path]:
    """The regular and bold DejaVu Sans files; a sentence saying what to install when they are missing."""
    for folder in FONT_DIRS:
        paths = {style: folder / name for style, name in FONT_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    raise DalloshError("PDF reports need the DejaVu Sans font, which is not installed. Install it (Debian: "
                       "`apt-get install fonts-dejavu-core`) or write the report as HTML.")


@cache
def _covered() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # fpdf2's own dependency

    with TTFont(str(font_paths()[""]), lazy=True) as font:
        return frozenset(font.getBestCmap())


class _Printer:
    """Writes text with the characters the font lacks left out, counting them."""

    def __init__(self) -> None:
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_margins(15, 15, 15)
        self.pdf.set_auto_page_break(True, margin=15)
        for style, path in font_paths().items():
            self.pdf.add_font("DejaVu", style, str(path))
        self.dropped = 0
        self.pdf.add_page()

    def clean(self, text: object) -> str:
        covered = _covered()
        value = str(text).translate(SUBSTITUTES)
        kept = "".join(ch for ch in value if ord(ch) in covered or ch in "\n\t")
        self.dropped += sum(1 for ch in value if not ch.isspace() and ord(ch) not in covered
                            and ch not in "\u200d\ufe0f")
        return kept

    def font(self, size: float, bold: bool = False, color: str | None = None) -> None:
        self.pdf.set_font("DejaVu", "B" if bold else "", size)
        self.pdf.set_text_color(*_rgb(color or layout.COLORS["text"]))

    def line(self, text: object, size: float = 10, *, bold: bool = False, color: str | None = None,
             height: float = 5.5) -> None:
        self.font(size, bold, color)
        self.pdf.multi_cell(WIDTH, height, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row_start(self, height: float, font_size: float) -> float:
        """A new row of ``height`` mm at the left margin (on a new page if it would not fit); returns its top."""
        if self.pdf.get_y() + height > self.pdf.h - 15:
            self.pdf.add_page()
        top = self.pdf.get_y()
        self.font(font_size)
        self.pdf.set_x(15)
        return top

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.line(text, 13, bold=True, color=layout.COLORS["primary"], height=8)

    def bar(self, x: float, y: float, width: float, share: float, color: str, height: float = 3.5) -> None:
        self.pdf.set_fill_color(*_rgb(layout.COLORS["surface_2"]))
        self.pdf.rect(x, y, width, height, style="F")
        if share > 0:
            self.pdf.set_fill_color(*_rgb(color))
            self.pdf.rect(x, y, max(0.3, width * min(share, 100.0) / 100.0), height, style="F")


def _header(p: _Printer, r: ReportContent) -> None:
    pdf = p.pdf
    pdf.set_fill_color(*_rgb(layout.COLORS["primary"]))
    pdf.rect(0, 0, 210, 28, style="F")
    pdf.set_xy(15, 8)
    p.line(r.title, 16, bold=True, color="#ffffff", height=8)
    p.line(f"{r.period.label} · compared with {r.previous.label} · times in {r.tz}", 9, color="#ffffff")
    pdf.set_y(32)
    p.line("Datasets: " + ", ".join(d.name for d in r.datasets), 9, bold=True)
    p.line(r.scope, 8, color=layout.COLORS["muted"], height=4.5)
    for note in r.notes:
        p.line(note, 9, bold=True, color=layout.COLORS["primary"], height=5)
    p.line(f"Generated {r.generated_at:%Y-%m-%d %H:%M} for {r.author}", 8, color=layout.COLORS["muted"], height=4.5)


def _cards(p: _Printer, r: ReportContent) -> None:
    pdf = p.pdf
    p.heading("Key figures")
    width, height, gap = (WIDTH - 2 * 4) / 3, 25.0, 4.0
    for start in range(0, len(r.cards), 3):
        if pdf.get_y() + height > pdf.h - 15:
            pdf.add_page()
        top = pdf.get_y()
        for k, card in enumerate(r.cards[start:start + 3]):
            x = 15 + k * (width + gap)
            pdf.set_draw_color(*_rgb(layout.COLORS["border"]))
            pdf.rect(x, top, width, height)
            pdf.set_fill_color(*_rgb(layout.COLORS["primary"]))
            pdf.rect(x, top, width, 1.0, style="F")
            rows = [(card.label, 8, False, layout.COLORS["muted"], 4.5), (card.value, 15, True, None, 7.5),
                    (card.subtitle, 7, False, layout.COLORS["muted"], 4)]
            if card.change:
                rows.append((f"{card.arrow} {card.change}", 7.5, False, layout.COLORS[card.tone], 4))
            pdf.set_xy(x + 2, top + 2)
            for text, size, bold, color, h in rows:
                p.font(size, bold, color)
                pdf.set_x(x + 2)
                pdf.cell(width - 4, h, p.clean(text), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_y(top + height + gap)


def _bars(p: _Printer, title: str, bars: Iterable[Bar], names: dict[str, str] | None = None) -> None:
    pdf = p.pdf
    p.line(title, 10.5, bold=True, height=7)
    items = list(bars)
    if not items:
        p.line("No tweet.", 9, color=layout.COLORS["muted"])
    for b in items:
        y = p.row_start(6, 9)
        pdf.cell(50, 5, p.clean((names or {}).get(b.label, b.label))[:40])
        p.bar(66, y + 0.8, 85, b.share, layout.bar_color(b.label))
        p.font(8.5, color=layout.COLORS["muted"])
        pdf.set_xy(153, y)
        pdf.cell(42, 5, f"{b.count} · {b.share:.1f} %", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _spikes(p: _Printer, r: ReportContent) -> None:
    pdf = p.pdf
    p.heading("Spikes")
    if not r.spikes:
        p.line(f"No spike in this period (a {r.grain} is a spike when its volume is above the mean + 2 standard "
               "deviations of the periods before it).", 9, color=layout.COLORS["muted"])
    for s in r.spikes:
        pdf.ln(1)
        p.line(layout.spike_title(s), 10.5, bold=True)
        p.line(layout.spike_summary(s), 8.5, color=layout.COLORS["muted"], height=4.5)
        if s.empty:
            p.line("No term, hashtag or topic rose clearly.", 9, color=layout.COLORS["muted"])
        for title, rows in layout.rise_tables(s):
            p.font(8, True, layout.COLORS["muted"])
            pdf.set_x(15)
            for text, w, align in ((title, 55, "L"), ("tweets", 18, "R"), ("expected", 20, "R"),
                                   ("share of the rise", 70, "L"), ("z", 17, "R")):
                pdf.cell(w, 5, text, align=align)
            pdf.ln(5)
            for row in rows:
                y = p.row_start(5, 8.5)
                pdf.cell(55, 4.8, p.clean(row["label"])[:34])
                pdf.cell(18, 4.8, str(row["count"]), align="R")
                pdf.cell(20, 4.8, str(row["expected"]), align="R")
                p.bar(pdf.get_x() + 2, y + 1, 48, float(row["width"]), layout.COLORS["primary"], 3)
                pdf.set_x(pdf.get_x() + 52)
                pdf.cell(18, 4.8, str(row["share"]))
                pdf.cell(17, 4.8, str(row["z"]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for t in s.tweets:
            _tweet(p, t, r.tz)
    if r.spikes:
        p.line(layout.STATISTIC, 7.5, color=layout.COLORS["muted"], height=4)


def _tweet(p: _Printer, tweet: dict, tz: str) -> None:
    pdf = p.pdf
    pdf.ln(1)
    top = pdf.get_y()
    pdf.set_x(19)
    p.font(9)
    pdf.multi_cell(WIDTH - 4, 4.8, p.clean(tweet.get("full_text", "")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(19)
    p.font(7.5, color=layout.COLORS["muted"])
    pdf.multi_cell(WIDTH - 4, 4, p.clean(layout.tweet_line(tweet, tz)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.get_y() > top:  # the rule stays on one page when the tweet was not split
        pdf.set_fill_color(*_rgb(layout.COLORS["border"]))
        pdf.rect(15.5, top, 1.0, pdf.get_y() - top, style="F")


def _timeline(p: _Printer, r: ReportContent) -> None:
    from dallosh.reports.charts import TIMELINE_HEIGHT, report_charts
    from dallosh.reports.charts import WIDTH as CHART_WIDTH

    height = WIDTH * TIMELINE_HEIGHT / CHART_WIDTH
    if p.pdf.get_y() + height + 16 > p.pdf.h - 15:
        p.pdf.add_page()
    p.heading("Timeline")
    p.pdf.image(io.BytesIO(report_charts(r)["timeline"]), x=15, w=WIDTH, h=height)
    p.pdf.set_y(p.pdf.get_y() + 1)
    p.line(f"Tweets per {r.grain} by sentiment (local time); ▼ marks a spike.", 7.5, color=layout.COLORS["muted"],
           height=4)


def render_pdf(report: ReportContent) -> bytes:
    """The report as PDF bytes."""
    p = _Printer()
    _header(p, report)
    _cards(p, report)
    _timeline(p, report)
    p.heading("Breakdown")
    _bars(p, "Sentiment", report.sentiments)
    _bars(p, "Priority", report.priorities, layout.PRIORITY_NAMES)
    _bars(p, "Topics", report.topics)
    _spikes(p, report)
    p.heading("Critical tweets")
    if not report.critical:
        p.line("No critical tweet (negative and high priority) in this period.", 9, color=layout.COLORS["muted"])
    for tweet in report.critical:
        _tweet(p, tweet, report.tz)
    if p.dropped:
        p.line(f"{p.dropped} emoji or symbol(s) the PDF font cannot draw were left out; the HTML report shows them.",
               7.5, color=layout.COLORS["muted"], height=4)
    return bytes(p.pdf.output())


def write_pdf(report: ReportContent, path: Path) -> None:
    path.write_bytes(render_pdf(report))
