"""What the Gradio app shows, computed from a ``Stylizer``: kept out of app.py so app.py is layout
and wiring only, and so this logic is testable without a browser.

Three rules keep it live and safe under many visitors:
- Nothing is written to disk for a response: the sheet travels as a PNG ``data:`` URI inside the
  response (one image, no file for two requests to race on, no second HTTP fetch), and the attention
  panel gets numbers (q, k), not pictures: the page draws the maps itself.
- A session keeps keys, not images (``Session``); finished generations live in one shared cache
  bounded in bytes, keyed by the whole request, so sessions cannot see each other's settings.
- After a generation, the other layer-toggle combinations of that text are computed in one
  background thread, only while no visitor's request is running (``Speculator``), so a toggle is
  usually a cache hit.
"""

from __future__ import annotations

import atexit
import base64
import io
import itertools
import json
import queue
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np

from ..engine.cache import BoundedCache
from ..engine.glyphs import group_skipped
from ..engine.request import WIRE_SHAPE, Request, from_wire, make_request, parse_index, parse_point, to_wire
from ..engine.runtime import release_memory
from ..engine.stylizer import Generation, Stylizer
from ..engine.visualize import difference_image, glyph_cells, png_data_uri
from ..errors import GenerationError, shown
from ..settings import CACHE_BYTES, CACHE_ENTRIES, GENERATIONS_AT_ONCE, TICKET_TEXT
from . import i18n
from .ownstyles import OwnStyles

# Who asked for a forward pass, most urgent first: a visitor's event (Generate, a toggle, the panel),
# then a page's fetch of a generation no longer cached (server functions), then the speculator.
VISITOR, FETCH, SPECULATION = 0, 1, 2

EXPIRED = "This page has no glyphs on the server (it may have expired): press Generate."
SHEET_CELL = 96  # px of a glyph in the sheet
STATUS_CHARS = 20  # characters listed in a line of the status before "…"
SHEET_PER_ROW = 12  # characters per sheet row before it wraps


@dataclass(frozen=True)
class Outputs:
    """What a Generate (or a toggle) sends to the page."""

    session: Session
    sheet: dict  # DemoService.sheet_view
    status: str  # markdown
    choices: list[tuple[str, int]]  # the attention panel's characters
    attention: dict | None  # DemoService.ticket, or None while the panel is hidden


@dataclass(frozen=True)
class Session:
    """What one browser session keeps between events: a few hundred bytes, never an image."""

    req: Request
    index: int = 0  # the character shown in the attention panel
    panel: bool = True  # whether the attention panel is visible (its payload travels only then)


