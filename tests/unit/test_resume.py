"""What a restart keeps of a download, and what it may continue from."""

from __future__ import annotations

from pathlib import Path

from bot.download.resume import ResumePoint, load_note, tidy, validator_of, write_note

URL = "https://files.example/big.bin"


def test_a_weak_etag_cannot_validate_a_range() -> None:
    assert validator_of({"etag": '"abc"', "last-modified": "x"}) == '"abc"'
    assert validator_of({"etag": 'W/"abc"', "last-modified": "Wed, 01 Jan 2025"}) == (
        "Wed, 01 Jan 2025"
    )
    assert validator_of({"etag": 'W/"abc"'}) is None


def test_a_note_continues_only_its_own_url_and_an_unfinished_file(tmp_path: Path) -> None:
    write_note(tmp_path, ResumePoint(URL, "big.bin", '"v1"', 1000))
    (tmp_path / "big.bin").write_bytes(b"x" * 400)
    assert load_note(tmp_path, URL) == ResumePoint(URL, "big.bin", '"v1"', 1000, have=400)
    assert load_note(tmp_path, URL + "?other") is None
    (tmp_path / "big.bin").write_bytes(b"x" * 1000)
    assert load_note(tmp_path, URL) is None


def test_a_note_cannot_point_outside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    (tmp_path / "secret").write_bytes(b"x" * 10)
    write_note(folder, ResumePoint(URL, "../secret", '"v1"', 1000))
    assert load_note(folder, URL) is None


def test_tidy_keeps_only_what_a_download_can_continue(tmp_path: Path) -> None:
    write_note(tmp_path, ResumePoint(URL, "big.bin", '"v1"', 1000))
    (tmp_path / "big.bin").write_bytes(b"x" * 400)
    (tmp_path / "media.f137.mp4.part").write_bytes(b"y")
    (tmp_path / "media.mp4").write_bytes(b"z")  # a finished file the restart cut before upload
    (tmp_path / "cover").mkdir()
    tidy(tmp_path, URL)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".resume.json",
        "big.bin",
        "media.f137.mp4.part",
    ]
    tidy(tmp_path, "https://another.example/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media.f137.mp4.part"]
