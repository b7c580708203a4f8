"""Numbered schema migrations. Append new ones; never edit one that has shipped.

The database records the last migration applied in ``schema_version``. Statements
are split on semicolons, so comments inside the SQL must not contain one. A database
from a newer schoolmesh (a version above the last one here) is refused rather
than guessed at.
"""

from __future__ import annotations

# book: search by subject and by online or in person. The index is emptied here and
# filled again from the entries when the store opens (SEARCH_INDEX_VERSION below).
_LISTING_FILTERS = """
    ALTER TABLE listings ADD COLUMN subjects TEXT NOT NULL DEFAULT '';  -- '|maths|science|'
    ALTER TABLE listings ADD COLUMN mode TEXT;               -- in-person, online or either
    DELETE FROM listings;
    DELETE FROM listing_text;
    """

# The school's name and country, searched with each offer and request it posts ("jules"
# finds what École Jules Verne posts). The index is made again, as for 15.
_LISTING_SCHOOLS = """
    ALTER TABLE listings ADD COLUMN school TEXT NOT NULL DEFAULT '';  -- folded name, country
    DELETE FROM listings;
    DELETE FROM listing_text;
    """

# Questions to the network and their answers, searched with offers and requests; what
# an answer or a helpful mark names (node/questions/service.py). The index is made
# again, as for 15, so that questions held before this version are found.
_QUESTIONS = """
    CREATE TABLE question_links (
        n      INTEGER PRIMARY KEY,          -- entries.n of the answer or helpful mark
        kind   TEXT NOT NULL,                -- answer or helpful
        about  BLOB NOT NULL,                -- the question (answer) or answer (helpful) named
        author BLOB NOT NULL
    );
    CREATE INDEX question_links_about ON question_links (about, kind);
    DELETE FROM listings;
    DELETE FROM listing_text;
    """

