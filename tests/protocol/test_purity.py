"""protocol/ must stay pure: importing it pulls in no network or database library."""

import pkgutil
import subprocess
import sys

import protocol


def every_protocol_module() -> list[str]:
    """Every module under protocol/, so a new one is checked without being listed."""
    return sorted(
        info.name for info in pkgutil.walk_packages(protocol.__path__, prefix="protocol.")
    )


def test_every_module_is_found() -> None:
    names = every_protocol_module()
    assert "protocol.replication" in names
    assert "protocol.rules.projects" in names


def test_protocol_imports_no_io_libraries() -> None:
    imports = "".join(f"import {name}\n" for name in every_protocol_module())
    code = (
        "import sys\n" + imports + "bad = sorted(m for m in ('aiohttp', 'aiosqlite', 'sqlite3',"
        " 'asyncio', 'socket') if m in sys.modules)\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