def _b64(array: np.ndarray) -> str:
    """float32 little-endian bytes, base64: what the page decodes into a Float32Array."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _nbytes(view) -> int:
    """Roughly what a view (a JSON-able dict of strings, numbers and lists) holds, for the cache."""
    if isinstance(view, str):
        return len(view)
    if isinstance(view, dict):
        return sum(len(k) + _nbytes(v) for k, v in view.items())
    if isinstance(view, (list, tuple)):
        return sum(_nbytes(v) for v in view) + 8 * len(view)
    return 8


class DemoService:
    """Shared by all sessions: the stylizer, a bounded cache of finished generations and of the views
    built from them, and the speculator. Its state is a pure function of the requests it has seen.

    The page's inputs enter through ``request`` (or ``from_wire`` for a request the page sends back)
    and are checked there, once; everything after takes the checked ``Request`` or the
    ``Generation`` found for it, looked up once per event."""

    def __init__(self, stylizer: Stylizer, cache_bytes: int = CACHE_BYTES,
                 cache_entries: int = CACHE_ENTRIES, speculate: bool = True, own: OwnStyles | None = None):
        self.st = stylizer
        # visitors' own styles: a request may name only its visitor's (``styles_for``)
        self.own = own if own is not None else OwnStyles(stylizer)
        self._generations: BoundedCache[Generation] = BoundedCache(cache_entries, cache_bytes,
                                                                   lambda g: g.nbytes)
        # Views are kept as built (dicts that only Gradio reads, and it does not change them).
        self._views: BoundedCache[dict] = BoundedCache(cache_entries, cache_bytes // 4, _nbytes)
        self._inflight: dict[Request, Future] = {}
        # Every forward pass runs on these threads: memory a thread keeps after torch ran on it
        # (its malloc arena, torch's per-thread buffers) is paid for these threads, not for each of
        # Gradio's many worker threads; as many as app.py lets run at once.
        self._workers = Workers(GENERATIONS_AT_ONCE)
        # At most one of the page's fetches runs a forward pass at a time: a flood of them never
        # holds both workers, so a visitor's Generate always finds one free.
        self._fetch_slot = threading.Semaphore(1)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0  # visitors' generations running now
        self.speculator = Speculator(self) if speculate else None

    # --- requests and generations ------------------------------------------------------------
    def styles_for(self, visitor: str | None) -> list[str]:
        """The styles ``visitor``'s requests may name: the shipped ones, then their own (by key)."""
        return self.st.styles + self.own.keys_of(visitor)

    def request(self, text, style, blend, blend_weight, enabled_layers, visitor: str | None = None) -> Request:
        """The app's inputs (checkboxes name the layers left on: a list, as the page sends) as a
        validated ``Request``; ``visitor`` may name their own styles."""
        if not isinstance(enabled_layers, (list, tuple)):
            raise GenerationError(f"attention layers must be a list of the names left on, from "
                                  f"{list(self.st.layer_names)}; got {shown(enabled_layers)}")
        if self._gone(style, visitor) or self._gone(blend, visitor):
            raise GenerationError("this style is no longer kept on the server; teach it again or "
                                  "upload its style file", key="error.own_gone")
        return self._own_checked(make_request(text, style, blend, blend_weight, None, self.styles_for(visitor),
                                              self.st.layer_names, enabled_layers))

    def from_wire(self, data, visitor: str | None = None) -> Request:
        """A request the page sent back (the sheet's ZIP button, the attention panel's ticket): it
        enters here like any request, so it is checked here."""
        return self._own_checked(from_wire(data, self.styles_for(visitor), self.st.layer_names))

    def _gone(self, style, visitor) -> bool:
        """A style value of the visitor's that named one of their own styles, now dropped."""
        return isinstance(style, str) and style.startswith("own-") and style not in self.own.keys_of(visitor)

    def _own_checked(self, req: Request) -> Request:
        own = {s for s in (req.style, req.blend) if s is not None and s not in self.st.style_specs}
        if len(own) > 1:
            raise GenerationError("two of your own styles cannot be blended; blend yours with a shipped style",
                                  key="error.own_blend")
        return req

    def stylizer_for(self, style, visitor: str | None) -> Stylizer:
        """The stylizer for an export in ``style``: that of the visitor's own style it names, else
        the base (which refuses any other name when the export's request is checked)."""
        if isinstance(style, str) and style in self.own.keys_of(visitor):
            own = self.own.get(style)
            if own is not None:
                return own.stylizer
        return self.st

    def stylizer_of(self, req: Request) -> Stylizer:
        """The stylizer that draws ``req``: the base, or the one of the visitor's style it names."""
        for name in (req.style, req.blend):
            if name is not None and name not in self.st.style_specs:
                style = self.own.get(name)
                if style is None:
                    raise GenerationError("this style is no longer kept on the server; teach it again or "
                                          "upload its style file", key="error.own_gone")
                return style.stylizer
        return self.st

    def is_cached(self, req: Request) -> bool:
        return req in self._generations

    def result(self, req: Request, speculative: bool = False, priority: int = VISITOR) -> Generation:
        """The generation for ``req`` with attention captured: from the cache, from an identical
        request already running (computed once however many ask at once), or computed now, after
        every waiting forward pass of a more urgent ``priority``."""
        gen = self._generations.get(req)
        if gen is not None:
            return gen
        with self._lock:
            future = self._inflight.get(req)
            owner = future is None
            if owner:
                future = self._inflight[req] = Future()
            if not speculative:
                self._busy += 1
        try:
            if not owner:
                return future.result()
            try:
                if priority == FETCH and not speculative:
                    with self._fetch_slot:
                        gen = self._workers.submit(self._run, req, priority=FETCH).result()
                else:
                    gen = self._workers.submit(self._run, req,
                                               priority=SPECULATION if speculative else priority).result()
                self._generations.put(req, gen)
                future.set_result(gen)
                return gen
            except BaseException as e:
                future.set_exception(e)
                raise
            finally:
                with self._lock:
                    self._inflight.pop(req, None)
        finally:
            if not speculative:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def _run(self, req: Request) -> Generation:
        try:
            return self.stylizer_of(req).run(req, capture=True)
        finally:
            release_memory()  # the forward pass's activations and attention maps

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until no visitor's generation is running (the speculator's gate)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def served(self, req: Request) -> None:
        """A visitor got ``req``: let the speculator prepare the toggles they may try next."""
        if self.speculator is not None:
            self.speculator.after(req)

    # --- the page's events: each looks its generation up once --------------------------------
    def generate(self, session: Session | None, text, style, blend, blend_weight, enabled_layers,
                 lang: str = "en", visitor: str | None = None) -> Outputs:
        """The page's Generate (or a toggle), from what the visitor typed: the sheet, the status (in
        ``lang``) and, where the panel is visible, the attention of the character the session is
        looking at (kept across toggles)."""
        req = self.request(text, style, blend, blend_weight, enabled_layers, visitor)
        gen = self.result(req)
        keep = session is not None and session.req.text == req.text and session.index < len(gen.chars)
        session = Session(req, session.index if keep else 0, session.panel if session else True)
        out = Outputs(session, self.sheet_view(gen), self.status(gen, lang), self.char_choices(gen, lang),
                      self.ticket(gen, session.index) if session.panel else None)
        self.served(req)
        return out

    def pick(self, session: Session | None, index) -> tuple[Session, dict]:
        """Another character for the attention panel (no forward pass: its q and k are cached)."""
        if session is None:  # never generated here, or the server dropped this page's state
            raise GenerationError(EXPIRED, key="error.expired")
        gen = self.result(session.req)
        session = replace(session, index=parse_index(index, len(gen.chars)), panel=True)
        return session, self.ticket(gen, session.index)

    def show_panel(self, session: Session | None, visible: bool) -> tuple[Session | None, dict | None]:
        """The attention panel was shown or hidden: its payload travels only while it is visible."""
        if session is None:
            return None, None
        session = replace(session, panel=visible)
        return session, self.ticket(self.result(session.req), session.index) if visible else None

    def glyph_zip(self, data, visitor: str | None = None) -> dict:
        """The sheet's ZIP button: ``data`` is a request in ``to_wire``'s shape."""
        try:
            gen = self.result(self.from_wire(data, visitor), priority=FETCH)
            name = f"glyphs-{''.join(gen.chars[:8])}.zip"
            return {"zip": base64.b64encode(self.zip_bytes(gen)).decode("ascii"), "name": name}
        except GenerationError as e:
            return {"error": str(e)}

    def attention_data(self, ticket, visitor: str | None = None) -> dict:
        """The attention panel's server function: ``attention`` for a ticket (or ``{"error": ...}``)."""
        if not isinstance(ticket, dict) or not {"request", "index"} <= ticket.keys():
            return {"error": f"an attention ticket is {{request: {WIRE_SHAPE}, index}}"}
        try:
            gen = self.result(self.from_wire(ticket["request"], visitor), priority=FETCH)
            return self.attention_view(gen, parse_index(ticket["index"], len(gen.chars)))
        except GenerationError as e:
            return {"error": str(e)}

    # --- checked requests in, views out (for the API and the tests) ---------------------------
    def sheet(self, req: Request) -> dict:
        """``sheet_view`` of ``req``'s generation."""
        return self.sheet_view(self.result(req))

    def attention(self, req: Request, index) -> dict:
        """``attention_view`` of character ``index`` (checked here) of ``req``'s generation."""
        gen = self.result(req)
        return self.attention_view(gen, parse_index(index, len(gen.chars)))

    def query_point(self, req: Request, index, x, y) -> dict:
        """API: per layer, the (h, w) map of where glyph pixel (x, y) of character ``index`` looks
        (index and point checked here)."""
        gen = self.result(req)
        index = parse_index(index, len(gen.chars))
        point = parse_point(x, y, gen.glyph_size)
        return {"char": gen.chars[index], "point": list(point),
                "layers": {n: {"resolution": c.resolution, "gamma": c.gamma,
                               "contribution": float(c.contribution[index]),
                               "map": c.query_map(index, *point, gen.glyph_size).round(6).tolist()}
                           for n, c in gen.layers.items()}}

    # --- what the page shows -----------------------------------------------------------------
    def sheet_view(self, gen: Generation) -> dict:
        """The sheet as the page's viewer takes it: the glyphs as one PNG of cells without a word
        (``glyph_cells``: a grid the page slices, ``layout`` says where each glyph sits), and what
        the page needs to label them in its own language (``web/sheet.js``): ``rows`` (each a
        ``kind`` with the style names and weights it shows), ``chars``, ``seen`` (whether training
        saw each character) and, per real row, ``missing`` (characters its font lacks: blank cells
        the page marks "not in this font").

        Rows: source, generated, one real row per style of the mix whose font is installed (the
        heavier first, each with its weight) and, with a layer switched off, the difference to every
        layer on (red: ink only with all layers, blue: ink only with the toggles). Encoded once per
        request (cached), so toggling back costs nothing."""
        req = gen.request
        cached = self._views.get(("sheet", req))
        if cached is not None:
            return cached
        st = self.stylizer_of(req)
        mix = sorted(((s, w) for s, w in gen.weights.items() if w > 0), key=lambda sw: (-sw[1], sw[0] != gen.style))
        rows = [{"kind": "source"},
                {"kind": "generated", "mix": [{"style": st.label(s), "weight": round(w, 4)} for s, w in mix]}]
        glyphs = [gen.source, gen.generated]
        for style, weight in mix:
            if not st.has_real(style):  # not installed here: no row
                continue
            real = [st.render_target(style, c) for c in gen.chars]
            rows.append({"kind": "real", "style": st.label(style), "weight": round(weight, 4),
                         "missing": [i for i, g in enumerate(real) if g is None]})
            glyphs.append(real)
        if req.disabled:
            on = self.result(req.with_layers_on())  # another generation: the reference row
            rows.append({"kind": "delta", "off": list(req.disabled)})
            glyphs.append([difference_image(a, b) for a, b in zip(on.generated, gen.generated)])
        image, layout = glyph_cells(glyphs, cell=SHEET_CELL, per_row=SHEET_PER_ROW)
        view = {"src": png_data_uri(image, colours=64), "width": image.width, "height": image.height,
                "request": to_wire(req, "".join(gen.chars)), "chars": gen.chars,
                "seen": [self.st.is_training_char(c) for c in gen.chars], "rows": rows,
                "layout": {"cell": layout.cell, "pad": layout.pad, "label_width": layout.label_width,
                           "header": layout.header, "per_row": layout.per_row,
                           "block_height": layout.block_height, "rows": layout.rows}}
        return self._views.put(("sheet", req), view)

    def status(self, gen: Generation, lang: str = "en") -> str:
        """The status line in ``lang``: what was drawn, which layers are off, and one line per kind
        of problem with its characters listed ("Skipped 3 characters that are not Chinese: a b c")."""
        unseen = [c for c in gen.chars if not self.st.is_training_char(c)]
        st = self.stylizer_of(gen.request)
        mix = ", ".join(f"{st.label(n)} {w:.0%}" for n, w in gen.weights.items() if w > 0)
        listed = f" ({''.join(unseen[:STATUS_CHARS])}{'…' if len(unseen) > STATUS_CHARS else ''})" if unseen else ""
        if lang != "en" and listed:
            listed = f"（{listed[2:-1]}）"
        lines = [i18n.text(lang, "status.summary", count=len(gen.chars), mix=mix, unseen=len(unseen), chars=listed)]
        if gen.disabled_layers:
            lines.append(i18n.text(lang, "status.layers_off", layers=", ".join(gen.disabled_layers)))
        lines += [f"⚠ {line}" for line in self.problems(gen, lang)]
        return "  \n".join(lines)

    def problems(self, gen: Generation, lang: str = "en") -> list[str]:
        """One line per kind of skipped character (in the order first met) and per note, in ``lang``."""
        lines = [i18n.text(lang, f"status.skip.{g['kind']}", count=g["count"], chars=g["chars"],
                           limit=self.st.max_chars) for g in group_skipped(gen.skipped, STATUS_CHARS)]
        for note in gen.notes:
            kind = getattr(note, "kind", "")
            lines.append(i18n.text(lang, f"status.note.{kind}", **note.params) if kind else str(note))
        return lines

    def char_choices(self, gen: Generation, lang: str = "en") -> list[tuple[str, int]]:
        """The attention panel's characters: each with whether the model saw it in training."""
        return [(i18n.text(lang, "app.char.seen" if self.st.is_training_char(ch) else "app.char.unseen", char=ch), i)
                for i, ch in enumerate(gen.chars)]

    def ticket(self, gen: Generation, index: int) -> dict:
        """What the attention panel's value holds: which glyph of which request, a few hundred bytes.

        The page fetches the numbers themselves with ``attention_data`` (a server function), so they
        are not among the outputs Gradio keeps in memory for every session."""
        req = gen.request
        # a long text (up to MAX_TEXT code points, most of them skipped) is named by the characters
        # drawn instead: the ticket stays small, at the price of one forward pass when it is used
        text = req.text if len(req.text) <= TICKET_TEXT else "".join(gen.chars)
        return {"request": to_wire(req, text), "index": index, "char": gen.chars[index]}

    def attention_view(self, gen: Generation, index: int) -> dict:
        """Everything the page needs to draw every layer's map for any query point of glyph
        ``index`` (a checked index): per layer q and k (N x d floats each), the mean attention
        received and the contribution.

        The page computes softmax(K q) itself as the mouse moves; ``query_point`` computes the
        same numbers on the server (a test keeps them equal)."""
        key = ("attention", gen.request, index)
        cached = self._views.get(key)
        if cached is not None:
            return cached
        payload = {
            "char": gen.chars[index], "index": index, "size": gen.glyph_size,
            "seen": self.st.is_training_char(gen.chars[index]),
            "glyph": png_data_uri(gen.generated[index]),
            "off": list(gen.disabled_layers),
            "layers": [{"name": n, "resolution": c.resolution, "gamma": c.gamma, "d": c.q.shape[-1],
                        "contribution": float(c.contribution[index]),
                        "q": _b64(c.q[index].numpy()), "k": _b64(c.k[index].numpy()),
                        "received": _b64(c.mean_received[index].numpy())}
                       for n, c in gen.layers.items()],
        }
        return self._views.put(key, payload)

    def zip_bytes(self, gen: Generation) -> bytes:
        """Every glyph of a generation as PNGs (source, generated, real): built when asked for."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, ch in enumerate(gen.chars):
                for kind, img in (("source", gen.source[i]), ("generated", gen.generated[i]),
                                  ("real", gen.target[i])):
                    if img is not None:
                        png = io.BytesIO()
                        img.save(png, format="PNG")
                        zf.writestr(f"{i:03d}_U+{ord(ch):04X}_{kind}.png", png.getvalue())
        return buf.getvalue()

    def metrics_markdown(self, lang: str = "en") -> str:
        """The checkpoint's held-out metrics (``metrics.json`` beside the weights, written by
        ``python -m unet.evaluate``) as a table, in ``lang``."""
        path = self.st.directory / "metrics.json"
        if not path.is_file():
            return i18n.text(lang, "app.metrics.none")
        m = json.loads(path.read_text(encoding="utf-8"))
        rows = [i18n.text(lang, "app.metrics.heldout", count=m["heldout_chars"]), "",
                i18n.text(lang, "app.metrics.header"), "|---|---|---|---|---|"]
        for style, systems in m["styles"].items():
            for label, v in systems.items():
                key = f"app.metrics.system.{label}"
                name = i18n.text(lang, key) if key in i18n.catalog() else label
                rows.append(f"| {style} | {name} | {v['ssim']:.3f} | {v['l1']:.3f} | {v['ink_iou']:.3f} |")
        return "\n".join(rows)


class Workers:
    """The threads every forward pass runs on, taking the most urgent waiting pass first.

    Memory a thread keeps after torch ran on it (its malloc arena, torch's per-thread buffers) is
    paid for these threads, not for each of Gradio's many worker threads; and a visitor's Generate
    never waits behind a flood of the page's fetches (``FETCH``) or the speculator."""

    def __init__(self, count: int):
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # first come, first served within a priority
        for i in range(count):
            threading.Thread(target=self._run, name=f"generator-{i}", daemon=True).start()

    def submit(self, fn, *args, priority: int = VISITOR) -> Future:
        future: Future = Future()
        self._queue.put((priority, next(self._order), future, fn, args))
        return future

    def _run(self) -> None:
        while True:
            _, _, future, fn, args = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:
                future.set_exception(e)


def toggle_neighbours(req: Request, layers: Iterable[str]) -> list[Request]:
    """The other layer combinations of ``req``, most likely next first: one layer flipped, then
    every layer on, then the rest (2**L - 1 in all)."""
    layers = list(layers)
    current = set(req.disabled)
    combos = [current ^ {n} for n in layers] + [set()]
    combos += [set(c) for r in range(len(layers) + 1) for c in itertools.combinations(layers, r)]
    out, seen = [], {frozenset(current)}
    for c in combos:
        if frozenset(c) not in seen:
            seen.add(frozenset(c))
            out.append(replace(req, disabled=tuple(n for n in layers if n in c)))
    return out


class Speculator:
    """One daemon thread that computes the toggle combinations and the other styles of recent
    requests ahead of time.

    It runs a forward pass only while no visitor's generation is running (and checks again before
    each one), newest request first; at most ``max_pending`` requests wait, older ones are dropped.
    What it computes goes to the service's bounded cache like any generation."""

    def __init__(self, service: DemoService, max_pending: int = 12, max_layers: int = 3):
        self.svc = service
        self.max_pending, self.max_layers = max_pending, max_layers
        self._pending: OrderedDict[Request, None] = OrderedDict()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._working = False
        self.computed = 0  # generations it made (for tests and the benchmark)

    def after(self, req: Request) -> None:
        layers = self.svc.st.layer_names
        if not layers or len(layers) > self.max_layers:
            return  # 2**L forward passes: not worth it beyond a few layers
        toggles = toggle_neighbours(req, layers)
        # the same text in the other styles (what a live style change asks for), after one flip
        styles = [replace(req, style=s, blend=None, blend_weight=0.0) for s in self.svc.st.styles
                  if s != req.style or req.blend is not None]
        likely = toggles[:len(layers)] + styles + toggles[len(layers):]
        with self._cond:
            for nxt in reversed(likely):
                self._pending.pop(nxt, None)
                self._pending[nxt] = None  # newest (and most likely) last
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="speculator", daemon=True)
                self._thread.start()
                atexit.register(self.stop)  # never leave the interpreter inside a forward pass
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._stopping)
            while not self.svc.wait_until_idle(timeout=0.5):
                if self._stopping:
                    return
            with self._cond:
                if self._stopping:
                    return
                if not self._pending:
                    continue
                req, _ = self._pending.popitem(last=True)
                self._working = True
            try:
                if not self.svc.is_cached(req):
                    self.svc.result(req, speculative=True)
                    self.computed += 1
            except Exception:  # a request that fails for a visitor fails for them, not here
                pass
            finally:
                with self._cond:
                    self._working = False

    def idle(self) -> bool:
        """True when nothing is pending or running (tests and benchmarks wait for this)."""
        with self._cond:
            return not self._pending and not self._working

    def stop(self) -> None:
        """Finish the forward pass in flight, drop the rest, and end the thread."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
