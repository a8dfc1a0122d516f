"""Where a file too large for Telegram is cut, and what each part's caption says."""

from __future__ import annotations

from bot.i18n import I18n
from bot.media.split import Cut, byte_cuts, media_cuts, plan_ranges
from bot.upload.caption import PartOf, caption, part_line

MB = 1024 * 1024


def keyframes(every_s: float, bytes_per_s: int, seconds: float) -> list[tuple[float, int]]:
    count = int(seconds / every_s)
    return [(n * every_s, 100 + int(n * every_s * bytes_per_s)) for n in range(count)]


def test_parts_start_on_keyframes_and_stay_under_the_budget() -> None:
    points = keyframes(0.5, 10 * MB, 13.0)  # 130 MB
    starts = plan_ranges(points, 130 * MB + 100, 45 * MB)
    assert starts == [0.0, 4.0, 8.5]  # the first part holds the header (100 bytes) too
    assert {s for s in starts} <= {t for t, _ in points}
    edges = [pos for t, pos in points if t in starts] + [130 * MB + 100]
    assert all(b - a <= 45 * MB for a, b in zip([0, *edges[1:-1]], edges[1:], strict=True))


def test_a_file_under_the_budget_is_one_part() -> None:
    assert plan_ranges(keyframes(1, MB, 10), 10 * MB, 45 * MB) == [0.0]


def test_a_stretch_between_keyframes_larger_than_the_budget_cannot_be_cut() -> None:
    assert plan_ranges([(0.0, 0), (10.0, 60 * MB)], 100 * MB, 45 * MB) is None
    assert plan_ranges([], 100 * MB, 45 * MB) is None


def test_media_cuts_run_each_to_the_next_start() -> None:
    assert media_cuts([0.0, 4.5, 9.0]) == [
        Cut(1, 3, 0.0, 4.5),
        Cut(2, 3, 4.5, 9.0),
        Cut(3, 3, 9.0, None),
    ]


def test_byte_ranges_cover_the_file_exactly() -> None:
    cuts = byte_cuts(100, 45)
    assert [(c.offset, c.length) for c in cuts] == [(0, 45), (45, 45), (90, 10)]
    assert {c.count for c in cuts} == {3}


def test_a_part_caption_says_which_part_and_its_time_range() -> None:
    i18n = I18n()
    en = i18n.get("en")
    label = PartOf(2, 5, 45.0, 90.0)
    assert part_line(en, label) == "Part 2 of 5 · 0:45–1:30"
    assert part_line(en, PartOf(3, 3, 3725.0, None, 3800.0)) == "Part 3 of 3 · 1:02:05–1:03:20"
    assert part_line(en, PartOf(1, 2)) == "Part 1 of 2"
    text = caption(en, "Clip", 40 * MB, "https://example.com/v", label)
    assert "Part 2 of 5" in text
    fa = i18n.get("fa")
    assert "بخش ۲ از ۵" in part_line(fa, label)
    assert "۰:۴۵" in part_line(fa, label)
