"""A visitor's own style in the demo: their upload, the fine-tune as background work, and the styles
they made, which are theirs alone.

- **Uploads** are read at once (``StyleTuning.read``) and only their glyphs are kept, one upload per
  visitor, in a cache bounded in bytes; the uploaded file itself is deleted as soon as it is read.
  A style file (``.safetensors``) becomes a style at once.
- **Fine-tunes** wait in a ``JobQueue`` of their own: one per visitor, a few in all, one running at
  a time on one thread at a lower CPU priority, cancelled when the visitor leaves or presses Stop,
  and bounded by the minutes the visitor chose.
- **Styles** (``OwnStyles``) are named by a random key that only their owner's requests may use:
  ``DemoService`` checks every request's styles against the visitor's own list. At most
  ``OWN_STYLES_PER_VISITOR`` per visitor and ``OWN_STYLES`` in all (each holds a copy of the model's
  weights, ~55 MB); a visitor's styles go when their page closes, anyone's after ``OWN_STYLE_TTL_S``
  unused.
"""

from __future__ import annotations

import base64
import html
import io
import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..engine.cache import BoundedCache
from ..engine.stylizer import Stylizer
from ..errors import UserError
from ..ownstyle.stylefile import StyleFile, base_fingerprint, clean_name, load_style, style_bytes
from ..ownstyle.tune import (
    MIN_GLYPHS,
    Cancelled,
    Progress,
    TuneConfig,
    source_pairs,
    tune_style,
)
from ..ownstyle.upload import read_glyphs
from ..settings import (
    OWN_STYLE_TTL_S,
    OWN_STYLES,
    OWN_STYLES_PER_VISITOR,
    TUNE_MINUTES,
    TUNES_PENDING,
    UPLOADS_HELD_BYTES,
)
from . import i18n
from .jobs import Job, JobCancelled, JobContext, JobQueue

SAMPLE_CELL = 64  # px of a held-back glyph in the progress view
MAX_SCAN_PHOTOS = 12  # photos read at once (a template of 300 characters has 7 pages)
TEMPLATES_KEPT = 16  # template PDFs kept to download (one per character list)


class StyleRoomError(UserError):
    """No room for another style (the visitor's or the server's)."""


@dataclass
class OwnStyle:
    """One visitor's taught style."""

    key: str  # what requests name it by (random; never shown)
    label: str  # what the page shows
    owner: str
    stylizer: Stylizer  # the base with this style added
    file: bytes  # the style file, for the download
    info: dict  # held-back scores, start style, steps, glyph count
    last_used: float = field(default_factory=time.monotonic)


