"""Glyph bitmaps -> outlines: the vectorisers behind font export (``unet.fontexport``).

Two tracers, the same interface (``trace(image) -> Outline``), the same fitting after them:

- ``potrace`` (best): Peter Selinger's program, run as a separate process (it is GPL, so it is
  called, never imported or linked). Installed from Debian's ``potrace`` package (``packages.txt``
  on a Space, ``.ci/run`` here). Its boundaries follow the edge smoothly, with real corners.
- ``contours`` (fallback, always available): marching squares from ``contourpy`` (BSD, wheels, numpy
  only). Noisier boundaries, so a few more points per glyph.

Both read the glyph upsampled 4x (bicubic) and slightly blurred, so the boundary follows the
anti-aliased edge of the 128 px bitmap rather than its pixel staircase.

A traced boundary follows every wobble of the model's bitmap, hundreds of points per glyph;
``fit_rings`` makes it an outline a type designer would draw (``python -m benchmarks.font_outlines``
measures it against the style's real font; the README's "Outlines" table):

- noise goes first: an island of ink or a pinhole smaller than SPECK_AREA px^2 (SPECK_SIDE px
  across) is never a contour (potrace's ``--turdsize`` and ``is_speck``); the smallest real contour
  of LXGW WenKai's GB2312 level 1 is ~40 px^2 (2,444 font units^2), the dot of 主 ~60;
- corners (a sharp turn within a pixel or two) and the extremes in x and y where the boundary turns
  back are kept as points; between them, a greedy search takes the longest lines and quadratic
  curves that stay within LINE_TOLERANCE / FIT_TOLERANCE px of the boundary. A curve's control point
  is where the boundary's tangents at its ends meet, so neighbouring curves join smoothly; a line
  is used only where the boundary runs straight into and out of it. Quadratics are TrueType's own
  curves: each is written as the cubic it equals, and comes out of ``build_font``'s cu2qu as one
  quadratic (two points), with no extreme inside that the builder would split it at.

An ``Outline`` is a list of closed contours in canvas pixels (x right, y down), each a list of
fontTools pen operations (``moveTo``, ``lineTo``, ``curveTo``, ``closePath``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

from ..errors import ExportError, shown

UPSCALE = 4  # trace the bitmap at 4x its size (bicubic), see the module docstring
BLUR = 0.3  # Gaussian blur (px of the 128 px glyph) before upsampling
THRESHOLD = 0.5  # ink where the upsampled grey level is darker than this fraction of white
POTRACE_TIMEOUT = 20  # seconds for one glyph; potrace needs ~10 ms
ALPHAMAX = 0.8  # potrace's corner threshold (its default 1.0 rounds more corners away)
OPTTOLERANCE = 0.05  # potrace's curve-joining tolerance, px of the 128 px glyph (its default 0.2 at 4x)
# noise
SPECK_AREA = 8.0  # px^2 of the 128 px glyph (~500 font units^2): smaller islands and holes are noise
SPECK_SIDE = 4.0  # px (~30 font units): so is a contour narrower than this both ways
# fitting (fit_rings); measured by python -m benchmarks.font_outlines
SAMPLE_STEP = 0.75  # px between the samples of a boundary that lines and curves are fitted to
FIT_TOLERANCE = 0.35  # px (~3 font units): how far a curve may stray from the traced boundary
LINE_TOLERANCE = 0.3  # px: how far a straight line may
LINE_ANGLE = 15  # degrees: a line only where the boundary's direction at both ends is within this
TANGENT_SPAN = 1.0  # px either side of a sample: the chord that gives the boundary's direction there
CORNER_ANGLE = 50  # degrees a boundary turns within CORNER_SPAN px either side of a corner
CORNER_SPAN = 1.5
CORNER_FOCUS = 0.7  # a corner turns at least this fraction of what it turns over twice the span
CORNER_SHARPEN = 0.7  # px: the most a corner rounded by the tracing moves out to where its sides meet
EXTREME_SPAN = 2.0  # px: see _Rings._extremes
EXTREME_SNAP = 0.4  # px: the most _snap moves a control point to take an extreme out of a curve
SNAP_ANGLE = 8  # degrees: the most that move may turn the curve's tangent at that end
SMOOTH_SLACK = 1.5  # x FIT_TOLERANCE: what a curve may stray to join a line without a kink
MAX_TURN = 100  # degrees: the most one quadratic piece may turn
MAX_PIECE = 30  # px of boundary: the longest piece the search tries
SEARCH_WAYS = 6  # candidate ends the search tries at once for each piece
RUN_CHUNK = 2  # runs longer than this many MAX_PIECE are searched in chunks (see _Rings.fit)
NEWTON_STEPS = 1  # refining each sample's nearest point on a curve, when measuring its distance

Outline = list  # list of contours; a contour is a list of (operator, points) pen operations


class TraceError(RuntimeError):
    """The vectoriser failed on a glyph (potrace missing, crashed, or gave unreadable output)."""


def upsampled(image: Image.Image) -> Image.Image:
    """The grey glyph (white paper, dark ink) at UPSCALE x its size, smoothed as described above.

    Blurring before upsampling looks the same (mean difference 0.7 of 255) at 2.4x less time."""
    grey = image.convert("L").filter(ImageFilter.GaussianBlur(BLUR))
    return grey.resize((grey.width * UPSCALE, grey.height * UPSCALE), Image.Resampling.BICUBIC)


# --- from a traced boundary to few curves --------------------------------------------------------

def ring_size(ring: np.ndarray) -> tuple[float, float, float]:
    """(|area|, width, height) of a closed ring of points, in px."""
    x, y = ring[:, 0], ring[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return area, float(np.ptp(x)), float(np.ptp(y))


def is_speck(ring: np.ndarray) -> bool:
    """Noise, not a stroke or a counter: smaller than SPECK_AREA px^2, or narrower than SPECK_SIDE
    px both ways (an island of ink, or a pinhole in a stroke)."""
    if len(ring) < 3:
        return True
    area, width, height = ring_size(ring)
    return area < SPECK_AREA or (width < SPECK_SIDE and height < SPECK_SIDE)


def resample(ring: np.ndarray, step: float) -> np.ndarray:
    """Points every ~``step`` px of arc length around a closed ring (at least 8)."""
    closed = np.vstack([ring, ring[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
    n = max(8, round(s[-1] / step))
    at = np.arange(n) * (s[-1] / n)
    return np.stack([np.interp(at, s, closed[:, 0]), np.interp(at, s, closed[:, 1])], 1)


def _meeting(za: np.ndarray, ta: np.ndarray, zb: np.ndarray, tb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The control point of the quadratic from za, leaving along ta, to zb, arriving along tb (unit
    complex directions): where the two tangents meet; and whether they do, ahead of za and behind
    zb, turning at most MAX_TURN, with no extreme in x or y inside the curve that ``_snap`` could
    not move to an end."""
    chord = zb - za
    meet = np.conj(ta) * tb  # the turn from a to b: cosine and sine
    den = np.where(np.abs(meet.imag) > 1e-9, meet.imag, np.inf)
    along_a = (np.conj(chord) * tb).imag / den  # control = za + along_a ta = zb - along_b tb
    along_b = (np.conj(chord) * ta).imag / -den
    control = za + along_a * ta
    valid = (along_a > 0) & (along_b > 0) & (meet.real > np.cos(np.radians(MAX_TURN)))
    # an extreme inside (the control point beyond both ends in x or y): _snap moves the control
    # point level with the end it passes, turning the tangent there; allowed if slight
    ends = np.array([[za.real, za.imag], [zb.real, zb.imag]])  # (end, x/y, curve)
    off = np.array([control.real, control.imag])[None] - ends  # the control point from each end
    beyond = off[0] * off[1] > 0  # on the same side of both ends: past the one it is nearer
    near_a = np.abs(off[0]) <= np.abs(off[1])
    over = np.abs(np.where(near_a, off[0], off[1]))  # how far past that end
    across = np.abs(np.where(near_a, off[0][::-1], off[1][::-1]))  # and how far from it the other way
    small = (over <= EXTREME_SNAP) & (over <= np.tan(np.radians(SNAP_ANGLE)) * across)
    valid &= (~beyond | small).all(0)
    return control, valid


