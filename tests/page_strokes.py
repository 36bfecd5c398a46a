"""Hand-drawn digits for the browser tests: mouse strokes, as a person draws them.

Each digit is a list of strokes (pen down ... pen up), each stroke a polyline of (x, y) points in
a 100 x 100 box over the drawing canvas, x to the right and y down. The points were written by
hand to look like quick mouse handwriting (a slanted 1, an open-topped 4, a 7 without a bar,
corners and overshoot left in), not taken from MNIST: they test the page and the image pipeline
on the kind of input the page gets.
"""

from __future__ import annotations

Stroke = list[tuple[float, float]]

DIGITS: dict[int, list[Stroke]] = {
    0: [
        [(50, 18), (38, 21), (30, 32), (27, 48), (29, 64), (36, 77), (48, 83), (60, 80),
         (68, 69), (72, 52), (70, 35), (63, 23), (52, 18), (46, 20)],
    ],
    1: [
        [(55, 18), (51, 50), (47, 82)],
    ],
    2: [
        [(30, 32), (36, 22), (48, 17), (61, 20), (68, 30), (66, 43), (56, 56), (42, 69),
         (30, 81), (50, 80), (72, 81)],
    ],
    3: [
        [(31, 24), (42, 17), (56, 17), (66, 25), (64, 37), (54, 46), (44, 48), (56, 50),
         (67, 59), (68, 71), (59, 81), (45, 84), (31, 78)],
    ],
    4: [
        [(52, 16), (30, 58), (74, 58)],
        [(60, 30), (60, 86)],
    ],
    5: [
        [(37, 18), (34, 46), (48, 42), (61, 45), (69, 56), (68, 70), (58, 80), (44, 82),
         (32, 76)],
        [(37, 18), (66, 18)],
    ],
    6: [
        [(62, 16), (48, 25), (37, 40), (31, 57), (33, 72), (43, 82), (56, 81), (65, 71),
         (64, 59), (54, 51), (42, 53), (34, 62)],
    ],
    7: [
        [(30, 20), (70, 20), (52, 50), (42, 84)],
    ],
    8: [
        [(62, 26), (54, 18), (42, 18), (34, 26), (37, 38), (50, 48), (63, 58), (66, 71),
         (57, 82), (43, 82), (34, 72), (37, 59), (50, 48), (62, 38), (63, 27)],
    ],
    9: [
        [(64, 30), (57, 20), (45, 18), (35, 26), (34, 38), (42, 46), (55, 45), (64, 36),
         (64, 30), (62, 55), (58, 84)],
    ],
}  # fmt: skip