class OwnStyles:
    """Every visitor's styles; a visitor reaches only their own."""

    def __init__(self, base: Stylizer, max_styles: int = OWN_STYLES,
                 per_visitor: int = OWN_STYLES_PER_VISITOR, ttl_s: float = OWN_STYLE_TTL_S):
        self.base = base
        self.max_styles, self.per_visitor, self.ttl_s = max_styles, per_visitor, ttl_s
        self._styles: dict[str, OwnStyle] = {}
        self._lock = threading.Lock()
        self._base_id: str | None = None
        self.files = Path(tempfile.mkdtemp(prefix="glyph-styles-"))  # style files to download, one folder per style
        # gone with the registry, or when the process exits (a restarted server leaves nothing)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.files, ignore_errors=True)

    @property
    def base_id(self) -> str:
        """The base model's fingerprint (style files name it), computed once when first needed."""
        if self._base_id is None:
            self._base_id = base_fingerprint(self.base.model)
        return self._base_id

    def check_room(self, visitor: str) -> None:
        """Raise ``StyleRoomError`` when ``visitor`` may not add a style now."""
        self.expire()
        with self._lock:
            mine = sum(1 for s in self._styles.values() if s.owner == visitor)
            if mine >= self.per_visitor:
                raise StyleRoomError(f"you have {mine} styles, the most one page may keep; reload the page "
                                     f"to start again", key="style.room.yours", count=mine)
            if len(self._styles) >= self.max_styles:
                raise StyleRoomError("the server holds as many styles as it can; please try again later",
                                     key="style.room.all")

    def add(self, visitor: str, label: str, model, glyphs: dict[str, np.ndarray], file: bytes,
            info: dict) -> OwnStyle:
        self.check_room(visitor)
        key = "own-" + secrets.token_urlsafe(12)
        style = OwnStyle(key, clean_name(label), visitor, self.base.with_style(key, clean_name(label), model, glyphs),
                         file, info)
        with self._lock:
            self._styles[key] = style
        return style

    def of(self, visitor: str) -> list[OwnStyle]:
        with self._lock:
            return [s for s in self._styles.values() if s.owner == visitor]

    def keys_of(self, visitor: str | None) -> list[str]:
        return [s.key for s in self.of(visitor)] if visitor else []

    def get(self, key: str) -> OwnStyle | None:
        """A style by key, for a request already checked against its visitor's own list."""
        with self._lock:
            style = self._styles.get(key)
            if style is not None:
                style.last_used = time.monotonic()
            return style

    def file_path(self, style: OwnStyle) -> Path:
        """The style's file on disk (written when first asked for; deleted with the style)."""
        stem = "".join(c if c.isalnum() else "-" for c in style.label).strip("-") or "style"
        path = self.files / style.key / f"{stem}.safetensors"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(style.file)
        return path

    def _drop(self, keys: list[str]) -> int:
        with self._lock:
            for k in keys:
                self._styles.pop(k, None)
        for k in keys:
            shutil.rmtree(self.files / k, ignore_errors=True)
        return len(keys)

    def drop_visitor(self, visitor: str) -> int:
        with self._lock:
            gone = [k for k, s in self._styles.items() if s.owner == visitor]
        return self._drop(gone)

    def expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            gone = [k for k, s in self._styles.items() if now - s.last_used > self.ttl_s]
        self._drop(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._styles)


@dataclass
class HeldUpload:
    """What is kept of a visitor's upload until they teach a style: the glyphs, not the file."""

    label: str
    chars: list[str]
    glyphs: np.ndarray  # (N, S, S) uint8
    resume: StyleFile | None = None  # when the upload was a style file: carry on from it

    @property
    def nbytes(self) -> int:
        return int(self.glyphs.nbytes) + 64 * len(self.chars)


