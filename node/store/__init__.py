"""The node's database (database.py) and the modules of one job around it.

How query parameters are bound is set here, for every module of the package and every
connection of the process, before any of them runs a query: importing any
``node.store`` module runs this first (a function of reads.py or placement.py used on
its own would otherwise bind a NodeId only if database.py had been imported).
"""

import sqlite3

from protocol.keys import NodeId

# A node id is a query parameter as it is stored: its 32 bytes (a BLOB). So code that
# holds a NodeId passes it to SQL as it is, not converted by hand at every query;
# what comes back is still bytes, read into a NodeId where it is read.
sqlite3.register_adapter(NodeId, bytes)
# Python's sqlite3 passes an int, a float or a str to SQLite as it is, but looks up an
# adapter for any other parameter, and in Python 3.11, finding none for bytes or None,
# looks for ``__adapt__`` and ``__conform__`` (an AttributeError raised and cleared)
# before binding it as it is after all: 0.3 to 0.5 us a parameter, and a catch-up
# binds about eight blobs and three NULLs an entry.
# Adapters that return the value itself are found at once (docs/performance.md,
# issue 23 item 6, fifth step); what is bound does not change.
sqlite3.register_adapter(bytes, bytes)
sqlite3.register_adapter(type(None), lambda value: value)
