"""Draws the example inputs of the bundled models (``models/<name>/examples/``) with Pillow alone.

No third-party image is used: the sketches and shoe outlines are drawn here stroke by stroke, the way a person draws
in a web canvas (black round-jointed strokes 2-4 px wide on white, slightly wobbly, anti-aliased), and the facade
label maps are filled rectangles in the CMP facade palette (the colours measured from ``datasets/facades-mini``).
The two real facade label maps are the right halves of two bundled ``datasets/facades-mini/test`` files.

All randomness is seeded by the drawing's name, so every run writes byte-identical files::

    python scripts/draw_examples.py --out models
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

from PIL import Image, ImageDraw

from i2i.artifact.inputs import read_palette

SIZE = 256  # every example is SIZE x SIZE RGB
SCALE = 4  # strokes are drawn at SCALE times the size and box-filtered down: anti-aliased like a canvas
REPO = Path(__file__).resolve().parents[1]
FACADES_SAMPLE = REPO / "datasets" / "facades-mini"

Point = tuple[float, float]

# --- hand-drawn strokes ---------------------------------------------------------------------------------------------


def _resample(points: Sequence[Point], step: float) -> list[Point]:
    """Points every ``step`` pixels along the polyline (its first and last points kept)."""
    out = [points[0]]
    carry = 0.0
    for (x0, y0), (x1, y1) in pairwise(points):
        seg = math.hypot(x1 - x0, y1 - y0)
        pos = step - carry
        while pos <= seg:
            t = pos / seg
            out.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
            pos += step
        carry = (carry + seg) % step
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def catmull_rom(points: Sequence[Point], closed: bool = False, per_segment: int = 16) -> list[Point]:
    """A smooth curve through ``points`` (a closed loop when ``closed``): how a hand joins the dots."""
    pts = list(points)
    if closed:
        ext = [pts[-1], *pts, pts[0], pts[1]]
    else:
        ext = [pts[0], *pts, pts[-1]]
    out: list[Point] = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        for k in range(per_segment):
            t = k / per_segment
            weights = (-t + 2 * t * t - t**3, 2 - 5 * t * t + 3 * t**3, t + 4 * t * t - 3 * t**3, -t * t + t**3)
            x = 0.5 * sum(w * p[0] for w, p in zip(weights, (p0, p1, p2, p3), strict=True))
            y = 0.5 * sum(w * p[1] for w, p in zip(weights, (p0, p1, p2, p3), strict=True))
            out.append((x, y))
    out.append(pts[0] if closed else pts[-1])
    return out


def ellipse_points(
    cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0, rotate: float = 0.0
) -> list[Point]:
    """Points of an ellipse (or its arc from ``a0`` to ``a1`` degrees, 0 = right, 90 = down), rotated by ``rotate``."""
    n = max(8, int(abs(a1 - a0) / 3))
    cr, sr = math.cos(math.radians(rotate)), math.sin(math.radians(rotate))
    out = []
    for k in range(n + 1):
        a = math.radians(a0 + (a1 - a0) * k / n)
        x, y = rx * math.cos(a), ry * math.sin(a)
        out.append((cx + x * cr - y * sr, cy + x * sr + y * cr))
    return out


class Ellipse:
    """An ellipse used as a shape: its outline, and whether a point lies inside it (to hide lines behind it)."""

    def __init__(self, cx: float, cy: float, rx: float, ry: float, rotate: float = 0.0) -> None:
        self.cx, self.cy, self.rx, self.ry, self.rotate = cx, cy, rx, ry, rotate

    def contains(self, p: Point, margin: float = 0.0) -> bool:
        a = math.radians(-self.rotate)
        dx, dy = p[0] - self.cx, p[1] - self.cy
        x, y = dx * math.cos(a) - dy * math.sin(a), dx * math.sin(a) + dy * math.cos(a)
        return (x / (self.rx - margin)) ** 2 + (y / (self.ry - margin)) ** 2 < 1.0

    def outline(self, start: float = 0.0) -> list[Point]:
        return ellipse_points(self.cx, self.cy, self.rx, self.ry, start, start + 360.0, self.rotate)


class Sketch:
    """A white canvas drawn on with a round black pen whose strokes wobble a little, seeded by ``name``."""

    def __init__(self, name: str, width: float | None = None) -> None:
        self.rng = random.Random(name)
        self.width = width if width is not None else self.rng.uniform(2.4, 3.4)
        self.image = Image.new("L", (SIZE * SCALE, SIZE * SCALE), 255)
        self.draw = ImageDraw.Draw(self.image)

    def jitter(self, amount: float) -> float:
        return self.rng.uniform(-amount, amount)

    def wobble(self, points: Sequence[Point], amount: float = 0.9) -> list[Point]:
        """The path as a hand draws it: pushed sideways by a smooth random wave, and shifted a little as a whole."""
        pts = _resample(points, 1.5)
        if len(pts) < 3:
            return list(pts)
        length = 1.5 * (len(pts) - 1)
        waves = [
            (self.rng.uniform(0.4, 1.0) * amount, self.rng.uniform(0.5, 1.0) * max(1.0, length / 70), self.rng.random())
            for _ in range(3)
        ]
        shift = (self.jitter(0.8 * amount), self.jitter(0.8 * amount))
        out = []
        for i, (x, y) in enumerate(pts):
            a, b = pts[max(0, i - 1)], pts[min(len(pts) - 1, i + 1)]
            dx, dy = b[0] - a[0], b[1] - a[1]
            norm = math.hypot(dx, dy) or 1.0
            s = i / (len(pts) - 1)
            off = sum(amp * math.sin(2 * math.pi * (freq * s + phase)) for amp, freq, phase in waves) / 1.5
            out.append((x - dy / norm * off + shift[0], y + dx / norm * off + shift[1]))
        return out

    def stroke(self, points: Sequence[Point], width: float | None = None, amount: float = 0.9) -> None:
        """One pen stroke along ``points`` (round joins and caps)."""
        w = (width if width is not None else self.width + self.jitter(0.3)) * SCALE
        pts = [(x * SCALE, y * SCALE) for x, y in self.wobble(points, amount)]
        if len(pts) > 1:
            self.draw.line(pts, fill=0, width=round(w), joint="curve")
        for x, y in (pts[0], pts[-1]):
            self.draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=0)

    def line(self, *points: Point, amount: float = 0.9) -> None:
        """A stroke through straight segments."""
        self.stroke(points, amount=amount)

    def curve(self, *points: Point, closed: bool = False, amount: float = 0.9) -> None:
        """A smooth stroke through ``points``; a closed one overshoots its start a little, as a hand does."""
        pts = catmull_rom(points, closed)
        if closed:
            pts = pts + pts[1 : 1 + self.rng.randint(2, 6)]
        self.stroke(pts, amount=amount)

    def ellipse(self, shape: Ellipse, hidden_by: Sequence[Ellipse] = (), amount: float = 0.9) -> None:
        """The outline of ``shape`` where no shape of ``hidden_by`` covers it; a whole one overshoots its start."""
        start = self.rng.uniform(0, 360)
        pts = shape.outline(start)
        if not hidden_by:
            extra = self.rng.uniform(6, 18)
            pts += ellipse_points(shape.cx, shape.cy, shape.rx, shape.ry, start, start + extra, shape.rotate)[1:]
            self.stroke(pts, amount=amount)
            return
        visible = [not any(h.contains(p) for h in hidden_by) for p in pts]
        if all(visible):
            self.stroke(pts, amount=amount)
            return
        first_hidden = visible.index(False)  # rotate so that no visible run wraps around the start
        pts, visible = (
            pts[first_hidden:] + pts[1 : first_hidden + 1],
            visible[first_hidden:] + visible[1 : first_hidden + 1],
        )
        run: list[Point] = []
        for p, v in zip(pts, visible, strict=True):
            if v:
                run.append(p)
            elif run:
                if len(run) > 2:
                    self.stroke(run, amount=amount)
                run = []
        if len(run) > 2:
            self.stroke(run, amount=amount)

    def dot(self, x: float, y: float, r: float) -> None:
        """A filled dot (an eye, a seed)."""
        x, y = x + self.jitter(0.5), y + self.jitter(0.5)
        self.draw.ellipse([(x - r) * SCALE, (y - r) * SCALE, (x + r) * SCALE, (y + r) * SCALE], fill=0)

    def blob(self, shape: Ellipse) -> None:
        """A filled ellipse (a nose, a knob)."""
        pts = [(x * SCALE, y * SCALE) for x, y in self.wobble(shape.outline(), 0.3)]
        self.draw.polygon(pts, fill=0)

    def result(self) -> Image.Image:
        return self.image.reduce(SCALE).convert("RGB")


# --- the four sketch categories ---------------------------------------------------------------------------------


def teddy_bear(s: Sketch, v: int) -> None:
    """A sitting teddy bear, front view: round head with two round ears, body, arms, legs, eyes, muzzle, nose."""
    r = s.rng
    hx, hy, hr = 128 + r.uniform(-6, 6), 78 + r.uniform(-4, 4), (40 if v == 1 else 44) + r.uniform(-2, 2)
    head = Ellipse(hx, hy, hr * 1.08, hr)
    body = Ellipse(128, hy + hr + 50, 46 + 4 * (v == 2), 56)
    ear_dx, ear_r = hr * 0.8, hr * 0.36
    ears = [Ellipse(hx - ear_dx, hy - hr * 0.72, ear_r, ear_r), Ellipse(hx + ear_dx, hy - hr * 0.72, ear_r, ear_r)]
    arm_tilt = 30 if v == 1 else 55
    arms = [
        Ellipse(body.cx - body.rx * 0.95, body.cy - 18, 15, 34, rotate=arm_tilt),
        Ellipse(body.cx + body.rx * 0.95, body.cy - 18, 15, 34, rotate=-arm_tilt),
    ]
    legs = [
        Ellipse(body.cx - 30, body.cy + body.ry * 0.82, 24, 19, rotate=-10),
        Ellipse(body.cx + 30, body.cy + body.ry * 0.82, 24, 19, rotate=10),
    ]
    s.ellipse(head)
    for ear in ears:
        s.ellipse(ear, hidden_by=[head])
        inner = Ellipse(ear.cx, ear.cy, ear_r * 0.5, ear_r * 0.5)
        s.ellipse(inner, hidden_by=[Ellipse(head.cx, head.cy, head.rx + 3, head.ry + 3)])
    s.ellipse(body, hidden_by=[head, *arms, *legs] if v == 2 else [head, *legs])
    for arm in arms:
        s.ellipse(arm, hidden_by=[head] if v == 2 else [head, body])
    for leg in legs:
        s.ellipse(leg, hidden_by=[])
        pad = Ellipse(leg.cx + (4 if leg.cx > 128 else -4), leg.cy + 2, 10, 8, leg.rotate)
        s.ellipse(pad)
    if v == 1:
        s.ellipse(Ellipse(body.cx, body.cy + 6, body.rx * 0.55, body.ry * 0.5), hidden_by=legs)  # belly patch
    muzzle = Ellipse(hx, hy + hr * 0.38, hr * 0.42, hr * 0.32)
    s.ellipse(muzzle)
    s.blob(Ellipse(hx, muzzle.cy - muzzle.ry * 0.35, 6.5, 4.5))
    s.curve((hx, muzzle.cy - 2), (hx, muzzle.cy + 6))
    s.curve((hx - 8, muzzle.cy + 6), (hx - 4, muzzle.cy + 9), (hx, muzzle.cy + 6))
    s.curve((hx, muzzle.cy + 6), (hx + 4, muzzle.cy + 9), (hx + 8, muzzle.cy + 6))
    for side in (-1, 1):
        s.dot(hx + side * hr * 0.42, hy - hr * 0.12, 4.0)


def strawberry(s: Sketch, v: int) -> None:
    """A strawberry: a rounded heart-shaped body pointing down, a leafy calyx with a stem, seeds as short ticks."""
    r = s.rng
    top, tip = 84 + r.uniform(-4, 4), 224 + r.uniform(-4, 4)
    half = (70 if v == 1 else 62) + r.uniform(-3, 3)
    lean = r.uniform(-6, 6)
    body = [
        (128 - half * 0.55, top + 6),
        (128 - half * 0.98, top + 34),
        (128 - half * 0.85, top + 84),
        (128 - half * 0.45 + lean * 0.5, tip - 26),
        (128 + lean, tip),
        (128 + half * 0.45 + lean * 0.5, tip - 26),
        (128 + half * 0.85, top + 84),
        (128 + half * 0.98, top + 34),
        (128 + half * 0.55, top + 6),
        (128, top - 2),
    ]
    s.curve(*body, closed=True)
    # calyx: pointed leaves from the top centre, spread over the shoulders like a star
    cx, cy = 128.0, top + 4
    leaves = 5 if v == 1 else 6
    for k in range(leaves):
        ang = math.radians(172 - k * (164 / (leaves - 1)) + r.uniform(-6, 6))  # 172° (left) to 8° (right), 90° down
        length = r.uniform(44, 54) * (0.7 + 0.3 * abs(math.cos(ang)))
        tx, ty = cx + length * math.cos(ang), cy + 0.6 * length * math.sin(ang)  # a flattened star
        nx, ny = -math.sin(ang) * 9, math.cos(ang) * 9
        mx, my = cx + (tx - cx) * 0.45, cy + (ty - cy) * 0.45
        s.curve((cx, cy), (mx + nx, my + ny), (tx, ty))
        s.curve((tx, ty), (mx - nx, my - ny), (cx, cy))
    stem_bend = r.uniform(4, 10) * (1 if v == 1 else -1)
    s.curve((cx - 3, cy - 2), (cx - 2 + stem_bend * 0.4, cy - 16), (cx + stem_bend, cy - 28))
    s.curve((cx + 3, cy - 2), (cx + 4 + stem_bend * 0.4, cy - 16), (cx + stem_bend + 6, cy - 27))
    # seeds: short ticks on a jittered grid inside the body (below the leaves)
    outline = catmull_rom(body, closed=True)
    step = 18 if v == 1 else 16
    for row, y in enumerate(range(int(top + 44), int(tip - 14), step)):
        for x in range(int(128 - half), int(128 + half) + 1, step):
            px, py = x + (step / 2 if row % 2 else 0) + r.uniform(-3, 3), y + r.uniform(-3, 3)
            if _inside(outline, (px, py), margin=9):
                if v == 1:
                    a = math.radians(r.uniform(70, 110))
                    s.line((px, py), (px + 4 * math.cos(a), py + 4 * math.sin(a)), amount=0.2)
                else:
                    s.dot(px, py, 1.9)


def _inside(polygon: Sequence[Point], p: Point, margin: float = 0.0) -> bool:
    """Whether ``p`` is inside ``polygon`` and at least ``margin`` pixels from its edge."""
    x, y = p
    inside = False
    for (x0, y0), (x1, y1) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside and all(math.hypot(x - qx, y - qy) >= margin for qx, qy in polygon)


def teapot(s: Sketch, v: int) -> None:
    """A teapot, side view: round body on a flat foot, a spout on the left, a loop handle, a lid with a knob."""
    r = s.rng
    cx, cy = 132 + r.uniform(-4, 4), 150 + r.uniform(-3, 3)
    rx, ry = (64, 50) if v == 1 else (58, 56)
    bottom, top = cy + ry * 0.92, cy - ry * 0.82
    body = [
        (cx - rx * 0.55, bottom),
        (cx - rx * 0.95, cy + ry * 0.45),
        (cx - rx, cy - ry * 0.05),
        (cx - rx * 0.75, cy - ry * 0.6),
        (cx - rx * 0.4, top),
        (cx + rx * 0.4, top),
        (cx + rx * 0.75, cy - ry * 0.6),
        (cx + rx, cy - ry * 0.05),
        (cx + rx * 0.95, cy + ry * 0.45),
        (cx + rx * 0.55, bottom),
    ]
    s.curve(*body)
    s.line((cx - rx * 0.55, bottom), (cx + rx * 0.55, bottom))  # the flat bottom
    s.line((cx - rx * 0.5, bottom), (cx - rx * 0.45, bottom + 7), (cx + rx * 0.45, bottom + 7), (cx + rx * 0.5, bottom))
    # lid: a rim across the opening, a dome, a knob
    s.line((cx - rx * 0.45, top), (cx + rx * 0.45, top))
    dome = ellipse_points(cx, top, rx * 0.4, 18 if v == 1 else 14, 180, 360)
    s.stroke(dome)
    knob_y = top - (18 if v == 1 else 14)
    s.ellipse(Ellipse(cx, knob_y - 6, 7, 6))
    # spout: a tube from the lower left of the body, tapering as it rises to the left
    sx, sy = cx - rx * 0.93, cy + ry * 0.2
    rise = 60 if v == 1 else 50
    tip_low, tip_high = (sx - 50, sy - rise + 6), (sx - 38, sy - rise - 4)
    s.curve((sx + 2, sy + 12), (sx - 20, sy + 4), (sx - 38, sy - rise * 0.4), tip_low)
    s.curve((sx - 2, sy - 18), (sx - 16, sy - 24), (sx - 28, sy - rise * 0.6), tip_high)
    s.line(tip_low, tip_high)
    # handle: a loop on the right (outer and inner edge)
    hx, hy = cx + rx * 0.85, cy - ry * 0.45
    s.curve((hx, hy), (hx + 30, hy - 6), (hx + 40, hy + 26), (hx + 26, hy + 54), (hx + 4, cy + ry * 0.55))
    s.curve((hx + 2, hy + 12), (hx + 20, hy + 10), (hx + 26, hy + 28), (hx + 18, hy + 46), (hx + 6, cy + ry * 0.4))
    if v == 2:  # a painted band around the belly
        s.curve((cx - rx * 0.98, cy + 8), (cx, cy + 16), (cx + rx * 0.98, cy + 8), amount=0.6)


def car(s: Sketch, v: int) -> None:
    """A sedan, side view facing left: hood, windscreen, roof, rear window, trunk, wheel arches, windows, wheels."""
    r = s.rng
    base = 188 + r.uniform(-3, 3)  # the sill line
    x0, x1 = 16 + r.uniform(-2, 2), 240 + r.uniform(-2, 2)
    wr = 21 if v == 1 else 22
    fw, rw = x0 + 50, x1 - 48  # wheel centres
    roof_y = 92 if v == 1 else 98
    hood_y, trunk_y = base - 42, base - 46
    # upper outline: front bumper, hood, windscreen, roof, rear window, trunk lid, rear bumper
    s.curve(
        (x0 + 4, base - 6),
        (x0, base - 24),
        (x0 + 6, hood_y + 4),
        (x0 + 60, hood_y - 4),
        (x0 + 84, hood_y - 8),
        (x0 + 112, roof_y + 4),
        (x0 + 130, roof_y),
        (x1 - 76, roof_y + 2),
        (x1 - 50, trunk_y - 6),
        (x1 - 10, trunk_y),
        (x1, base - 26),
        (x1 - 4, base - 6),
    )
    # lower line with the two wheel arches
    arch = wr + 5
    s.line((x0 + 4, base - 6), (x0 + 10, base), (fw - arch, base))
    s.stroke(ellipse_points(fw, base, arch, arch, 180, 360))
    s.line((fw + arch, base), (rw - arch, base))
    s.stroke(ellipse_points(rw, base, arch, arch, 180, 360))
    s.line((rw + arch, base), (x1 - 10, base), (x1 - 4, base - 6))
    # wheels with hubs
    for wx in (fw, rw):
        s.ellipse(Ellipse(wx, base + 4, wr, wr))
        s.ellipse(Ellipse(wx, base + 4, wr * 0.42, wr * 0.42))
    # side windows: front and rear, split by the B pillar
    wy = hood_y - 2
    pillar = (x0 + 112 + x1 - 80) / 2
    s.line((x0 + 94, wy), (x0 + 116, roof_y + 9), (pillar - 4, roof_y + 8), (pillar - 4, wy), (x0 + 94, wy))
    s.line((pillar + 4, wy), (pillar + 4, roof_y + 8), (x1 - 80, roof_y + 10), (x1 - 60, wy), (pillar + 4, wy))
    # doors, handles, lights
    s.line((x0 + 92, wy + 2), (x0 + 90, base - 4), amount=0.5)
    s.line((pillar, wy + 2), (pillar, base - 4), amount=0.5)
    s.line((x1 - 62, wy + 2), (x1 - 66, base - 4), amount=0.5)
    for hx in (pillar - 22, x1 - 86):
        s.line((hx, wy + 12), (hx + 10, wy + 12), amount=0.3)
    s.ellipse(Ellipse(x0 + 14, hood_y + 10, 7, 4))
    s.line((x1 - 8, trunk_y + 8), (x1 - 3, trunk_y + 20))
    if v == 2:  # a side mirror and an aerial
        s.line((x0 + 100, wy - 2), (x0 + 92, wy - 8), (x0 + 100, wy - 10))
        s.line((x1 - 60, roof_y + 14), (x1 - 52, roof_y - 14), amount=0.3)


SKETCHES: dict[str, Callable[[Sketch, int], None]] = {
    "teddy_bear": teddy_bear,
    "strawberry": strawberry,
    "teapot": teapot,
    "car_(sedan)": car,
}

# --- shoes (edges2shoes-like outlines, toe to the left) ---------------------------------------------------------------


def sneaker(s: Sketch) -> None:
    """A low sneaker: thick sole, toe cap, laced vamp with eyelets, collar, heel tab and a side stripe."""
    sole_top = 178
    s.curve((22, 182), (26, 198), (60, 201), (150, 200), (222, 198), (236, 186), (234, 172))
    s.curve((24, 178), (70, 180), (150, 179), (232, 174))  # the sole's top edge
    s.curve((40, 199), (120, 190), (220, 193), amount=0.4)  # tread line
    upper = [
        (24, sole_top),
        (28, 156),
        (52, 140),
        (92, 122),
        (120, 100),
        (140, 86),
        (162, 92),
        (190, 88),
        (214, 96),
        (228, 120),
        (232, sole_top - 4),
    ]
    s.curve(*upper)
    s.curve((28, 160), (50, 150), (70, 152), (74, 170), (68, sole_top))  # toe cap
    s.curve((120, 100), (150, 110), (168, 104), (162, 92))  # tongue edge under the collar
    for k in range(4):  # eyelets and laces
        ex, ey = 96 + k * 15, 124 - k * 9
        s.dot(ex, ey, 2.2)
        s.dot(ex + 12, ey + 14, 2.2)
        if k < 3:
            s.line((ex, ey), (ex + 27, ey + 5), amount=0.4)
            s.line((ex + 12, ey + 14), (ex + 15, ey - 9), amount=0.4)
    s.curve((90, 170), (130, 136), (175, 128), (205, 140), (200, 152), (160, 150), (118, 170), amount=0.6)  # stripe
    s.line((214, 96), (222, 84), (230, 96), (230, 120), amount=0.5)  # heel tab


def high_heel(s: Sketch) -> None:
    """A pump with a stiletto heel: pointed toe, low-cut opening, arched sole, tall thin heel."""
    toe = (16.0, 194.0)
    s.curve(toe, (40, 178), (80, 166), (108, 161))  # vamp over the toes
    s.curve((108, 161), (140, 152), (180, 124), (206, 104), (218, 100))  # the opening's edge
    s.curve((218, 100), (226, 110), (224, 128))  # counter at the back
    s.curve(toe, (30, 202), (80, 204), (120, 196), (160, 170), (190, 146), (206, 134))  # sole, toe to heel seat
    s.curve((118, 172), (160, 152), (190, 134), (220, 124), amount=0.5)  # the insole seen through the opening
    s.line((206, 134), (209, 180), (212, 222))  # heel, front edge
    s.line((224, 128), (221, 180), (219, 222))  # heel, back edge
    s.line((210, 222), (221, 222))  # heel tip


def boot(s: Sketch) -> None:
    """An ankle-high boot: tall shaft with a pull tab, rounded toe, block heel, welt line and laces."""
    s.curve((18, 200), (16, 180), (30, 160), (80, 144), (118, 128), (128, 90), (132, 40))  # toe, instep, shaft front
    s.line((132, 40), (204, 36))  # opening
    s.curve((204, 36), (206, 100), (212, 150), (226, 176), (230, 200))  # shaft back and heel counter
    s.line((18, 200), (20, 212), (150, 212))  # sole
    s.line((150, 212), (152, 206), (176, 206), (178, 222), (230, 222), (230, 200))  # waist and block heel
    s.curve((22, 198), (90, 200), (170, 198), (228, 196), amount=0.5)  # welt
    s.curve((30, 160), (50, 168), (58, 190), (56, 200), amount=0.6)  # toe cap
    s.line((200, 36), (202, 20), (188, 20), (186, 36), amount=0.4)  # pull tab
    for k in range(5):  # eyelets and crossing laces up the front
        y = 62 + k * 16
        s.dot(140 - k * 1.5, y, 2.0)
        if k < 4:
            s.line((140 - k * 1.5, y), (124 - k * 3, y + 16), amount=0.3)
            s.line((126 - k * 3, y), (140 - k * 1.5, y + 16), amount=0.3)


SHOES: dict[str, Callable[[Sketch], None]] = {"sneaker": sneaker, "high_heel": high_heel, "boot": boot}

# --- facade label maps ------------------------------------------------------------------------------------------------

# The CMP facade classes in pix2pix's facades label maps and their measured colours: configs/palettes/facades.yaml.
PALETTE: dict[str, tuple[int, int, int]] = {
    c.name: c.rgb for c in read_palette(Path(__file__).resolve().parents[1] / "configs/palettes/facades.yaml")
}


def facade(name: str, v: int) -> Image.Image:
    """A plausible facade label map: facade rectangle, a roof cornice, floors of windows with sills, cornices and
    blinds, moldings between floors, balconies on some floors and a ground floor with a door (and shops)."""
    r = random.Random(name)
    image = Image.new("RGB", (SIZE, SIZE), PALETTE["background"])
    d = ImageDraw.Draw(image)

    def box(cls: str, x0: float, y0: float, x1: float, y1: float) -> None:
        d.rectangle([round(x0), round(y0), round(x1) - 1, round(y1) - 1], fill=PALETTE[cls])

    left, right = (14, 242) if v != 3 else (0, 222)
    top = 14 if v == 1 else 26 if v == 2 else 8
    box("facade", left, top, right, SIZE)
    if v == 3:  # the neighbouring building's edge
        box("facade", 232, 40, SIZE, SIZE)
        for y in range(58, 230, 42):
            box("window", 240, y, SIZE, y + 22)
    floors = (5, 4, 6)[v - 1]
    cols = (6, 5, 7)[v - 1]
    ground = 52 if v != 3 else 44
    box("molding", left, top, right, top + 10)
    if v == 2:
        box("deco", left + 60, top - 10, right - 60, top)
    floor_h = (SIZE - ground - top - 10) / floors
    width = right - left
    pitch = width / cols
    win_w = pitch * (0.42 if v != 2 else 0.5)
    for f in range(floors):
        y0 = top + 10 + f * floor_h
        win_top, win_bot = y0 + floor_h * 0.22, y0 + floor_h * 0.82
        if f > 0 and (v == 1 and f in (1, 3) or v == 3 and f == 2):
            box("molding", left, y0, right, y0 + 5)
        for c in range(cols):
            wx = left + pitch * (c + 0.5) - win_w / 2
            box("window", wx, win_top, wx + win_w, win_bot)
            box("sill", wx - 2, win_bot, wx + win_w + 2, win_bot + 3)
            if f == 0 or v == 3 and f % 2 == 1:
                box("cornice", wx - 3, win_top - 6, wx + win_w + 3, win_top - 2)
            if v == 2 and f in (1, 2):
                box("blind", wx - 6, win_top, wx - 1, win_bot)
                box("blind", wx + win_w + 1, win_top, wx + win_w + 6, win_bot)
        # balconies: one bar across the middle windows (v1, v3) or one per window (v2), over their lower part
        spans = {1: {2: [(cols // 2 - 1, cols // 2)]}, 2: {1: [(c, c) for c in range(cols)]}}
        spans[3] = {1: [(cols // 2 - 1, cols // 2 + 1)], 3: [(0, 1), (cols - 2, cols - 1)]}
        for c0, c1 in spans[v].get(f, []):
            x0 = left + pitch * (c0 + 0.5) - win_w / 2 - 4
            x1 = left + pitch * (c1 + 0.5) + win_w / 2 + 4
            box("balcony", x0, win_top + (win_bot - win_top) * 0.55, x1, win_bot + 3)
    # ground floor
    gy = SIZE - ground
    box("molding", left, gy - 6, right, gy)
    door_c = cols // 2 if v != 2 else 1
    for c in range(cols):
        cx = left + pitch * (c + 0.5)
        if c == door_c:
            box("door", cx - pitch * 0.3, gy + 8, cx + pitch * 0.3, SIZE)
            if v == 1:
                box("pillar", cx - pitch * 0.45, gy + 4, cx - pitch * 0.36, SIZE)
                box("pillar", cx + pitch * 0.36, gy + 4, cx + pitch * 0.45, SIZE)
        elif v == 1:
            box("window", cx - win_w / 2, gy + 10, cx + win_w / 2, gy + ground * 0.75)
            box("sill", cx - win_w / 2 - 2, gy + ground * 0.75, cx + win_w / 2 + 2, gy + ground * 0.75 + 3)
        else:
            box("shop", cx - pitch * 0.4, gy + 8 + r.randint(0, 2), cx + pitch * 0.4, SIZE - 4)
    return image


FACADE_SAMPLES = ("test/2.jpg", "test/7.jpg")  # the two real label maps copied from datasets/facades-mini

# --- writing ----------------------------------------------------------------------------------------------------------

SOURCES = {
    "sketch2photo": "Drawn by `scripts/draw_examples.py` (Pillow strokes, no third-party images); CC0, or the "
    "project's own licence, whichever you prefer.",
    "sketch-classifier": "Drawn by `scripts/draw_examples.py` (Pillow strokes, no third-party images); the same "
    "drawings as `models/sketch2photo/examples/`; CC0, or the project's own licence, whichever you prefer.",
    "shoes": "Drawn by `scripts/draw_examples.py` (Pillow strokes, no third-party images); CC0, or the project's own "
    "licence, whichever you prefer.",
    "facades": "`drawn_*.png`: drawn by `scripts/draw_examples.py` in the CMP facade palette (CC0, or the project's "
    "own licence); `real_1.png`, `real_2.png`: the label maps (right halves) of `datasets/facades-mini/test/2.jpg` and "
    "`7.jpg`, from the CMP Facade Database (Tyleček and Šára, GCPR 2013), research and educational use with "
    "attribution, not covered by the project's licence (see `datasets/facades-mini/README.md`).",
}


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=False)


def draw_all(out: Path) -> list[Path]:
    """Writes every example (and each folder's ``SOURCE.md``) under ``out``; the files written."""
    written: list[Path] = []
    for category, draw in SKETCHES.items():
        for v in (1, 2):
            sketch = Sketch(f"{category}-{v}")
            draw(sketch, v)
            image = sketch.result()
            for model in ("sketch2photo", "sketch-classifier"):
                path = out / model / "examples" / f"{category}_{v}.png"
                _save(image, path)
                written.append(path)
    for name, draw_shoe in SHOES.items():
        sketch = Sketch(f"shoe-{name}")
        draw_shoe(sketch)
        path = out / "shoes" / "examples" / f"{name}.png"
        _save(sketch.result(), path)
        written.append(path)
    for v in (1, 2, 3):
        path = out / "facades" / "examples" / f"drawn_{v}.png"
        _save(facade(f"facade-{v}", v), path)
        written.append(path)
    for k, sample in enumerate(FACADE_SAMPLES, 1):
        with Image.open(FACADES_SAMPLE / sample) as pair:
            w, h = pair.size
            label = pair.convert("RGB").crop((w // 2, 0, w, h))
        path = out / "facades" / "examples" / f"real_{k}.png"
        _save(label, path)
        written.append(path)
    for model, text in SOURCES.items():
        path = out / model / "examples" / "SOURCE.md"
        path.write_text(text + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "models", help="folder holding the model folders")
    args = parser.parse_args(argv)
    written = draw_all(args.out)
    print(f"wrote {len(written)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
