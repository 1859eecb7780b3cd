"""Frames: 2-byte big-endian length; bad frames are skipped or end the stream, never worse."""

from __future__ import annotations

import asyncio

import pytest

from cardwatch.server.iso import FrameReader, FrameTooLargeError, TruncatedFrameError, frame

from .helpers import run


def stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def read_all(frames: FrameReader) -> list[bytes]:
    out = []
    while (payload := await frames.read()) is not None:
        out.append(payload)
    return out


def test_frame_prefix_does_not_count_itself() -> None:
    assert frame(b"abc") == b"\x00\x03abc"
    assert frame(b"x" * 300)[:2] == b"\x01\x2c"
    with pytest.raises(ValueError):
        frame(b"x" * 70000)


def test_reads_consecutive_frames_and_skips_keepalives() -> None:
    async def scenario() -> None:
        frames = FrameReader(stream(frame(b"one") + b"\x00\x00" + frame(b"two")))
        assert await read_all(frames) == [b"one", b"two"]

    run(scenario)


def test_oversized_frame_is_skipped_and_the_stream_goes_on() -> None:
    async def scenario() -> None:
        frames = FrameReader(stream(frame(b"x" * 500) + frame(b"next")), max_size=100)
        with pytest.raises(FrameTooLargeError) as err:
            await frames.read()
        assert err.value.size == 500
        assert await frames.read() == b"next"
        assert await frames.read() is None

    run(scenario)


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x10short", frame(b"x" * 500)[:300]])
def test_truncated_at_eof(data: bytes) -> None:
    async def scenario() -> None:
        frames = FrameReader(stream(data), max_size=100)
        with pytest.raises(TruncatedFrameError):
            await frames.read()

    run(scenario)


def test_a_sender_stalling_mid_frame_is_truncated_after_the_body_timeout() -> None:
    async def scenario() -> None:
        frames = FrameReader(stream(b"\x00\x10abc", eof=False), body_timeout_s=0.05)
        with pytest.raises(TruncatedFrameError):
            await frames.read()

    run(scenario)
