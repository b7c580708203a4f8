"""Each module registers its sub-commands; main.py builds the parser from REGISTRY."""

from collections.abc import Callable
from typing import Any

from cli.commands import (
    accounts,
    backup,
    check,
    clusters,
    demo,
    events,
    export,
    holding,
    hub,
    identity,
    interests,
    match,
    network_search,
    observations,
    offers,
    partners,
    projects,
    questions,
    run,
    schools,
    search,
    staff,
    verify_process,
)

Register = Callable[[Any], None]

REGISTRY: tuple[Register, ...] = (
    demo.register,
    identity.register,
    run.register,
    check.register,
    backup.register,
    partners.register,
    schools.register,
    *offers.REGISTER,
    search.register,
    hub.register,
    holding.register,
    network_search.register,
    verify_process.register,
    questions.register,
    accounts.register,
    projects.register,
    match.register,
    interests.register,
    staff.register,
    events.register,
    observations.register,
    clusters.register,
    export.register,
)

#: Entry field names as the command-line flags that set them, for error messages.
FIELD_FLAGS = {
    "activity": "--kind",
    "subjects": "--subject",
    "phases": "--phase",
    "languages": "--language",
    "name": "--name",
    "country": "--country",
    "url": "--url",
    "title": "--title",
    "text": "--text",
    "focus": "--focus",
    "mode": "--mode",
    "from": "--from",
    "to": "--to",
    "capacity": "--capacity",
    "closes": "--closes",
    "start": "--start",
    "end": "--end",
    "tz": "--tz",
    "where": "--where",
    "audience": "--audience",
}
