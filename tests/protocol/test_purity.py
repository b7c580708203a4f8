"""protocol/ must stay pure: importing it pulls in no network or database library."""

import subprocess
import sys


def test_protocol_imports_no_io_libraries() -> None:
    code = (
        "import sys, protocol, protocol.codec, protocol.entry, protocol.keys, protocol.kinds,"
        " protocol.log, protocol.errors, protocol.frames, protocol.replication\n"
        "bad = sorted(m for m in ('aiohttp', 'aiosqlite', 'sqlite3', 'asyncio', 'socket')"
        " if m in sys.modules)\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
