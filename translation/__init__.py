"""The translation pipeline: backends, cache, glossary, interpreter corrections."""
