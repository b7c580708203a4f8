"""Names and rough geography for matching: countries, languages, time zones, neighbours.

Rough on purpose. Each country has one standard-time offset from UTC, that of its
capital or most populous region (so the United States counts as New York, Australia as
Sydney, Russia as Moscow), and summer time is ignored: the question matching asks is
"could these two schools meet, or hold a live session in the school day", and an hour
either way does not change the answer. Neighbours are countries with a land border or
a fixed link (the Channel Tunnel, the Øresund bridge). Countries missing here are
simply not scored on distance; docs/matching.md describes the table.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Country code -> (name, rough UTC offset in hours, standard time).
COUNTRIES: dict[str, tuple[str, float]] = {
    # Western Europe
    "GB": ("the United Kingdom", 0),
    "IE": ("Ireland", 0),
    "PT": ("Portugal", 0),
    "IS": ("Iceland", 0),
    "ES": ("Spain", 1),
    "FR": ("France", 1),
    "BE": ("Belgium", 1),
    "NL": ("the Netherlands", 1),
    "LU": ("Luxembourg", 1),
    "DE": ("Germany", 1),
    "CH": ("Switzerland", 1),
    "AT": ("Austria", 1),
    "LI": ("Liechtenstein", 1),
    "IT": ("Italy", 1),
    "MT": ("Malta", 1),
    "MC": ("Monaco", 1),
    "AD": ("Andorra", 1),
    "SM": ("San Marino", 1),
    "VA": ("Vatican City", 1),
    # Northern Europe
    "DK": ("Denmark", 1),
    "NO": ("Norway", 1),
    "SE": ("Sweden", 1),
    "FI": ("Finland", 2),
    "EE": ("Estonia", 2),
    "LV": ("Latvia", 2),
    "LT": ("Lithuania", 2),
    # Central and Eastern Europe
    "PL": ("Poland", 1),
    "CZ": ("Czechia", 1),
    "SK": ("Slovakia", 1),
    "HU": ("Hungary", 1),
    "SI": ("Slovenia", 1),
    "HR": ("Croatia", 1),
    "BA": ("Bosnia and Herzegovina", 1),
    "RS": ("Serbia", 1),
    "ME": ("Montenegro", 1),
    "MK": ("North Macedonia", 1),
    "AL": ("Albania", 1),
    "GR": ("Greece", 2),
    "BG": ("Bulgaria", 2),
    "RO": ("Romania", 2),
    "MD": ("Moldova", 2),
    "UA": ("Ukraine", 2),
    "CY": ("Cyprus", 2),
    "BY": ("Belarus", 3),
    "RU": ("Russia", 3),
    "TR": ("Türkiye", 3),
    "GE": ("Georgia", 4),
    "AM": ("Armenia", 4),
    "AZ": ("Azerbaijan", 4),
    # Middle East and Africa
    "IL": ("Israel", 2),
    "PS": ("Palestine", 2),
    "LB": ("Lebanon", 2),
    "JO": ("Jordan", 3),
    "EG": ("Egypt", 2),
    "SA": ("Saudi Arabia", 3),
    "QA": ("Qatar", 3),
    "AE": ("the United Arab Emirates", 4),
    "OM": ("Oman", 4),
    "MA": ("Morocco", 1),
    "DZ": ("Algeria", 1),
    "TN": ("Tunisia", 1),
    "SN": ("Senegal", 0),
    "GH": ("Ghana", 0),
    "NG": ("Nigeria", 1),
    "KE": ("Kenya", 3),
    "TZ": ("Tanzania", 3),
    "UG": ("Uganda", 3),
    "ET": ("Ethiopia", 3),
    "RW": ("Rwanda", 2),
    "ZA": ("South Africa", 2),
    # Asia and Oceania
    "KZ": ("Kazakhstan", 5),
    "PK": ("Pakistan", 5),
    "IN": ("India", 5.5),
    "LK": ("Sri Lanka", 5.5),
    "NP": ("Nepal", 5.75),
    "BD": ("Bangladesh", 6),
    "TH": ("Thailand", 7),
    "VN": ("Vietnam", 7),
    "ID": ("Indonesia", 7),
    "CN": ("China", 8),
    "HK": ("Hong Kong", 8),
    "MO": ("Macao", 8),
    "TW": ("Taiwan", 8),
    "SG": ("Singapore", 8),
    "MY": ("Malaysia", 8),
    "PH": ("the Philippines", 8),
    "JP": ("Japan", 9),
    "KR": ("South Korea", 9),
    "AU": ("Australia", 10),
    "NZ": ("New Zealand", 12),
    # The Americas
    "CA": ("Canada", -5),
    "US": ("the United States", -5),
    "MX": ("Mexico", -6),
    "CO": ("Colombia", -5),
    "PE": ("Peru", -5),
    "CL": ("Chile", -4),
    "BR": ("Brazil", -3),
    "AR": ("Argentina", -3),
    "UY": ("Uruguay", -3),
}

_BORDERS = (
    "GB-IE GB-FR ES-PT ES-FR ES-AD ES-MA FR-AD FR-BE FR-LU FR-DE FR-CH FR-IT FR-MC "
    "BE-NL BE-DE BE-LU NL-DE LU-DE DE-DK DE-PL DE-CZ DE-AT DE-CH CH-IT CH-AT CH-LI "
    "AT-LI AT-CZ AT-SK AT-HU AT-SI AT-IT IT-SI IT-SM IT-VA DK-SE SE-NO SE-FI NO-FI "
    "NO-RU FI-RU EE-LV EE-RU LV-LT LV-BY LV-RU LT-BY LT-PL LT-RU PL-CZ PL-SK PL-UA "
    "PL-BY PL-RU CZ-SK SK-HU SK-UA HU-UA HU-RO HU-RS HU-HR HU-SI SI-HR HR-RS HR-BA "
    "HR-ME BA-RS BA-ME RS-RO RS-BG RS-MK RS-ME ME-AL AL-MK AL-GR MK-BG MK-GR GR-BG "
    "GR-TR BG-RO BG-TR RO-MD RO-UA MD-UA UA-BY UA-RU BY-RU RU-GE RU-AZ RU-KZ GE-AM "
    "GE-AZ GE-TR AM-AZ AM-TR TR-AZ IL-EG IL-JO IL-LB IL-PS JO-SA EG-PS MA-DZ DZ-TN "
    "SA-QA SA-AE SA-OM AE-OM KE-TZ KE-UG KE-ET TZ-UG TZ-RW UG-RW IN-PK IN-NP IN-BD "
    "IN-CN CN-NP CN-VN CN-HK CN-MO CN-KZ CN-PK TH-MY MY-SG MY-ID US-CA US-MX CO-PE "
    "CO-BR PE-BR PE-CL CL-AR AR-BR AR-UY BR-UY"
)
NEIGHBOURS: frozenset[frozenset[str]] = frozenset(
    frozenset(pair.split("-")) for pair in _BORDERS.split()
)


def name(code: str) -> str:
    """The country's name for sentences ("the United Kingdom"), else its code."""
    return COUNTRIES.get(code, (code, 0))[0]


def offset(code: str) -> float | None:
    """The country's rough UTC offset in hours, or None when this table lacks it."""
    known = COUNTRIES.get(code)
    return None if known is None else known[1]


def neighbours(a: str, b: str) -> bool:
    return frozenset((a, b)) in NEIGHBOURS


#: Language code (the part before any '-') -> its English name, for reasons in words.
LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "gd": "Scottish Gaelic",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ms": "Malay",
    "mt": "Maltese",
    "nb": "Norwegian",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sv": "Swedish",
    "sw": "Swahili",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


def language(code: str) -> str:
    """A language's English name ("French"), else its code."""
    return LANGUAGES.get(code, code)


def zone_problem(name: str) -> bool:
    """True unless ``name`` is a time zone of the tz database, such as Atlantic/Canary."""
    if not name or name != name.strip() or len(name) > 64 or name.startswith(("/", ".")):
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return True
    return False
