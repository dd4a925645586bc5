"""Real video files written by the tests with PyAV: numpy RGB frames, optionally an audio track.

Codecs by container: .mp4 H.264 (libx264) with AAC sound, .webm VP8 (libvpx) with Opus, .mkv H.264 with
16-bit PCM sound (lossless: the track decodes to exactly the samples given). Frames are tiny (a few pixels a
side, even sizes as 4:2:0 needs) and few, so a file is written in milliseconds.

Usage:
    write_video(tmp / "clip.mp4", [solid((255, 0, 0))] * 8, fps=4)
    write_video(tmp / "talk.mkv", frames, fps=4, audio=samples, rate=16_000)
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

SIZE = 32
CODECS = {".mp4": ("libx264", "aac"), ".webm": ("libvpx", "libopus"), ".mkv": ("libx264", "pcm_s16le")}


def solid(rgb: tuple[int, int, int], size: int = SIZE) -> np.ndarray:
    return np.full((size, size, 3), rgb, dtype=np.uint8)


def write_video(path: str | Path, frames: list[np.ndarray], fps: int = 4, audio: np.ndarray | None = None,
                rate: int = 16_000) -> Path:
    """A video of ``frames`` at ``fps`` (and a mono ``audio`` track at ``rate`` when given)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vcodec, acodec = CODECS[path.suffix.lower()]
    with av.open(str(path), "w") as out:
        v = out.add_stream(vcodec, rate=fps, options={"threads": "1"})
        v.width, v.height, v.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        a = None
        if audio is not None:
            a = out.add_stream(acodec, rate=48_000 if acodec == "libopus" else rate, layout="mono")
        for rgb in frames:
            for packet in v.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            target = a.codec_context.sample_rate
            x = audio.astype(np.float32)
            if target != rate:
                from rag.data.audio import resample

                x = resample(x, rate, target)
            step = a.codec_context.frame_size or 1024
            fmt = "s16" if acodec == "pcm_s16le" else a.codec_context.format.name
            for start in range(0, len(x), step):
                chunk = x[start:start + step]
                if fmt == "s16":
                    data = np.round(chunk * 32767).clip(-32768, 32767).astype(np.int16).reshape(1, -1)
                else:  # fltp (AAC, Opus): one plane
                    data = chunk.reshape(1, -1)
                    if len(chunk) < step:
                        data = np.pad(data, ((0, 0), (0, step - len(chunk))))
                frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = target, start, Fraction(1, target)
                for packet in a.encode(frame):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path
