"""Text normalisation and placeholder detection shared by readers and the audit."""
from __future__ import annotations

import re

_PLACEHOLDER = re.compile(
    r"^(?:no (?:response|reponse|description|answer)|none|nothing|never|blank|n/?a|-+|\?+"
    r"|not applicable.*|does ?n[o']?t apply.*|same as (?:in )?\w+|the same as (?:in )?\w+"
    r"|(?:i )?(?:can ?not|can't|do not|don't) (?:think of|remember|recall|know)(?: any(?:thing)?)?(?: (?:incident|situation))?(?: just now)?"
    r"|(?:i have )?never (?:experienced|felt)(?: (?:this|the) emotion)?(?: in my life)?"
    r"|i have (?:never|not) felt this emotion(?: yet| in my life)?)"
    r"[\s.!]*$"
)


def normalize_text(text: str) -> str:
    """Key for duplicate detection: lower-cased, whitespace collapsed."""
    return " ".join(text.lower().split())


def is_placeholder(text: str) -> bool:
    """True for survey non-answers such as "[ No response.]", "NO RESPONSE.", "None." and empty texts."""
    key = normalize_text(text)
    if not key:
        return True
    # ISEAR's coders bracketed their remarks, e.g. "[ Never experienced.]"; bracketed real answers stay.
    return bool(_PLACEHOLDER.match(key.strip("[] ")))


_BIDI = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def printable(text: str, keep_newlines: bool = True) -> str:
    """``text`` safe to write to a terminal: control characters (ESC sequences that clear the screen or set the
    window title, C1 controls, bidirectional overrides that reorder what is shown) written as visible escapes
    (``\\x1b``); tabs, and with ``keep_newlines`` line feeds, kept."""
    import unicodedata

    keep = "\t\n" if keep_newlines else "\t"
    out = []
    for ch in text:
        code = ord(ch)
        if ch in keep or not (unicodedata.category(ch) == "Cc" or code in _BIDI):
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)