class _Rings:
    """The rings of one glyph laid end to end, as complex numbers (x + iy), for fitting all their
    pieces at once: each ring's samples rotated to start at a corner (or its top), then its first
    sample again. ``knots``: the samples where pieces end, ring by ring in order; to begin with the
    corners and the extremes where the boundary turns back (no curve may hold one, see
    ``evaluate``), so the runs between are short and many."""

    def __init__(self, rings: list[np.ndarray], step: float):
        lengths = np.array([len(r) for r in rings])
        starts = np.cumsum(lengths) - lengths
        ring = np.repeat(np.arange(len(rings)), lengths)
        start, n = starts[ring], lengths[ring]
        pos = np.arange(len(ring)) - start
        z = np.concatenate([r[:, 0] + 1j * r[:, 1] for r in rings])

        def along(offsets):  # the sample(s) that many steps further round each sample's ring
            return start[:, None] + (pos[:, None] + np.atleast_1d(offsets)[None, :]) % n[:, None]

        corner = self._corners(z, along, n, step)
        extreme = self._extremes(z, along, step)
        span = max(1, round(TANGENT_SPAN / step))
        ahead, behind = z[along(span)[:, 0]] - z, z - z[along(-span)[:, 0]]
        t_in, t_out = ahead + behind, ahead + behind  # central chords: smooth tangents
        # at a corner: the directions of the sides that meet there (from 1 to 3 CORNER_SPAN away,
        # past its rounding), and the corner itself where they meet, if that is within CORNER_SHARPEN
        w = max(1, round(CORNER_SPAN / step))
        at = np.flatnonzero(corner)
        near_in, near_out = z[along(-w)[at, 0]], z[along(w)[at, 0]]
        d_in, d_out = near_in - z[along(-3 * w)[at, 0]], z[along(3 * w)[at, 0]] - near_out
        t_in[at], t_out[at] = d_in, d_out
        den = (np.conj(d_in) * d_out).imag
        safe = np.where(np.abs(den) > 1e-9, den, np.inf)
        s_in = (np.conj(near_out - near_in) * d_out).imag / safe  # meet = near_in + s_in d_in
        meet = near_in + s_in * d_in
        sharp = (s_in > 0) & (np.abs(meet - z[at]) <= CORNER_SHARPEN)
        z[at[sharp]] = meet[sharp]
        # rotate each ring to begin at its first corner, else at its top
        shift = np.zeros(len(rings), dtype=int)
        top = np.flatnonzero(z.imag == np.minimum.reduceat(z.imag, starts)[ring])
        rings_at, first = np.unique(ring[top], return_index=True)
        shift[rings_at] = pos[top[first]]
        at_corner = np.flatnonzero(corner)
        rings_at, first = np.unique(ring[at_corner], return_index=True)
        shift[rings_at] = pos[at_corner[first]]
        order = start + (pos + shift[ring]) % n
        # each ring followed by its first sample again, where its last piece ends
        take = np.insert(order, starts + lengths, order[starts])
        ends = starts + lengths + np.arange(len(rings))
        self.z = z[take]
        unit = lambda v: v / np.maximum(np.abs(v), 1e-12)  # noqa: E731
        self.t_in, self.t_out = unit(t_in[take]), unit(t_out[take])
        self.arc = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(self.z)))])
        self.corner = corner[take]
        fixed = (corner | extreme)[take]
        fixed[starts + np.arange(len(rings))] = fixed[ends] = True
        self.knots = np.flatnonzero(fixed)
        self.is_end = np.isin(self.knots, ends)

    @staticmethod
    def _corners(z: np.ndarray, along, n: np.ndarray, step: float) -> np.ndarray:
        """Samples where the boundary turns by more than CORNER_ANGLE within CORNER_SPAN px either
        side, and the turn is concentrated there (a corner, not the arc of a round stroke end: over
        twice the span an arc turns twice as much, a corner hardly more)."""
        w = max(1, round(CORNER_SPAN / step))

        def turn(k):
            return np.abs(np.angle(np.conj(z - z[along(-k)[:, 0]]) * (z[along(k)[:, 0]] - z)))

        near, far = turn(w), turn(2 * w)
        peak = near[along(np.arange(-w, w + 1))].max(1)  # a local maximum within +-w samples
        first = near > near[along(-1)[:, 0]]  # of a plateau of equal turns, its first sample
        return (near > np.radians(CORNER_ANGLE)) & (near > CORNER_FOCUS * far) & (near >= peak) & first & \
            (n >= 4 * w + 2)

    @staticmethod
    def _extremes(z: np.ndarray, along, step: float) -> np.ndarray:
        """Samples that are the boundary's extreme in x or y within EXTREME_SPAN px either side and
        lie more than EXTREME_SNAP beyond the samples that far away: where a curve piece has to end
        (a straight edge wobbling about its level is not one)."""
        k = max(1, round(EXTREME_SPAN / step))
        others = along(np.concatenate([np.arange(-k, 0), np.arange(1, k + 1)]))
        found = np.zeros(len(z), dtype=bool)
        for v in (z.real, z.imag, -z.real, -z.imag):
            around = v[others]
            found |= (v > around.max(1)) & (v - np.maximum(around[:, 0], around[:, -1]) > EXTREME_SNAP)
        return found

    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) sample of every piece between consecutive knots of a ring."""
        starts = ~self.is_end[:-1]
        return self.knots[:-1][starts], self.knots[1:][starts]

    def evaluate(self, a: np.ndarray, b: np.ndarray, tolerance: float, line_tolerance: float):
        """For pieces from sample a to sample b (a < b): whether a straight line stays within
        line_tolerance of every sample between, whether the quadratic curve whose control point is
        where the tangents at a and b meet stays within tolerance (and holds no extreme in x or y
        that ``outline`` cannot move to an end), and that control point."""
        za, zb, ta, tb = self.z[a], self.z[b], self.t_out[a], self.t_in[b]
        control, valid = _meeting(za, ta, zb, tb)
        worst_line, worst_quad = self.errors(a, b, control)
        # a line only where the boundary runs straight into and out of it: no kink at either end
        chord = zb - za
        square = np.cos(np.radians(LINE_ANGLE)) * np.abs(chord)
        straight = ((np.conj(chord) * ta).real >= square) & ((np.conj(chord) * tb).real >= square)
        return (worst_line <= line_tolerance) & straight, valid & (worst_quad <= tolerance), control

    def errors(self, a: np.ndarray, b: np.ndarray, control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The farthest any sample strictly between a and b lies from the straight line a-b, and
        from the quadratic curve from a to b with that control point."""
        za, chord, c = self.z[a], self.z[b] - self.z[a], control - self.z[a]
        # every sample strictly inside a piece, from za: its piece, and its share of the piece's length
        inner = b - a - 1
        piece = np.repeat(np.arange(len(a)), inner)
        first = np.cumsum(inner) - inner
        idx = np.arange(len(piece)) + np.repeat(a + 1 - first, inner)
        q = self.z[idx] - za[piece]
        t = (self.arc[idx] - self.arc[a][piece]) / np.maximum(self.arc[b] - self.arc[a], 1e-12)[piece]
        # the curve from za: B(t) = t (2c + t k), k = chord - 2c; B' = 2c + 2tk; B'' = 2k
        cp, kp = c[piece], (chord - 2 * c)[piece]
        for _ in range(NEWTON_STEPS):  # towards the nearest point of the curve
            e, d1 = t * (2 * cp + t * kp) - q, 2 * (cp + t * kp)
            slope = (d1 * np.conj(d1)).real + 2 * (np.conj(e) * kp).real
            t = np.minimum(np.maximum(t - (np.conj(e) * d1).real / np.where(slope > 1e-12, slope, np.inf), 0), 1)
        quad_err = np.abs(t * (2 * cp + t * kp) - q)
        bp = chord[piece]
        on = np.minimum(np.maximum((np.conj(bp) * q).real / np.maximum((bp * np.conj(bp)).real, 1e-12), 0), 1)
        line_err = np.abs(q - on * bp)
        worst_line, worst_quad = np.zeros(len(a)), np.zeros(len(a))
        some = inner > 0
        if some.any():
            worst_line[some] = np.maximum.reduceat(line_err, first[some])
            worst_quad[some] = np.maximum.reduceat(quad_err, first[some])
        return worst_line, worst_quad

    def fit(self, tolerance: float, line_tolerance: float) -> None:
        """Greedy, all runs between the first knots at once: from each run's start, the farthest
        sample that one line or quadratic still reaches within the tolerances (searched among
        SEARCH_WAYS samples at a time, over at most MAX_PIECE px) becomes the next knot, and so on."""
        limit = max(2, round(MAX_PIECE / SAMPLE_STEP))
        pos, end = self.pieces()
        # the search takes as many steps as its longest run needs: cut long runs into chunks (a
        # point more here and there, a third less time)
        chunk = RUN_CHUNK * limit
        cuts = [np.arange(p + chunk, e - chunk // 2, chunk) for p, e in zip(pos.tolist(), end.tolist())
                if e - p > 1.5 * chunk]
        if cuts:
            self._add(np.concatenate(cuts))
            pos, end = self.pieces()
        lo, hi = np.minimum(pos + 1, end), np.minimum(end, pos + limit)  # lo reaches; hi is the most
        found = []
        ways = np.arange(1, SEARCH_WAYS + 1)
        while True:
            settled = np.flatnonzero((pos < end) & (lo >= hi))
            if len(settled):  # a piece from pos to lo: its end is the next knot
                pos[settled] = lo[settled]
                found.append(pos[settled][pos[settled] < end[settled]])
                lo[settled] = np.minimum(pos[settled] + 1, end[settled])
                hi[settled] = np.minimum(end[settled], pos[settled] + limit)
            busy = np.flatnonzero((pos < end) & (lo < hi))
            if not len(busy):
                break
            span = (hi[busy] - lo[busy])[:, None]
            test = lo[busy][:, None] + -(-span * ways // SEARCH_WAYS)  # (busy, ways), the last = hi
            line, quad, _ = self.evaluate(np.repeat(pos[busy], SEARCH_WAYS), test.ravel(), tolerance,
                                          line_tolerance)
            ok = (line | quad).reshape(test.shape)
            reach = np.where(ok, test, lo[busy][:, None]).max(1)
            fail = np.where(~ok & (test > reach[:, None]), test, hi[busy][:, None] + 1).min(1)
            lo[busy], hi[busy] = reach, fail - 1
        if found:
            self._add(np.concatenate(found))
        self._join_lines(line_tolerance)

    def _join_lines(self, line_tolerance: float) -> None:
        """One line for consecutive lines that fit as one: the search never tries more than
        MAX_PIECE px, nor across the chunks it cut long runs into."""
        for parity in (0, 1, 0, 1):
            a, b = self.pieces()
            line, _, _ = self.evaluate(a, b, np.inf, line_tolerance)
            i = np.flatnonzero(line[:-1] & line[1:] & (b[:-1] == a[1:]) & ~self.corner[b[:-1]])
            i = i[i % 2 == parity]
            if not len(i):
                continue
            joined, _, _ = self.evaluate(a[i], b[i + 1], np.inf, line_tolerance)
            drop = np.isin(self.knots, b[i[joined]])
            self.knots, self.is_end = self.knots[~drop], self.is_end[~drop]

    def _add(self, samples: np.ndarray) -> None:
        """More knots (none of them a ring's end)."""
        knots = np.concatenate([self.knots, samples])
        order = np.argsort(knots, kind="stable")
        self.knots = knots[order]
        self.is_end = np.concatenate([self.is_end, np.zeros(len(samples), dtype=bool)])[order]

    def outline(self, tolerance: float, line_tolerance: float) -> Outline:
        """The fitted pieces as pen operations: lines, and the quadratic curves as cubics."""
        a, b = self.pieces()
        line, _, control = self.evaluate(a, b, tolerance, line_tolerance)
        curve = ~line
        za, zb = self.z[a], self.z[b]
        control = np.where(line, (za + zb) / 2, control)
        control, snapped_a, snapped_b = _snap(za, zb, control, curve)
        # neighbours within each ring (the last piece of a ring is followed by its first)
        ring = np.searchsorted(self.knots[self.is_end], a, side="right")
        first = np.r_[True, ring[1:] != ring[:-1]]
        last = np.r_[ring[1:] != ring[:-1], True]
        starts = np.flatnonzero(first)
        prev = np.arange(len(a)) - 1
        prev[first] = np.flatnonzero(last)
        nxt = np.arange(len(a)) + 1
        nxt[last] = starts
        # Where a curve meets a line, or a curve whose control point was moved level with their
        # shared end, without a corner there: the curve leaves (arrives) along that line or level
        # direction too, so the outline has no kink there; kept where it still fits.
        unit = lambda v: v / np.maximum(np.abs(v), 1e-12)  # noqa: E731
        leave, arrive = unit(control - za), unit(zb - control)
        leave = np.where(line, unit(zb - za), leave)
        arrive = np.where(line, unit(zb - za), arrive)
        smooth_a, smooth_b = ~self.corner[a], ~self.corner[b]
        take_a = curve & smooth_a & ~snapped_a & (line[prev] | snapped_b[prev])
        take_b = curve & smooth_b & ~snapped_b & (line[nxt] | snapped_a[nxt])
        ts = np.where(take_a, arrive[prev], leave)
        te = np.where(take_b, leave[nxt], arrive)
        change = np.flatnonzero(take_a | take_b)
        if len(change):
            new, ok = _meeting(za[change], ts[change], zb[change], te[change])
            _, err = self.errors(a[change], b[change], new)
            ok &= err <= tolerance * SMOOTH_SLACK
            control[change[ok]] = new[ok]
            control, _, _ = _snap(za, zb, control, curve)
        c1, c2 = za + (control - za) * 2 / 3, zb + (control - zb) * 2 / 3  # the quadratic as a cubic

        def points(v):
            return list(zip(v.real.tolist(), v.imag.tolist()))

        outline, contour = [], []
        for is_line, p0, p1, p2, p3, close in zip(line.tolist(), points(za), points(c1), points(c2),
                                                  points(zb), last.tolist()):
            if not contour:
                contour = [("moveTo", (p0,))]
            contour.append(("lineTo", (p3,)) if is_line else ("curveTo", (p1, p2, p3)))
            if close:
                outline.append(contour + [("closePath", ())])
                contour = []
        return outline


def _snap(za: np.ndarray, zb: np.ndarray, control: np.ndarray, curve: np.ndarray):
    """A curve with its extreme in x or y inside it is split there when the font is built (a point at
    every extreme). Where the control point lies beyond both ends in x (y), move it back level with
    the end it passes: the extreme moves to that end, the curve by half as much (``_meeting`` allows
    it only for small moves). Returns the control points and whether each curve's tangent at its
    start, at its end, is now level (horizontal or vertical)."""
    parts, level_a, level_b = [], np.zeros(len(za), dtype=bool), np.zeros(len(za), dtype=bool)
    for pa, pb, v in ((za.real, zb.real, control.real), (za.imag, zb.imag, control.imag)):
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        move = curve & ((v < lo) | (v > hi))
        target = np.where(v < lo, lo, hi)
        parts.append(np.where(move, target, v))
        level_a |= move & (target == pa)
        level_b |= move & (target != pa)
    return parts[0] + 1j * parts[1], level_a, level_b


def fit_rings(rings: list[np.ndarray], tolerance: float | None = None) -> Outline:
    """Closed boundaries (each an (n, 2) array of points in px) -> an outline of lines and
    quadratic curves (written as the cubics they equal) within ``tolerance`` px of them (up to
    SMOOTH_SLACK times that where a curve was bent to meet a line without a kink), with as few points
    as the greedy search finds. Specks are dropped first (``is_speck``)."""
    tolerance = FIT_TOLERANCE if tolerance is None else tolerance
    rings = [resample(r, SAMPLE_STEP) for r in rings if not is_speck(r)]
    if not rings:
        return []
    fitted = _Rings(rings, SAMPLE_STEP)
    fitted.fit(tolerance, LINE_TOLERANCE)
    return fitted.outline(tolerance, LINE_TOLERANCE)


# --- potrace --------------------------------------------------------------------------------

def potrace_path() -> str | None:
    """The potrace program if it is installed (PATH), else None."""
    return shutil.which("potrace")


def potrace_rings(image: Image.Image, program: str | None = None) -> list[np.ndarray]:
    """The boundaries potrace finds in the upsampled glyph, in glyph pixels (x right, y down): its
    GeoJSON backend writes every curve flattened into points (~0.5 px of the glyph apart)."""
    program = program or potrace_path()
    if program is None:
        raise TraceError("potrace is not installed (Debian: apt install potrace)")
    big = upsampled(image)
    pgm = f"P5 {big.width} {big.height} 255\n".encode() + big.tobytes()
    try:
        done = subprocess.run([program, "--backend", "geojson", "--blacklevel", str(THRESHOLD),
                               "--turdsize", str(round(SPECK_AREA * UPSCALE ** 2)), "--alphamax", str(ALPHAMAX),
                               "--opttolerance", str(OPTTOLERANCE * UPSCALE), "-"],
                              input=pgm, capture_output=True, timeout=POTRACE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TraceError(f"potrace failed: {e}") from e
    if done.returncode != 0:
        raise TraceError(f"potrace failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[:200]}")
    try:
        features = json.loads(done.stdout)["features"]
        polygons = [np.asarray(ring, dtype=np.float64) for f in features for ring in f["geometry"]["coordinates"]]
    except (ValueError, KeyError, TypeError) as e:
        raise TraceError(f"potrace wrote GeoJSON that could not be read: {e}") from e
    rings = []
    for ring in polygons:  # potrace's pixels have y up; a ring repeats its first point at the end
        if ring.ndim != 2 or len(ring) < 4:
            continue
        rings.append(np.stack([ring[:-1, 0], big.height - ring[:-1, 1]], 1) / UPSCALE)
    return rings


def trace_potrace(image: Image.Image, program: str | None = None) -> Outline:
    """Trace with the potrace program (one process per glyph; the image goes in as PGM on stdin),
    then fit lines and curves to what it found (``fit_rings``)."""
    return fit_rings(potrace_rings(image, program))


# --- contours (fallback) ----------------------------------------------------------------------

def trace_contours(image: Image.Image) -> Outline:
    """Trace with marching squares (contourpy) on the upsampled glyph, then fit curves (``fit_rings``)."""
    import contourpy  # a small numpy-only wheel; imported here so the module loads without it

    big = np.asarray(upsampled(image), dtype=np.float64) / 255.0
    padded = np.pad(big, 1, constant_values=1.0)  # white border: every contour closes
    lines = contourpy.contour_generator(z=padded, line_type="Separate").lines(THRESHOLD)
    rings = []
    for line in lines:
        pts = (np.asarray(line, dtype=np.float64) - 1.0 + 0.5) / UPSCALE  # pixel centres -> canvas px
        if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]
        if len(pts) >= 3:
            rings.append(pts)
    return fit_rings(rings)


# --- choosing -------------------------------------------------------------------------------

VECTORIZERS: dict[str, Callable[[Image.Image], Outline]] = {
    "potrace": trace_potrace,
    "contours": trace_contours,
}


def pick_vectorizer(name: str = "auto") -> str:
    """'auto' -> potrace where the program is installed, else contours; a named one is checked
    (``ExportError``, a user error: the name comes from whoever asked for the export)."""
    if name == "auto":
        return "potrace" if potrace_path() else "contours"
    if name not in VECTORIZERS:
        raise ExportError(f"unknown vectoriser {shown(name)}: use 'auto', 'potrace' or 'contours'")
    if name == "potrace" and potrace_path() is None:
        raise ExportError("vectoriser 'potrace' asked for but the potrace program is not installed "
                         "(Debian: apt install potrace); 'contours' needs nothing")
    return name


def trace(image: Image.Image, vectorizer: str = "potrace") -> Outline:
    return VECTORIZERS[vectorizer](image)