def is_style_file(path: Path) -> bool:
    """safetensors: an 8-byte header length, then a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000


class StyleTuning:
    """Uploads, fine-tunes and style files for the demo's "Your own style" tab."""

    def __init__(self, styles: OwnStyles, niceness: int = 10, max_pending: int = TUNES_PENDING,
                 threads: int = 1, config: TuneConfig = TuneConfig(eval_every_s=15.0)):
        self.styles = styles
        self.config = config  # how a style is taught; the visitor sets the minutes
        self.st = styles.base
        self.threads = threads
        self._uploads: BoundedCache[HeldUpload] = BoundedCache(64, UPLOADS_HELD_BYTES, lambda u: u.nbytes)
        # pages of a handwriting template read so far, per visitor (16 KB per box)
        self._scans: BoundedCache[dict] = BoundedCache(32, UPLOADS_HELD_BYTES,
                                                       lambda s: sum(16_500 * len(p.boxes) for p in s["pages"].values()))
        self._live: dict[int, dict] = {}  # id(job) -> the latest progress view
        self.jobs = JobQueue("style-tune", max_pending=max_pending, niceness=niceness,
                             seconds_per_unit=60.0, what="style")
        # reading an upload can cost seconds of CPU (a 30,000-glyph WOFF2: ~40 s): heavy work too
        self.reads = JobQueue("upload-read", max_pending=max_pending + 1, niceness=niceness,
                              seconds_per_unit=5.0, what="upload")

    def submit_read(self, visitor: str, path, scan: bool = False) -> Job:
        """Read an upload as background work (``read``, or ``read_scan`` for photos of a filled
        template); one per visitor, a few in all."""
        def work(ctx: JobContext):
            ctx.check()
            return self.read_scan(visitor, path) if scan else self.read(visitor, path)
        return self.reads.submit(visitor, work)

    # --- uploads -------------------------------------------------------------------------------
    def read(self, visitor: str, path, lang: str = "en") -> tuple[dict, OwnStyle | None]:
        """Read an upload (then delete it): a summary for the page, and the style when the upload
        was a style file."""
        if not isinstance(path, (str, os.PathLike)):
            raise UserError("please upload a font, a ZIP of glyph images or a style file", key="style.upload.none")
        path = Path(path)
        try:
            if is_style_file(path):
                return self._read_style_file(visitor, path, lang)
            upload = read_glyphs(path, size=self.st.glyph_size)
        finally:
            path.unlink(missing_ok=True)
        pairs = source_pairs(self.st.source_font, upload.chars, upload.glyphs, self.st.glyph_size)
        held = HeldUpload(upload.label, pairs.chars, pairs.target)
        self._uploads.put(visitor, held)
        rejected = dict(upload.summary().get("rejected", {}))
        if pairs.not_in_source:
            rejected["not_in_source"] = len(pairs.not_in_source)
        return upload_view(upload.kind, upload.label, pairs.chars, rejected), None

    def _read_style_file(self, visitor: str, path: Path, lang: str) -> tuple[dict, OwnStyle]:
        loaded = load_style(path, self.st.model, self.styles.base_id)
        glyphs = {}
        if loaded.glyphs is not None:
            glyphs = dict(zip(loaded.chars, loaded.glyphs))
            self._uploads.put(visitor, HeldUpload(loaded.name, list(loaded.chars), loaded.glyphs, loaded))
        style = self.styles.add(visitor, loaded.name, loaded.build(self.st.model), glyphs,
                                path.read_bytes(), {"ssim": _number(loaded.meta.get("heldout_ssim")),
                                                    "glyphs": len(loaded.chars), "from_file": True})
        return upload_view("style", loaded.name, loaded.chars, {}, style=style.label), style

    # --- handwriting: a template to print, photos of it read back (``unet.handwriting``) -----------
    def template_pdf(self, text) -> Path:
        """The printable template for ``text`` (empty: the default characters), made once per
        character list and kept among the last few."""
        from ..handwriting.template import default_characters, list_id, template_characters, write_pdf

        chars = template_characters(text) if isinstance(text, str) and text.strip() else default_characters()
        path = self.styles.files / "templates" / f"template-{list_id(chars)}.pdf"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            old = sorted(path.parent.glob("*.pdf"), key=lambda p: p.stat().st_mtime)
            for stale in old[:max(0, len(old) - TEMPLATES_KEPT + 1)]:
                stale.unlink(missing_ok=True)
            tmp = path.with_suffix(".part")
            write_pdf(chars, tmp)
            tmp.replace(path)
        return path

    def submit_template(self, visitor: str, text) -> Job:
        def work(ctx: JobContext) -> Path:
            ctx.check()
            return self.template_pdf(text)
        return self.reads.submit(visitor, work)

    def read_scan(self, visitor: str, paths) -> dict:
        """Read photos of filled template pages (then delete them); pages join those read before
        for the same template, a page sent again replaces its earlier reading. Returns the review:
        every box with its character, status and glyph."""
        from ..handwriting.reader import read_pages

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, os.PathLike)) for p in paths):
            raise UserError("please upload photos of the filled template", key="scan.none")
        if len(paths) > MAX_SCAN_PHOTOS:
            raise UserError(f"at most {MAX_SCAN_PHOTOS} photos at once", key="scan.too_many", limit=MAX_SCAN_PHOTOS)
        try:
            result = read_pages([str(p) for p in paths], sources=[Path(p).name for p in paths])
        finally:
            for p in paths:
                Path(p).unlink(missing_ok=True)
        held = self._scans.get(visitor)
        pages = dict(held["pages"]) if held is not None and held["list_id"] == result.list_id else {}
        for page in result.pages:
            pages[page.label.page] = page
        total = result.pages[0].label.pages
        scan = {"list_id": result.list_id, "pages": pages, "total": total,
                "failures": [(f.source, f.error) for f in result.failures]}
        self._scans.put(visitor, scan)
        return scan

    @staticmethod
    def scan_boxes(scan: dict) -> list:
        return [box for n in sorted(scan["pages"]) for box in scan["pages"][n].boxes]

    def use_scan(self, visitor: str, chars) -> dict:
        """The visitor's reviewed glyphs (``chars``: the boxes left ticked) become their upload."""
        scan = self._scans.get(visitor)
        if scan is None:
            raise UserError("upload photos of the filled template first", key="scan.first")
        if not isinstance(chars, (list, tuple)):
            raise UserError("the glyphs to use must be a list of characters", key="scan.none")
        wanted = set(c for c in chars if isinstance(c, str))
        boxes = [b for b in self.scan_boxes(scan) if b.char in wanted and b.glyph is not None]
        boxes = list({b.char: b for b in boxes}.values())
        size = self.st.glyph_size  # the reader's glyphs are 128 px, as the shipped model's
        glyphs = [b.glyph if b.glyph.shape[0] == size else
                  np.asarray(Image.fromarray(b.glyph).resize((size, size), Image.Resampling.LANCZOS)) for b in boxes]
        pairs = source_pairs(self.st.source_font, [b.char for b in boxes],
                             np.stack(glyphs) if glyphs else np.zeros((0, size, size), np.uint8), size)
        self._uploads.put(visitor, HeldUpload("handwriting", pairs.chars, pairs.target))
        rejected = {"not_in_source": len(pairs.not_in_source)} if pairs.not_in_source else {}
        return upload_view("handwriting", "handwriting", pairs.chars, rejected)

    def drop_visitor(self, visitor: str) -> None:
        """The page closed: its fine-tune stops, its upload, its scans, its styles and their files go."""
        self.jobs.cancel_visitor(visitor)
        self.reads.cancel_visitor(visitor)
        self._uploads.pop(visitor)
        self._scans.pop(visitor)
        self.styles.drop_visitor(visitor)

    # --- fine-tunes ------------------------------------------------------------------------------
    def submit(self, visitor: str, name, minutes) -> Job:
        """Queue a fine-tune of the visitor's upload (``JobQueueFull`` when it must wait its turn)."""
        held = self._uploads.get(visitor)
        if held is None:
            raise UserError("upload your glyphs first: a font, or a ZIP of images named by character",
                            key="style.upload.first")
        if len(held.chars) < MIN_GLYPHS:
            raise UserError(f"{len(held.chars)} usable glyphs: a style needs at least {MIN_GLYPHS}",
                            key="style.too_few", count=len(held.chars), minimum=MIN_GLYPHS)
        low, high = TUNE_MINUTES
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not (low <= minutes <= high):
            raise UserError(f"minutes must be a number from {low} to {high}", key="style.minutes",
                            low=low, high=high)
        label = clean_name(name)
        self.styles.check_room(visitor)
        cfg = replace(self.config, minutes=float(minutes))
        live: dict = {"state": "waiting"}

        def work(ctx: JobContext) -> dict:
            import torch

            ctx.check()
            torch.set_num_threads(self.threads)
            src = np.stack([np.asarray(self.st.source_font.render(c, self.st.glyph_size), np.uint8)
                            for c in held.chars])

            class Stop:  # tune_style asks this between steps
                @staticmethod
                def is_set() -> bool:
                    return job.cancelled

            def progress(report: Progress) -> None:
                live.update(self._progress_view(report, held))
                ctx.report(min(1.0, report.elapsed_s / report.budget_s), f"step {report.step}")

            try:
                tuned = tune_style(self.st.model, self.st.styles, src, held.glyphs, held.chars, cfg,
                                   progress, cancel=Stop, resume=held.resume)
            except Cancelled:
                raise JobCancelled(visitor) from None
            file = style_bytes(tuned, label, self.styles.base_id, self.st.directory.name, held.glyphs)
            style = self.styles.add(visitor, label, tuned.model, dict(zip(held.chars, held.glyphs)), file,
                                    {"ssim": tuned.heldout.get("ssim"), "dithered": tuned.heldout.get("dithered"),
                                     "before": tuned.before.get("ssim"), "start": tuned.start_style,
                                     "steps": tuned.steps, "glyphs": len(held.chars),
                                     "heldout": len(tuned.heldout_chars)})
            return {"state": "done", "key": style.key, "label": style.label, **style.info,
                    "samples": live.get("samples")}

        job = self.jobs.submit(visitor, work, size=float(minutes))
        self._live[id(job)] = live
        job.future.add_done_callback(lambda _f: self._live.pop(id(job), None))
        return job

    def cancel_visitor(self, visitor: str) -> bool:
        return self.jobs.cancel_visitor(visitor)

    def status_view(self, job: Job) -> dict:
        """What the page shows while a fine-tune waits or runs."""
        ahead = self.jobs.ahead_of(job)
        if ahead or job.started is None:
            return {"state": "waiting", "ahead": ahead, "eta_s": self.jobs.eta_s(job)}
        live = dict(self._live.get(id(job), {}))
        live.setdefault("state", "starting")
        if live["state"] == "waiting":
            live["state"] = "starting"
        return live

    def _progress_view(self, report: Progress, held: HeldUpload) -> dict:
        real = held.glyphs[report.sample_index] if report.samples is not None else None
        return {"state": "teaching", "step": report.step, "elapsed_s": round(report.elapsed_s),
                "left_s": max(0, round(report.budget_s - report.elapsed_s)),
                "fraction": round(min(1.0, report.elapsed_s / report.budget_s), 3),
                "ssim": report.heldout_ssim, "best": report.best_ssim, "dithered": report.heldout_dithered,
                "samples": _samples_png(report.samples, real)}

    def choices(self, visitor: str, lang: str = "en") -> list[tuple[str, str]]:
        """The visitor's style list: the shipped styles, then theirs."""
        mine = i18n.text(lang, "style.mine")
        return [(s, s) for s in self.st.styles] + [(f"{s.label} ({mine})", s.key) for s in self.styles.of(visitor)]

    def style_file(self, visitor: str, key) -> Path | None:
        """The download of one of the visitor's styles, as a file (one per style, deleted with it)."""
        style = self.styles.get(key) if isinstance(key, str) else None
        if style is None or style.owner != visitor:
            return None
        return self.styles.file_path(style)


