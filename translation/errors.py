"""Exceptions raised by the translation pipeline.

TranslationError                base of everything raised here on purpose
 ├── ConfigurationError         a translation setting is missing or malformed
 ├── PackageError               an .argosmodel file is unusable
 ├── InvalidGlossaryTerm        a glossary term that cannot be applied
 ├── BackendUnavailable         a backend cannot be reached or is not installed
 ├── BackendFailed              a backend answered, but not with a translation
 ├── UnsupportedPair            no installed pair (direct or via English) fits
 ├── TranslatorBusy             the backend's own backlog is full
 ├── TextTooLong                a line longer than the pipeline translates
 └── InterpretingError          an interpreter action that the desk refuses
"""

from __future__ import annotations


class TranslationError(Exception):
    """Base of every error the translation package raises on purpose."""

    code = "translation_error"


class ConfigurationError(TranslationError):
    """Raised when a translation setting is missing, malformed or inconsistent."""

    code = "configuration_error"


class InvalidGlossaryTerm(TranslationError):
    """Raised when a glossary term is empty or otherwise unusable."""

    code = "invalid_glossary_term"


class PackageError(TranslationError):
    """Raised when a translation package file is missing, corrupt or malformed."""

    code = "bad_package"


class BackendUnavailable(TranslationError):
    """Raised when a backend cannot be reached, started or imported."""

    code = "backend_unavailable"


class BackendFailed(TranslationError):
    """Raised when a backend answers with something other than a translation."""

    code = "backend_error"


class UnsupportedPair(TranslationError):
    """Raised when no installed model can translate between two languages."""

    code = "unsupported_pair"


class TranslatorBusy(TranslationError):
    """Raised when a backend's own backlog of work is full."""

    code = "busy"


class TextTooLong(TranslationError):
    """Raised when a text is longer than the pipeline will translate."""

    code = "too_long"


class InterpretingError(TranslationError):
    """Raised when an interpreter corrects or releases a line the desk refuses."""

    code = "interpreting_error"
