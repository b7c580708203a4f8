"""The schools directory and partnership requests (issue 22, item 1).

``service.py`` holds the :class:`~node.directory.service.Directory` wired in
:class:`node.node.Node` as ``node.directory``: the schools this node holds a
profile of, with filters, and the partnership requests sent and received.
"""
