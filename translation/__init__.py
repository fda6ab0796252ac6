"""The translation pipeline: backends, cache, glossary, interpreter corrections.

The room hub builds one `TranslationPipeline` around a `Translator` and calls
``submit`` after delivering each original line; the `InterpreterDesk` holds
machine drafts and corrections. Heavy backends load lazily: importing this
package imports neither argostranslate nor CTranslate2.
"""

from translation.cache import CacheKey, TranslationCache
from translation.errors import (
    BackendFailed,
    BackendUnavailable,
    ConfigurationError,
    InterpretingError,
    InvalidGlossaryTerm,
    PackageError,
    TextTooLong,
    TranslationError,
    TranslatorBusy,
    UnsupportedPair,
)
from translation.factory import build_translator
from translation.glossary import GlossaryProvider, GlossaryTerm, InMemoryGlossary
from translation.interpreter import (
    InterpreterDesk,
    LineTranslation,
    Publication,
    ReleaseMode,
    Rendition,
    RenditionKind,
)
from translation.languages import is_language_tag, model_code
from translation.packages import InstalledPackage, install_package, list_packages
from translation.pipeline import (
    LineForTranslation,
    ResultCallback,
    ResultStatus,
    SubmitStatus,
    TranslationPipeline,
    TranslationResult,
)
from translation.splitter import split_sentences
from translation.translator import LanguagePair, NoTranslator, Translator

__all__ = [
    "BackendFailed",
    "BackendUnavailable",
    "CacheKey",
    "ConfigurationError",
    "GlossaryProvider",
    "GlossaryTerm",
    "InMemoryGlossary",
    "InstalledPackage",
    "InterpreterDesk",
    "InterpretingError",
    "InvalidGlossaryTerm",
    "LanguagePair",
    "LineForTranslation",
    "LineTranslation",
    "NoTranslator",
    "PackageError",
    "Publication",
    "ReleaseMode",
    "Rendition",
    "RenditionKind",
    "ResultCallback",
    "ResultStatus",
    "SubmitStatus",
    "TextTooLong",
    "TranslationCache",
    "TranslationError",
    "TranslationPipeline",
    "TranslationResult",
    "Translator",
    "TranslatorBusy",
    "UnsupportedPair",
    "build_translator",
    "install_package",
    "is_language_tag",
    "list_packages",
    "model_code",
    "split_sentences",
]
