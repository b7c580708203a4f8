"""A hostile school with a valid key tries to change what it does not own.

Each test starts real nodes on loopback with real SQLite files; the hostile school
is a real node that seals whatever letters it likes with its own key (going round
its own node's checks), and they travel through real sessions and relays. Every
test fails on a node that trusts a valid signature too far.
"""