MIGRATIONS: tuple[str, ...] = (
    # 1: public entries, per-author heads, withdrawals, equivocation evidence.
    """
    CREATE TABLE entries (
        n           INTEGER PRIMARY KEY,     -- local arrival order
        id          BLOB NOT NULL UNIQUE,    -- BLAKE2b-256 of payload
        author      BLOB NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        payload     BLOB NOT NULL,           -- verbatim signed bytes
        sig         BLOB NOT NULL,
        content     BLOB,                    -- NULL once erased
        received_at INTEGER NOT NULL,
        UNIQUE (author, seq)
    );
    CREATE INDEX entries_by_kind ON entries (kind, ts);

    CREATE TABLE heads (
        author BLOB PRIMARY KEY,
        seq    INTEGER NOT NULL,
        id     BLOB NOT NULL
    );

    -- A withdrawal may arrive before what it withdraws (another path was faster),
    -- so it is recorded by target and applied whenever the target is stored.
    CREATE TABLE withdrawals (
        target      BLOB NOT NULL,
        author      BLOB NOT NULL,
        withdraw_id BLOB NOT NULL,
        PRIMARY KEY (target, author)
    );

    CREATE TABLE equivocations (
        author      BLOB NOT NULL,
        seq         INTEGER NOT NULL,
        first       BLOB NOT NULL,           -- both entries, in wire form, as evidence
        second      BLOB NOT NULL,
        detected_at INTEGER NOT NULL,
        PRIMARY KEY (author, seq)
    );

    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    """,
    # 2: partners, invites, and what the running node reports about its peers.
    """
    CREATE TABLE partners (
        node_id  BLOB PRIMARY KEY,
        address  TEXT,                    -- where to dial it, NULL if it does not listen
        state    TEXT NOT NULL,           -- 'partner' or 'blocked'
        added_at INTEGER NOT NULL
    );
    CREATE TABLE invites (
        token       BLOB PRIMARY KEY,
        expires     INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        redeemed_by BLOB,
        redeemed_at INTEGER
    );
    CREATE TABLE peer_status (
        node_id    BLOB PRIMARY KEY,
        connected  INTEGER NOT NULL,
        last_seen  INTEGER,
        behind     INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at INTEGER NOT NULL
    );
    """,
    # 3: the search index of current offers and requests (node/store/search.py).
    """
    CREATE TABLE listings (
        n         INTEGER PRIMARY KEY,       -- entries.n
        author    BLOB NOT NULL,
        side      TEXT NOT NULL,             -- 'offer' or 'request'
        activity  TEXT NOT NULL,
        country   TEXT,
        phases    TEXT NOT NULL,             -- '|primary|secondary|'
        focus     TEXT NOT NULL,
        languages TEXT NOT NULL,
        ends      TEXT,                      -- closing date or last date, YYYY-MM-DD
        ts        INTEGER NOT NULL,
        folded    TEXT NOT NULL              -- lower case, no accents
    );
    -- Each school's name and country from its newest profile, for filters and lists.
    CREATE TABLE schools (
        author  BLOB PRIMARY KEY,
        seq     INTEGER NOT NULL,
        name    TEXT NOT NULL,
        country TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE listing_text USING fts5 (
        words, tokenize = 'unicode61 remove_diacritics 2'
    );
    """,
    # 4: restricted letters (sealed envelopes) and their delivery, local accounts,
    # partnership projects, pupil posts, comments, images, takedowns and receipts.
    """
    CREATE TABLE envelopes (
        id        BLOB PRIMARY KEY,          -- BLAKE2b-256 of the envelope payload
        wire      BLOB NOT NULL,             -- verbatim signed bytes (ciphertext)
        stored_at INTEGER NOT NULL
    );
    -- Envelopes to hand on, per (sender, recipient): our own outbox, and what we
    -- hold as a relay named by the recipient.
    CREATE TABLE mail (
        sender    BLOB NOT NULL,
        recipient BLOB NOT NULL,
        seq       INTEGER NOT NULL,
        envelope  BLOB NOT NULL,
        PRIMARY KEY (sender, recipient, seq)
    );
    CREATE INDEX mail_by_envelope ON mail (envelope);
    -- The last sequence number of an unbroken run taken, per pair (for our own
    -- outbox: the last number given out).
    CREATE TABLE mail_marks (
        sender    BLOB NOT NULL,
        recipient BLOB NOT NULL,
        seq       INTEGER NOT NULL,
        PRIMARY KEY (sender, recipient)
    );
    -- What each recipient confirmed of our own letters to it.
    CREATE TABLE mail_acked (
        recipient BLOB PRIMARY KEY,
        seq       INTEGER NOT NULL
    );
    -- Letters we sent: which envelope took a letter to which school.
    CREATE TABLE letters_sent (
        letter    BLOB NOT NULL,
        recipient BLOB NOT NULL,
        seq       INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        about     TEXT,                      -- the project, post or comment id concerned
        sent_at   INTEGER NOT NULL,
        PRIMARY KEY (letter, recipient)
    );
    CREATE INDEX letters_sent_about ON letters_sent (about);

    CREATE TABLE users (
        name        TEXT PRIMARY KEY COLLATE NOCASE,  -- display name, unique in the school
        role        TEXT NOT NULL,           -- 'admin', 'staff' or 'pupil'
        class       TEXT,
        password    TEXT NOT NULL,           -- argon2id hash
        show_name   TEXT NOT NULL,           -- 'full' or 'initials' for partner schools
        work_photos INTEGER NOT NULL,        -- consent: photos of work
        face_photos INTEGER NOT NULL,        -- consent: photos showing faces
        created_at  INTEGER NOT NULL
    );

    CREATE TABLE projects (
        id        TEXT PRIMARY KEY,          -- 32 hex characters
        title     TEXT NOT NULL,
        themes    TEXT NOT NULL,             -- JSON list
        owner     BLOB NOT NULL,
        rev       INTEGER NOT NULL,
        standing  TEXT NOT NULL,             -- our own: 'invited', 'member' or 'left'
        review    INTEGER NOT NULL DEFAULT 0,-- our teacher accepts partners' posts first
        created_at INTEGER NOT NULL
    );
    CREATE TABLE project_members (
        project TEXT NOT NULL,
        node    BLOB NOT NULL,
        state   TEXT NOT NULL,               -- 'invited', 'member' or 'left'
        PRIMARY KEY (project, node)
    );
    CREATE TABLE posts (
        id          TEXT PRIMARY KEY,
        project     TEXT NOT NULL,
        origin      BLOB NOT NULL,           -- the school whose pupil wrote it
        author      TEXT,                    -- our own user, for our own posts only
        by_name     TEXT,                    -- as shown to partners
        title       TEXT,
        body        TEXT,
        theme       TEXT,
        state       TEXT NOT NULL,           -- 'draft', 'returned', 'approved', 'removed'
        note        TEXT,                    -- a teacher's note when returned
        created_at  INTEGER NOT NULL,
        approved_at INTEGER,
        approved_by TEXT,
        accepted_by TEXT,                    -- two-key: our teacher who accepted a partner's post
        received_at INTEGER
    );
    CREATE INDEX posts_by_project ON posts (project, state);
    CREATE TABLE comments (
        id          TEXT PRIMARY KEY,
        post        TEXT NOT NULL,
        project     TEXT NOT NULL,
        origin      BLOB NOT NULL,
        author      TEXT,
        by_name     TEXT,
        body        TEXT,
        state       TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        approved_at INTEGER,
        approved_by TEXT
    );
    CREATE INDEX comments_by_post ON comments (post);
    CREATE TABLE images (
        post   TEXT NOT NULL,
        hash   BLOB NOT NULL,                -- BLAKE2b-256 of the cleaned JPEG
        type   TEXT NOT NULL,
        faces  INTEGER NOT NULL DEFAULT 0,   -- the photo shows faces
        held   INTEGER NOT NULL DEFAULT 0,   -- kept back: no consent
        data   BLOB,
        PRIMARY KEY (post, hash)
    );
    -- A post or comment taken down: only this remains of it.
    CREATE TABLE takedowns (
        target     TEXT PRIMARY KEY,
        project    TEXT NOT NULL,
        by_node    BLOB NOT NULL,
        at         INTEGER NOT NULL,
        reason     TEXT,
        recipients TEXT                       -- JSON list of schools asked, when we took it down
    );
    CREATE TABLE receipts (
        target TEXT NOT NULL,
        node   BLOB NOT NULL,
        at     INTEGER NOT NULL,
        PRIMARY KEY (target, node)
    );
    CREATE TABLE feeds (
        token      TEXT PRIMARY KEY,
        user       TEXT NOT NULL,
        project    TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    """,
    # 5: private to this school and never replicated: staff profiles, peer observations,
    # this school's answers to events, and what is kept of cancelled events.
    """
    CREATE TABLE staff (
        name      TEXT PRIMARY KEY COLLATE NOCASE,
        strengths TEXT NOT NULL,             -- JSON list of focus tags
        develops  TEXT NOT NULL,             -- JSON list of focus tags
        subjects  TEXT NOT NULL,             -- JSON list
        phase     TEXT,
        added_at  INTEGER NOT NULL
    );
    CREATE TABLE observations (
        id         INTEGER PRIMARY KEY,
        observer   TEXT NOT NULL,
        observed   TEXT NOT NULL,            -- the owner, who decides whether it is shared
        focus      TEXT NOT NULL,
        priority   TEXT NOT NULL,            -- the development priority the focus serves
        day        TEXT NOT NULL,            -- YYYY-MM-DD
        strengths  TEXT NOT NULL,            -- JSON list: what went well
        actions    TEXT NOT NULL,            -- JSON list: one or two action points
        follow_up  TEXT NOT NULL,            -- YYYY-MM-DD
        shared     INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX observations_by_follow_up ON observations (follow_up);
    -- This school's answer to an event, kept until restricted messages can carry it
    -- to the organiser (sent_at stays NULL until then).
    CREATE TABLE event_rsvps (
        event       BLOB PRIMARY KEY,        -- the event's first entry id
        answer      TEXT NOT NULL,           -- yes, no or maybe
        answered_at INTEGER NOT NULL,
        sent_at     INTEGER
    );
    -- A withdrawn event's words are erased like any entry's, but its times are kept
    -- so that calendar programs can be told it is cancelled (node/events/service.py).
    CREATE TABLE cancelled_events (
        id           BLOB PRIMARY KEY,       -- the withdrawn version
        author       BLOB NOT NULL,
        root         BLOB NOT NULL,          -- the event's first entry id
        seq          INTEGER NOT NULL,
        starts       TEXT NOT NULL,
        ends         TEXT NOT NULL,
        tz           TEXT,
        withdrawn_at INTEGER NOT NULL        -- the withdrawal's timestamp, milliseconds
    );
    """,
    # 6: signed-in web sessions (node/web/sessions.py). Only a hash of the cookie is
    # kept, so a copy of the database does not let anyone sign in as a teacher.
    """
    CREATE TABLE web_sessions (
        token_hash BLOB PRIMARY KEY,
        user       TEXT NOT NULL,           -- users.name: removing the user ends them
        csrf       TEXT NOT NULL,
        flash      TEXT,
        created_at INTEGER NOT NULL,
        seen_at    INTEGER NOT NULL
    );
    CREATE INDEX web_sessions_by_user ON web_sessions (user);
    """,
    # 7: what travels by letter between two schools or a few: interest in
    # an offer or request and its answer, answers to events, events for partners or a
    # project only, and peer observations shared with one partner school.
    """
    CREATE TABLE interests (
        id          TEXT PRIMARY KEY,        -- local id chosen by the sending school
        entry       BLOB NOT NULL,           -- the offer or request
        sender      BLOB NOT NULL,           -- the school that is interested
        poster      BLOB NOT NULL,           -- the school that posted the entry, and answers
        title       TEXT NOT NULL,           -- the entry's title when the interest was sent
        message     TEXT NOT NULL,
        sender_by   TEXT,                    -- the sending school's contact
        state       TEXT NOT NULL,           -- open, accepted or declined
        answer      TEXT,                    -- the posting school's message with its answer
        poster_by   TEXT,                    -- the posting school's contact
        starts      TEXT,                    -- the arrangement's dates (the entry's from, to)
        ends        TEXT,
        sent_at     INTEGER NOT NULL,        -- the interest letter's time
        answered_at INTEGER                  -- the answer letter's time
    );
    CREATE INDEX interests_by_entry ON interests (entry);
    ALTER TABLE event_rsvps ADD COLUMN by_name TEXT;
    -- Answers other schools sent to our events, one per school and event.
    CREATE TABLE event_answers (
        event       BLOB NOT NULL,           -- the event's id
        school      BLOB NOT NULL,
        answer      TEXT NOT NULL,           -- yes, no or maybe
        by_name     TEXT,
        answered_at INTEGER NOT NULL,        -- the answering school's time, milliseconds
        PRIMARY KEY (event, school)
    );
    -- Events for partner schools or a project's members only, sent as letters.
    CREATE TABLE private_events (
        id         BLOB PRIMARY KEY,         -- 32 random bytes chosen by the organiser
        author     BLOB NOT NULL,
        audience   TEXT NOT NULL,            -- partners or project
        project    TEXT,
        rev        INTEGER NOT NULL,         -- one more at each change
        content    TEXT NOT NULL,            -- JSON: title, start, end, ...
        cancelled  INTEGER NOT NULL DEFAULT 0,
        recipients TEXT NOT NULL,            -- JSON list of node ids, for the organiser
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    -- An observation shared with one partner school, or received from one.
    ALTER TABLE observations ADD COLUMN uid TEXT;        -- local id as sent in letters
    ALTER TABLE observations ADD COLUMN origin BLOB;     -- the school it came from, NULL if ours
    ALTER TABLE observations ADD COLUMN shared_to BLOB;  -- the partner school it was sent to
    CREATE UNIQUE INDEX observations_by_uid ON observations (uid);
    """,
    # 8: as a relay, what each recipient that names us confirmed of other senders'
    # letters, passed back to those senders so they can empty their outboxes.
    """
    CREATE TABLE mail_delivered (
        sender    BLOB NOT NULL,
        recipient BLOB NOT NULL,
        seq       INTEGER NOT NULL,          -- the recipient holds 1..seq of the pair
        PRIMARY KEY (sender, recipient)
    );
    """,
    # 9: which of our pupils take part in each project, by name or by whole class.
    # Upgrading keeps what pupils could already read: each class with pupils joins
    # every project the school is a member of, and staff narrow it from there.
    """
    CREATE TABLE project_pupils (
        project  TEXT NOT NULL,
        kind     TEXT NOT NULL,              -- 'class' or 'pupil'
        name     TEXT NOT NULL,              -- the class, or the pupil's display name
        added_at INTEGER NOT NULL,
        PRIMARY KEY (project, kind, name)
    );
    INSERT INTO project_pupils (project, kind, name, added_at)
        SELECT projects.id, 'class', classes.class, 0
        FROM projects,
            (SELECT DISTINCT class FROM users WHERE role = 'pupil' AND class IS NOT NULL)
            AS classes
        WHERE projects.standing = 'member';
    """,
    # 10: a new invite code or password, kept in the admin's web session only from the
    # form that made it until the page that shows it once (Post/Redirect/Get).
    """
    -- JSON with the kind of page and the secret, NULL once shown
    ALTER TABLE web_sessions ADD COLUMN shown_once TEXT;
    """,
    # 11: what a withdrawn offer, request or event was called, kept when its content
    # is erased, so its page and the arrangements that depended on it can say what
    # was withdrawn (docs/decisions.md, "Withdrawn entries keep their title").
    """
    CREATE TABLE withdrawn_titles (
        id       BLOB PRIMARY KEY,           -- the withdrawn entry
        author   BLOB NOT NULL,
        kind     TEXT NOT NULL,              -- offer, request or event
        title    TEXT NOT NULL,
        activity TEXT                        -- an offer's or request's kind of activity
    );
    """,
    # 12: the web pages' own: when each person last marked their dashboard's news
    # as seen, each member of staff's private calendar address (its SHA-256 only, as
    # for sessions), and the words a pupil chose to describe each of their photos.
    """
    CREATE TABLE dashboard_seen (
        user    TEXT PRIMARY KEY COLLATE NOCASE,
        seen_at INTEGER NOT NULL
    );
    CREATE TABLE calendar_links (
        user       TEXT PRIMARY KEY COLLATE NOCASE,  -- users.name
        token_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    ALTER TABLE images ADD COLUMN alt TEXT;
    """,
    # 13: fork recovery (issue 20): signs that an author's log forked that are not an
    # equivocation pair (an entry whose prev is not the entry held before it), and,
    # while this school recovers from a fork of its own log, the entries it took back
    # to post again after its continuation (node/forks.py).
    """
    CREATE TABLE fork_hints (
        author      BLOB NOT NULL,
        seq         INTEGER NOT NULL,        -- the entry that does not follow the held log
        wire        BLOB NOT NULL,
        detected_at INTEGER NOT NULL,
        PRIMARY KEY (author, seq)
    );
    CREATE TABLE fork_stash (
        seq  INTEGER PRIMARY KEY,            -- in this school's own log
        id   BLOB NOT NULL,
        wire BLOB NOT NULL                   -- as signed, content included
    );
    """,
    # 14: dates proposed for an arrangement (an accepted interest) and the one agreed;
    # the agreed date is also a private event at both schools (audience 'booking').
    """
    CREATE TABLE bookings (
        id          TEXT PRIMARY KEY,        -- the proposal's id, chosen by its school
        interest    TEXT NOT NULL,
        proposer    BLOB NOT NULL,
        starts      TEXT NOT NULL,           -- with its offset
        ends        TEXT NOT NULL,
        tz          TEXT,
        place       TEXT,
        online      INTEGER NOT NULL DEFAULT 0,
        note        TEXT,
        by_name     TEXT,
        state       TEXT NOT NULL,           -- open, superseded or agreed
        proposed_at INTEGER NOT NULL,        -- the letter's time: newest (then id) wins
        agreed_at   INTEGER,
        agreed_by   TEXT
    );
    CREATE INDEX bookings_by_interest ON bookings (interest);
    """,
    # 15: search by subject and by online or in person (the index is made again).
    _LISTING_FILTERS,
    # 16: partnership requests sent to and received from schools found in the
    # directory (node/directory/service.py), one row per request at each end.
    """
    CREATE TABLE partner_requests (
        id          TEXT PRIMARY KEY,        -- chosen by the asking school
        school      BLOB NOT NULL,           -- the other school
        direction   TEXT NOT NULL,           -- sent or received
        message     TEXT NOT NULL,
        by_name     TEXT,
        address     TEXT,                    -- where the other school said it listens
        state       TEXT NOT NULL,           -- open, accepted or declined (expiry is read)
        at          INTEGER NOT NULL,        -- sent, or received by our clock
        answered_at INTEGER
    );
    CREATE INDEX partner_requests_by_school ON partner_requests (school, direction, at);
    """,
    # 17: the school's name and country searched with its offers and requests.
    _LISTING_SCHOOLS,
    # 18: each truncation of an author's log by one of its ``continue`` entries
    # (node/store/placement.py, _place_continuation): their reaches are summed against
    # protocol/log.py MAX_FORK_DEPTH until a continuation of that author is kept.
    """
    CREATE TABLE IF NOT EXISTS truncations (
        id          BLOB PRIMARY KEY,        -- the continuation that truncated
        author      BLOB NOT NULL,
        seq         INTEGER NOT NULL,        -- its number
        fork        INTEGER NOT NULL,        -- the fork point it named
        keep        BLOB NOT NULL,           -- the id it keeps there: the only one taken next
        at          INTEGER NOT NULL         -- by our clock
    );
    CREATE INDEX IF NOT EXISTS truncations_by_author ON truncations (author, seq);
    """,
    # 19: pupil teams for conferences and debates (node/events/teams.py):
    # numbers and roles only, never names.
    """
    CREATE TABLE event_teams (
        event   BLOB NOT NULL,               -- the event's first version id
        school  BLOB NOT NULL,               -- the team's school: ours, or (at the organiser) any
        pupils  INTEGER NOT NULL,            -- 0 once withdrawn
        roles   TEXT NOT NULL,               -- JSON {role: pupils}
        at      INTEGER NOT NULL,            -- the answer's time: a later one replaces it
        PRIMARY KEY (event, school)
    );
    CREATE TABLE event_team_tables (
        event     BLOB PRIMARY KEY,          -- another school's event
        organiser BLOB NOT NULL,
        teams     TEXT NOT NULL,             -- JSON [[node id text, pupils, {role: pupils}]]
        at        INTEGER NOT NULL           -- the organiser's time: a later table replaces it
    );
    """,
    # 20: talks in TeachMeet speaker slots (node/events/slots.py). At the
    # organiser, the talks offered to and accepted for its events; at another school,
    # the talks it offered to other schools' events.
    """
    CREATE TABLE talks (
        event       BLOB NOT NULL,           -- the TeachMeet's first version
        slot        INTEGER NOT NULL,        -- numbered from 1
        school      BLOB NOT NULL,           -- the speaker's school
        title       TEXT NOT NULL,
        speaker     TEXT NOT NULL,
        state       TEXT NOT NULL,           -- offered, accepted, or sent (by us)
        at          INTEGER NOT NULL,        -- offered (first come, first served)
        PRIMARY KEY (event, slot)
    );
    """,
    # 21: questions and answers in search, and what answers and marks name.
    _QUESTIONS,
    # 22: moderation clusters, their schools, work samples and each school's
    # grade per sample (a commitment first, the grade once revealed; node/clusters/).
    """
    CREATE TABLE clusters (
        id          TEXT PRIMARY KEY,        -- chosen by the maker
        title       TEXT NOT NULL,
        subject     TEXT,
        maker       BLOB NOT NULL,
        rev         INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE cluster_schools (
        cluster     TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        school      BLOB NOT NULL,
        PRIMARY KEY (cluster, school)
    );
    CREATE TABLE cluster_samples (
        id          TEXT PRIMARY KEY,        -- chosen by the school that shared it
        cluster     TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        origin      BLOB NOT NULL,
        title       TEXT NOT NULL,
        type        TEXT NOT NULL,           -- application/pdf or image/jpeg
        hash        BLOB NOT NULL,
        data        BLOB NOT NULL,
        at          INTEGER NOT NULL
    );
    CREATE INDEX cluster_samples_by_cluster ON cluster_samples (cluster, at);
    CREATE TABLE cluster_grades (
        cluster     TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        sample      TEXT NOT NULL,           -- perhaps not received yet
        school      BLOB NOT NULL,
        commitment  BLOB NOT NULL,
        grade       TEXT,                    -- NULL until revealed to us
        comment     TEXT,
        salt        BLOB,
        at          INTEGER NOT NULL,
        PRIMARY KEY (sample, school)
    );
    CREATE INDEX cluster_grades_by_cluster ON cluster_grades (cluster, school);
    """,
    # 23: a cluster's state here (an invitation our staff accept, accepted or
    # ours, or left), and whether a partner's sample is cleaned yet (node/clusters/).
    # Clusters other schools made before this are invitations again.
    """
    ALTER TABLE clusters ADD COLUMN state TEXT NOT NULL DEFAULT 'member';
    UPDATE clusters SET state = 'invited'
        WHERE maker IS NOT (SELECT value FROM settings WHERE name = 'node_id');
    ALTER TABLE cluster_samples ADD COLUMN clean INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX cluster_samples_to_clean ON cluster_samples (clean) WHERE clean = 0;
    """,
    # 24: searches beyond the node's view (node/net/search.py). Asked ones (by the
    # web page, or queued by `schoolmesh search --network` for the running node), and
    # the answers, cached for a day as loose results apart from the log.
    """
    CREATE TABLE network_queries (
        id          BLOB PRIMARY KEY,        -- the query id (16 random bytes)
        filter      TEXT NOT NULL,           -- JSON map
        words       TEXT NOT NULL,
        lim         INTEGER NOT NULL,
        asked_at    INTEGER NOT NULL,
        done_at     INTEGER,                 -- NULL while it runs (or waits to be sent)
        asked       INTEGER NOT NULL DEFAULT 0,
        problem     TEXT                     -- why it could not be sent
    );
    CREATE TABLE loose_results (
        query       BLOB NOT NULL REFERENCES network_queries (id) ON DELETE CASCADE,
        id          BLOB NOT NULL,           -- the entry id
        author      BLOB NOT NULL,
        kind        TEXT NOT NULL,           -- offer, request, or the profile of its school
        wire        BLOB NOT NULL,           -- the signed entry, verified
        via         BLOB NOT NULL,           -- the peer that gave it
        at          INTEGER NOT NULL,
        PRIMARY KEY (query, id)
    );
    """,
    # 25: offers and requests stored from peers but not yet in the search index:
    # indexed in a later transaction, batched (node/store/indexer.py), and after a
    # crash when the node starts again. An n here is never in ``listings``.
    """
    CREATE TABLE IF NOT EXISTS unindexed (
        n INTEGER PRIMARY KEY                -- entries.n
    );
    """,
    # loose (issue 23, steps 3 and 4): an entry held alone, without its author's whole
    # log (docs/scale.md, Decision 1): not part of any head, never sent as part of a
    # log. Every entry held before this version is part of a whole log. And the
    # partners each partner declared in its last interest: our partners' partners.
    """
    ALTER TABLE entries ADD COLUMN loose INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX entries_loose ON entries (author, kind) WHERE loose = 1;
    CREATE TABLE declared_partners (
        peer    BLOB NOT NULL,               -- a partner of this school
        partner BLOB NOT NULL,               -- one of its partners, as it declared
        PRIMARY KEY (peer, partner)
    );
    """,
    # A loose withdrawal swept with the erased target it withdrew (issue 23, withdrawal
    # loose ends): its entry goes, its row stays (a copy of the target is still
    # erased), and ``swept`` keeps the withdrawal's signed time for as long as a
    # partner may offer it at catch-up (90 days), so that the catch-up lists it and it
    # does not cross again. NULL otherwise, and once that time has passed.
    """
    ALTER TABLE withdrawals ADD COLUMN swept INTEGER;
    CREATE INDEX withdrawals_swept ON withdrawals (swept) WHERE swept IS NOT NULL;
    """,
    # The question a withdrawn answer answered (issue 23, withdrawal loose ends): its
    # content is erased, and with it what it named, but a catch-up offers its
    # withdrawal to the school that asked, as it offered the answer
    # (protocol/catchup.py, ``held_by``). Kept as ``withdrawn_titles`` is, and gone
    # with the answer.
    """
    CREATE TABLE withdrawn_answers (
        id       BLOB PRIMARY KEY,           -- the withdrawn answer
        author   BLOB NOT NULL,
        question BLOB NOT NULL               -- the entry its ``question`` named
    );
    """,
    # A peer observation's follow-up, done: recorded by the observed colleague once the
    # conversation about its action points took place (node/observations/service.py,
    # ``follow_up``). NULL while it is still to do, as every observation before this
    # version is: their action points stay due until someone records it.
    """
    ALTER TABLE observations ADD COLUMN followed_up_at INTEGER;  -- ms since 1970, UTC
    ALTER TABLE observations ADD COLUMN followed_up_by TEXT;     -- who recorded it
    ALTER TABLE observations ADD COLUMN follow_up_note TEXT;     -- how it went, optional
    """,
)

LATEST_VERSION = len(MIGRATIONS)
#: The last migration that (re)made the search index, which is then filled from the
#: entries (it was 3, which created it; the subject and mode filters made it again, then
#: the school's name in it, then questions and answers).
SEARCH_INDEX_VERSION = MIGRATIONS.index(_QUESTIONS) + 1
