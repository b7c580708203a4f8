"""Partnership projects and their pupil blogs: membership, posts, moderation, takedown.

Everything here travels as sealed letters (node/mail/mailroom.py) to the project's member
schools only. The rules that keep pupils safe (docs/safeguarding.md):

* a pupil's post or comment is a *draft* until a teacher of the pupil's own
  school approves it; only then is it sealed and sent, and only to members;
* what is sent follows the pupil's consent: the name cut to initials, photos held
  back; a withdrawn consent takes the pupil's affected posts down again;
* a takedown (by the author school, or the project's owner) deletes the content
  and photos everywhere, keeps a tombstone, and each member returns a receipt;
* a school may require its own teacher to accept partners' posts before its
  pupils see them (two-key publication).

The service, ``node.projects``, is one class built from one module per job, each a
class that adds its job to those it stands on (``Projects`` itself adds nothing):

* ``membership.py``: projects and their member schools (``Membership``, the base:
  it holds the store, key, mail room, accounts, partner book and rosters);
* ``posts.py``: pupils' posts until a teacher approves them (``Posts``);
* ``comments.py``: comments (``Comments``);
* ``moderation.py``: approve, return, accept (``Moderation``);
* ``takedowns.py``: takedowns, tombstones and receipts (``Takedowns``, on ``Posts``);
* ``received.py``: the letters of member schools (``Received``, on both of the last two).

What a project, a post and a comment are, and how they are read from the database,
is in ``records.py``.
"""

from __future__ import annotations

from node.projects.received import Received


class Projects(Received):
    """A school's projects, posts, comments, approvals and takedowns (``node.projects``)."""
