"""Uploaded files, kept in memory with their versions, and their ``File--Full`` bodies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from box_offboarding.simulator.bodies import Clock, mini_user
from box_offboarding.simulator.directory import DirectoryUser

JSON = dict[str, Any]


@dataclass(slots=True)
class StoredVersion:
    version_id: str
    content: bytes
    sha1: str
    uploaded_at: float


@dataclass(slots=True)
class StoredFile:
    id: str
    folder_id: str
    name: str
    owner: DirectoryUser
    created_at: float
    versions: list[StoredVersion] = field(default_factory=list)

    @property
    def current(self) -> StoredVersion:
        return self.versions[-1]

    @property
    def etag(self) -> str:
        return str(len(self.versions) - 1)


class NameInUseError(Exception):
    """A file of that name (case-insensitive) is already in the folder."""

    def __init__(self, existing: StoredFile) -> None:
        super().__init__(existing.name)
        self.existing = existing


class FileStore:
    """Folders are created on first use; names are unique per folder, case-insensitively, as in Box."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._by_name: dict[tuple[str, str], str] = {}
        self._next_id = 1_200_000_000_000

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def create(self, *, folder_id: str, name: str, content: bytes, owner: DirectoryUser, now: float) -> StoredFile:
        """A new file; :class:`NameInUseError` when the folder already has that name."""
        existing = self._by_name.get((folder_id, name.lower()))
        if existing is not None:
            raise NameInUseError(self._files[existing])
        stored = StoredFile(id=self._new_id(), folder_id=folder_id, name=name, owner=owner, created_at=now)
        stored.versions.append(self._version(content, now))
        self._files[stored.id] = stored
        self._by_name[(folder_id, name.lower())] = stored.id
        return stored

    def add_version(self, file_id: str, *, content: bytes, new_name: str | None, now: float) -> StoredFile | None:
        """A new version (and maybe a new name) of an existing file; ``None`` when there is no such file."""
        stored = self._files.get(file_id)
        if stored is None:
            return None
        if new_name is not None and new_name.lower() != stored.name.lower():
            clash = self._by_name.get((stored.folder_id, new_name.lower()))
            if clash is not None:
                raise NameInUseError(self._files[clash])
            del self._by_name[(stored.folder_id, stored.name.lower())]
            self._by_name[(stored.folder_id, new_name.lower())] = stored.id
        if new_name is not None:
            stored.name = new_name
        stored.versions.append(self._version(content, now))
        return stored

    def _version(self, content: bytes, now: float) -> StoredVersion:
        return StoredVersion(self._new_id(), content, hashlib.sha1(content).hexdigest(), now)  # noqa: S324 (Box's hash)

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def all(self) -> list[StoredFile]:
        return list(self._files.values())


def file_mini(stored: StoredFile) -> JSON:
    """The ``File--Mini`` fields (as in a 409's ``context_info.conflicts``)."""
    return {
        "type": "file",
        "id": stored.id,
        "etag": stored.etag,
        "sequence_id": stored.etag,
        "name": stored.name,
        "sha1": stored.current.sha1,
        "file_version": {"type": "file_version", "id": stored.current.version_id, "sha1": stored.current.sha1},
    }


def file_full(stored: StoredFile, *, clock: Clock) -> JSON:
    """The ``File--Full`` body Box returns in an upload's ``entries``."""
    root = {"type": "folder", "id": "0", "name": "All Files"}
    parent = root if stored.folder_id == "0" else _folder_mini(stored.folder_id)
    path = [root] if parent is root else [root, parent]
    owner = mini_user(stored.owner)
    created = clock.render(stored.created_at)
    modified = clock.render(stored.current.uploaded_at)
    return {
        **file_mini(stored),
        "description": "",
        "size": len(stored.current.content),
        "path_collection": {"total_count": len(path), "entries": path},
        "created_at": created,
        "modified_at": modified,
        "trashed_at": None,
        "purged_at": None,
        "content_created_at": created,
        "content_modified_at": modified,
        "created_by": owner,
        "modified_by": owner,
        "owned_by": owner,
        "parent": parent,
        "item_status": "active",
        "version_number": str(len(stored.versions)),
        "comment_count": 0,
        "extension": stored.name.rsplit(".", 1)[-1] if "." in stored.name else "",
        "is_package": False,
    }


def _folder_mini(folder_id: str) -> JSON:
    """Folders other than the root are created on first use, directly under the root."""
    return {"type": "folder", "id": folder_id, "sequence_id": "0", "etag": "0", "name": f"Folder {folder_id}"}