def upload_view(kind: str, label: str, chars, rejected: dict, **extra) -> dict:
    """What the page is told about an upload (``summary_markdown`` says it): its kind, how many
    glyphs are usable, what was skipped and why, and whether that is enough to teach a style."""
    return {"kind": kind, "label": label, "usable": len(chars), "rejected": rejected,
            "enough": len(chars) >= MIN_GLYPHS, "min": MIN_GLYPHS, "examples": "".join(chars[:24]), **extra}


def _number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _samples_png(samples: np.ndarray | None, real: np.ndarray | None = None) -> str | None:
    """Held-back glyphs as a PNG data URI: the visitor's (top row, where given) over the style's now."""
    if samples is None or not len(samples):
        return None
    rows = [np.concatenate(list(r), axis=1) for r in ((real, samples) if real is not None else (samples,))]
    img = Image.fromarray(np.concatenate(rows, axis=0), "L")  # (rows*S, n*S)
    img = img.resize((SAMPLE_CELL * len(samples), SAMPLE_CELL * len(rows)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def summary_markdown(view: dict, lang: str) -> str:
    """What the page says about an upload, in ``lang``."""
    key = {"style": "style.read.style", "handwriting": "scan.read"}.get(view["kind"], "style.read")
    lines = [i18n.text(lang, key, count=view["usable"], label=html.escape(view["label"]))]
    for kind, count in view["rejected"].items():
        lines.append("⚠ " + i18n.text(lang, f"style.skip.{kind}" if f"style.skip.{kind}" in i18n.catalog()
                                      else "style.skip.other", count=count, kind=kind))
    if not view["enough"]:
        lines.append("⚠ " + i18n.text(lang, "style.too_few", count=view["usable"], minimum=view["min"]))
    elif view["kind"] == "style":
        lines.append(i18n.text(lang, "style.ready", label=html.escape(view["style"])))
    else:
        lines.append(i18n.text(lang, "style.can_teach"))
    if view["examples"]:
        lines.append(f"`{view['examples']}`")
    return "  \n".join(lines)


def start_label(start: str, lang: str) -> str:
    """Where a taught style started, in ``lang``: a shipped style's name, the mean of the shipped
    rows, or the style file it carried on from (``TunedStyle.start_style``)."""
    return i18n.text(lang, f"style.start.{start}") if start in ("mean", "file") else start


def progress_html(view: dict | None, lang: str) -> str:
    """The progress panel (server-made HTML: numbers and the held-back glyphs), in ``lang``."""
    if not view:
        return ""
    state = view.get("state")
    if state == "waiting":
        text = i18n.text(lang, "style.progress.waiting", ahead=view.get("ahead", 0), eta=view.get("eta_s", 0))
        return f'<div class="ga-tune" data-state="waiting">{html.escape(text)}</div>'
    if state == "starting":
        return f'<div class="ga-tune" data-state="starting">{html.escape(i18n.text(lang, "style.progress.starting"))}</div>'
    parts = []
    if state == "teaching":
        parts.append(i18n.text(lang, "style.progress.teaching", step=view["step"],
                               minutes=f"{view['elapsed_s'] / 60:.1f}", left=f"{view['left_s'] / 60:.1f}"))
    if view.get("ssim") is not None:
        parts.append(i18n.text(lang, "style.progress.score", ssim=f"{view['ssim']:.3f}",
                               dithered=f"{(view.get('dithered') or 0):.0%}"))
    if state == "done":
        parts.append(i18n.text(lang, "style.progress.done", label=view["label"], steps=view["steps"],
                               ssim=f"{view['ssim']:.3f}" if view.get("ssim") is not None else "–",
                               before=f"{view['before']:.3f}" if view.get("before") is not None else "–",
                               start=start_label(view.get("start", ""), lang)))
    bar = ""
    if state == "teaching":
        bar = (f'<progress max="1" value="{view["fraction"]}" aria-label="'
               f'{html.escape(i18n.text(lang, "style.progress.bar"))}"></progress>')
    img = ""
    if view.get("samples"):
        alt = html.escape(i18n.text(lang, "style.progress.samples"))
        img = f'<figure><img src="{view["samples"]}" alt="{alt}"><figcaption>{alt}</figcaption></figure>'
    body = "".join(f"<p>{html.escape(p)}</p>" for p in parts)
    return f'<div class="ga-tune" data-state="{html.escape(state or "")}">{bar}{body}{img}</div>'


__all__ = ["OwnStyle", "OwnStyles", "StyleTuning", "progress_html", "summary_markdown"]


def review_html(scan: dict, lang: str) -> str:
    """The extracted glyphs, page by page: each cell the glyph (or an empty box) with its character
    and, when it is not fine, why ("blank", "two characters", "cut off"): what the visitor reviews
    before unticking the bad ones (server-made HTML, every text escaped)."""
    parts = [f'<div class="ga-scan" data-pages="{len(scan["pages"])}">']
    read = i18n.text(lang, "scan.review.pages", read=len(scan["pages"]), total=scan["total"])
    parts.append(f"<p>{html.escape(read)}</p>")
    missing = [n for n in range(1, scan["total"] + 1) if n not in scan["pages"]]
    if missing:
        parts.append(f"<p>⚠ {html.escape(i18n.text(lang, 'scan.review.missing', pages=', '.join(map(str, missing))))}</p>")
    for source, error in scan["failures"]:
        key = getattr(error, "key", None)
        said = i18n.text(lang, key, **error.params) if key in i18n.catalog() else str(error)
        parts.append(f"<p>⚠ {html.escape(source)}: {html.escape(said)}</p>")
    parts.append('<div class="ga-scan-grid">')
    for n in sorted(scan["pages"]):
        for box in scan["pages"][n].boxes:
            note = "" if box.status == "ok" else i18n.text(lang, f"scan.status.{box.status}")
            img = (f'<img src="{_samples_png(box.glyph[None])}" alt="{html.escape(box.char)}">'
                   if box.glyph is not None else '<span class="ga-scan-empty"></span>')
            parts.append(f'<figure data-status="{html.escape(box.status)}">{img}<figcaption>{html.escape(box.char)}'
                         f'{" · " + html.escape(note) if note else ""}</figcaption></figure>')
    parts.append("</div></div>")
    return "".join(parts)


def review_choices(scan: dict, lang: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The review's tick boxes: every box with a glyph (label: the character, and why it is doubtful),
    ticked where it read fine."""
    choices, ticked = [], []
    for n in sorted(scan["pages"]):
        for box in scan["pages"][n].boxes:
            if box.glyph is None:
                continue
            note = "" if box.status == "ok" else f" ({i18n.text(lang, f'scan.status.{box.status}')})"
            choices.append((box.char + note, box.char))
            if box.status == "ok":
                ticked.append(box.char)
    return choices, ticked
