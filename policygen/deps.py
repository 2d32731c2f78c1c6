"""What a tenant's pages depend on, as one content hash.

A tenant's output is re-rendered only when this key changes: its own folder
(facts, own clauses, releases, logo), the library clauses of the documents it
publishes and the shared partials (the project's content/ over the library that
ships with policygen, so an upgrade re-renders what its library changed), the
theme, the project settings, and policygen itself. Hashes of content, not modification times: a touched but unchanged file
rebuilds nothing, and a changed file is never missed.

Whether the build shows drafts (`--drafts`, and `serve` by default) is part of the key only of a tenant that has
released a version: a draft page is an unreleased edit of a released document, so a tenant that has released
nothing has the same pages either way. Switching between `serve` and `policygen build` then re-renders only the
tenants with releases, not the whole site.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping

from .inputs import PROJECT_FILES, hashed_content
from .packaged import code_digest
from .project import Project


def project_digest(project: Project, theme_digest: str, options: str) -> str:
    """Everything every tenant depends on."""
    h = hashlib.sha256()
    partials = sorted(project.library.partials.values())
    for part in (code_digest(), theme_digest, options, settings_digest(project), *partials):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def drafts_shown(drafts: bool, releases: Mapping[str, Collection[object]]) -> bool:
    """Whether a build with or without *drafts* can show a draft of a tenant with these *releases* (the versions
    released of each document, as the manifest records them): the one case in which its pages differ by it."""
    return drafts and any(releases.values())


def settings_digest(project: Project) -> str:
    """The project's settings files (policygen.yaml, rules.yaml)."""
    h = hashlib.sha256()
    for name in PROJECT_FILES:
        file = project.root / name
        h.update(name.encode() + b"\0" + hashed_content(project.root, file) + b"\0")
    return h.hexdigest()


def library_digest(project: Project) -> str:
    """The whole clause library: every document's clauses and every shared partial."""
    h = hashlib.sha256()
    for name, digest in sorted(project.library.partials.items()):
        h.update(name.encode() + b"\0" + digest.encode() + b"\0")
    for doc_id, doc in sorted(project.library.documents.items()):
        h.update(doc_id.encode() + b"\0" + doc.digest.encode() + b"\0")
    return h.hexdigest()


def tenant_key(project: Project, digest: str, documents: Iterable[str], shared: str, drafted: bool) -> str:
    """The input key of one tenant's outputs, from its folder's hash and the documents it publishes; *drafted*:
    the build shows drafts and the tenant has released a version (drafts_shown).

    Computable before the facts are parsed (the document list and releases of an unchanged folder are the
    previous build's), so an unchanged tenant is reused without reading its YAML at all.
    """
    h = hashlib.sha256(shared.encode() + b"\0" + digest.encode() + (b"\0drafts" if drafted else b""))
    for doc_id in documents:
        doc = project.library.documents.get(doc_id)
        h.update(doc_id.encode() + b"\0" + (doc.digest if doc else "missing").encode() + b"\0")
    return h.hexdigest()
