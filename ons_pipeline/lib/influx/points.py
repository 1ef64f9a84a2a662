"""Where points begin and end in a line-protocol payload, as InfluxDB itself reads it.

A newline ends a point, except inside a double-quoted string field value: InfluxDB keeps such a
newline as part of the string (and the encoder writes string fields' newlines as they are). So a
payload must never be cut, halved or counted at raw newlines. :func:`point_ends` follows the
scanner of InfluxDB 1.x (``models.scanLine``): backslash escapes, quotes significant only in a
field value (after its ``=``), newline outside quotes ends the point. Blank lines and ``#``
comments are not points.
"""

from __future__ import annotations


def point_ends(data: bytes) -> list[int]:
    """The offset just past each line of ``data`` (its newline, or the end of the payload)."""
    if b'"' not in data:  # no string value: every newline ends a line
        ends = []
        at = data.find(b"\n")
        while at >= 0:
            ends.append(at + 1)
            at = data.find(b"\n", at + 1)
        if not data.endswith(b"\n") and data:
            ends.append(len(data))
        return ends
    ends = []
    i, size = 0, len(data)
    while i < size:
        i = _scan_line(data, i, size)
        ends.append(min(i + 1, size))
        i += 1
    return ends


def _scan_line(buf: bytes, i: int, size: int) -> int:
    """Port of InfluxDB's ``models.scanLine``: the index of the newline ending the line that
    starts at ``i`` (or ``size``)."""
    quoted = fields = False
    equals = commas = 0
    while i < size:
        c = buf[i]
        if c == 0x5C and i + 2 < size:  # backslash: skip the escaped byte
            i += 2
            continue
        if c == 0x20:
            fields = True
        if fields:
            if not quoted and c == 0x3D:
                i += 1
                equals += 1
                continue
            if not quoted and c == 0x2C:
                i += 1
                commas += 1
                continue
            if c == 0x22 and equals > commas:
                i += 1
                quoted = not quoted
                continue
        if c == 0x0A and not quoted:
            return i
        i += 1
    return size


def _is_point(line: bytes) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith(b"#")


def lines(data: bytes) -> list[bytes]:
    """The payload's lines (points, blank lines and comments), each with its newline."""
    out, start = [], 0
    for end in point_ends(data):
        out.append(data[start:end])
        start = end
    return out


def count_points(data: bytes) -> int:
    """How many points the payload holds (blank lines and comments are not points)."""
    return sum(1 for line in lines(data) if _is_point(line))


def split_points(data: bytes, max_bytes: int) -> list[bytes]:
    """Pieces of at most ``max_bytes`` cut between points (a longer point is a piece of its own);
    pieces without a point are dropped."""
    pieces: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines(data):
        if current and size + len(line) > max_bytes:
            pieces.append(b"".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        pieces.append(b"".join(current))
    return [p for p in pieces if any(_is_point(line) for line in lines(p))]


def halve(data: bytes) -> tuple[bytes, bytes] | None:
    """The payload cut between points near its middle; ``None`` for a single point."""
    parts = lines(data)
    if sum(1 for line in parts if _is_point(line)) < 2:
        return None
    total, running = len(data), 0
    for index, line in enumerate(parts[:-1]):
        running += len(line)
        if running >= total // 2:
            return b"".join(parts[: index + 1]), b"".join(parts[index + 1 :])
    return b"".join(parts[:-1]), parts[-1]
