"""What counts as a secret in text, and the one way the harness hides one.

The invariant `no_secret_leaks` searches output for these forms, and every report the harness
prints (a failing scenario's summary, `make run`, `make run-live`) masks the same forms.
"""

from __future__ import annotations

from collections.abc import Iterable

MIN_SECRET_LENGTH = 8  # shorter strings (an access_key such as "foo") would match by chance
MASK = "[secret]"


def secret_forms(value: str) -> list[str]:
    """The forms of a secret that must not be shown: the value itself and, for a Tailscale key
    `tskey-<kind>-<key id>-<secret>`, its secret tail, which an error message may quote alone.
    Forms shorter than MIN_SECRET_LENGTH are left out."""
    forms = [value]
    if value.startswith("tskey-"):
        forms.append(value.rsplit("-", 1)[-1])
    return [form for form in forms if len(form) >= MIN_SECRET_LENGTH]


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """text with every form of every secret replaced by MASK, longest first so that a secret
    containing another is masked whole."""
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text
